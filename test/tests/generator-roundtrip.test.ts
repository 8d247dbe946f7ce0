import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterRecord } from '@rosterbridge/core';
import { openCsvPackage } from '@rosterbridge/oneroster-csv';
import { changeDistrict, generateDistrict, writeOneRosterPackage } from '@rosterbridge/test-kit';

/** A bulk file carries no status or dateLastModified: compare records without them. */
function comparable(record: RosterRecord): Record<string, unknown> {
  const { status: _status, dateLastModified: _modified, ...rest } = record as unknown as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest));
}

t.test('a generated district written as a bulk package reads back record for record, with no errors', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-roundtrip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const district = generateDistrict({ seed: 11, size: 'small', faults: 'all' });
  await writeOneRosterPackage(district, dir);
  const pkg = await openCsvPackage(dir);
  t.teardown(() => pkg.dispose());
  t.same(
    (await pkg.check()).filter((i) => i.severity === 'error'),
    [],
  );
  for (const entity of ROSTER_ENTITY_ORDER) {
    const expected = new Map<string, Record<string, unknown>>();
    for (const r of district.records(entity)) expected.set(r.sourcedId, comparable(r));
    let read = 0;
    let mismatches = 0;
    const errors: unknown[] = [];
    for await (const batch of pkg.read(entity, { batchSize: 500 })) {
      errors.push(...batch.issues.filter((i) => i.severity === 'error'));
      for (const record of batch.records) {
        read++;
        const want = expected.get(record.sourcedId);
        if (!want || JSON.stringify(comparable(record)) !== JSON.stringify(want)) {
          if (mismatches++ < 3) t.same(comparable(record), want, `${entity} ${record.sourcedId} reads back as generated`);
        }
      }
    }
    t.equal(read, district.counts[entity], `${entity}: every record read`);
    t.equal(mismatches, 0, `${entity}: every record equal`);
    t.same(errors, [], `${entity}: no errors`);
  }
});

t.test('a delta package carries exactly the changed records, deletions as tobedeleted', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-roundtrip-delta-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const changed = changeDistrict(generateDistrict({ seed: 11, size: 'small' }), { seed: 12, fraction: 0.02 });
  await writeOneRosterPackage(changed.delta, dir, { mode: 'delta' });
  const pkg = await openCsvPackage(dir);
  t.teardown(() => pkg.dispose());
  for (const entity of ROSTER_ENTITY_ORDER) {
    const want = changed.report.entities[entity];
    const upserted: string[] = [];
    const deleted: string[] = [];
    for await (const batch of pkg.read(entity, { batchSize: 500 })) {
      t.same(
        batch.issues.filter((i) => i.severity === 'error'),
        [],
        `${entity}: no errors`,
      );
      for (const r of batch.records) (r.status === 'tobedeleted' ? deleted : upserted).push(r.sourcedId);
    }
    t.same(deleted.sort(), [...want.deleted].sort(), `${entity}: exactly the deletions`);
    t.same(upserted.sort(), [...want.updated, ...want.created].sort(), `${entity}: exactly the updates and creations`);
  }
});
