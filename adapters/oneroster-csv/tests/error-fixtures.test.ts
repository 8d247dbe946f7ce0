import * as path from 'node:path';
import t from 'tap';
import { isRosterbridgeError, ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { openCsvPackage } from '@rosterbridge/oneroster-csv';
import { dataRowsOf, FIXTURES, readEntity } from './csv-package-kit';

t.test('moodle-full-with-errors: each deliberate error is reported, every good row still comes through', async (t) => {
  const folder = path.join(FIXTURES, 'moodle-full-with-errors');
  const pkg = await openCsvPackage(folder);
  t.teardown(() => pkg.dispose());
  t.same((await pkg.check()).filter((issue) => issue.severity === 'error'), []);

  const read = Object.fromEntries(
    await Promise.all(ROSTER_ENTITY_ORDER.map(async (entity) => [entity, await readEntity(pkg, entity, { batchSize: 2 })] as const)),
  );
  const found = (code: string) =>
    ROSTER_ENTITY_ORDER.flatMap((entity) => read[entity]!.issues)
      .filter((issue) => issue.code === code)
      .map((issue) => `${issue.severity} ${issue.file}:${issue.line}:${issue.column} ${issue.sourcedId ?? ''}`);

  t.same(found('BAD_VOCABULARY'), ['error academicSessions.csv:4:2 as-grp-222-2345'], "status 'inactive' (a 1.0 value) rejects its row");
  t.same(found('VOCABULARY_CASE'), ['warning classes.csv:2:8 cls-222-123456'], "classType 'Scheduled' is read as scheduled, with a warning");
  t.same(
    found('REFERENCE_UNRESOLVED'),
    [
      'warning orgs.csv:2:7 org-sch-222-456',
      'warning academicSessions.csv:3:8 as-trm-222-1234',
      'warning academicSessions.csv:6:8 as-trm-222-1235',
    ],
    'the department whose parent org is missing (and terms whose school year is missing) are warned about and kept',
  );
  t.same(
    found('DATE_WITHOUT_TIME'),
    [
      'warning academicSessions.csv:4:3 as-grp-222-2345',
      'warning academicSessions.csv:5:3 as-grp-222-3456',
      ...[2, 4, 5, 6, 7].map((line) => `warning users.csv:${line}:3 ${['usr-222-123456', '', 'usr-222-1234561', 'usr-222-987654', 'usr-222-1234561232', 'usr-222-567891'][line - 2]}`),
    ],
    'a date-only dateLastModified is read as midnight UTC, with a warning',
  );
  t.same(
    found('DUPLICATE_USER_ID'),
    [
      'warning users.csv:4:8 usr-222-1234561',
      'warning users.csv:5:8 usr-222-987654',
      'warning users.csv:5:8 usr-222-987654',
      'warning users.csv:6:8 usr-222-1234561232',
    ],
    '{LDAP:12} is well-formed, but held by four users',
  );
  t.same(
    found('CSV_BULK_CHANGE_FIELD').length,
    10,
    'status and dateLastModified filled in bulk files: one warning per column per file',
  );
  const errors = ROSTER_ENTITY_ORDER.flatMap((entity) => read[entity]!.issues).filter((issue) => issue.severity === 'error');
  t.equal(errors.length, 1, 'the inactive status is the only row-rejecting error');

  for (const entity of ROSTER_ENTITY_ORDER) {
    const { tally, records } = read[entity]!;
    if (pkg.modeOf(entity) === 'absent') continue;
    const expected = dataRowsOf(path.join(folder, `${entity}.csv`));
    t.equal(tally.rowsRead, expected.count, `${entity}: every row read`);
    t.equal(tally.recordsEmitted + tally.rowsRejected, tally.rowsRead, `${entity}: emitted + rejected = read`);
    t.equal(records.length, tally.recordsEmitted);
    const rejected = entity === 'academicSessions' ? ['as-grp-222-2345'] : [];
    t.same(
      records.map((record) => record.sourcedId),
      expected.sourcedIds.filter((id) => !rejected.includes(id)),
      `${entity}: every good row is produced`,
    );
  }
  t.match(read['academicSessions']!.records[0], { sourcedId: 'as-grp-222-23456', status: 'tobedeleted' }, 'a filled status in bulk is kept');
  t.match(read['users']!.records[2], { userIds: [{ type: 'LDAP', identifier: '12' }, { type: 'LTI', identifier: '15' }, { type: 'Fed', identifier: '23' }] });
});

t.test('nonconformant-v1p0-style is refused, naming the wrong header and what was expected', async (t) => {
  const pkg = await openCsvPackage(path.join(FIXTURES, 'nonconformant-v1p0-style'));
  t.teardown(() => pkg.dispose());
  const issues = await pkg.check();
  t.same(
    issues.map((issue) => [issue.code, issue.severity, issue.file, issue.column, issue.field]),
    [
      ['CSV_BAD_HEADER', 'error', 'orgs.csv', 7, 'parentSourcedId'],
      ['CSV_BAD_HEADER', 'error', 'academicSessions.csv', 9, 'schoolYear'],
      ['CSV_BAD_HEADER', 'error', 'courses.csv', 4, 'schoolYearSourcedId'],
      ['CSV_BAD_HEADER', 'error', 'classes.csv', 5, 'grades'],
      ['CSV_BAD_HEADER', 'error', 'users.csv', 2, 'status'],
      ['CSV_BAD_HEADER', 'error', 'enrollments.csv', 2, 'status'],
      ['CSV_BAD_HEADER', 'error', 'demographics.csv', 1, 'sourcedId'],
    ],
  );
  t.match(issues[4]!.message, /users\.csv: column 2 is 'enabledUser', expected 'status' \('enabledUser' belongs in column 4\)\. OneRoster 1\.1 users\.csv starts with: sourcedId,status,dateLastModified,enabledUser,/);
  t.match(issues[0]!.message, /column 7 is 'metadata\.classification', expected 'parentSourcedId'/);
  t.match(issues[1]!.message, /header ends after column 8 but column 9 must be 'schoolYear'/);

  const reading = pkg.read('users');
  const error = await (async () => {
    try {
      for await (const batch of reading) t.fail(`no batch expected, got ${batch.records.length} records`);
    } catch (thrown) {
      return thrown;
    }
    return undefined;
  })();
  t.ok(isRosterbridgeError(error, 'CSV_BAD_HEADER'), 'reading throws CSV_BAD_HEADER');
  t.match(error, { message: /column 2 is 'enabledUser', expected 'status'/, details: { file: 'users.csv', column: 2 } });
  t.same([reading.tally.rowsRead, reading.tally.complete], [0, false], 'nothing read, not complete');
});
