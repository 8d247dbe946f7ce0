import { existsSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { openCsvPackage } from '@rosterbridge/oneroster-csv';
import { dataRowsOf, FIXTURES, readEntity } from './csv-package-kit';

for (const fixture of ['roster-hub-en', 'roster-hub-ja', 'moodle-minimal']) {
  t.test(`${fixture} reads with no errors and every row accounted for`, async (t) => {
    const folder = path.join(FIXTURES, fixture);
    const pkg = await openCsvPackage(folder);
    t.teardown(() => pkg.dispose());
    const checked = await pkg.check();
    t.same(checked.filter((issue) => issue.severity === 'error'), [], 'check finds no errors');

    for (const entity of ROSTER_ENTITY_ORDER) {
      const file = path.join(folder, `${entity}.csv`);
      const { records, issues, tally } = await readEntity(pkg, entity, { batchSize: 7 });
      t.same(issues.filter((issue) => issue.severity === 'error'), [], `${entity}: no errors`);
      if (pkg.modeOf(entity) === 'absent') {
        t.notOk(existsSync(file), `${entity} is absent and not in the folder`);
        t.same(records, []);
        continue;
      }
      const expected = dataRowsOf(file);
      t.ok(expected.count > 0, `${entity} has rows`);
      t.equal(tally.rowsRead, expected.count, `${entity}: every data row read`);
      t.equal(tally.recordsEmitted, expected.count, `${entity}: every row emitted`);
      t.equal(tally.rowsRejected, 0);
      t.equal(tally.complete, true);
      t.same(records.map((record) => record.sourcedId), expected.sourcedIds, `${entity}: the same records, in file order`);
    }
  });
}

t.test('roster-hub values come through parsed', async (t) => {
  const pkg = await openCsvPackage(path.join(FIXTURES, 'roster-hub-ja'));
  t.teardown(() => pkg.dispose());
  const users = await readEntity(pkg, 'users');
  t.match(users.records[0], {
    sourcedId: 'us0001', status: 'active', dateLastModified: undefined, enabledUser: true, role: 'student',
    orgSourcedIds: ['or0001'], givenName: '名01', familyName: '姓01', userIds: [], grades: [],
    metadata: { phoneticGivenName: 'メイ01', phoneticFamilyName: 'セイ01' },
  });
  const classes = await readEntity(pkg, 'classes');
  t.match(classes.records[0], { title: '情報処理入門', classType: 'scheduled', termSourcedIds: ['as0001'], periods: ['1-2'] });
  const sessions = await readEntity(pkg, 'academicSessions');
  t.match(sessions.records[0], { startDate: '2020-04-01', endDate: '2020-10-01', schoolYear: '2021', type: 'term' });
  const enrollments = await readEntity(pkg, 'enrollments');
  t.match(enrollments.records[0], { role: 'teacher', primary: true, classSourcedId: 'cl0001', userSourcedId: 'us0001' });
});

t.test('roster-hub manifest typo and moodle-minimal classType case are warnings, named by file and line', async (t) => {
  const hub = await openCsvPackage(path.join(FIXTURES, 'roster-hub-en'));
  t.teardown(() => hub.dispose());
  t.same(
    (await hub.check()).map((issue) => [issue.code, issue.severity, issue.file, issue.line]),
    [
      ['CSV_MANIFEST_UNKNOWN_PROPERTY', 'warning', 'manifest.csv', 10],
      ['CSV_MANIFEST_FILE_UNLISTED', 'warning', 'manifest.csv', undefined],
    ],
  );
  const minimal = await openCsvPackage(path.join(FIXTURES, 'moodle-minimal'));
  t.teardown(() => minimal.dispose());
  const classes = await readEntity(minimal, 'classes');
  t.same(
    classes.issues.map((issue) => [issue.code, issue.severity, issue.line, issue.column, issue.sourcedId]),
    [['VOCABULARY_CASE', 'warning', 2, 8, 'cls-222-123456']],
  );
  t.equal(classes.records[0]!.classType, 'scheduled');
});
