import t, { type Test } from 'tap';
import { CleverClient } from '@rosterbridge/clever';
import { isRosterbridgeError, ROSTER_ENTITY_ORDER, type RosterRecord } from '@rosterbridge/core';
import { generateDistrict, recordDifferences } from '@rosterbridge/test-kit';
import { cleverReadBack, startCleverSimulator, type CleverSimulatorOptions } from '@rosterbridge/simulators';

const TOKEN = 'district-token-123';
const SEED = 20260817;

async function simulator(t: Test, extra: Partial<CleverSimulatorOptions> = {}) {
  const district = generateDistrict({ seed: SEED, size: 'tiny' });
  const sim = await startCleverSimulator({ dataset: district, tokens: [TOKEN], ...extra });
  t.teardown(() => sim.stop());
  return { district, sim };
}

/** Asserts that `promise` rejects with a RosterbridgeError of `code`, and never resolves (a short roster). */
async function failsWith(t: Test, promise: Promise<unknown>, code: string, name = `fails with ${code}`): Promise<void> {
  try {
    await promise;
    t.fail(`${name}: resolved instead`);
  } catch (error) {
    t.ok(isRosterbridgeError(error) && error.code === code, name, { error: String(error), code: (error as { code?: unknown }).code });
  }
}

function client(t: Test, baseUrl: string, options: Partial<ConstructorParameters<typeof CleverClient>[0]> = {}): CleverClient {
  const c = new CleverClient({ token: TOKEN, baseUrl, backoffBaseMs: 10, backoffMaxMs: 50, ...options });
  t.teardown(() => c.close());
  return c;
}

t.test('a full pull of a generated tiny district yields its records, less what Clever cannot express', async (t) => {
  const { district, sim } = await simulator(t);
  const pull = await client(t, sim.baseUrl).pullDistrict();
  t.same(pull.issues, [], 'no issues: every reference resolves');
  // What Clever cannot express is listed on cleverReadBack (test/simulators/src/clever/clever-read-back.ts).
  const expected = cleverReadBack(district);
  for (const entity of ROSTER_ENTITY_ORDER) {
    t.same(
      recordDifferences(pull.records[entity] as RosterRecord[], expected.records(entity)).slice(0, 8),
      [],
      `${entity}: the ${expected.records(entity).length} records Clever carries, field for field`,
    );
  }
  t.equal(expected.records('users').length, district.counts.users, 'every user is carried');
  t.equal(expected.records('classes').length, district.counts.classes, 'every class is carried');
});

t.test('paging with a small limit follows the next links and reads everything once', async (t) => {
  const { district, sim } = await simulator(t);
  const pull = await client(t, sim.baseUrl, { pageSize: 3 }).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
  t.equal(pull.records.classes.length, district.counts.classes);
  t.equal(pull.records.enrollments.length, [...district.records('enrollments')].length);
  const sectionPages = sim.requests.filter((r) => r.path === 'sections');
  t.equal(sectionPages.length, Math.ceil(district.counts.classes / 3), 'one request per page of sections');
  t.ok(sectionPages.length > 1 && sectionPages.slice(1).every((r) => r.query.starting_after !== undefined), 'later pages carry starting_after');
  t.ok(sim.requests.length > 0 && sim.requests.every((r) => r.query.limit === '3'));
});

t.test('a bad token gives SOURCE_BAD_CREDENTIALS, in a pull and in a check', async (t) => {
  const { sim } = await simulator(t);
  const bad = client(t, sim.baseUrl, { token: 'wrong-clever-token' });
  await failsWith(t, bad.pullDistrict(), 'SOURCE_BAD_CREDENTIALS');
  const check = await bad.check();
  t.match(check, { ok: false, code: 'SOURCE_BAD_CREDENTIALS' });
  t.match(await client(t, sim.baseUrl).check(), { ok: true, message: /Connected to Clever district/ });
  t.match(await client(t, 'http://127.0.0.1:1/v3.0', { connectTimeoutMs: 500 }).check(), { ok: false, code: 'SOURCE_UNREACHABLE' });
});

