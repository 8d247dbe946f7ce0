import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { ConcurrencyLimiter } from '../src/index';

t.test('never runs more than its limit at once, in arrival order', async (t) => {
  const limiter = new ConcurrencyLimiter(3);
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await delay(5 + (i % 3) * 3);
        running--;
      }),
    ),
  );
  t.equal(peak, 3);
  t.same(started, [...Array(12).keys()]);
  t.equal(limiter.running, 0);
});

t.test('a failing task frees its slot', async (t) => {
  const limiter = new ConcurrencyLimiter(1);
  await t.rejects(
    limiter.run(async () => {
      throw new Error('x');
    }),
    /x/,
  );
  t.equal(await limiter.run(async () => 'next'), 'next');
});

t.test('aborting while queued gives up the place with CANCELLED', async (t) => {
  const limiter = new ConcurrencyLimiter(1);
  let release!: () => void;
  const first = limiter.run(() => new Promise<void>((resolve) => (release = resolve)));
  const controller = new AbortController();
  const second = limiter.run(async () => 'ran', controller.signal);
  t.equal(limiter.queued, 1);
  controller.abort();
  await t.rejects(second, { name: 'RosterbridgeError', code: 'CANCELLED' });
  t.equal(limiter.queued, 0);
  release();
  await first;
  await t.rejects(
    limiter.run(async () => 'x', controller.signal),
    { name: 'RosterbridgeError', code: 'CANCELLED' },
    'already aborted',
  );
  t.throws(() => new ConcurrencyLimiter(0), RangeError);
});
