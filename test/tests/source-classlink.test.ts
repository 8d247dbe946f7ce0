import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { generateDistrict, startOneRosterSimulator, startTestHost } from '@rosterbridge/test-kit';
import { afterClassLink, closedPort, differences, pull } from './oneroster-rest-kit';

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = path.resolve(__dirname, '../../plugins');

// Secrets with characters encodeURIComponent leaves alone, so that a signing mistake shows.
const CONSUMER_KEY = 'lincoln-classlink-app';
const CONSUMER_SECRET = "cl!nk'(S3cret)*-~4711";
const WRONG_SECRET = 'not-the-classlink-secret-0000';
const BEARER = 'proxy-B3arer-token-0815';
const CLIENT_SECRET = 'client-S3cret-oauth2-2718';
const PLAIN_SECRET = 'plain-text-secret-never-in-config';
const SECRETS = [CONSUMER_SECRET, WRONG_SECRET, BEARER, CLIENT_SECRET, PLAIN_SECRET, Buffer.from(`lincoln-client:${CLIENT_SECRET}`).toString('base64')];

const ENV = {
  ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET: CONSUMER_SECRET,
  ROSTERBRIDGE_SECRET_TEST_CLASSLINK_WRONG: WRONG_SECRET,
  ROSTERBRIDGE_SECRET_TEST_CLASSLINK_BEARER: BEARER,
  ROSTERBRIDGE_SECRET_TEST_CLASSLINK_CLIENT_SECRET: CLIENT_SECRET,
};
const PROXY_PATH = '/app-7f3a%3A42/ims/oneroster/v1p1';

