/** Something that holds a resource or a subscription and can give it back. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

/** A {@link Disposable} whose teardown is done when `dispose` returns (an event subscription). */
export interface SyncDisposable extends Disposable {
  dispose(): void;
}

/**
 * Wraps a teardown function as a {@link Disposable} that runs it at most once. A synchronous
 * teardown gives a {@link SyncDisposable}: nothing to await.
 */
export function toDisposable<R extends void | Promise<void>>(teardown: () => R): { dispose(): R | undefined } {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      return teardown();
    },
  };
}

/**
 * Collects disposables and disposes them last-in, first-out: what was set up last (and may depend
 * on what came before) is torn down first. A failing disposable does not stop the others; the
 * failures are thrown together at the end as an AggregateError.
 *
 * ```ts
 * const store = new DisposableStore();
 * store.add(pool);           // disposed last
 * store.add(server);         // disposed first
 * await store.dispose();
 * ```
 */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  /** True once {@link dispose} has started. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Adds a disposable; if the store is already disposed, disposes it at once. */
  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      void Promise.resolve()
        .then(() => item.dispose())
        .catch(() => undefined);
      return item;
    }
    this.items.push(item);
    return item;
  }

  /** Disposes everything added so far, newest first, awaiting each in turn. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      const item = this.items.pop()!;
      try {
        await item.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} disposables failed`);
  }
}
