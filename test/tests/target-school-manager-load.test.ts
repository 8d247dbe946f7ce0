import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { sql } from 'kysely';
import type { SyncRun } from '@rosterbridge/core';
import { generateDistrict, seedProductState, spyOnLoads, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';
import { SchoolManagerSession } from '@rosterbridge/target-school-manager';

// A first sync into School Manager loaded in bulk (its SIS import area by COPY on a server, by
// batched inserts on the embedded database) leaves the same rows, matches, counts and issues as the
// same sync applied batch by batch.

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
/** The generated district's school year (2026–27) is the current one on this date. */
const TODAY = '2026-11-23';
/** Each table compared (all columns but the tenant, the importing run and times), in key order. */
const TABLES: Record<string, string> = {
  user_account: 'id',
  sis_school: 'sourced_id',
  sis_term: 'sourced_id',
  sis_class: 'sourced_id',
  sis_person: 'sourced_id',
  sis_enrollment: 'sourced_id',
  sis_user_match: 'sourced_id',
  classroom: 'sourced_id',
  classroom_member: 'enrollment_sourced_id',
  parent_contact: 'sourced_id',
  parent_student: 'parent_sourced_id, student_user_id',
  sync_state: 'tenant_id',
};
/** The tables whose rows keep the run that imported them. */
const MARKED = ['sis_class', 'sis_person', 'sis_enrollment'];

// Which entities were loaded: the host requires the same module, so the session's prototype is this one.
const { loaded } = spyOnLoads(SchoolManagerSession.prototype);

// The embedded database has one connection and no loads: its back-fills are applied, and the
// comparison then holds trivially there (it runs for its rows and counts all the same).
const ON_SERVER = !!process.env.DATABASE_URL;

t.test('a School Manager first sync loaded in bulk equals the same sync applied batch by batch', async (t) => {
  const district = generateDistrict({ seed: 23, size: SIZE });
  const root = mkdtempSync(path.join(tmpdir(), 'rb-school-manager-load-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(district, path.join(root, 'package'));
  for (const [id, bulkLoad] of [
    ['loaded', true],
    ['applied', false],
  ] as const)
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'UTC',
        source: { id: 'oneroster-csv', settings: { location: '../package' } },
        targets: [{ id: 'school-manager', settings: { today: TODAY, syncParentData: true, bulkLoad } }],
      }),
    );
  // Small pages: every large entity spans several, so grouped warnings and earlier pages' rows matter.
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, env: { RB_SYNC_BATCH_SIZE: '40' } });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const sync = async (tenantId: string): Promise<SyncRun> => host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test' })).id);
  const db = host.database.db.withSchema('plugin_target_school_manager');
  const rowsOf = async (tenantId: string) => {
    const out: Record<string, unknown[]> = {};
    for (const [table, key] of Object.entries(TABLES)) {
      const { rows } = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(`plugin_target_school_manager.${table}`)} where tenant_id = ${tenantId} order by ${sql.raw(key)}`.execute(db);
      out[table] = rows.map(({ tenant_id: _t, created_at: _c, last_sync_at: _l, import_run: _r, ...rest }) => rest);
    }
    return out;
  };
  const issuesOf = async (run: SyncRun) =>
    (await host.runs.issues(run.id, { targetId: 'school-manager', limit: 100_000 })).map(({ code, severity, entity, sourcedId, field, message }) => ({
      code,
      severity,
      entity,
      sourcedId,
      field,
      message,
    }));

  for (const tenantId of ['loaded', 'applied']) await seedProductState(host, tenantId, district);
  const runsOf = async (tenantId: string) => {
    const runs = new Set<unknown>();
    for (const table of MARKED)
      for (const r of (
        await sql<{
          import_run: unknown;
        }>`select distinct import_run from ${sql.table(`plugin_target_school_manager.${table}`)} where tenant_id = ${tenantId}`.execute(db)
      ).rows)
        runs.add(r.import_run);
    return [...runs];
  };
  const applied = await sync('applied');
  t.same(loaded, [], 'with bulkLoad off, nothing is loaded');
  const bulk = await sync('loaded');
  t.same(loaded, ON_SERVER ? ['orgs', 'academicSessions', 'classes', 'users', 'enrollments'] : [], 'every entity School Manager takes is loaded');
  t.equal(bulk.status, applied.status, `the same status (${applied.status})`);
  t.same(bulk.counts.targets['school-manager'], applied.counts.targets['school-manager'], 'the same counts');
  t.same(bulk.counts.issues, applied.counts.issues, 'the same issue totals');
  const bulkIssues = await issuesOf(bulk);
  const appliedIssues = await issuesOf(applied);
  t.ok(appliedIssues.length > 0, `issues to compare (${appliedIssues.length})`);
  t.ok(
    appliedIssues.some((i) => /record\(s\) were skipped/.test(i.message)),
    'grouped skip warnings among them',
  );
  t.same(bulkIssues, appliedIssues, 'the same issues, in the same order');
  const bulkRows = await rowsOf('loaded');
  const appliedRows = await rowsOf('applied');
  for (const table of Object.keys(TABLES)) {
    t.ok(appliedRows[table]!.length > 0, `${table}: rows to compare (${appliedRows[table]!.length})`);
    t.same(bulkRows[table], appliedRows[table], `${table}: the same rows`);
  }
  t.same(await runsOf('loaded'), [bulk.id], 'loaded rows are marked with their run, as applied ones');
  t.same(await runsOf('applied'), [applied.id], 'applied rows are marked with their run');

  // A second sync sends no change: nothing is loaded, nothing changes.
  loaded.length = 0;
  const again = await sync('loaded');
  t.equal(again.status, bulk.status, `${again.errorCode ?? ''} ${again.errorMessage ?? ''}`);
  t.same(loaded, [], 'a sync with a cursor loads nothing');
  t.same(await rowsOf('loaded'), bulkRows, 'the rows stay');
});
