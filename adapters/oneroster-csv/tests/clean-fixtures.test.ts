import { existsSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { openCsvPackage } from '@rosterbridge/oneroster-csv';
import { dataRowsOf, FIXTURES, ownPackage, readEntity, SHARED, sharedPackage } from './csv-package-kit';

const CLEAN = [
  ownPackage('clean-full'),
  ownPackage('clean-minimal'),
  sharedPackage('roster-hub-en'),
  sharedPackage('roster-hub-ja'),
  sharedPackage('moodle-minimal'),
];

for (const fixture of CLEAN) {
  t.test(`${fixture.name} reads with no errors and every row accounted for`, { skip: fixture.skip }, async (t) => {
    const folder = fixture.folder();
    const pkg = await openCsvPackage(folder);
    t.teardown(() => pkg.dispose());
    const checked = await pkg.check();
    t.same(
      checked.filter((issue) => issue.severity === 'error'),
      [],
      'check finds no errors',
    );

    for (const entity of ROSTER_ENTITY_ORDER) {
      const file = path.join(folder, `${entity}.csv`);
      const { records, issues, tally } = await readEntity(pkg, entity, { batchSize: 7 });
      t.same(
        issues.filter((issue) => issue.severity === 'error'),
        [],
        `${entity}: no errors`,
      );
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
      t.same(
        records.map((record) => record.sourcedId),
        expected.sourcedIds,
        `${entity}: the same records, in file order`,
      );
    }
  });
}

t.test('clean-full: a BOM, CRLF, quoted commas and quotes, extension columns, several userIds, non-CEDS grades', async (t) => {
  const pkg = await openCsvPackage(path.join(FIXTURES, 'clean-full'));
  t.teardown(() => pkg.dispose());
  t.same(await pkg.check(), [], 'the package is clean: no issue at all');
  const read = await Promise.all(ROSTER_ENTITY_ORDER.map((entity) => readEntity(pkg, entity)));
  t.same(
    read.flatMap((result) => result.issues),
    [],
    'no issue in any file, not even a warning',
  );
  t.same(
    read.map((result) => result.records.length),
    [3, 3, 4, 4, 11, 15, 4],
    'orgs, academicSessions, courses, classes, users, enrollments, demographics',
  );
  const records = async <E extends RosterEntity>(entity: E) => (await readEntity(pkg, entity)).records;

  const users = await records('users');
  t.same(
    users[0],
    {
      sourcedId: 'u-t-001',
      status: 'active',
      dateLastModified: undefined,
      metadata: { pronouns: 'she/her', homeLanguage: 'es' },
      enabledUser: true,
      orgSourcedIds: ['org-sch-hs'],
      role: 'teacher',
      username: 'ana.nunez',
      userIds: [
        { type: 'Fed', identifier: '1234' },
        { type: 'SIS', identifier: '5678' },
      ],
      givenName: 'Ana María',
      familyName: 'Núñez',
      identifier: 'T-001',
      email: 'ana.nunez@cedar-ridge.example.org',
      phone: '555-0100',
      agentSourcedIds: [],
      grades: [],
    },
    'users.csv starts with a BOM: the first sourcedId is clean; metadata.* columns land in metadata; blanks are left out',
  );
  t.same(
    users[1],
    {
      sourcedId: 'u-t-002',
      status: 'active',
      dateLastModified: undefined,
      metadata: {},
      enabledUser: true,
      orgSourcedIds: ['org-sch-hs'],
      role: 'teacher',
      username: 'robert.oconnor',
      userIds: [{ type: 'Fed', identifier: '1235' }],
      givenName: 'Robert "Bob"',
      familyName: "O'Connor",
      middleName: 'James',
      identifier: 'T-002',
      email: 'robert.oconnor@cedar-ridge.example.org',
      agentSourcedIds: [],
      grades: [],
    },
    'doubled quotes; TRUE in capitals; blank extension fields are left out',
  );
  t.same([users[2]!.givenName, users[2]!.familyName, users[2]!.enabledUser], ['恵子', '佐藤', true], "UTF-8 names; 'True'");
  t.same(
    [users[4]!.familyName, users[4]!.middleName, users[4]!.grades, users[4]!.agentSourcedIds],
    ['Garcia, Jr.', 'Lucía', ['09'], ['u-p-001']],
    "a quoted comma; '9th' is grade 09",
  );
  t.same(users[5]!.grades, ['10'], "'Grade 10' is grade 10");
  t.same(users[6]!.userIds, [
    { type: 'Fed', identifier: '3003' },
    { type: 'SIS', identifier: 'S-3003' },
    { type: 'LDAP', identifier: 'zlee' },
  ]);
  t.equal(users[7]!.enabledUser, false);
  t.same([users[9]!.orgSourcedIds, users[9]!.userIds], [['org-sch-ms', 'org-sch-hs'], []]);
  t.same([users[10]!.sourcedId, users[10]!.role, users[10]!.agentSourcedIds, users[10]!.sms], ['u-p-001', 'parent', ['u-s-001', 'u-s-002'], '555-0142']);

  t.equal((await records('orgs'))[1]!.name, 'Cedar Ridge High School, North Campus');
  const [biology] = await records('courses');
  t.same(
    [biology!.grades, biology!.subjects],
    [
      ['09', '10'],
      ['Science', 'Life Science'],
    ],
    "'9th,Grade 10' are grades 09 and 10",
  );
  const classes = await records('classes');
  t.same([classes[0]!.title, classes[0]!.location, classes[0]!.termSourcedIds], ['Biology, Period 1', 'Room 214 "Greenhouse"', ['as-2026-t1', 'as-2026-t2']]);
  t.same(classes[1]!.periods, ['2', '3']);
  t.same([classes[3]!.grades, classes[3]!.periods], [['07'], ['4']], "'7th' is grade 07; no CR in the last column of a CRLF file");
  t.match((await records('enrollments'))[0], { role: 'teacher', primary: true, beginDate: '2025-08-18', endDate: '2026-06-12' });
  t.match((await records('demographics'))[2], { sourcedId: 'u-s-003', asian: true, white: true, cityOfBirth: 'Vancouver, BC' });
});

t.test('clean-minimal: a manifest typo, a classType case slip and a non-CEDS grade are warnings, named by file and line', async (t) => {
  const pkg = await openCsvPackage(path.join(FIXTURES, 'clean-minimal'));
  t.teardown(() => pkg.dispose());
  t.same(
    (await pkg.check()).map((issue) => [issue.code, issue.severity, issue.file, issue.line]),
    [
      ['CSV_MANIFEST_UNKNOWN_PROPERTY', 'warning', 'manifest.csv', 10],
      ['CSV_MANIFEST_FILE_UNLISTED', 'warning', 'manifest.csv', undefined],
    ],
    "'fiel.demographics' is not a property, and demographics is then not listed",
  );
  t.equal(pkg.modeOf('demographics'), 'absent');
  const classes = await readEntity(pkg, 'classes');
  t.same(
    classes.issues.map((issue) => [issue.code, issue.severity, issue.line, issue.column, issue.sourcedId]),
    [['VOCABULARY_CASE', 'warning', 2, 8, 'cls-k-1']],
  );
  t.same([classes.records[0]!.classType, classes.records[0]!.grades], ['homeroom', ['KG']], "'Homeroom' is homeroom; 'K' is KG");
  const users = await readEntity(pkg, 'users');
  t.same(
    users.issues.map((issue) => [issue.code, issue.severity, issue.line, issue.column, issue.sourcedId]),
    [['BAD_GRADE', 'warning', 4, 17, 'u-703']],
    "a grade that means nothing CEDS knows is left out with a warning; 'Kindergarten' is not one of those",
  );
  t.same(
    users.records.map((user) => user.grades),
    [[], ['KG'], [], ['03']],
  );
});

t.test('roster-hub values come through parsed', { skip: SHARED.skip }, async (t) => {
  const pkg = await openCsvPackage(SHARED.path('oneroster-csv', 'roster-hub-ja'));
  t.teardown(() => pkg.dispose());
  const users = await readEntity(pkg, 'users');
  t.match(users.records[0], {
    sourcedId: 'us0001',
    status: 'active',
    dateLastModified: undefined,
    enabledUser: true,
    role: 'student',
    orgSourcedIds: ['or0001'],
    givenName: '名01',
    familyName: '姓01',
    userIds: [],
    grades: [],
    metadata: { phoneticGivenName: 'メイ01', phoneticFamilyName: 'セイ01' },
  });
  const classes = await readEntity(pkg, 'classes');
  t.match(classes.records[0], { title: '情報処理入門', classType: 'scheduled', termSourcedIds: ['as0001'], periods: ['1-2'] });
  const sessions = await readEntity(pkg, 'academicSessions');
  t.match(sessions.records[0], { startDate: '2020-04-01', endDate: '2020-10-01', schoolYear: '2021', type: 'term' });
  const enrollments = await readEntity(pkg, 'enrollments');
  t.match(enrollments.records[0], { role: 'teacher', primary: true, classSourcedId: 'cl0001', userSourcedId: 'us0001' });
});

t.test('roster-hub manifest typo and moodle-minimal classType case are warnings, named by file and line', { skip: SHARED.skip }, async (t) => {
  const hub = await openCsvPackage(SHARED.path('oneroster-csv', 'roster-hub-en'));
  t.teardown(() => hub.dispose());
  t.same(
    (await hub.check()).map((issue) => [issue.code, issue.severity, issue.file, issue.line]),
    [
      ['CSV_MANIFEST_UNKNOWN_PROPERTY', 'warning', 'manifest.csv', 10],
      ['CSV_MANIFEST_FILE_UNLISTED', 'warning', 'manifest.csv', undefined],
    ],
  );
  const minimal = await openCsvPackage(SHARED.path('oneroster-csv', 'moodle-minimal'));
  t.teardown(() => minimal.dispose());
  const classes = await readEntity(minimal, 'classes');
  t.same(
    classes.issues.map((issue) => [issue.code, issue.severity, issue.line, issue.column, issue.sourcedId]),
    [['VOCABULARY_CASE', 'warning', 2, 8, 'cls-222-123456']],
  );
  t.equal(classes.records[0]!.classType, 'scheduled');
});
