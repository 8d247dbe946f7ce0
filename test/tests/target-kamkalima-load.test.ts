import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { sql } from 'kysely';
import type { SyncRun } from '@rosterbridge/core';
import { generateDistrict, spyOnLoads, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';
import { KamkalimaSession } from '@rosterbridge/target-kamkalima';

// A first sync into Kamkalima loaded in bulk (COPY on a server, batched inserts on the embedded
// database) leaves the same rows, counts and issues as the same sync applied batch by batch.

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
/** The generated district's school year (2026–27) is the current one on this date. */
const TODAY = '2026-11-23';
/** Each table's columns compared (all but the tenant and a creation time), in key order. */
const TABLES: Record<string, string> = {
  school: 'sourced_id',
  term: 'sourced_id',
  course: 'sourced_id',
  classroom: 'sourced_id',
  teacher: 'sourced_id',
  student: 'sourced_id',
  administrator: 'sourced_id',
  class_membership: 'sourced_id',
  teacher_admin_account: 'school_sourced_id',
  held_record: 'entity, sourced_id',
};

// Which entities were loaded: the host requires the same module, so the session's prototype is this one.
const { loaded } = spyOnLoads(KamkalimaSession.prototype);

// The embedded database has one connection and no loads: its back-fills are applied, and the
// comparison then holds trivially there (it runs for its rows and counts all the same).
const ON_SERVER = !!process.env.DATABASE_URL;

t.test('a Kamkalima first sync loaded in bulk equals the same sync applied batch by batch', async (t) => {
  const district = generateDistrict({ seed: 23, size: SIZE });
  const root = mkdtempSync(path.join(tmpdir(), 'rb-kamkalima-load-'));
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
        targets: [{ id: 'kamkalima', settings: { today: TODAY, bulkLoad } }],
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
  const db = host.database.db.withSchema('plugin_target_kamkalima');
  const rowsOf = async (tenantId: string) => {
    const out: Record<string, unknown[]> = {};
    for (const [table, key] of Object.entries(TABLES)) {
      const { rows } = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(`plugin_target_kamkalima.${table}`)} where tenant_id = ${tenantId} order by ${sql.raw(key)}`.execute(db);
      out[table] = rows.map(({ tenant_id: _t, created_at: _c, ...rest }) => rest);
    }
    return out;
  };
  const issuesOf = async (run: SyncRun) =>
    (await host.runs.issues(run.id, { targetId: 'kamkalima', limit: 100_000 })).map(({ code, severity, entity, sourcedId, field, message }) => ({
      code,
      severity,
      entity,
      sourcedId,
      field,
      message,
    }));

  const applied = await sync('applied');
  t.same(loaded, [], 'with bulkLoad off, nothing is loaded');
  const bulk = await sync('loaded');
  t.same(loaded, ON_SERVER ? ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'] : [], 'every entity Kamkalima takes is loaded');
  t.equal(bulk.status, applied.status, `the same status (${applied.status})`);
  t.same(bulk.counts.targets.kamkalima, applied.counts.targets.kamkalima, 'the same counts');
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
  const entities = bulk.counts.targets.kamkalima!.entities;
  t.equal(entities.users!.created, appliedRows.teacher!.length + appliedRows.student!.length + appliedRows.administrator!.length, 'users created are the rows');

  // A second sync sends no change: nothing is loaded, nothing changes.
  loaded.length = 0;
  const again = await sync('loaded');
  t.equal(again.status, bulk.status, `${again.errorCode ?? ''} ${again.errorMessage ?? ''}`);
  t.same(loaded, [], 'a sync with a cursor loads nothing');
  t.same(await rowsOf('loaded'), bulkRows, 'the rows stay');
});
