import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import type { PluginStatus } from '@rosterbridge/engine';
import { FIXTURES_DIR, apiClient, createTestDatabase, generateDistrict, hostProcessEnv, startHostProcess, writeOneRosterPackage } from '@rosterbridge/test-kit';

const ADMIN = 'runtime-admin-token-0123456789abcdef';

t.test("a plugin's stray throw or forgotten rejection fails that plugin; the host and other tenants go on", async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-runtime-crash-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const district = generateDistrict({ seed: 43, size: 'tiny' });
  await writeOneRosterPackage(district, path.join(root, 'package'));
  writeFileSync(
    path.join(tenants, 'lincoln.json'),
    JSON.stringify({
      displayName: 'Lincoln',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: '../package' } },
      targets: [{ id: 'memo' }],
    }),
  );
  const database = await createTestDatabase();
  const proc = await startHostProcess(
    hostProcessEnv({
      databaseUrl: database.url,
      dataDir: path.join(root, 'data'),
      pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/crash')],
      tenantsDir: tenants,
      adminToken: ADMIN,
    }),
  );
  t.teardown(async () => {
    await proc.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
  });
  const call = apiClient(proc.url, ADMIN);
  const plugin = async (id: string) => (await call('GET', `/plugins/${id}`)).body as PluginStatus;

  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && ((await plugin('stray-throw')).state !== 'failed' || (await plugin('stray-reject')).state !== 'failed')) await sleep(100);
  const thrown = await plugin('stray-throw');
  t.equal(thrown.state, 'failed', 'the plugin whose timer threw is failed');
  t.equal(thrown.failure?.code, 'PLUGIN_CRASHED');
  t.match(thrown.failure?.reason, /uncaught exception in its code: stray timer in plugin code/);
  const rejected = await plugin('stray-reject');
  t.equal(rejected.state, 'failed', 'the plugin that left a rejection unhandled is failed');
  t.equal(rejected.failure?.code, 'PLUGIN_CRASHED');
  t.match(rejected.failure?.reason, /unhandled rejection in its code: forgotten promise in plugin code/);

  t.equal(proc.child.exitCode, null, 'the host is still running');
  t.equal((await fetch(`${proc.url}/healthz`)).status, 200);
  t.match(proc.output(), /"plugin":"stray-throw".*"msg":"plugin failed: its code threw outside any call"/, 'the log names the plugin');

  const started = (await call('POST', '/tenants/lincoln/syncs')).body as SyncRun;
  let run = started;
  while (run.status === 'queued' || run.status === 'running') {
    await sleep(100);
    run = (await call('GET', `/runs/${started.id}`)).body as SyncRun;
  }
  t.equal(run.status, 'success', 'a tenant that does not use the crashed plugins syncs');
  t.equal(run.counts.targets.memo!.entities.users!.created, district.counts.users);
});
