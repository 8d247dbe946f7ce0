import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER, type SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// A full sync of a package byte for byte the one the snapshot was read from stages nothing (the
// source's fingerprint says so); anything else is looked up record by record, including a package
// replaced while it is read.
const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const district = generateDistrict({ seed: 31, size: 'tiny' });

/** users.csv with one user's givenName changed to `name`; returns the text and the user's id. */
function renamed(usersCsv: string, name: string): { text: string; sourcedId: string } {
  const lines = usersCsv.split('\n');
  const header = lines[0]!.replace(/^\uFEFF/, '').split(',');
  const column = header.indexOf('givenName');
  const index = lines.findIndex((line, i) => i > 0 && line.length > 0 && !line.includes('"'));
  const fields = lines[index]!.split(',');
  fields[column] = name;
  lines[index] = fields.join(',');
  return { text: lines.join('\n'), sourcedId: fields[0]! };
}

t.test('source fingerprints', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-fingerprint-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  for (const id of ['north', 'south']) await writeOneRosterPackage(district, path.join(root, `${id}-package`));
  writeFileSync(
    path.join(tenants, 'north.json'),
    JSON.stringify({
      displayName: 'North',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: path.join(root, 'north-package') } },
      targets: [{ id: 'memo' }],
    }),
  );
  const replacement = path.join(root, 'south-users.csv');
  writeFileSync(
    path.join(tenants, 'south.json'),
    JSON.stringify({
      displayName: 'South',
      timezone: 'UTC',
      source: { id: 'shifting-csv', settings: { location: path.join(root, 'south-package'), replacement } },
      targets: [{ id: 'memo' }],
    }),
  );
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const sync = async (tenantId: string): Promise<SyncRun> => {
    const queued = await host.syncs.trigger(tenantId, { mode: 'full', trigger: 'test' });
    return host.syncs.settled(queued.id);
  };
  const fingerprintOf = async (tenantId: string) =>
    (
      await host.database.db
        .withSchema('rosterbridge')
        .selectFrom('ledger_state')
        .select('source_fingerprint')
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst()
    )?.source_fingerprint as string | null | undefined;
  const memoName = async (tenantId: string, sourcedId: string) => {
    const row = await host.database.db
      .withSchema('plugin_target_memo')
      .selectFrom('record')
      .select('record')
      .where('tenant_id', '=', tenantId)
      .where('entity', '=', 'users')
      .where('sourced_id', '=', sourcedId)
      .executeTakeFirst();
    const record = typeof row?.record === 'string' ? JSON.parse(row.record) : row?.record;
    return record?.givenName as string | undefined;
  };
  const changedCounts = (run: SyncRun) =>
    Object.fromEntries(
      ROSTER_ENTITY_ORDER.map((e) => [
        e,
        { created: run.counts.source[e]?.created ?? 0, updated: run.counts.source[e]?.updated ?? 0, deleted: run.counts.source[e]?.deleted ?? 0 },
      ]),
    );
  const nothing = { created: 0, updated: 0, deleted: 0 };
  const onlyOneUserUpdated = Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, e === 'users' ? { ...nothing, updated: 1 } : nothing]));

  await t.test('a first sync records the package fingerprint the snapshot was read from', async (t) => {
    const run = await sync('north');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.reason}`);
    t.match(await fingerprintOf('north'), /^[A-Za-z0-9_-]{43}$/, 'a sha-256 fingerprint is kept');
  });

  await t.test('the same bytes again: every record counted unchanged, the target not called', async (t) => {
    const before = await fingerprintOf('north');
    const run = await sync('north');
    t.equal(run.status, 'success');
    for (const entity of ROSTER_ENTITY_ORDER) {
      t.same(
        run.counts.source[entity],
        { read: district.counts[entity], rejected: 0, created: 0, updated: 0, unchanged: district.counts[entity], deleted: 0, skipped: 0, heldBack: 0 },
        entity,
      );
    }
    t.same(run.counts.targets.memo?.entities ?? {}, {}, 'nothing applied');
    t.equal(await fingerprintOf('north'), before);
  });

  await t.test('one name changed in place: the fingerprint differs and the change is found and applied', async (t) => {
    const file = path.join(root, 'north-package', 'users.csv');
    const original = readFileSync(file, 'utf8');
    const { text, sourcedId } = renamed(original, 'Changedname');
    writeFileSync(file, text);
    const before = await fingerprintOf('north');
    const run = await sync('north');
    t.equal(run.status, 'success');
    t.same(changedCounts(run), onlyOneUserUpdated, 'one user updated, nothing else');
    t.equal(await memoName('north', sourcedId), 'Changedname');
    t.not(await fingerprintOf('north'), before, 'the new fingerprint is kept');
  });

  await t.test('a package replaced while it is read is read again, and the change is found', async (t) => {
    t.equal((await sync('south')).status, 'success');
    const { text, sourcedId } = renamed(readFileSync(path.join(root, 'south-package', 'users.csv'), 'utf8'), 'Shiftedname');
    writeFileSync(replacement, text);
    const before = await fingerprintOf('south');
    const run = await sync('south');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.reason}`);
    t.same(changedCounts(run), onlyOneUserUpdated, 'the replaced users file was staged: one user updated');
    t.equal(await memoName('south', sourcedId), 'Shiftedname', 'and applied');
    t.not(await fingerprintOf('south'), before, 'the snapshot is now the reading of the new package');
    t.equal(run.counts.source.users?.read, district.counts.users, 'users counted once, not twice');
    const again = await sync('south');
    t.same(changedCounts(again), Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, nothing])), 'and a resync of it changes nothing');
  });
});
