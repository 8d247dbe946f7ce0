import * as path from 'node:path';
import t, { type Test } from 'tap';
import { isRosterbridgeError, ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { type CsvPackage, openCsvPackage } from '@rosterbridge/oneroster-csv';
import { dataRowsOf, FIXTURES, readEntity, SHARED } from './csv-package-kit';

t.test('with-errors: each deliberate error is reported where it is, every good row still comes through', async (t) => {
  const folder = path.join(FIXTURES, 'with-errors');
  const pkg = await openCsvPackage(folder);
  t.teardown(() => pkg.dispose());
  t.same(await pkg.check(), [], 'the package and its headers are sound: the errors are in rows');
  const read = Object.fromEntries(
    await Promise.all(ROSTER_ENTITY_ORDER.map(async (entity) => [entity, await readEntity(pkg, entity, { batchSize: 2 })] as const)),
  );
  const issues = ROSTER_ENTITY_ORDER.flatMap((entity) => read[entity]!.issues);
  t.same(
    issues.map((issue) => `${issue.severity} ${issue.file}:${issue.line}:${issue.column ?? '-'} ${issue.code} ${issue.field ?? '-'} ${issue.sourcedId ?? '-'}`),
    [
      'warning orgs.csv:4:7 REFERENCE_UNRESOLVED parentSourcedId org-dept-sci',
      'error orgs.csv:5:5 BAD_VOCABULARY type org-sch-2',
      'warning academicSessions.csv:3:3 DATE_WITHOUT_TIME dateLastModified as-t1',
      'error academicSessions.csv:4:2 BAD_VOCABULARY status as-t2',
      'warning academicSessions.csv:5:8 REFERENCE_UNRESOLVED parentSourcedId as-gp1',
      'warning academicSessions.csv:3:2 CSV_BULK_CHANGE_FIELD status -',
      'warning academicSessions.csv:3:3 CSV_BULK_CHANGE_FIELD dateLastModified -',
      'warning courses.csv:3:7 BAD_GRADE grades crs-hist',
      'warning classes.csv:2:8 VOCABULARY_CASE classType cls-chem-1',
      'error classes.csv:3:8 BAD_VOCABULARY classType cls-chem-2',
      'warning users.csv:4:17 BAD_GRADE grades u-s-2',
      'warning users.csv:4:8 DUPLICATE_USER_ID userIds u-s-2',
      'error users.csv:5:9 FIELD_REQUIRED givenName u-s-3',
      'error users.csv:6:1 DUPLICATE_SOURCED_ID sourcedId u-s-1',
      'error users.csv:7:4 BAD_BOOLEAN enabledUser u-s-4',
      'error users.csv:7:8 BAD_USER_ID userIds u-s-4',
      'warning users.csv:8:5 REFERENCE_UNRESOLVED orgSourcedIds u-s-5',
      'error users.csv:9:- CSV_COLUMN_COUNT - u-s-6',
      'warning enrollments.csv:5:6 REFERENCE_UNRESOLVED userSourcedId enr-4',
      'error enrollments.csv:6:7 BAD_VOCABULARY role enr-5',
      'error enrollments.csv:7:8 BAD_BOOLEAN primary enr-6',
    ],
    'bad vocabulary, a missing required field, a duplicate sourcedId, bad booleans and userIds, a truncated last line reject their rows; unresolved references, shared userIds, non-CEDS grades, a case slip and filled bulk fields are warnings',
  );
  t.match(issues.find((issue) => issue.code === 'CSV_COLUMN_COUNT')?.message, /users\.csv line 9 has 10 fields but the header has 18 columns/);
  t.match(issues.find((issue) => issue.code === 'DUPLICATE_USER_ID')?.message, /\{SIS:5678\} is also held by user 'u-s-1'/);

  const rejected: Record<string, string[]> = {
    orgs: ['org-sch-2'],
    academicSessions: ['as-t2'],
    classes: ['cls-chem-2'],
    users: ['u-s-3', 'u-s-1', 'u-s-4', 'u-s-6'],
    enrollments: ['enr-5', 'enr-6'],
  };
  t.equal(pkg.modeOf('demographics'), 'absent');
  for (const entity of ROSTER_ENTITY_ORDER.filter((e) => e !== 'demographics')) {
    const { tally, records } = read[entity]!;
    const expected = dataRowsOf(path.join(folder, `${entity}.csv`));
    const bad = rejected[entity] ?? [];
    t.equal(tally.rowsRead, expected.count, `${entity}: every row read, the truncated last one too`);
    t.equal(tally.rowsRejected, bad.length, `${entity}: ${bad.length} rejected`);
    t.equal(tally.recordsEmitted + tally.rowsRejected, tally.rowsRead, `${entity}: emitted + rejected = read`);
    t.equal(tally.complete, true, `${entity}: rejected rows do not make the file incomplete`);
    // The duplicate u-s-1 is the later row: the first one comes through.
    const good = entity === 'users' ? ['u-t-1', 'u-s-1', 'u-s-2', 'u-s-5'] : expected.sourcedIds.filter((id) => !bad.includes(id));
    t.same(
      records.map((record) => record.sourcedId),
      good,
      `${entity}: every good row is produced`,
    );
  }
  const fall = read['academicSessions']!.records[1]!;
  t.same(
    [fall.sourcedId, fall.status, fall.dateLastModified?.toISOString()],
    ['as-t1', 'active', '2025-07-01T00:00:00.000Z'],
    'a filled bulk field is read as given; a date alone is midnight UTC',
  );
  const users = (await readEntity(pkg, 'users')).records;
  t.same(
    [users[1]!.username, users[1]!.userIds],
    [
      'j.park',
      [
        { type: 'Fed', identifier: '5001' },
        { type: 'SIS', identifier: '5678' },
      ],
    ],
    'the first u-s-1 is the one kept',
  );
  t.same(
    [users[2]!.userIds, users[2]!.grades],
    [
      [
        { type: 'Fed', identifier: '5002' },
        { type: 'SIS', identifier: '5678' },
      ],
      [],
    ],
    "a shared userId is kept; 'Sophomore' is left out",
  );
  const courses = (await readEntity(pkg, 'courses')).records;
  t.same(
    courses.map((course) => course.grades),
    [['10', '11'], ['10']],
    "'Sophomore' is left out, '10' kept",
  );
});

t.test('v1p0-style is refused, naming each wrong header and what was expected', async (t) => {
  const pkg = await openCsvPackage(path.join(FIXTURES, 'v1p0-style'));
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
  t.match(
    issues[4]!.message,
    /users\.csv: column 2 is 'enabledUser', expected 'status' \('enabledUser' belongs in column 4\)\. OneRoster 1\.1 users\.csv starts with: sourcedId,status,dateLastModified,enabledUser,/,
  );
  t.match(issues[0]!.message, /column 7 is 'metadata\.region', expected 'parentSourcedId'/);
  t.match(issues[1]!.message, /header ends after column 8 but column 9 must be 'schoolYear'/);
  await refusesToRead(t, pkg);
});

t.test('moodle-full-with-errors: each deliberate error is reported, every good row still comes through', { skip: SHARED.skip }, async (t) => {
  const folder = SHARED.path('oneroster-csv', 'moodle-full-with-errors');
  const pkg = await openCsvPackage(folder);
  t.teardown(() => pkg.dispose());
  t.same(
    (await pkg.check()).filter((issue) => issue.severity === 'error'),
    [],
  );

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
    ['warning orgs.csv:2:7 org-sch-222-456', 'warning academicSessions.csv:3:8 as-trm-222-1234', 'warning academicSessions.csv:6:8 as-trm-222-1235'],
    'the department whose parent org is missing (and terms whose school year is missing) are warned about and kept',
  );
  t.same(
    found('DATE_WITHOUT_TIME'),
    [
      'warning academicSessions.csv:4:3 as-grp-222-2345',
      'warning academicSessions.csv:5:3 as-grp-222-3456',
      ...[2, 4, 5, 6, 7].map(
        (line) =>
          `warning users.csv:${line}:3 ${['usr-222-123456', '', 'usr-222-1234561', 'usr-222-987654', 'usr-222-1234561232', 'usr-222-567891'][line - 2]}`,
      ),
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
  t.same(found('CSV_BULK_CHANGE_FIELD').length, 10, 'status and dateLastModified filled in bulk files: one warning per column per file');
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
  t.match(read['users']!.records[2], {
    userIds: [
      { type: 'LDAP', identifier: '12' },
      { type: 'LTI', identifier: '15' },
      { type: 'Fed', identifier: '23' },
    ],
  });
});

t.test('nonconformant-v1p0-style is refused, naming the wrong header and what was expected', { skip: SHARED.skip }, async (t) => {
  const pkg = await openCsvPackage(SHARED.path('oneroster-csv', 'nonconformant-v1p0-style'));
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
  t.match(
    issues[4]!.message,
    /users\.csv: column 2 is 'enabledUser', expected 'status' \('enabledUser' belongs in column 4\)\. OneRoster 1\.1 users\.csv starts with: sourcedId,status,dateLastModified,enabledUser,/,
  );
  t.match(issues[0]!.message, /column 7 is 'metadata\.classification', expected 'parentSourcedId'/);
  t.match(issues[1]!.message, /header ends after column 8 but column 9 must be 'schoolYear'/);
  await refusesToRead(t, pkg);
});

/** Reading users throws CSV_BAD_HEADER before any batch: nothing read, not complete. */
async function refusesToRead(t: Test, pkg: CsvPackage): Promise<void> {
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
}
