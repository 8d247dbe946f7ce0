import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { rosterContracts } from '@rosterbridge/core';
import { FIXTURES_DIR, type GeneratedDistrict, changeDistrict, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// Change contracts: a target consuming roster.users@2 is delivered @2 envelopes when an adapter
// derives version 2 from version 1 (registered here, for the test only), and is refused, at
// activation and by `config check`, when none does.

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/contracts')];
const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');

/** A OneRoster package and a tenant feeding it to the fixture-v2 target. */
async function district(t: Test, seed: number): Promise<{ tenants: string; users: number; orgs: number; generated: GeneratedDistrict; location: string }> {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-contracts-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const generated = generateDistrict({ seed, size: 'tiny' });
  await writeOneRosterPackage(generated, path.join(root, 'package'));
  writeFileSync(
    path.join(tenants, 'versioned.json'),
    JSON.stringify({
      displayName: 'Versioned district',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: '../package' } },
      targets: [{ id: 'fixture-v2' }],
      thresholds: { maxDeletePercent: 100, maxChangePercent: 100 },
    }),
  );
  return { tenants, users: generated.counts.users, orgs: generated.counts.orgs, generated, location: path.join(root, 'package') };
}

t.test('a target consuming roster.users@2 receives @2 envelopes through a registered adapter, orgs as @1', async (t) => {
  const registration = rosterContracts.register('users', 2, (change) => ({
    sourcedId: change.data.record.sourcedId,
    displayName: `${change.data.record.givenName} ${change.data.record.familyName}`,
  }));
  t.teardown(() => registration.dispose());
  const { tenants, users, orgs, generated, location } = await district(t, 71);
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(() => th.stop());
  const { host } = th;
  const run = await host.syncs.settled((await host.syncs.trigger('versioned', { trigger: 'test' })).id);
  t.equal(run.status, 'success', run.errorMessage ?? run.reason ?? '');
  const rows = await host.database.db.withSchema('plugin_target_fixture_v2').selectFrom('envelope').select(['type', 'sourced_id', 'record']).execute();
  const types = new Map<string, number>();
  for (const r of rows) types.set(r.type, (types.get(r.type) ?? 0) + 1);
  t.same(Object.fromEntries(types), { 'roster.orgs.changed@1': orgs, 'roster.users.changed@2': users }, 'the version each entity was consumed at');
  const user = rows.find((r) => r.type === 'roster.users.changed@2')!;
  const record = JSON.parse(user.record);
  t.same(Object.keys(record).sort(), ['displayName', 'sourcedId'], "version 2's record, as the adapter derives it");
  t.match(record.displayName, /^\S.* \S/);
  const org = JSON.parse(rows.find((r) => r.type === 'roster.orgs.changed@1')!.record);
  t.ok('name' in org, 'orgs keep their version 1 record');
  t.equal(host.plugins.get('target-fixture-v2')?.state, 'active');

  // The next run feeds it from the change log (not a back-fill): updates and deletions as @2 too.
  await host.database.db.withSchema('plugin_target_fixture_v2').deleteFrom('envelope').execute();
  const changed = changeDistrict(generated, { seed: 71, fraction: 0.1 });
  rmSync(location, { recursive: true, force: true });
  await writeOneRosterPackage(changed, location);
  const next = await host.syncs.settled((await host.syncs.trigger('versioned', { trigger: 'test' })).id);
  t.equal(next.status, 'success', next.errorMessage ?? next.reason ?? '');
  const report = changed.report.entities.users;
  t.ok(report.deleted.length > 0 && report.updated.length > 0, `${report.deleted.length} users deleted, ${report.updated.length} updated`);
  const later = await host.database.db.withSchema('plugin_target_fixture_v2').selectFrom('envelope').select(['type', 'sourced_id', 'record']).execute();
  const deletions = later.filter((r) => r.type === 'roster.users.deleted@2');
  t.same(deletions.map((r) => r.sourced_id).sort(), [...report.deleted].sort(), 'deletions of users as roster.users.deleted@2');
  t.same(Object.keys(JSON.parse(deletions[0]!.record)).sort(), ['displayName', 'sourcedId'], 'with the last known record as version 2');
  t.ok(later.filter((r) => r.type === 'roster.users.changed@2').length >= report.updated.length, 'updates (and creations) of users as roster.users.changed@2');
  t.notOk(
    later.some((r) => r.type.startsWith('roster.users.') && r.type.endsWith('@1')),
    'no user change as version 1',
  );
});

t.test('without the adapter the target is refused at activation, naming the version, and its tenant is invalid', async (t) => {
  t.same(rosterContracts.versions('users'), [1], 'no adapter of users is registered');
  const { tenants } = await district(t, 72);
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(() => th.stop());
  const { host } = th;
  await t.rejects(host.plugins.activate('target-fixture-v2', 'onTarget:fixture-v2'), {
    code: 'CONTRACT_UNSATISFIED',
    message:
      /plugin "target-fixture-v2" failed: target fixture-v2 consumes roster\.users@2, which no installed source produces \(sources produce roster\.users@1\)/,
  });
  t.match(host.plugins.get('target-fixture-v2'), {
    state: 'failed',
    failure: {
      code: 'CONTRACT_UNSATISFIED',
      reason: /target fixture-v2 consumes roster\.users@2, which no installed source produces \(sources produce roster\.users@1\)/,
    },
  });
  t.match(host.plugins.get('source-oneroster-csv'), { state: /inactive|active/ }, 'the sources are not touched');
  await t.rejects(
    host.syncs.trigger('versioned', { trigger: 'test' }),
    {
      code: 'TENANT_CONFIG_INVALID',
      message: /targets\[0\]\.id target fixture-v2 consumes roster\.users@2, which source oneroster-csv does not produce \(it produces roster\.users@1\)/,
    },
    'the tenant is invalid: no run is queued for it',
  );
});

t.test('config check reports the tenant whose source does not produce what its target consumes, and the target', async (t) => {
  const { tenants } = await district(t, 73);
  const r = spawnSync(process.execPath, [CLI, 'config', 'check'], {
    env: { PATH: process.env.PATH, RB_PLUGIN_DIRS: PLUGINS.join(','), RB_TENANTS_DIR: tenants },
    encoding: 'utf8',
  });
  t.equal(r.status, 1, r.stderr);
  t.match(
    r.stdout,
    /^tenant versioned: .*versioned\.json targets\[0\]\.id: target fixture-v2 consumes roster\.users@2, which source oneroster-csv does not produce \(it produces roster\.users@1\) and no adapter derives$/m,
  );
  t.match(
    r.stdout,
    /^plugin target-fixture-v2: CONTRACT_UNSATISFIED: target fixture-v2 consumes roster\.users@2, which no installed source produces \(sources produce roster\.users@1\)$/m,
  );
  t.match(r.stdout, /^plugin source-oneroster-csv: ok$/m);
});
