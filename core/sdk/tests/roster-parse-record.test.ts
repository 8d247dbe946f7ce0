import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, sharedFixtures } from '@rosterbridge/test-kit';
import t from 'tap';
import { hasRosterErrors, parseRosterRecord, type RosterIssue } from '@rosterbridge/core';

const corpus = sharedFixtures();
const codes = (issues: RosterIssue[]): string[] => issues.map((issue) => `${issue.field}:${issue.code}`);

t.test('a CSV org row parses; blanks become absent, status defaults to active', async (t) => {
  const { record, issues } = parseRosterRecord('orgs', {
    sourcedId: ' org-1 ',
    status: '',
    dateLastModified: '',
    name: 'Lincoln High',
    type: 'school',
    identifier: '',
    parentSourcedId: 'dist-1',
    'metadata.ncesId': '123',
    'metadata.empty': '',
  });
  t.same(issues, []);
  t.same(record, {
    sourcedId: 'org-1',
    status: 'active',
    dateLastModified: undefined,
    metadata: { ncesId: '123' },
    name: 'Lincoln High',
    type: 'school',
    parentSourcedId: 'dist-1',
  });
  t.notOk(record && 'identifier' in record, 'blank optional fields are left out');
});

t.test('an academic session: dates, year, reversed dates warn', async (t) => {
  const { record, issues } = parseRosterRecord('academicSessions', {
    sourcedId: 'as-1',
    status: 'tobedeleted',
    dateLastModified: '2023-05-01T18:25:43.511Z',
    title: 'Fall',
    type: 'term',
    startDate: '2022-12-24',
    endDate: '2022-09-01',
    parentSourcedId: '',
    schoolYear: '2023',
  });
  t.equal(record?.status, 'tobedeleted');
  t.equal(record?.dateLastModified?.toISOString(), '2023-05-01T18:25:43.511Z');
  t.equal(record?.schoolYear, '2023');
  t.same(codes(issues), ['endDate:DATES_REVERSED']);
  t.equal(issues[0]!.severity, 'warning');
});

t.test('errors reject the record and name entity, sourcedId and field', async (t) => {
  const { record, issues } = parseRosterRecord('academicSessions', {
    sourcedId: 'as-2',
    status: 'inactive',
    dateLastModified: '2023-05-01',
    title: '',
    type: 'quarter',
    startDate: '2022/10/02',
    endDate: '2022-12-24',
    schoolYear: '22-23',
  });
  t.equal(record, undefined);
  t.same(codes(issues), [
    'status:BAD_VOCABULARY',
    'dateLastModified:DATE_WITHOUT_TIME',
    'title:FIELD_REQUIRED',
    'type:BAD_VOCABULARY',
    'startDate:BAD_DATE',
    'schoolYear:BAD_VALUE',
  ]);
  t.ok(issues.every((issue) => issue.entity === 'academicSessions' && issue.sourcedId === 'as-2'));
  t.ok(hasRosterErrors(issues));
  t.match(issues[0]!.message, /'inactive' is not one of active, tobedeleted/);
});

t.test('a class: lists, grades, case-insensitive classType with a warning', async (t) => {
  const { record, issues } = parseRosterRecord('classes', {
    sourcedId: 'cls-1',
    title: 'Physics',
    grades: '9, 10,Eleventh',
    courseSourcedId: 'crs-1',
    classCode: 'P-1',
    classType: 'Scheduled',
    location: 'Room 2-B',
    schoolSourcedId: 'sch-1',
    termSourcedIds: 'as-1,as-2',
    subjects: 'Science, Physics',
    subjectCodes: '',
    periods: '1,2,3',
  });
  t.same(codes(issues), ['grades:BAD_GRADE', 'classType:VOCABULARY_CASE']);
  t.ok(issues.every((issue) => issue.severity === 'warning'));
  t.notOk(hasRosterErrors(issues));
  t.match(record, {
    classType: 'scheduled',
    grades: ['09', '10'],
    termSourcedIds: ['as-1', 'as-2'],
    subjects: ['Science', 'Physics'],
    subjectCodes: [],
    periods: ['1', '2', '3'],
  });
});

t.test('a class without terms, course or school is rejected', async (t) => {
  const { record, issues } = parseRosterRecord('classes', { sourcedId: 'cls-2', title: 'X', classType: 'homeroom', termSourcedIds: ' , ' });
  t.equal(record, undefined);
  t.same(codes(issues), ['courseSourcedId:FIELD_REQUIRED', 'schoolSourcedId:FIELD_REQUIRED', 'termSourcedIds:FIELD_REQUIRED']);
});

