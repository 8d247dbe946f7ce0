import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, changeDistrict, generateDistrict, startCleverSimulator, startTestHost } from '@rosterbridge/test-kit';
import { apiRoot } from '../src/clever-settings';

// This package's folder's parent (the checkout's plugins/) and the test kit's recording target `memo`.
const PLUGIN_DIRS = [path.resolve(__dirname, '../..'), path.join(FIXTURES_DIR, 'plugins/sync')];
const TOKEN = 'clever-district-token-7f3a9c21e5';
const TOKEN_ENV = 'ROSTERBRIDGE_SECRET_SOURCE_CLEVER_TEST_TOKEN';

/** A host with a tenants folder; `tenant()` writes a tenant syncing a Clever district into `memo`. */
async function host(t: Test) {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-source-clever-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  process.env[TOKEN_ENV] = TOKEN;
  const th = await startTestHost({ pluginDirs: PLUGIN_DIRS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    delete process.env[TOKEN_ENV];
    rmSync(root, { recursive: true, force: true });
  });
  const tenant = async (id: string, settings: Record<string, unknown>) => {
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'UTC', source: { id: 'clever', settings }, targets: [{ id: 'memo' }] }),
    );
    await th.host.tenants.load();
  };
  const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
    th.host.syncs.settled((await th.host.syncs.trigger(tenantId, { trigger: 'test', mode })).id);
  /** The memo target's records of a tenant, dateLastModified aside (a change Clever makes to a field no record holds moves it). */
  const rows = async (tenantId: string) =>
    (
      await th.host.database.db
        .withSchema('plugin_target_memo')
        .selectFrom('record')
        .select(['entity', 'sourced_id', 'record'])
        .where('tenant_id', '=', tenantId)
        .orderBy('entity')
        .orderBy('sourced_id')
        .execute()
    ).map((r) => {
      const { dateLastModified: _d, ...record } = (typeof r.record === 'string' ? JSON.parse(r.record) : r.record) as Record<string, unknown>;
      return `${r.entity} ${r.sourced_id} ${JSON.stringify(record)}`;
    });
  return { th, root, tenant, sync, rows };
}

const tally = (run: SyncRun) =>
  Object.values(run.counts.source).reduce(
    (sum, c) => ({ created: sum.created + (c?.created ?? 0), updated: sum.updated + (c?.updated ?? 0), deleted: sum.deleted + (c?.deleted ?? 0) }),
    { created: 0, updated: 0, deleted: 0 },
  );

t.test(
  "a full sync, then a delta from Clever's events, gives what a full sync of the changed district gives; the same events again change nothing",
  async (t) => {
    const district = generateDistrict({ seed: 515, size: 'tiny' });
    const sim = await startCleverSimulator({ dataset: district, tokens: [TOKEN] });
    t.teardown(() => sim.stop());
    const { tenant, sync, rows } = await host(t);
    const settings = { baseUrl: sim.origin, token: { env: TOKEN_ENV }, pageSize: 7 };
    await tenant('lincoln', settings);

    const first = await sync('lincoln');
    t.equal(first.status, 'success', first.reason ?? first.errorMessage ?? '');
    t.equal(
      tally(first).created,
      Object.values(first.counts.source).reduce((n, c) => n + (c?.read ?? 0), 0),
      'a first full sync creates every record read',
    );

    const changed = changeDistrict(district, { seed: 516, fraction: 0.1 });
    const events = sim.changeTo(changed);
    sim.clearRequests();
    const delta = await sync('lincoln', 'delta');
    t.equal(delta.status, 'success', delta.reason ?? delta.errorMessage ?? '');
    const changes = tally(delta);
    t.ok(changes.created + changes.updated + changes.deleted > 0, `the delta from ${events.length} events changes records (${JSON.stringify(changes)})`);
    const collections = sim.requests.filter((r) => ['schools', 'terms', 'courses', 'sections', 'users'].includes(r.path)).map((r) => r.path);
    t.same(collections, [], 'the delta reads events and the objects around them, no whole collection');
    t.ok(
      sim.requests.some((r) => r.path === 'events'),
      'it reads /events',
    );

    await tenant('fresh', settings);
    const full = await sync('fresh');
    t.equal(full.status, 'success');
    t.same(await rows('lincoln'), await rows('fresh'), 'the records after the delta are those of a full sync of the changed district');

    // Read every event again (as a host whose clock runs a day behind Clever's would): nothing changes.
    await tenant('lincoln', { ...settings, eventOverlapSeconds: 86_400 });
    const replay = await sync('lincoln', 'delta');
    t.equal(replay.status, 'success');
    t.same(tally(replay), { created: 0, updated: 0, deleted: 0 }, 'the same events applied again change nothing');
    t.same(await rows('lincoln'), await rows('fresh'));
  },
);

