import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { RosterbridgeError, withDeadline } from '@rosterbridge/core';

const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* blocks the event loop: no timer fires meanwhile */
  }
};

t.test('work that settles in time gives its value; a rejection passes through', async (t) => {
  t.equal(
    await withDeadline(
      sleep(10).then(() => 42),
      500,
      'quick work',
    ),
    42,
  );
  t.equal(await withDeadline(async () => 'thunk', 500, 'quick thunk'), 'thunk');
  await t.rejects(withDeadline(Promise.reject(new Error('its own failure')), 500, 'failing work'), /its own failure/);
  await t.rejects(
    withDeadline(
      () => {
        throw new Error('thrown before any promise');
      },
      500,
      'a thunk that throws at once',
    ),
    /thrown before any promise/,
  );
});

t.test('work still pending at its deadline is an overrun, with the code asked for', async (t) => {
  const err = await withDeadline(new Promise(() => {}), 50, 'plugin x read()').catch((e: unknown) => e);
  t.ok(err instanceof RosterbridgeError);
  t.equal((err as RosterbridgeError).code, 'DEADLINE_EXCEEDED');
  t.match((err as Error).message, /^plugin x read\(\) did not finish within 50 ms$/);
  const activation = await withDeadline(new Promise(() => {}), 20, 'activate()', 'PLUGIN_ACTIVATION_TIMEOUT').catch((e: unknown) => e);
  t.equal((activation as RosterbridgeError).code, 'PLUGIN_ACTIVATION_TIMEOUT');
});

t.test('work that blocks the event loop past its deadline and then succeeds is an overrun, not a success', async (t) => {
  const err = await withDeadline(
    async () => {
      await Promise.resolve();
      busy(300);
      return 'too late';
    },
    100,
    'plugin y activate()',
  ).catch((e: unknown) => e);
  t.ok(err instanceof RosterbridgeError, 'rejected');
  t.match((err as Error).message, /^plugin y activate\(\) took \d+ ms, past its deadline of 100 ms/);
  // The same blocking inside its deadline is fine.
  t.equal(
    await withDeadline(
      async () => {
        busy(20);
        return 'in time';
      },
      1000,
      'short busy work',
    ),
    'in time',
  );
});