t.test('a CSV user: booleans in any case, userIds, agents', async (t) => {
  const { record, issues } = parseRosterRecord('users', {
    sourcedId: 'u-1',
    enabledUser: 'TRUE',
    orgSourcedIds: 'sch-1',
    role: 'parent',
    username: 'thomas.jones',
    userIds: '{LDAP:12},{LTI:15}',
    givenName: 'Thomas',
    familyName: 'Jones',
    middleName: 'Paul',
    identifier: '',
    email: 't@example.org',
    sms: '',
    phone: '',
    agentSourcedIds: 'u-2',
    grades: '10',
    password: 'x',
  });
  t.same(issues, []);
  t.match(record, {
    enabledUser: true,
    role: 'parent',
    orgSourcedIds: ['sch-1'],
    agentSourcedIds: ['u-2'],
    grades: ['10'],
    userIds: [
      { type: 'LDAP', identifier: '12' },
      { type: 'LTI', identifier: '15' },
    ],
  });
});

t.test('a user with a bad boolean, role or userIds is rejected', async (t) => {
  const { record, issues } = parseRosterRecord('users', {
    sourcedId: 'u-3',
    enabledUser: 'yes',
    orgSourcedIds: 'sch-1',
    role: 'principal',
    username: 'p',
    userIds: 'LDAP:12',
    givenName: 'P',
    familyName: 'Q',
  });
  t.equal(record, undefined);
  t.same(codes(issues), ['enabledUser:BAD_BOOLEAN', 'role:BAD_VOCABULARY', 'userIds:BAD_USER_ID']);
});

/** The `users` of a ClassLink Roster Server `/users` page saved as JSON. */
function usersPage(file: string): Record<string, unknown>[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { users: Record<string, unknown>[] }).users;
}

t.test('ClassLink REST users parse: string booleans, "" for absent, refs with href, userIds objects', async (t) => {
  const users = usersPage(path.join(FIXTURES_DIR, 'classlink/users.json'));
  t.equal(users.length, 2);
  const maya = parseRosterRecord('users', users[0]!);
  t.same(maya.issues, []);
  t.same(
    maya.record,
    {
      sourcedId: '70412',
      status: 'active',
      dateLastModified: new Date('2025-09-02T14:05:11.000Z'),
      metadata: {},
      enabledUser: true,
      orgSourcedIds: ['7'],
      role: 'student',
      username: 'maya.chen',
      userIds: [{ type: 'FED', identifier: '70412' }],
      givenName: 'MAYA',
      familyName: 'CHEN',
      middleName: 'LIN',
      identifier: '20931',
      email: 'maya.chen@cedar-ridge.example.org',
      sms: '(555) 010-4477',
      agentSourcedIds: [],
      grades: ['10'],
    },
    'phone and password "" are left out',
  );
  const omar = parseRosterRecord('users', users[1]!);
  t.same(omar.issues, []);
  t.same(
    omar.record,
    {
      sourcedId: '70988',
      status: 'active',
      dateLastModified: new Date('2025-08-14T09:30:00.000Z'),
      metadata: {},
      enabledUser: false,
      orgSourcedIds: ['7', '12'],
      role: 'student',
      username: 'omar.reyes',
      userIds: [
        { type: 'FED', identifier: '70988' },
        { type: 'SIS', identifier: 'S-5521' },
      ],
      givenName: 'OMAR',
      familyName: 'REYES',
      identifier: '5521',
      agentSourcedIds: ['80411'],
      grades: ['09'],
    },
    '"false" is false; agents and orgs are refs; middleName, email and sms "" are left out',
  );
});

t.test('ClassLink REST users of the shared corpus parse', { skip: corpus.skip }, async (t) => {
  const users = usersPage(corpus.path('classlink/users.json'));
  const [billy] = users;
  const { record, issues } = parseRosterRecord('users', billy!);
  t.same(issues, []);
  t.same(record, {
    sourcedId: '18125',
    status: 'active',
    dateLastModified: new Date('2019-03-01T18:14:45.000Z'),
    metadata: {},
    enabledUser: true,
    orgSourcedIds: ['2'],
    role: 'student',
    username: 'billy.flores',
    userIds: [{ type: 'FED', identifier: '18125' }],
    givenName: 'BILLY',
    familyName: 'FLORES',
    middleName: 'DASEAN',
    identifier: '17580',
    email: 'billy.flores@classlink.k12.nj.us',
    sms: '(666) 666-6666',
    agentSourcedIds: [],
    grades: ['11'],
  });
  t.equal(parseRosterRecord('users', users[1]!).issues.length, 0);
});

