import { RosterbridgeError, withDeadline } from '@rosterbridge/core';

/**
 * A call into plugin code, bounded twice: by its deadline (DEADLINE_EXCEEDED naming `what`) and by
 * the run's signal (a cancel or a shutdown is answered at once, whether or not the plugin looks at
 * its signal). Either way the call is abandoned, not stopped: the caller must not use what it
 * yields later. Only for calls whose abandoned work cannot commit anything of the run's (a source's
 * calls: the engine stages what they yield).
 */
export function boundedCall<T>(call: () => Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abandoned(what));
  // The deadline's own timer goes with the abandoned call: it would keep a stopping process alive.
  const stop = new AbortController();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      stop.abort();
      reject(abandoned(what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([withDeadline(call, ms, what, 'DEADLINE_EXCEEDED', stop.signal), aborted]).finally(() => signal.removeEventListener('abort', onAbort!));
}

/**
 * The items of a plugin's async iterable, each `next()` bounded as {@link boundedCall} bounds a
 * call: the time to each next item is at most `ms`. When the loop ends early (a break, a throw, a
 * bound), the iterator's `return()` is called without waiting for it (a plugin that hangs there
 * cannot hold the run).
 */
export async function* boundedItems<T>(items: AsyncIterable<T>, ms: number, what: (n: number) => string, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = items[Symbol.asyncIterator]();
  let done = false;
  try {
    for (let n = 1; ; n++) {
      const next = await boundedCall(() => iterator.next(), ms, what(n), signal);
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function abandoned(what: string): RosterbridgeError {
  return new RosterbridgeError('CANCELLED', `${what}: abandoned, the run was stopped`);
}
