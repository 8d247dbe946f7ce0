import * as path from 'node:path';
import t from 'tap';
import type { PluginStatus } from '@rosterbridge/engine';
import { FIXTURES_DIR, startTestHost } from '@rosterbridge/test-kit';

const LINCOLN_SECRET = 'ln-Vb8Nc3Xq6Hs1Tz9f3a7c';
const JEFFERSON_SECRET = 'jf-Kq7Wx2Pz9Lm4Rt0042';
const ADMIN = 'admin-token-0123456789abcdef';
const LINCOLN_TOKEN = 'lincoln-token-0123456789abcdef';

const journal = ((globalThis as any).__rbJournal ??= []) as string[];

t.test('plugin kernel through a running host', async (t) => {
  process.env.ROSTERBRIDGE_SECRET_TEST_LINCOLN_KEY = LINCOLN_SECRET;
  const th = await startTestHost({
    pluginDirs: [path.join(FIXTURES_DIR, 'plugins/kernel')],
    tenantsDir: path.join(FIXTURES_DIR, 'tenants/kernel'),
    activationTimeoutMs: 1500,
    tokens: [
      { name: 'ops', token: ADMIN, role: 'admin' },
      { name: 'lincoln-portal', token: LINCOLN_TOKEN, role: 'tenant', tenant: 'lincoln' },
    ],
  });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await th.stop();
    delete process.env.ROSTERBRIDGE_SECRET_TEST_LINCOLN_KEY;
  });
  const { host } = th;
  const get = async (url: string, token?: string) => {
    const res = await fetch(host.url + url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, text: await res.text() };
  };
  const getJson = async (url: string, token = ADMIN) => {
    const res = await fetch(host.url + url, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const plugins = async (): Promise<Record<string, PluginStatus>> =>
    Object.fromEntries(((await getJson('/plugins')).body.plugins as PluginStatus[]).map((p) => [p.id, p]));

  await t.test('health answers while some plugins failed', async (t) => {
    t.equal((await get('/healthz')).status, 200);
    const ready = await getJson('/readyz');
    t.equal(ready.status, 200);
    t.equal(ready.body.checks.database.ok, true);
  });

  await t.test('each broken plugin is failed with its reason; no broken code was loaded', async (t) => {
    const p = await plugins();
    const bad = Object.values(p).find((x) => x.location.endsWith('bad-manifest'))!;
    t.equal(bad.state, 'failed');
    t.equal(bad.failure?.code, 'MANIFEST_INVALID');
    const fields = bad.failure!.problems!.map((x) => x.field);
    t.same(fields.sort(), ['rosterbridge.activationEvents[1]', 'rosterbridge.contributes.widgets', 'rosterbridge.id', 'version'].sort());
    t.notOk((globalThis as any).__rbBadManifestLoaded, 'a plugin with an invalid manifest never loads');

    t.equal(p['future-engine']!.state, 'failed');
    t.equal(p['future-engine']!.failure!.code, 'PLUGIN_ENGINE_INCOMPATIBLE');
    t.match(p['future-engine']!.failure!.reason, /\^9\.0\.0.*1\.0\.0/);
    t.notOk((globalThis as any).__rbFutureEngineLoaded);

    t.equal(p['throws-on-activate']!.failure!.code, 'PLUGIN_ACTIVATION_FAILED');
    t.match(p['throws-on-activate']!.failure!.reason, /the product API key is not configured/);

    t.equal(p['never-settles']!.state, 'failed');
    t.equal(p['never-settles']!.failure!.code, 'PLUGIN_ACTIVATION_TIMEOUT');
    t.match(p['never-settles']!.failure!.reason, /1500 ms/);
    t.ok(p['never-settles']!.activation!.durationMs! >= 1400, 'time until the deadline is attributed to the plugin');

    // A busy loop blocks the deadline's timer: it is judged when activate() returns, past its deadline.
    t.equal(p['busy-activate']!.state, 'failed', 'an activate() that blocked the event loop past its deadline is not active');
    t.equal(p['busy-activate']!.failure!.code, 'PLUGIN_ACTIVATION_TIMEOUT');
    t.match(p['busy-activate']!.failure!.reason, /activate\(\) took \d+ ms, past its deadline of 1500 ms/);
    t.ok(p['busy-activate']!.activation!.durationMs! >= 2400, 'its whole time is attributed to it');
    t.equal((globalThis as any).__rbBusyActivateDisposed, true, 'what it set up is disposed');

    t.equal(p['needs-failed']!.failure!.code, 'PLUGIN_DEPENDENCY_FAILED');
    t.match(p['needs-failed']!.failure!.reason, /because its dependency "throws-on-activate" failed/);
    t.notOk((globalThis as any).__rbNeedsFailedLoaded, 'a plugin whose dependency failed never loads');

    t.equal(p['needs-missing']!.failure!.code, 'PLUGIN_DEPENDENCY_MISSING');
    t.match(p['needs-missing']!.failure!.reason, /"not-installed" is not installed/);

    t.equal(p['bad-settings-schema']!.failure!.code, 'MANIFEST_INVALID');
    t.match(p['bad-settings-schema']!.failure!.reason, /contributes\.configuration is not a valid JSON Schema/);
    t.notOk((globalThis as any).__rbBadSchemaLoaded, 'a plugin whose settings schema is broken never loads');

    t.equal(p['startup-early']!.state, 'active');
    t.equal(p['startup-early']!.activation!.event, 'onStartup');
    t.type(p['startup-early']!.activation!.durationMs, 'number');
  });

  await t.test('activation is lazy: nothing before its event, active after', async (t) => {
    let p = await plugins();
    t.equal(p['lazy-source']!.state, 'inactive');
    t.notOk(journal.includes('activate:lazy-source'));
    await host.plugins.activateByEvent('onTarget:something-else');
    t.equal((await plugins())['lazy-source']!.state, 'inactive', 'another event does not wake it');
    await host.plugins.activateByEvent('onSource:lazy');
    p = await plugins();
    t.equal(p['lazy-source']!.state, 'active');
    t.equal(p['lazy-source']!.activation!.event, 'onSource:lazy');
    t.equal(journal.filter((j) => j === 'activate:lazy-source').length, 1);
    await host.plugins.activateByEvent('onSource:lazy');
    t.equal(journal.filter((j) => j === 'activate:lazy-source').length, 1, 'a second event does not activate twice');
  });

  await t.test('dependencies activate first and their API reaches the dependent', async (t) => {
    t.equal((await plugins())['base-api']!.state, 'inactive');
    await host.plugins.activateByEvent('onTarget:dependent');
    const order = journal.filter((j) => j === 'activate:base-api' || j === 'activate:dependent');
    t.same(order, ['activate:base-api', 'activate:dependent']);
    const p = await plugins();
    t.equal(p['base-api']!.activation!.event, 'dependency-of:dependent');
    const api = host.plugins.getApi<{ welcome(): Promise<string> }>('dependent');
    t.equal(await api.welcome(), 'hello, dependent', 'the dependency API reads from its own migrated schema');
  });

  await t.test('tenant settings: validated, defaults applied, secrets resolved for the plugin only', async (t) => {
    const api = host.plugins.getApi<{ describe(id: string): Promise<any> }>('lazy-source');
    const lincoln = await api.describe('lincoln');
    t.equal(lincoln.keyLength, LINCOLN_SECRET.length);
    t.equal(lincoln.leaked, LINCOLN_SECRET, 'the plugin receives the resolved secret');
    t.equal(lincoln.pageSize, 1000, 'schema default applied');
    const jefferson = await api.describe('jefferson');
    t.equal(jefferson.leaked, JEFFERSON_SECRET, 'file secrets resolve relative to the tenants dir');
    t.equal(jefferson.pageSize, 500);

    const logs = th.logs();
    t.match(logs, /settings are/, 'the careless log line was written');
    t.notMatch(logs, LINCOLN_SECRET, 'but the env secret never appears in the logs');
    t.notMatch(logs, JEFFERSON_SECRET, 'nor the file secret');

    const all = await getJson('/tenants');
    const text = JSON.stringify(all.body);
    t.notMatch(text, LINCOLN_SECRET);
    t.notMatch(text, JEFFERSON_SECRET);
    const byId = Object.fromEntries(all.body.tenants.map((x: any) => [x.id, x]));
    t.equal(byId.lincoln.status, 'valid');
    t.equal(byId.lincoln.config.source.settings.apiKey, '[secret from env ROSTERBRIDGE_SECRET_TEST_LINCOLN_KEY]');
    t.equal(byId.lincoln.config.source.settings.pageSize, 1000);
    t.same(
      byId.lincoln.config.targets[0].schedule,
      { cron: '0 */6 * * *', timezone: byId.lincoln.config.timezone, origin: 'plugin dependent schedule "default"; time zone from tenant' },
      'schedule defaults to what the plugin contributes, in the tenant time zone',
    );
    t.equal(byId.jefferson.config.source.settings.apiKey, '[secret from file jefferson-key.txt]');
  });

  await t.test('a bad tenant setting is rejected naming the key; the tenant is listed as invalid', async (t) => {
    const broken = (await getJson('/tenants/broken')).body;
    t.equal(broken.status, 'invalid');
    const keys = Object.fromEntries(broken.problems.map((p: any) => [p.key, p.message]));
    t.match(keys['source.settings.apiKey'], /secret.*\{"env"/);
    t.match(keys['source.settings.pageSize'], /<= 10000/);
    t.match(keys['targets[0].schedule'], /not a cron expression/);
    t.notMatch(JSON.stringify(broken), 'plain-text-key-do-not-do-this', 'even a plain-text secret is not echoed');
    t.throws(() => host.tenants.config('broken'), { code: 'TENANT_CONFIG_INVALID' });
  });

  await t.test('tokens: none, wrong, tenant-scoped', async (t) => {
    t.equal((await get('/plugins')).status, 401);
    t.equal((await get('/plugins', 'not-a-real-token-at-all')).status, 401);
    const own = await getJson('/tenants', LINCOLN_TOKEN);
    t.same(
      own.body.tenants.map((x: any) => x.id),
      ['lincoln'],
      'a tenant token lists only its tenant',
    );
    t.equal((await getJson('/tenants/lincoln', LINCOLN_TOKEN)).status, 200);
    const other = await getJson('/tenants/jefferson', LINCOLN_TOKEN);
    t.equal(other.status, 403);
    t.equal(other.body.error.code, 'AUTH_FORBIDDEN');
    t.equal((await getJson('/tenants/nowhere')).status, 404);
  });

  await t.test('OpenAPI is served at /docs', async (t) => {
    const doc = (await getJson('/docs/json')).body;
    t.ok(doc.paths['/plugins']);
    t.ok(doc.paths['/tenants/{id}']);
    t.equal((await get('/docs')).status < 400, true);
  });

  await t.test('shutdown: HTTP closed, plugins deactivated last-in first-out', async (t) => {
    const before = journal.length;
    const url = host.url;
    await th.stop();
    stopped = true;
    t.same(journal.slice(before), [
      'deactivate:dependent',
      'dispose:dependent',
      'deactivate:base-api',
      'dispose:base-api',
      'deactivate:lazy-source',
      'dispose:lazy-source:second',
      'dispose:lazy-source:first',
      'deactivate:startup-early',
      'dispose:startup-early',
    ]);
    await t.rejects(fetch(`${url}/healthz`), 'the control API no longer answers');
    t.equal(await plugins().catch(() => null), null);
  });
});
