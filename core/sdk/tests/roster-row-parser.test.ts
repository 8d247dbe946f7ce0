import t from 'tap';
import { parseRosterRecord, ROSTER_ENTITY_ORDER, RosterRowParser, type RosterEntity } from '@rosterbridge/core';

/** The object a CSV row makes when each key takes the value of its column (a repeated key: the last). */
const keyed = (keys: readonly string[], row: readonly string[]) => Object.fromEntries(keys.map((key, column) => [key, row[column]]));

/** Records and issues as text, keys in order and undefined-valued keys shown: equal text, equal result. */
const asText = (value: unknown): string =>
  JSON.stringify(value, function (this: Record<string, unknown>, key, shown: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return `Date(${raw.toISOString()})`;
    if (shown === undefined) return '<undefined>';
    if (shown !== null && typeof shown === 'object' && !Array.isArray(shown)) {
      return Object.fromEntries(Object.keys(shown).map((name) => [name, (shown as Record<string, unknown>)[name] ?? '<undefined>']));
    }
    return shown;
  });

const HEADERS: Record<RosterEntity, string[]> = {
  orgs: ['sourcedId', 'status', 'dateLastModified', 'name', 'type', 'identifier', 'parentSourcedId'],
  academicSessions: ['sourcedId', 'status', 'dateLastModified', 'title', 'type', 'startDate', 'endDate', 'parentSourcedId', 'schoolYear'],
  courses: ['sourcedId', 'status', 'dateLastModified', 'schoolYearSourcedId', 'title', 'courseCode', 'grades', 'orgSourcedId', 'subjects', 'subjectCodes'],
  classes: [
    'sourcedId',
    'status',
    'dateLastModified',
    'title',
    'grades',
    'courseSourcedId',
    'classCode',
    'classType',
    'location',
    'schoolSourcedId',
    'termSourcedIds',
    'subjects',
    'subjectCodes',
    'periods',
  ],
  users: [
    'sourcedId',
    'status',
    'dateLastModified',
    'enabledUser',
    'orgSourcedIds',
    'role',
    'username',
    'userIds',
    'givenName',
    'familyName',
    'middleName',
    'identifier',
    'email',
    'sms',
    'phone',
    'agentSourcedIds',
    'grades',
    'password',
  ],
  enrollments: ['sourcedId', 'status', 'dateLastModified', 'classSourcedId', 'schoolSourcedId', 'userSourcedId', 'role', 'primary', 'beginDate', 'endDate'],
  demographics: [
    'sourcedId',
    'status',
    'dateLastModified',
    'birthDate',
    'sex',
    'americanIndianOrAlaskaNative',
    'asian',
    'blackOrAfricanAmerican',
    'nativeHawaiianOrOtherPacificIslander',
    'white',
    'demographicRaceTwoOrMoreRaces',
    'hispanicOrLatinoEthnicity',
    'countryOfBirthCode',
    'stateOfBirthAbbreviation',
    'cityOfBirth',
    'publicSchoolResidenceStatus',
  ],
};

t.test('a row parses to what parseRosterRecord gives for it keyed by header, metadata columns included', async (t) => {
  const keys = [...HEADERS.orgs, 'metadata.ncesId', 'metadata.region', 'metadata.ncesId'];
  const parser = new RosterRowParser('orgs', keys);
  const rows = [
    [' org-1 ', '', '', 'Lincoln High', 'School', '', 'dist-1', '0612345', ' North ', '0699999'],
    ['org-2', 'inactive', '2024-01-01', '', 'campus', '', '', '', '', ''],
    ['org-3', '', '', 'Short row'],
  ];
  for (const row of rows) t.equal(asText(parser.parse(row)), asText(parseRosterRecord('orgs', keyed(keys, row))), row[0]!);
  t.same(parser.parse(rows[0]!).record?.metadata, { ncesId: '0699999', region: 'North' }, 'a repeated key takes its last column');
});

t.test('random rows of every entity agree with parseRosterRecord', async (t) => {
  let state = 11;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const VALUES = [
    '',
    ' ',
    'x',
    ' x ',
    'TRUE',
    'false',
    'yes',
    '2024-02-29',
    '2023-02-29',
    '0050-01-01',
    '2024-13-01',
    '2024-01-01T10:00:00Z',
    '2024-01-01 10:00',
    'school',
    'School',
    'scheduled',
    'student',
    'Teacher',
    'female',
    'active',
    'tobedeleted',
    'inactive',
    'K',
    '9th',
    'KG,01',
    ' 09 , 10,,',
    'x,y',
    ' , ',
    '{LDAP:1}',
    '{A:b},{C:d}',
    '{x}',
    '2023',
    '23',
    'é',
    'id-1',
    'id-2,id-3',
  ];
  const EXTRA_KEYS = ['metadata.x', 'metadata.y', 'metadata.2024', 'metadata', 'parent', 'org', 'terms', 'sourcedId'];
  let disagreements = 0;
  for (let i = 0; i < 3000; i++) {
    const entity = pick(ROSTER_ENTITY_ORDER);
    const keys = [...HEADERS[entity]];
    for (let extra = Math.floor(random() * 3); extra > 0; extra--) keys.push(pick(EXTRA_KEYS));
    const row = keys.map(() => pick(VALUES));
    if (random() < 0.05) row.length = Math.floor(random() * row.length);
    if (asText(new RosterRowParser(entity, keys).parse(row)) !== asText(parseRosterRecord(entity, keyed(keys, row)))) {
      disagreements++;
      t.fail(`${entity} ${JSON.stringify(keys)} ${JSON.stringify(row)}`);
    }
  }
  t.equal(disagreements, 0);
});
