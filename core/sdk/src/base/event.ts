import EventEmitter from 'eventemitter3';
import { type Disposable, type SyncDisposable, toDisposable } from './lifecycle';

/**
 * A typed event: a function you call with a listener; it returns a SyncDisposable that unsubscribes.
 * Owners keep the {@link Emitter} private and expose only `onDidX: Event<T>`.
 *
 * ```ts
 * const sub = registry.onDidChangePluginState(e => log.info(e.id, e.state));
 * sub.dispose();
 * ```
 */
export type Event<T> = (listener: (e: T) => unknown, thisArg?: unknown) => SyncDisposable;

/** Owns an {@link Event}: `fire` notifies every listener, in subscription order. */
export class Emitter<T> implements Disposable {
  private readonly emitter = new EventEmitter<{ event: [T] }>();
  private disposed = false;

  /** The public side of this emitter. */
  readonly event: Event<T> = (listener, thisArg) => {
    if (this.disposed) return toDisposable(() => undefined);
    const bound = (e: T) => {
      listener.call(thisArg, e);
    };
    this.emitter.on('event', bound);
    return toDisposable(() => {
      this.emitter.off('event', bound);
    });
  };

  /**
   * Notifies every listener. A listener that throws does not stop the others; the error is handed
   * to `onListenerError` (by default, reported on the process).
   */
  fire(e: T): void {
    if (this.disposed) return;
    for (const listener of this.emitter.listeners('event')) {
      try {
        listener(e);
      } catch (err) {
        Emitter.onListenerError(err);
      }
    }
  }

  /** Number of current listeners (for tests and leak checks). */
  get listenerCount(): number {
    return this.emitter.listenerCount('event');
  }

  dispose(): void {
    this.disposed = true;
    this.emitter.removeAllListeners();
  }

  /** Where listener errors go; the host replaces this with its logger. */
  static onListenerError: (err: unknown) => void = (err) => {
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'EventListenerError');
  };
}

/** Namespace of small helpers on events (merged with the type, as `Event.None`, `Event.filter`). */
// eslint-disable-next-line @typescript-eslint/no-namespace -- the namespace merges with the Event type: a namespace is the only way
export namespace Event {
  /** An event that never fires. */
  export const None: Event<never> = () => toDisposable(() => undefined);

  /** Resolves with the next value the event fires. */
  export function toPromise<T>(event: Event<T>): Promise<T> {
    return new Promise((resolve) => {
      const sub = event((e) => {
        sub.dispose();
        resolve(e);
      });
    });
  }

  /** An event that fires only the values `predicate` accepts. */
  export function filter<T>(event: Event<T>, predicate: (e: T) => boolean): Event<T> {
    return (listener, thisArg) => event((e) => (predicate(e) ? listener.call(thisArg, e) : undefined));
  }
}
