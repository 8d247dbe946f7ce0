import { RosterbridgeError } from '../errors/rosterbridge-error';

/**
 * Awaits `work` for at most `ms` milliseconds. On overrun it rejects with DEADLINE_EXCEEDED (or the
 * given code) naming `what`; the work itself cannot be stopped, so callers must treat a late result
 * as void.
 *
 * Pass `work` as a function when you can: it is then timed from before it is called, so a plugin that
 * blocks the event loop (a busy loop: no timer can fire meanwhile) before it settles is caught too —
 * work that settles after its deadline, however it got there, is an overrun, not a success.
 */
export function withDeadline<T>(
  work: Promise<T> | (() => Promise<T>),
  ms: number,
  what: string,
  code: 'DEADLINE_EXCEEDED' | 'PLUGIN_ACTIVATION_TIMEOUT' = 'DEADLINE_EXCEEDED',
  /** The caller gave up on the work: the deadline's timer is cleared (the answer then never settles by it). */
  giveUp?: AbortSignal,
): Promise<T> {
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const overrun = (elapsed?: number) =>
    new RosterbridgeError(
      code,
      elapsed === undefined
        ? `${what} did not finish within ${ms} ms`
        : `${what} took ${Math.round(elapsed)} ms, past its deadline of ${ms} ms (it kept the host's event loop busy meanwhile)`,
      { deadlineMs: ms },
    );
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(overrun()), ms);
  });
  giveUp?.addEventListener('abort', () => clearTimeout(timer), { once: true });
  let running: Promise<T>;
  try {
    running = typeof work === 'function' ? work() : work;
  } catch (err) {
    running = Promise.reject(err);
  }
  const judged = running.then((value) => {
    const elapsed = performance.now() - startedAt;
    if (elapsed > ms) throw overrun(elapsed);
    return value;
  });
  return Promise.race([judged, late]).finally(() => clearTimeout(timer));
}
