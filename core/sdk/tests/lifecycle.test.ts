import t from 'tap';
import { DisposableStore, toDisposable, Emitter } from '@rosterbridge/core';

t.test('DisposableStore disposes last-in, first-out', async (t) => {
  const order: string[] = [];
  const store = new DisposableStore();
  store.add(toDisposable(() => void order.push('pool')));
  store.add(
    toDisposable(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('plugins');
    }),
  );
  store.add(toDisposable(() => void order.push('http')));
  await store.dispose();
  t.same(order, ['http', 'plugins', 'pool']);
  await store.dispose();
  t.same(order, ['http', 'plugins', 'pool'], 'second dispose is a no-op');
});

t.test('a failing disposable does not stop the others', async (t) => {
  const order: string[] = [];
  const store = new DisposableStore();
  store.add(toDisposable(() => void order.push('a')));
  store.add(
    toDisposable(() => {
      throw new Error('boom');
    }),
  );
  store.add(toDisposable(() => void order.push('c')));
  await t.rejects(store.dispose(), /boom/);
  t.same(order, ['c', 'a']);
});

t.test('Emitter: typed events return disposables; listener errors are isolated', async (t) => {
  const emitter = new Emitter<{ n: number }>();
  const seen: number[] = [];
  const errors: unknown[] = [];
  const saved = Emitter.onListenerError;
  Emitter.onListenerError = (e) => errors.push(e);
  t.teardown(() => {
    Emitter.onListenerError = saved;
  });
  const a = emitter.event(() => {
    throw new Error('bad listener');
  });
  const b = emitter.event((e) => seen.push(e.n));
  emitter.fire({ n: 1 });
  b.dispose();
  emitter.fire({ n: 2 });
  t.same(seen, [1]);
  t.equal(errors.length, 2);
  a.dispose();
  t.equal(emitter.listenerCount, 0);
});
