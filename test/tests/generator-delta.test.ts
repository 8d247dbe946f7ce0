import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity, type User } from '@rosterbridge/core';
import { changeDistrict, deltaRecordCount, fractionForDeltaShare, generateDistrict, writeOneRosterPackage } from '@rosterbridge/test-kit';

const scratch = mkdtempSync(join(tmpdir(), 'rb-generator-delta-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** A row of a roster file: every file has these columns (csv-parse refuses a row of another length), and more. */
type Row = Record<'sourcedId' | 'status' | 'dateLastModified', string> & Record<string, string>;
const readRows = <R = Row>(path: string): R[] => parse(readFileSync(path), { columns: true, bom: true });
const readPackage = (dir: string): Partial<Record<RosterEntity, Row[]>> =>
  Object.fromEntries(ROSTER_ENTITY_ORDER.filter((e) => readdirSync(dir).includes(`${e}.csv`)).map((e) => [e, readRows(join(dir, `${e}.csv`))]));
const manifestOf = (dir: string): Record<string, string> =>
  Object.fromEntries(readRows<{ propertyName: string; value: string }>(join(dir, 'manifest.csv')).map((r) => [r.propertyName, r.value]));
/** A row without the columns a bulk file leaves blank and a delta fills. */
const content = (row: Row): string => JSON.stringify({ ...row, status: undefined, dateLastModified: undefined });

const base = generateDistrict({ seed: 42, size: 'small', faults: 'all' });
const FRACTION = 0.05;
const changed = changeDistrict(base, { seed: 7, fraction: FRACTION });
const dirs = { bulk: join(scratch, 'bulk'), delta: join(scratch, 'delta'), after: join(scratch, 'changed-bulk') };

t.before(async () => {
  await writeOneRosterPackage(base, dirs.bulk);
  await writeOneRosterPackage(changed.delta, dirs.delta, { mode: 'delta' });
  await writeOneRosterPackage(changed, dirs.after);
});

t.test('the delta changes the requested fraction of records', async (t) => {
  const report = changed.report;
  t.equal(
    report.baseRecords,
    ROSTER_ENTITY_ORDER.reduce((sum, e) => sum + base.counts[e], 0),
  );
  const expected = report.baseRecords * FRACTION;
  const sigma = Math.sqrt(report.baseRecords * FRACTION * (1 - FRACTION));
  t.ok(Math.abs(report.selected - expected) < 5 * sigma, `${report.selected} selected, about ${expected.toFixed(0)} expected`);
  const enrollments = report.entities.enrollments;
  t.ok(enrollments.updated.length > 0 && enrollments.deleted.length > 0 && enrollments.created.length > 0, 'enrollments updated, deleted and created');
  t.ok(report.entities.users.deleted.length > 0 && report.entities.users.created.length > 0, 'users deleted and created');
  t.ok(report.cascaded.deleted > 0, 'deletions cascade to enrollments and demographics');
  t.ok(report.cascaded.updated > 0, 'users whose agents were deleted are updated');
  t.equal(report.entities.users.created.length, changed.createdStudents);

  const none = changeDistrict(base, { seed: 7, fraction: 0 });
  t.equal(none.report.selected, 0);
  t.ok(
    ROSTER_ENTITY_ORDER.every((e) => Object.values(none.report.entities[e]).every((ids) => ids.length === 0)),
    'fraction 0 changes nothing',
  );
  const emptyDelta = await writeOneRosterPackage(none.delta, join(scratch, 'empty-delta'), { mode: 'delta' });
  t.ok(
    ROSTER_ENTITY_ORDER.every((e) => emptyDelta.rows[e] === 0),
    'an empty delta marks every file absent',
  );

  const tiny = generateDistrict({ seed: 1, size: 'tiny' });
  const everything = changeDistrict(tiny, { seed: 1, fraction: 1 });
  t.equal(everything.report.selected, everything.report.baseRecords, 'fraction 1 selects every record');
  for (const entity of ROSTER_ENTITY_ORDER) {
    const c = everything.report.entities[entity];
    t.equal(c.updated.length + c.deleted.length, tiny.counts[entity], `fraction 1 changes every ${entity} record`);
  }
  t.throws(() => changeDistrict(base, { seed: 1, fraction: 1.5 }), RangeError);
  t.throws(() => changeDistrict(base, { seed: 1, fraction: 0.1, changedAt: base.asOf }), RangeError);
});

t.test('a delta sized by its records: fractionForDeltaShare', async (t) => {
  // The fraction picks records on their own; deletions take enrollments along, so the delta is larger.
  const rows = Object.values(readPackage(dirs.delta)).reduce((n, r) => n + (r?.length ?? 0), 0);
  t.equal(deltaRecordCount(changed.report), rows, 'deltaRecordCount: the rows of the delta package');
  t.ok(deltaRecordCount(changed.report) > changed.report.selected, 'a delta carries more records than its fraction picks');
  for (const share of [0.01, 0.05]) {
    const fraction = fractionForDeltaShare(base, { seed: 7, share });
    const carried = deltaRecordCount(changeDistrict(base, { seed: 7, fraction }).report);
    const wanted = share * changed.report.baseRecords;
    t.ok(fraction < share, `share ${share}: fraction ${fraction.toFixed(5)} is below the share`);
    t.ok(Math.abs(carried - wanted) <= 0.01 * wanted, `share ${share}: ${carried} records carried, ${wanted.toFixed(0)} wanted`);
  }
  t.throws(() => fractionForDeltaShare(base, { seed: 7, share: 0 }), RangeError);
  t.throws(() => fractionForDeltaShare(base, { seed: 7, share: 1 }), RangeError);
});

t.test('the delta package: manifest says delta, rows carry status and a later dateLastModified', async (t) => {
  const manifest = manifestOf(dirs.delta);
  const delta = readPackage(dirs.delta);
  const report = changed.report;
  for (const entity of ROSTER_ENTITY_ORDER) {
    const c = report.entities[entity];
    const size = c.updated.length + c.deleted.length + c.created.length;
    t.equal(manifest[`file.${entity}`], size > 0 ? 'delta' : 'absent', `file.${entity}`);
    const rows = delta[entity] ?? [];
    t.equal(rows.length, size, `${entity}.csv rows`);
    t.same(
      rows.filter((r) => r.status === 'tobedeleted').map((r) => r.sourcedId),
      c.deleted,
      `${entity}: deleted rows`,
    );
    t.same(
      rows.filter((r) => r.status === 'active').map((r) => r.sourcedId),
      [...c.updated, ...c.created].sort(),
      `${entity}: active rows`,
    );
    const inWindow = rows.every((r) => {
      const at = Date.parse(r.dateLastModified);
      return /Z$/.test(r.dateLastModified) && at > base.asOf.getTime() && at <= changed.changedAt.getTime();
    });
    t.ok(inWindow, `${entity}: every row modified after the earlier snapshot`);
  }
  t.equal(manifest['manifest.version'], '1.0');
  t.equal(manifest['oneroster.version'], '1.1');
});

t.test('applying the delta to the earlier bulk gives the full bulk of the changed district', async (t) => {
  const before = readPackage(dirs.bulk);
  const delta = readPackage(dirs.delta);
  const after = readPackage(dirs.after);
  for (const entity of ROSTER_ENTITY_ORDER) {
    const applied = new Map((before[entity] ?? []).map((row) => [row.sourcedId, content(row)]));
    for (const row of delta[entity] ?? []) {
      if (row.status === 'tobedeleted') {
        t.ok(applied.delete(row.sourcedId), `${entity}: deleted ${row.sourcedId} existed`);
      } else {
        applied.set(row.sourcedId, content(row));
      }
    }
    const resync = (after[entity] ?? []).map((row) => [row.sourcedId, content(row)] as const);
    const appliedRows = [...applied].sort(([a], [b]) => (a < b ? -1 : 1));
    t.equal(appliedRows.length, resync.length, `${entity}: same number of records`);
    t.ok(JSON.stringify(appliedRows) === JSON.stringify(resync), `${entity}: apply delta = full resync`);
    t.equal(resync.length, changed.counts[entity], `${entity}: changed.counts`);
  }
});

t.test('updated records really differ, unchanged ones do not', async (t) => {
  const before = readPackage(dirs.bulk);
  const after = readPackage(dirs.after);
  for (const entity of ROSTER_ENTITY_ORDER) {
    const old = new Map((before[entity] ?? []).map((row) => [row.sourcedId, content(row)]));
    const updated = new Set(changed.report.entities[entity].updated);
    let differing = 0;
    let same = 0;
    for (const row of after[entity] ?? []) {
      const was = old.get(row.sourcedId);
      if (was === undefined) continue;
      if (updated.has(row.sourcedId)) differing += was !== content(row) ? 1 : 0;
      else same += was === content(row) ? 1 : 0;
    }
    t.equal(differing, updated.size, `${entity}: every updated record has new content`);
    t.equal(same, (before[entity]?.length ?? 0) - updated.size - changed.report.entities[entity].deleted.length, `${entity}: the rest unchanged`);
  }
});

t.test('the changed district stays whole: references resolve, agents both ways, faults kept', async (t) => {
  const ids = (entity: RosterEntity): Set<string> => new Set([...changed.records(entity)].map((r) => r.sourcedId));
  const [classes, orgs] = [ids('classes'), ids('orgs')];
  const users = new Map<string, User>([...changed.records('users')].map((u) => [u.sourcedId, u]));
  const problems: string[] = [];
  for (const e of changed.records('enrollments')) {
    if (!classes.has(e.classSourcedId) || !users.has(e.userSourcedId) || !orgs.has(e.schoolSourcedId)) problems.push(e.sourcedId);
  }
  for (const u of users.values()) {
    for (const agent of u.agentSourcedIds) if (!users.get(agent)?.agentSourcedIds.includes(u.sourcedId)) problems.push(`${u.sourcedId}→${agent}`);
  }
  for (const d of changed.records('demographics')) if (users.get(d.sourcedId)?.role !== 'student') problems.push(d.sourcedId);
  t.same(problems.slice(0, 10), [], 'no dangling references');
  for (const id of changed.report.entities.users.deleted) t.notOk(users.has(id), `${id} gone from the later bulk`);
  const created = changed.report.entities.users.created;
  const enrolled = new Set([...changed.records('enrollments')].map((e) => e.userSourcedId));
  t.ok(created.length > 0 && created.every((id) => users.get(id)?.role === 'student' && enrolled.has(id)), 'created students exist and are enrolled');
  t.ok(created.length > 0 && created.every((id) => users.get(id)!.grades.length === 1), 'created students have one grade');

  const faults = changed.faults;
  for (const fault of faults.duplicateEmails) t.equal(users.get(fault.sourcedId)?.email, users.get(fault.relatedSourcedId!)?.email);
  for (const fault of faults.missingEmails) t.equal(users.get(fault.sourcedId)?.email, undefined);
  for (const fault of faults.studentsWithTwoGrades) t.equal(users.get(fault.sourcedId)?.grades.length, 2);
  const surviving = Object.values(faults).reduce((n, list) => n + list.length, 0);
  t.ok(surviving > 0 && surviving <= Object.values(base.faults).reduce((n, list) => n + list.length, 0), 'faults survive unless their records are deleted');
  t.ok(changed.multiSchoolUsers.length > 0 && changed.multiSchoolUsers.every((id) => users.has(id)));
});

t.test('deltas are deterministic per change seed', async (t) => {
  const again = join(scratch, 'delta-again');
  const other = join(scratch, 'delta-other');
  await writeOneRosterPackage(changeDistrict(generateDistrict({ seed: 42, size: 'small', faults: 'all' }), { seed: 7, fraction: FRACTION }).delta, again, {
    mode: 'delta',
  });
  await writeOneRosterPackage(changeDistrict(base, { seed: 8, fraction: FRACTION }).delta, other, { mode: 'delta' });
  for (const file of readdirSync(dirs.delta)) t.ok(readFileSync(join(dirs.delta, file)).equals(readFileSync(join(again, file))), `${file} identical`);
  t.notOk(readFileSync(join(dirs.delta, 'users.csv')).equals(readFileSync(join(other, 'users.csv'))), 'another change seed, another delta');
});