/** An HTTP server that records the Authorization header of each request and refuses it: shows how a tenant signs. */
async function startSignatureRecorder() {
  const headers: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    headers.push(req.headers.authorization ?? '');
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ imsx_codeMajor: 'failure', imsx_description: 'recorded' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    headers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

t.test('the ClassLink source plugin through a running host', async (t) => {
  const district = generateDistrict({ seed: 20260901, size: 'small' });
  const sim = await startOneRosterSimulator({
    dataset: district,
    auth: {
      oauth1: [{ consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET }],
      oauth2Clients: [{ clientId: 'lincoln-client', clientSecret: CLIENT_SECRET }],
    },
  });
  t.teardown(() => sim.close());
  const proxy = await startOneRosterSimulator({ dataset: generateDistrict({ seed: 3, size: 'tiny' }), auth: { bearerTokens: [BEARER] }, basePath: PROXY_PATH });
  t.teardown(() => proxy.close());
  const recorder = await startSignatureRecorder();
  t.teardown(() => recorder.close());

  const dir = mkdtempSync(path.join(tmpdir(), 'rb-classlink-tenants-'));
  const tenant = (id: string, settings: Record<string, unknown>) =>
    writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ displayName: id, timezone: 'America/Chicago', source: { id: 'classlink', settings } }));
  const oauth1 = (secret: unknown, extra: Record<string, unknown> = {}) => ({ mode: 'oauth1', consumerKey: CONSUMER_KEY, consumerSecret: secret, ...extra });
  tenant('lincoln', { baseUrl: `${sim.baseUrl}/`, auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }), pageSize: 1000, concurrency: 4 });
  mkdirSync(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'secrets', 'lincoln-sha1.secret'), `${CONSUMER_SECRET}\n`);
  tenant('lincoln-sha1', {
    baseUrl: sim.baseUrl,
    auth: oauth1({ file: 'lincoln-sha1.secret' }, { signatureMethod: 'HMAC-SHA1' }),
    pageSize: 250,
    concurrency: 1,
  });
  tenant('proxy', { baseUrl: `${proxy.baseUrl}/`, auth: { mode: 'bearer', token: { env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_BEARER' } } });
  tenant('oauth2', {
    baseUrl: sim.baseUrl,
    auth: { mode: 'oauth2', tokenUrl: sim.tokenUrl, clientId: 'lincoln-client', clientSecret: { env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_CLIENT_SECRET' } },
  });
  tenant('wrong-secret', { baseUrl: sim.baseUrl, auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_WRONG' }) });
  tenant('unreachable', {
    baseUrl: `http://127.0.0.1:${await closedPort()}/ims/oneroster/v1p1`,
    auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }),
    connectTimeoutMs: 2000,
  });
  tenant('not-oneroster', { baseUrl: `${sim.origin}/api/v2/rosters`, auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }) });
  tenant('probe-default', { baseUrl: recorder.origin, auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }) });
  tenant('probe-sha1', { baseUrl: recorder.origin, auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }, { signatureMethod: 'HMAC-SHA1' }) });
  tenant('plain-secret', { baseUrl: sim.baseUrl, auth: oauth1(PLAIN_SECRET) });
  tenant('no-secret', { baseUrl: sim.baseUrl, auth: { mode: 'oauth1', consumerKey: CONSUMER_KEY } });
  tenant('page-too-big', { baseUrl: sim.baseUrl, auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }), pageSize: 20_000 });
  tenant('bad-url', { baseUrl: 'lincoln.oneroster.com/ims/oneroster/v1p1', auth: oauth1({ env: 'ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET' }) });

  const savedEnv = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, ENV);
  t.teardown(() => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const th = await startTestHost({ pluginDirs: [PLUGINS], tenantsDir: dir, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(() => th.stop());
  const { host } = th;
  const responses: string[] = [];
  const call = async (method: 'GET' | 'POST', url: string) => {
    const res = await fetch(host.url + url, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await res.text();
    responses.push(text);
    return { status: res.status, body: JSON.parse(text) };
  };
  const check = (id: string) => call('POST', `/tenants/${id}/source/check`);

  t.equal(host.plugins.get('source-classlink')?.state, 'inactive', 'not activated before a tenant needs it');

  await t.test('good credentials: the check answers ok, and activates the plugin on onSource:classlink', async (t) => {
    const r = await check('lincoln');
    t.equal(r.status, 200);
    t.equal(r.body.ok, true, JSON.stringify(r.body));
    t.match(r.body.message, /signed round trip succeeded/);
    t.equal(host.plugins.get('source-classlink')?.state, 'active');
    t.equal(host.plugins.get('source-classlink')?.activation?.event, 'onSource:classlink');
    for (const id of ['lincoln-sha1', 'proxy', 'oauth2']) {
      const other = await check(id);
      t.equal(other.body.ok, true, `${id}: ${JSON.stringify(other.body)}`);
    }
    t.ok(proxy.requests.length > 0 && proxy.requests.every((r) => r.authScheme === 'Bearer'), 'the proxy was called with the bearer token');
    t.ok(sim.tokensIssued >= 1, 'the oauth2 tenant fetched a token');
  });

  await t.test('the signature method follows the settings: HMAC-SHA256 by default, HMAC-SHA1 when asked', async (t) => {
    recorder.headers.length = 0;
    t.equal((await check('probe-default')).body.code, 'SOURCE_BAD_CREDENTIALS');
    t.match(recorder.headers[0], /^OAuth .*oauth_signature_method="HMAC-SHA256"/);
    t.match(recorder.headers[0], `oauth_consumer_key="${CONSUMER_KEY}"`);
    recorder.headers.length = 0;
    t.equal((await check('probe-sha1')).body.code, 'SOURCE_BAD_CREDENTIALS');
    t.match(recorder.headers[0], /oauth_signature_method="HMAC-SHA1"/);
  });

  await t.test('a wrong secret is SOURCE_BAD_CREDENTIALS', async (t) => {
    const r = await check('wrong-secret');
    t.equal(r.status, 200);
    t.equal(r.body.ok, false);
    t.equal(r.body.code, 'SOURCE_BAD_CREDENTIALS', JSON.stringify(r.body));
  });

  await t.test('a bad URL is unreachable or not found, naming the address', async (t) => {
    const unreachable = await check('unreachable');
    t.equal(unreachable.body.ok, false);
    t.equal(unreachable.body.code, 'SOURCE_UNREACHABLE', JSON.stringify(unreachable.body));
    t.match(unreachable.body.message, /refused/);
    const notFound = await check('not-oneroster');
    t.equal(notFound.body.ok, false);
    t.equal(notFound.body.code, 'SOURCE_NOT_FOUND', JSON.stringify(notFound.body));
    t.match(notFound.body.message, '/api/v2/rosters');
  });

  await t.test('a full read yields exactly the district, every record, with pages in flight', async (t) => {
    // A little latency per response, so that requests the client has in flight overlap at the server too.
    sim.configure({ latencyMs: 15 });
    t.teardown(() => sim.configure({ latencyMs: 0 }));
    sim.clearRequests();
    const session = await host.sourceSessions.open('lincoln');
    t.teardown(() => session.dispose());
    t.same(session.capabilities, { entities: ROSTER_ENTITY_ORDER, delta: true });
    for (const entity of ROSTER_ENTITY_ORDER) {
      const expected = [...district.records(entity)].map((record) => afterClassLink(entity, record));
      const { records, issues, rowsRead } = await pull(session, entity, { batchSize: 500 });
      t.same(differences(records, expected), [], `${entity}: the same ${expected.length} records, field for field`);
      t.equal(rowsRead, expected.length, `${entity}: every record accounted for`);
      t.same(
        issues.filter((i) => i.severity === 'error'),
        [],
        `${entity}: no errors`,
      );
    }
    t.ok(sim.requests.length > 0 && sim.requests.every((r) => r.query['limit'] === '1000'), 'pages of the configured size');
    t.ok(sim.peakConcurrency > 1 && sim.peakConcurrency <= 4, `pages overlapped, within the concurrency of 4 (peak ${sim.peakConcurrency})`);
  });

  await t.test('another tenant reads with its own page size and concurrency', async (t) => {
    sim.configure({ latencyMs: 15 });
    t.teardown(() => sim.configure({ latencyMs: 0 }));
    sim.clearRequests();
    const session = await host.sourceSessions.open('lincoln-sha1');
    t.teardown(() => session.dispose());
    const expected = [...district.records('users')].map((record) => afterClassLink('users', record));
    const { records } = await pull(session, 'users', { batchSize: 500 });
    t.same(differences(records, expected), []);
    t.ok(sim.requests.length > 0 && sim.requests.every((r) => r.query['limit'] === '250'));
    t.equal(sim.peakConcurrency, 1, 'concurrency 1 reads page by page');
  });

  await t.test('a delta read asks for what changed since the last run, and refuses to run without that time', async (t) => {
    const session = await host.sourceSessions.open('lincoln');
    t.teardown(() => session.dispose());
    const users = [...district.records('users')];
    const times = users.map((u) => u.dateLastModified!.getTime()).sort((a, b) => a - b);
    const since = new Date(times[Math.floor(times.length / 2)]!);
    const expected = users.filter((u) => u.dateLastModified!.getTime() > since.getTime()).map((u) => afterClassLink('users', u));
    t.ok(expected.length > 0 && expected.length < users.length, `the delta is a part of the users (${expected.length} of ${users.length})`);
    sim.clearRequests();
    const delta = await pull(session, 'users', { mode: 'delta', since, batchSize: 500 });
    t.same(differences(delta.records, expected), [], 'exactly the users modified after the last run');
    t.ok(
      sim.requests.length > 0 && sim.requests.every((r) => r.query['filter'] === `dateLastModified>'${since.toISOString()}'`),
      'asked with dateLastModified>',
    );
    await t.rejects(pull(session, 'users', { mode: 'delta' }), { code: 'SOURCE_MODE_MISMATCH', message: /no such time; run a full sync first/ });
  });

  await t.test('settings with a plain-text secret are refused naming the key, and so are other bad settings', async (t) => {
    const problems = async (id: string) => {
      const r = await call('GET', `/tenants/${id}`);
      t.equal(r.body.status, 'invalid', `${id} is invalid`);
      return r.body.problems as { key: string; message: string }[];
    };
    t.match(await problems('plain-secret'), [
      { key: 'source.settings.auth.consumerSecret', message: /is a secret: give it as \{"env": "NAME"\} or \{"file": "path"\}/ },
    ]);
    t.ok((await problems('no-secret')).some((p) => p.key === 'source.settings.auth.consumerSecret' && p.message === 'is required'));
    t.ok((await problems('page-too-big')).some((p) => p.key === 'source.settings.pageSize' && /<= 10000/.test(p.message)));
    t.ok((await problems('bad-url')).some((p) => p.key === 'source.settings.baseUrl'));
    const r = await check('plain-secret');
    t.equal(r.status, 422);
    t.equal(r.body.error.code, 'TENANT_CONFIG_INVALID');
    t.match(r.body.error.message, 'source.settings.auth.consumerSecret');
  });

  await t.test('the API shows where secrets come from, with the defaults filled in', async (t) => {
    const r = await call('GET', '/tenants/lincoln');
    t.equal(r.body.config.source.settings.auth.consumerSecret, '[secret from env ROSTERBRIDGE_SECRET_TEST_CLASSLINK_SECRET]');
    const oauth2 = await call('GET', '/tenants/oauth2');
    t.equal(oauth2.body.config.source.settings.auth.clientSecret, '[secret from env ROSTERBRIDGE_SECRET_TEST_CLASSLINK_CLIENT_SECRET]');
    t.match(oauth2.body.config.source.settings, { pageSize: 1000, concurrency: 4, connectTimeoutMs: 10000, responseTimeoutMs: 60000 });
  });

  await t.test('no secret appears in any log line or API response', async (t) => {
    const logs = th.logs();
    t.ok(logs.includes('opening ClassLink OneRoster session'), 'the plugin logged, so the logs are the ones to search');
    for (const secret of SECRETS) {
      t.notOk(logs.includes(secret), `logs do not hold ${secret.slice(0, 6)}…`);
      t.notOk(
        responses.some((body) => body.includes(secret)),
        `API responses do not hold ${secret.slice(0, 6)}…`,
      );
    }
  });
});
