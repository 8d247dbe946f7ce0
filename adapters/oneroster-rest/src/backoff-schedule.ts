/** How long to wait between attempts. */
export interface BackoffOptions {
  /** The first retry waits about this long (between half of it and all of it). Default 500 ms. */
  baseMs?: number;
  /** No wait computed by backoff exceeds this. Default 30 s. */
  maxMs?: number;
  /** A source of numbers in [0, 1) for the jitter; default `Math.random`. */
  random?: () => number;
}

/**
 * The wait before retry number `retry` (1 for the first retry): exponential, doubling from
 * `baseMs` up to `maxMs`, with "equal jitter" — half of the step fixed, half random — so that many
 * clients backing off from one overloaded server do not come back in step, yet no wait collapses
 * to nothing.
 *
 * ```ts
 * backoffDelay(1, { baseMs: 500 }); // 250–500 ms
 * backoffDelay(4, { baseMs: 500 }); // 2000–4000 ms
 * ```
 */
export function backoffDelay(retry: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const random = options.random ?? Math.random;
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Reads a `Retry-After` header: delay-seconds (`120`) or an HTTP date. Returns milliseconds to wait
 * (0 for a date in the past), or undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names its day or month; without letters, Date.parse would read "-5" as a year.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