t.test('429s from the rate limit are waited out', async (t) => {
  const { district, sim } = await simulator(t, { rateLimit: { limit: 4, windowMs: 300 } });
  const pull = await client(t, sim.baseUrl, { pageSize: 5 }).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
  t.ok(sim.requests.length > 4, 'more requests than one window allows');
  // The client pauses when X-RateLimit-Remaining reaches 0; any 429 it still meets it waits out.
  t.ok(sim.requests.filter((r) => r.status === 200).length === sim.requests.length - sim.requests.filter((r) => r.status === 429).length);
});

t.test('injected 429s with Retry-After are waited out; too many give SOURCE_RATE_LIMITED', async (t) => {
  const { district, sim } = await simulator(t, { faults: [{ kind: 'status', status: 429, retryAfter: 0.05, requests: [2, 3] }] });
  const pull = await client(t, sim.baseUrl).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
  t.equal(sim.requests.filter((r) => r.status === 429).length, 2);
  sim.configure({ faults: [{ kind: 'status', status: 429, retryAfter: 0.01, path: 'users' }] });
  await failsWith(t, client(t, sim.baseUrl, { maxAttempts: 3 }).pullDistrict(), 'SOURCE_RATE_LIMITED');
});

t.test('a 500 mid-read ends in an error, never a short roster; one 500 is retried', async (t) => {
  const { district, sim } = await simulator(t, { faults: [{ kind: 'status', status: 500, path: 'sections', requests: [2] }] });
  const ok = await client(t, sim.baseUrl, { pageSize: 4 }).pullDistrict();
  t.equal(ok.records.classes.length, district.counts.classes, 'one 500 retried');

  sim.configure({ faults: [{ kind: 'status', status: 500, path: 'users', requests: [2, 3, 4, 5, 6, 7, 8] }] });
  await failsWith(t, client(t, sim.baseUrl, { pageSize: 4, maxAttempts: 3 }).pullDistrict(), 'SOURCE_UNAVAILABLE');
});

t.test('cut and broken bodies, resets and slow answers fail with their codes', async (t) => {
  const { district, sim } = await simulator(t);
  const cases = [
    { fault: { kind: 'truncatedJson' as const, path: 'schools' }, code: 'SOURCE_TRUNCATED' },
    { fault: { kind: 'resetMidBody' as const, path: 'schools' }, code: 'SOURCE_TRUNCATED' },
    { fault: { kind: 'reset' as const, path: 'schools' }, code: 'SOURCE_UNAVAILABLE' },
    { fault: { kind: 'missingEnvelope' as const, path: 'schools' }, code: 'SOURCE_BAD_RESPONSE' },
    { fault: { kind: 'htmlPage' as const, path: 'schools' }, code: 'SOURCE_BAD_RESPONSE' },
    // Far longer than the timeout: undici checks its timeouts on a coarse clock (about a second).
    { fault: { kind: 'slow' as const, delayMs: 5000, path: 'schools' }, code: 'SOURCE_TIMEOUT' },
  ];
  for (const { fault, code } of cases) {
    sim.configure({ faults: [fault] });
    await failsWith(t, client(t, sim.baseUrl, { maxAttempts: 2, responseTimeoutMs: 200 }).pullDistrict(), code as never, `${fault.kind} → ${code}`);
  }
  // A single cut body is retried.
  sim.configure({ faults: [{ kind: 'truncatedJson', path: 'users', requests: [1] }] });
  const pull = await client(t, sim.baseUrl).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
});

t.test('a gateway echoing the request headers in its errors never gets the token into an error', async (t) => {
  const { createServer } = await import('node:http');
  for (const status of [401, 403, 400, 200]) {
    const server = createServer((req, res) => {
      const echo = JSON.stringify(req.headers);
      res
        .writeHead(status, { 'content-type': status === 200 ? 'text/html' : 'application/json' })
        .end(status === 200 ? `<html>${echo}</html>` : JSON.stringify({ error: `refused ${echo}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const c = client(t, `http://127.0.0.1:${(server.address() as { port: number }).port}/v3.0`, { maxAttempts: 1 });
    const check = await c.check();
    t.equal(check.ok, false, `${status}: the check fails`);
    t.notMatch(JSON.stringify(check), TOKEN, `${status}: the check says nothing of the token`);
    try {
      await c.pullDistrict();
      t.fail('resolved');
    } catch (error) {
      t.notMatch(
        `${(error as Error).message} ${JSON.stringify(error)}`,
        TOKEN,
        `${status}: the error says nothing of the token (${(error as Error).message.slice(0, 80)}…)`,
      );
    }
  }
});
