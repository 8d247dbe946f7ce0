import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];

t.test('a target paused by its product is skipped with the reason, then catches up; plugins hear sync.run.* events', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-pause-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const district = generateDistrict({ seed: 51, size: 'tiny' });
  await writeOneRosterPackage(district, path.join(root, 'package'));
  const tenant = (id: string, targets: unknown[]) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: `District ${id}`, timezone: 'UTC', source: { id: 'oneroster-csv', settings: { location: '../package' } }, targets }),
    );
  tenant('solo', [{ id: 'gated' }]);
  tenant('mixed', [{ id: 'gated' }, { id: 'memo' }]);
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db.withSchema('plugin_target_gated');
  const sync = async (tenantId: string): Promise<SyncRun> => host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test' })).id);
  const users = async (tenantId: string) => (await db.selectFrom('user_row').select('sourced_id').where('tenant_id', '=', tenantId).execute()).length;

  const solo = await sync('solo');
  t.match(solo, { status: 'skipped', reason: /target gated skipped: the product's academic year is not started for District solo/ });
  t.equal(solo.counts.targets.gated!.status, 'skipped');
  t.equal(await users('solo'), 0, 'nothing was sent to the paused target');

  const mixed = await sync('mixed');
  t.match(mixed, { status: 'success', reason: /target gated skipped/ }, 'the other target ran; the run says which was skipped');
  t.equal(mixed.counts.targets.memo!.status, 'applied');

  await db
    .insertInto('gate')
    .values([
      { tenant_id: 'solo', open: true },
      { tenant_id: 'mixed', open: true },
    ])
    .execute();
  const again = await sync('solo');
  t.equal(again.status, 'success');
  t.equal(await users('solo'), district.counts.users, 'once open, it catches up with every user (from the ledger: the source had not changed)');
  t.equal(again.counts.targets.gated!.entities.users!.created, district.counts.users);
  await sync('mixed');
  t.equal(await users('mixed'), district.counts.users);

  // The events reach the plugin of each tenant (written asynchronously by the listener). The host
  // activates a run's target plugins before the run starts, so even the very first run is heard
  // from its start (a plugin notifying failures must hear those that happen before any target opens).
  await sleep(200);
  const heard = async (runId: string) =>
    (await db.selectFrom('run_event').select(['tenant_id', 'type', 'status']).where('run_id', '=', runId).orderBy('type').execute()).map((e) => [
      e.tenant_id,
      e.type,
      e.status,
    ]);
  t.same(await heard(solo.id), [
    ['solo', 'sync.run.completed', 'skipped'],
    ['solo', 'sync.run.started', 'queued'],
  ]);
  t.same(await heard(again.id), [
    ['solo', 'sync.run.completed', 'success'],
    ['solo', 'sync.run.started', 'queued'],
  ]);
});
