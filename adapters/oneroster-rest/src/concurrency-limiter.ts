import { RosterbridgeError } from '@rosterbridge/core';

/**
 * Lets at most `limit` tasks run at once; the others wait their turn, first come first served.
 * One limiter per tenant keeps a district's server from seeing more than `limit` requests from
 * Rosterbridge at a time, however many reads run in parallel (Infinite Campus asks for at most 5).
 *
 * ```ts
 * const limiter = new ConcurrencyLimiter(4);
 * const page = await limiter.run(() => fetchPage(url), signal);
 * ```
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a whole number of at least 1, got ${limit}`);
  }

  /** Tasks running now. */
  get running(): number {
    return this.active;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `task` once a slot is free. Aborting `signal` while waiting gives up the place in the queue
   * and rejects with `CANCELLED`.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(cancelled());
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

function cancelled(): RosterbridgeError {
  return new RosterbridgeError('CANCELLED', 'the read was cancelled while waiting for a free connection');
}
