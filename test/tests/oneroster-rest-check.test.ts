import t from 'tap';
import { OneRosterClient, OneRosterSourceSession } from '@rosterbridge/oneroster-rest';
import { generateDistrict, startOneRosterSimulator } from '@rosterbridge/test-kit';
import { FAST_RETRIES, OAUTH1, closedPort, pull } from './oneroster-rest-kit';

t.test('the connection check tells apart what an operator fixes differently', async (t) => {
  const sim = await startOneRosterSimulator({
    dataset: generateDistrict({ seed: 3, size: 'tiny' }),
    auth: { oauth1: [OAUTH1], bearerTokens: ['proxy-token-abc'] },
  });
  t.teardown(() => sim.close());
  const check = async (baseUrl: string, credentials = OAUTH1 as ConstructorParameters<typeof OneRosterClient>[0]['credentials']) => {
    const session = OneRosterSourceSession.open({ baseUrl, credentials, ...FAST_RETRIES });
    t.teardown(() => session.dispose());
    return session.check();
  };

  await t.test('everything right: ok, with a signed round trip to every collection', async (t) => {
    sim.clearRequests();
    const result = await check(sim.baseUrl);
    t.match(result, { ok: true, details: { totalCounts: { users: 28, orgs: 3 } } });
    t.same(
      sim.requests.map((r) => r.path),
      ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics'],
    );
    t.ok(
      sim.requests.length > 0 && sim.requests.every((r) => r.authScheme === 'OAuth' && r.status === 200 && r.query['limit'] === '1'),
      'each one signed, answered, for one record',
    );
  });

  await t.test('a host where nothing listens: SOURCE_UNREACHABLE', async (t) => {
    const result = await check(`http://127.0.0.1:${await closedPort()}/ims/oneroster/v1p1`);
    t.match(result, { ok: false, code: 'SOURCE_UNREACHABLE', message: /refused/ });
  });

  await t.test('a host name that does not resolve: SOURCE_UNREACHABLE', async (t) => {
    const result = await check('http://no-such-host.invalid/ims/oneroster/v1p1');
    t.match(result, { ok: false, code: 'SOURCE_UNREACHABLE' });
  });

  await t.test('a server that is not OneRoster at that path (404 page): SOURCE_NOT_FOUND', async (t) => {
    const result = await check(`${sim.origin}/ims/oneroster/v1p2`);
    t.match(result, { ok: false, code: 'SOURCE_NOT_FOUND', message: /\/ims\/oneroster\/v1p1/ });
  });

  await t.test('a server that answers 200 with an HTML page: SOURCE_NOT_FOUND', async (t) => {
    sim.configure({ faults: [{ kind: 'htmlPage' }] });
    t.teardown(() => sim.configure({ faults: [] }));
    const result = await check(sim.baseUrl);
    t.match(result, { ok: false, code: 'SOURCE_NOT_FOUND', message: /not as a OneRoster 1\.1 server/ });
  });

  await t.test('a wrong secret, an unknown key, a wrong token: SOURCE_BAD_CREDENTIALS', async (t) => {
    t.match(await check(sim.baseUrl, { ...OAUTH1, consumerSecret: 'not-the-secret' }), {
      ok: false,
      code: 'SOURCE_BAD_CREDENTIALS',
      message: /invalid signature/,
    });
    t.match(await check(sim.baseUrl, { ...OAUTH1, consumerKey: 'someone-else' }), {
      ok: false,
      code: 'SOURCE_BAD_CREDENTIALS',
      message: /unknown consumer key/,
    });
    t.match(await check(sim.baseUrl, { kind: 'bearer', token: 'expired-token' }), { ok: false, code: 'SOURCE_BAD_CREDENTIALS' });
    t.match(await check(sim.baseUrl, { kind: 'bearer', token: 'proxy-token-abc' }), { ok: true });
  });

  await t.test('a collection the credentials may not read: SOURCE_FORBIDDEN naming it', async (t) => {
    sim.configure({ forbidden: ['demographics'] });
    t.teardown(() => sim.configure({ forbidden: [] }));
    const result = await check(sim.baseUrl);
    t.match(result, {
      ok: false,
      code: 'SOURCE_FORBIDDEN',
      message: /may not read demographics/,
      details: { forbidden: ['demographics'], entities: ['demographics'] },
    });
    t.notMatch(result.message, /users/, 'only the forbidden collection is named');

    const session = OneRosterSourceSession.open({ baseUrl: sim.baseUrl, credentials: OAUTH1, ...FAST_RETRIES });
    t.teardown(() => session.dispose());
    await t.rejects(pull(session, 'demographics'), { code: 'SOURCE_FORBIDDEN', message: /demographics/ }, 'reading it is SOURCE_FORBIDDEN too');
    t.equal((await pull(session, 'users')).records.length, 28, 'other collections still read');

    const withoutDemographics = OneRosterSourceSession.open({ baseUrl: sim.baseUrl, credentials: OAUTH1, entities: ['orgs', 'users'] });
    t.teardown(() => withoutDemographics.dispose());
    t.match(await withoutDemographics.check(), { ok: true }, 'a source set up without demographics checks only what it reads');
  });

  await t.test('a forbidden collection and bad credentials: bad credentials come first', async (t) => {
    sim.configure({ forbidden: ['users'] });
    t.teardown(() => sim.configure({ forbidden: [] }));
    t.match(await check(sim.baseUrl, { ...OAUTH1, consumerSecret: 'wrong-consumer-secret' }), { code: 'SOURCE_BAD_CREDENTIALS' });
  });
});
