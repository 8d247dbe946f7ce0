import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterRecord } from '@rosterbridge/core';
import { OneRosterClient, OneRosterSourceSession, type OneRosterClientOptions } from '@rosterbridge/oneroster-rest';
import { generateDistrict, startOneRosterSimulator, type SimulatorFault } from '@rosterbridge/test-kit';
import { FAST_RETRIES, OAUTH1, afterClassLink, differences, pull } from './oneroster-rest-kit';

const district = generateDistrict({ seed: 7, size: 'tiny' });
const USERS = [...district.records('users')].map((u) => afterClassLink('users', u));

t.test('faults', async (t) => {
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [OAUTH1] } });
  t.teardown(() => sim.close());
  const client = (options: Partial<OneRosterClientOptions> = {}): OneRosterClient => {
    const c = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 4, ...FAST_RETRIES, ...options });
    t.teardown(() => c.dispose());
    return c;
  };
  const setFaults = (faults: SimulatorFault[], latencyMs = 0): void => {
    sim.configure({ faults, latencyMs });
    sim.clearRequests();
  };
  /** Reads users to the end or to an error; what was yielded before an error is kept to prove it is not presented as complete. */
  const readUsers = async (c: OneRosterClient) => {
    const reading = c.read('users');
    const records: RosterRecord<'users'>[] = [];
    let error: unknown;
    try {
      for await (const batch of reading) records.push(...batch.records);
    } catch (err) {
      error = err;
    }
    return { records, error, report: reading.report };
  };

  await t.test('429, 5xx, resets, slow responses and a body cut mid-stream are retried and the pull is whole', async (t) => {
    setFaults([
      { kind: 'status', status: 429, retryAfter: 1, path: 'users', requests: [2] },
      { kind: 'status', status: 503, path: 'users', requests: [4] },
      { kind: 'status', status: 500, body: 'text', path: 'users', requests: [6] },
      { kind: 'status', status: 502, body: 'html', path: 'users', requests: [8] },
      { kind: 'reset', path: 'users', requests: [10] },
      { kind: 'slow', delayMs: 1500, path: 'users', requests: [12] },
      { kind: 'resetMidBody', path: 'users', requests: [14] },
    ]);
    const { records, error, report } = await readUsers(client({ responseTimeoutMs: 400 }));
    t.equal(error, undefined, 'no error');
    t.same(differences(records, USERS), [], 'every user, once');
    t.equal(report.complete, true);
    t.same(sim.faultCounts(), [1, 1, 1, 1, 1, 1, 1], 'every fault fired once');
    const requests = sim.requests.filter((r) => r.path === 'users');
    t.equal(requests.length, 15, '8 good requests (7 pages and the empty one) and 7 faulted ones');
    const wait = requests[2]!.at - requests[1]!.at;
    t.ok(wait >= 950, `Retry-After: 1 was honoured (waited ${wait} ms, backoff alone would be ≤ 20 ms)`);
    t.ok(
      requests.every((r, i) => i === 0 || r.query['offset'] !== undefined),
      'paged by offset throughout',
    );
  });

  await t.test('faults at a seeded rate across a whole pull are recovered', async (t) => {
    setFaults([
      { kind: 'status', status: 503, rate: 0.25 },
      { kind: 'reset', rate: 0.1 },
      { kind: 'status', status: 429, retryAfter: 0, rate: 0.1 },
    ]);
    const session = new OneRosterSourceSession(client({ maxAttempts: 10 }));
    for (const entity of ROSTER_ENTITY_ORDER) {
      const expected = [...district.records(entity)].map((r) => afterClassLink(entity, r));
      const { records } = await pull(session, entity);
      t.same(differences(records, expected), [], `${entity}: whole despite faults`);
    }
    const fired = sim.faultCounts();
    t.ok(fired.length > 0 && fired.every((n) => n > 0), `every kind of fault fired (${fired.join(', ')})`);
  });

  await t.test('per-page latency slows a pull but does not break it', async (t) => {
    setFaults([], 60);
    const started = Date.now();
    const { records, error } = await readUsers(client());
    t.equal(error, undefined);
    t.equal(records.length, USERS.length);
    const pages = sim.requests.length;
    t.ok(Date.now() - started >= pages * 60, `${pages} pages took at least ${pages * 60} ms`);
    setFaults([], 0);
  });

  const surfaced: { name: string; faults: SimulatorFault[]; code: string; options?: Partial<OneRosterClientOptions>; requests?: number; message?: RegExp }[] = [
    {
      name: 'truncated JSON on the second page',
      faults: [{ kind: 'truncatedJson', path: 'users', requests: [2] }],
      code: 'SOURCE_TRUNCATED',
      requests: 2,
      message: /cut short/,
    },
    {
      name: 'a 200 without its envelope key',
      faults: [{ kind: 'missingEnvelope', path: 'users', requests: [3] }],
      code: 'SOURCE_BAD_RESPONSE',
      requests: 3,
      message: /without its "users" key/,
    },
    {
      name: 'an HTML page with a 200',
      faults: [{ kind: 'htmlPage', path: 'users', requests: [2] }],
      code: 'SOURCE_BAD_RESPONSE',
      requests: 2,
      message: /HTML page titled "Service Temporarily Unavailable"/,
    },
    {
      name: '503 on every attempt',
      faults: [{ kind: 'status', status: 503, path: 'users' }],
      code: 'SOURCE_UNAVAILABLE',
      options: { maxAttempts: 3 },
      requests: 3,
    },
    {
      name: '429 on every attempt',
      faults: [{ kind: 'status', status: 429, retryAfter: 0, path: 'users' }],
      code: 'SOURCE_RATE_LIMITED',
      options: { maxAttempts: 4 },
      requests: 4,
    },
    {
      name: 'a Retry-After beyond what the client waits',
      faults: [{ kind: 'status', status: 429, retryAfter: 3600, path: 'users' }],
      code: 'SOURCE_RATE_LIMITED',
      requests: 1,
      message: /3600 s/,
    },
    {
      name: 'a reset on every attempt',
      faults: [{ kind: 'reset', path: 'users' }],
      code: 'SOURCE_UNREACHABLE',
      options: { maxAttempts: 3 },
      requests: 3,
      message: /reset|closed/,
    },
    {
      name: 'a response slower than the timeout on every attempt',
      faults: [{ kind: 'slow', delayMs: 3000, path: 'users' }],
      code: 'SOURCE_TIMEOUT',
      options: { maxAttempts: 2, responseTimeoutMs: 250 },
      requests: 2,
    },
    {
      name: 'a body cut mid-stream on every attempt',
      faults: [{ kind: 'resetMidBody', path: 'users' }],
      code: 'SOURCE_TRUNCATED',
      options: { maxAttempts: 2 },
      requests: 2,
    },
    {
      name: 'a 500 on a late page once retries run out',
      faults: [{ kind: 'status', status: 500, path: 'users', requests: [5, 6] }],
      code: 'SOURCE_UNAVAILABLE',
      options: { maxAttempts: 2 },
      requests: 6,
    },
  ];
  for (const c of surfaced) {
    await t.test(`${c.name} is ${c.code}, never a short roster`, async (t) => {
      setFaults(c.faults);
      const { records, error, report } = await readUsers(client(c.options));
      t.match(error, { name: 'RosterbridgeError', code: c.code, ...(c.message ? { message: c.message } : {}) });
      t.equal(report.complete, false, 'the read is not complete');
      t.ok(records.length < USERS.length, `only ${records.length} of ${USERS.length} users were yielded before the error`);
      if (c.requests !== undefined) t.equal(sim.requests.length, c.requests, `${c.requests} requests made`);
    });
  }

  await t.test('through the source session, a failed read throws instead of ending', async (t) => {
    setFaults([{ kind: 'truncatedJson', path: 'enrollments', requests: [3] }]);
    const session = new OneRosterSourceSession(client());
    await t.rejects(pull(session, 'enrollments'), { code: 'SOURCE_TRUNCATED' });
    t.equal(session.readReports[0]!.complete, false);
    setFaults([]);
  });

  await t.test('aborting a read cancels it at once, incomplete', async (t) => {
    setFaults([{ kind: 'slow', delayMs: 5000, path: 'users', requests: [2] }]);
    const controller = new AbortController();
    const reading = client().read('users', { signal: controller.signal });
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    await t.rejects(
      (async () => {
        for await (const _ of reading);
      })(),
      { code: 'CANCELLED' },
    );
    t.ok(Date.now() - started < 2000, 'without waiting for the slow page');
    t.equal(reading.report.complete, false);
    setFaults([]);
  });

  await t.test('the request cap stops a read that would not end', async (t) => {
    setFaults([]);
    const { records, error, report } = await readUsers(client({ maxRequestsPerRead: 3 }));
    t.match(error, { code: 'SOURCE_TOO_MANY_REQUESTS', message: /3 page requests/ });
    t.equal(sim.requests.length, 3);
    t.equal(records.length, 12);
    t.equal(report.complete, false);
  });

  await t.test('requests in flight never exceed the per-tenant limit', async (t) => {
    setFaults([], 40);
    const limited = new OneRosterSourceSession(client({ maxConcurrentRequests: 2 }));
    await Promise.all(ROSTER_ENTITY_ORDER.map((entity) => pull(limited, entity)));
    const limitedPeak = sim.peakConcurrency;
    t.ok(limitedPeak <= 2, `at most 2 at once (saw ${limitedPeak})`);
    t.equal(limitedPeak, 2, 'and the limit is used');
    setFaults([], 40);
    const wider = new OneRosterSourceSession(client({ maxConcurrentRequests: 6 }));
    await Promise.all(ROSTER_ENTITY_ORDER.map((entity) => pull(wider, entity)));
    t.ok(sim.peakConcurrency > 2, `a wider limit lets more through (saw ${sim.peakConcurrency}), so the measure can tell`);
    setFaults([], 0);
  });
});