t.test('a delta with no committed sync before it is refused: there is no "since"', async (t) => {
  const sim = await startCleverSimulator({ dataset: generateDistrict({ seed: 517, size: 'tiny' }), tokens: [TOKEN] });
  t.teardown(() => sim.stop());
  const { tenant, sync } = await host(t);
  await tenant('newcomer', { baseUrl: sim.origin, token: { env: TOKEN_ENV } });
  const run = await sync('newcomer', 'delta');
  t.equal(run.status, 'failed');
  t.equal(run.errorCode, 'SOURCE_MODE_MISMATCH');
  t.match(run.errorMessage, /run a full sync first/);
});

t.test('the district token is a secret: from env or file, never in logs, run records or the API', async (t) => {
  const sim = await startCleverSimulator({ dataset: generateDistrict({ seed: 518, size: 'tiny' }), tokens: [TOKEN], rateLimit: { limit: 4, windowMs: 200 } });
  t.teardown(() => sim.stop());
  const { th, root, tenant, sync } = await host(t);
  mkdirSync(path.join(root, 'tenants', 'secrets'));
  writeFileSync(path.join(root, 'tenants', 'secrets', 'clever-token.txt'), `${TOKEN}\n`);
  await tenant('from-file', { baseUrl: sim.origin, token: { file: 'clever-token.txt' } });
  await tenant('wrong', { baseUrl: sim.origin, token: { env: 'ROSTERBRIDGE_SECRET_SOURCE_CLEVER_WRONG' } });
  process.env.ROSTERBRIDGE_SECRET_SOURCE_CLEVER_WRONG = `${TOKEN}-revoked`;
  t.teardown(() => delete process.env.ROSTERBRIDGE_SECRET_SOURCE_CLEVER_WRONG);

  t.match(await th.host.sourceSessions.check('from-file'), { ok: true, message: /Connected to Clever district/ });
  const ok = await sync('from-file');
  t.equal(ok.status, 'success', 'a token from a file reads the district, through the rate limit (429s and X-RateLimit-* waited out)');
  t.ok(sim.requests.some((r) => r.status === 429) || sim.requests.length > 4, 'more requests than one rate-limit window allows');

  t.match(await th.host.sourceSessions.check('wrong'), { ok: false, code: 'SOURCE_BAD_CREDENTIALS' });
  const refused = await sync('wrong');
  t.equal(refused.status, 'failed');
  t.equal(refused.errorCode, 'SOURCE_BAD_CREDENTIALS');
  t.notMatch(JSON.stringify(refused), TOKEN, 'the run record says nothing of the token');
  t.notMatch(JSON.stringify(th.host.tenants.get('wrong')), TOKEN, 'nor does the tenant as the API shows it');
  t.notMatch(th.logs(), TOKEN, 'nor any log line');
});

t.test("baseUrl: Clever's host by default, v3.0 below it", async (t) => {
  t.equal(apiRoot('https://api.clever.com'), 'https://api.clever.com/v3.0');
  t.equal(apiRoot('https://api.clever.com/'), 'https://api.clever.com/v3.0');
  t.equal(apiRoot('https://api.clever.com/v3.0/'), 'https://api.clever.com/v3.0');
  t.equal(apiRoot('http://127.0.0.1:4000/proxy'), 'http://127.0.0.1:4000/proxy/v3.0');
});