t.test('REST shapes: nested refs, JSON booleans, numbers, metadata object', async (t) => {
  const enrollment = parseRosterRecord('enrollments', {
    sourcedId: 'e-1',
    status: 'active',
    dateLastModified: '2023-05-01T00:00:00Z',
    class: { href: 'x', sourcedId: 'cls-1', type: 'class' },
    school: { sourcedId: 'sch-1' },
    user: { sourcedId: 'u-1' },
    role: 'teacher',
    primary: true,
    beginDate: '2022-09-01',
    endDate: '2023-06-15',
    metadata: { seat: 4, note: 'front', none: null },
  });
  t.same(enrollment.issues, []);
  t.match(enrollment.record, {
    classSourcedId: 'cls-1',
    schoolSourcedId: 'sch-1',
    userSourcedId: 'u-1',
    primary: true,
    metadata: { seat: '4', note: 'front' },
  });
  const session = parseRosterRecord('academicSessions', {
    sourcedId: 'as-1',
    status: 'active',
    title: 'SY',
    type: 'schoolYear',
    startDate: '2022-08-01',
    endDate: '2023-06-30',
    parent: { sourcedId: 'as-0' },
    schoolYear: 2023,
  });
  t.match(session.record, { parentSourcedId: 'as-0', schoolYear: '2023' });
  const bad = parseRosterRecord('courses', { sourcedId: 'c-1', title: { en: 'x' }, org: 42, grades: [{}] });
  t.same(codes(bad.issues), ['title:BAD_VALUE', 'grades:BAD_VALUE']);
  t.equal(bad.record, undefined);
  t.match(parseRosterRecord('courses', { sourcedId: 'c-2', title: 'Algebra', org: { sourcedId: 'sch-1' }, grades: ['9', 10] }).record, {
    orgSourcedId: 'sch-1',
    grades: ['09', '10'],
  });
});

t.test('demographics: all optional, booleans and sex checked', async (t) => {
  t.same(parseRosterRecord('demographics', { sourcedId: 'u-1' }).record, {
    sourcedId: 'u-1',
    status: 'active',
    dateLastModified: undefined,
    metadata: {},
  });
  const { record, issues } = parseRosterRecord('demographics', { sourcedId: 'u-2', birthDate: '2010-04-01', sex: 'Female', white: 'true', asian: 'false' });
  t.match(record, { birthDate: '2010-04-01', sex: 'female', white: true, asian: false });
  t.same(codes(issues), ['sex:VOCABULARY_CASE']);
  t.same(codes(parseRosterRecord('demographics', { sourcedId: 'u-3', sex: 'x', white: 'Y' }).issues), ['sex:BAD_VOCABULARY', 'white:BAD_BOOLEAN']);
});

t.test('a record without a sourcedId is rejected and its issues carry no sourcedId', async (t) => {
  const { record, issues } = parseRosterRecord('orgs', { name: 'X', type: 'school' });
  t.equal(record, undefined);
  t.same(codes(issues), ['sourcedId:FIELD_REQUIRED']);
  t.notOk('sourcedId' in issues[0]!);
});

t.test('date-time warnings: zone-less and date-only are read as UTC', async (t) => {
  const { record, issues } = parseRosterRecord('orgs', { sourcedId: 'o', name: 'X', type: 'district', dateLastModified: '2017-05-06 08:01:05' });
  t.equal(record?.dateLastModified?.toISOString(), '2017-05-06T08:01:05.000Z');
  t.same(codes(issues), ['dateLastModified:DATE_WITHOUT_ZONE']);
  const bad = parseRosterRecord('orgs', { sourcedId: 'o', name: 'X', type: 'district', dateLastModified: 'last week' });
  t.same(codes(bad.issues), ['dateLastModified:BAD_DATE']);
  t.equal(bad.record, undefined);
});

t.test('a tombstone needs only its sourcedId: what else it lacks or garbles is not an error', async (t) => {
  const bare = parseRosterRecord('users', { sourcedId: 'u-9', status: 'tobedeleted' });
  t.same(bare.issues, [], 'no FIELD_REQUIRED for the fields a tombstone does not carry');
  t.match(bare.record, { sourcedId: 'u-9', status: 'tobedeleted' });
  const garbled = parseRosterRecord('users', { sourcedId: 'u-10', status: 'tobedeleted', role: 'wizard', enabledUser: 'maybe' });
  t.match(garbled, { record: { sourcedId: 'u-10', status: 'tobedeleted' }, issues: [] }, 'its other fields are not read');
  t.equal(parseRosterRecord('users', { sourcedId: 'u-11', status: 'active' }).record, undefined, 'an active record still needs its fields');
  t.equal(parseRosterRecord('users', { sourcedId: '', status: 'tobedeleted' }).record, undefined, 'a tombstone without a sourcedId names nothing');
});
