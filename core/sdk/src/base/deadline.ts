import { RosterbridgeError } from '../errors/rosterbridge-error';

/**
 * Awaits `work` for at most `ms` milliseconds. On overrun it rejects with DEADLINE_EXCEEDED (or the
 * given code) naming `what`; the work itself cannot be stopped, so callers must treat a late result
 * as void.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  code: 'DEADLINE_EXCEEDED' | 'PLUGIN_ACTIVATION_TIMEOUT' = 'DEADLINE_EXCEEDED',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RosterbridgeError(code, `${what} did not finish within ${ms} ms`, { deadlineMs: ms })), ms);
  });
  return Promise.race([work, overrun]).finally(() => clearTimeout(timer));
}
