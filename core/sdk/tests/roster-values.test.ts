import t from 'tap';
import {
  matchVocabulary,
  normalizeGradeLevel,
  parseCalendarDate,
  parseRosterBoolean,
  parseRosterDateTime,
  parseUserIdList,
  splitRosterList,
  CLASS_TYPES,
  GRADE_LEVELS,
  ROSTER_ENTITY_ORDER,
  isRosterEntity,
} from '@rosterbridge/core';

t.test('normalizeGradeLevel keeps CEDS codes and maps common forms', async (t) => {
  for (const code of GRADE_LEVELS) t.equal(normalizeGradeLevel(code), code, code);
  const cases: [string, string][] = [
    ['9', '09'],
    ['09', '09'],
    ['9th', '09'],
    ['Grade 9', '09'],
    ['gr9', '09'],
    ['9th Grade', '09'],
    ['1st', '01'],
    ['2nd', '02'],
    ['3rd', '03'],
    ['12th', '12'],
    ['13', '13'],
    ['K', 'KG'],
    ['k', 'KG'],
    ['Kindergarten', 'KG'],
    ['0', 'KG'],
    ['00', 'KG'],
    ['PreK', 'PK'],
    ['Pre-K', 'PK'],
    ['pre k', 'PK'],
    ['PreKindergarten', 'PK'],
    ['TK', 'TK'],
    ['Transitional Kindergarten', 'TK'],
    ['InfantToddler', 'IT'],
    ['Preschool', 'PR'],
    ['Ungraded', 'UG'],
    ['PostGraduate', 'PS'],
    ['other', 'Other'],
    [' 10 ', '10'],
  ];
  for (const [text, grade] of cases) t.equal(normalizeGradeLevel(text), grade, `${text} → ${grade}`);
  for (const text of ['', 'Freshman', '14', '-1', 'Year 9', 'A', '9.5', '1.0', '1-2', 'K-12']) {
    t.equal(normalizeGradeLevel(text), undefined, `${JSON.stringify(text)} is unknowable`);
  }
});

t.test('matchVocabulary: exact, case-insensitive (flagged), or nothing', async (t) => {
  t.same(matchVocabulary(CLASS_TYPES, 'scheduled'), { value: 'scheduled', exact: true });
  t.same(matchVocabulary(CLASS_TYPES, 'Scheduled'), { value: 'scheduled', exact: false });
  t.equal(matchVocabulary(CLASS_TYPES, 'lecture'), undefined);
});

t.test('parseRosterBoolean accepts true/false in any case only', async (t) => {
  t.equal(parseRosterBoolean('TRUE'), true);
  t.equal(parseRosterBoolean(' false '), false);
  t.equal(parseRosterBoolean('yes'), undefined);
  t.equal(parseRosterBoolean('1'), undefined);
});

t.test('parseCalendarDate accepts real YYYY-MM-DD dates only', async (t) => {
  t.equal(parseCalendarDate('2024-02-29'), '2024-02-29');
  t.equal(parseCalendarDate('2023-02-29'), undefined);
  t.equal(parseCalendarDate('2023-13-01'), undefined);
  t.equal(parseCalendarDate('05/01/2023'), undefined);
  t.equal(parseCalendarDate('2023-05-01T00:00:00Z'), undefined);
  t.equal(parseCalendarDate(' 2024-03-31 '), '2024-03-31', 'surrounding blanks are trimmed');
  t.same(['1900-02-29', '2000-02-29', '2100-02-29', '2023-04-31', '2023-00-10', '2023-01-00'].map(parseCalendarDate), [
    undefined,
    '2000-02-29',
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
  t.equal(parseCalendarDate('0099-12-31'), undefined, 'years before 100 are not read');
  t.equal(parseCalendarDate('2O24-01-01'), undefined);
});

t.test('parseRosterDateTime reads ISO date-times and flags what it assumed', async (t) => {
  const full = parseRosterDateTime('2023-05-01T18:25:43.511Z');
  t.equal(full?.instant.toISOString(), '2023-05-01T18:25:43.511Z');
  t.same([full?.withoutTime, full?.withoutZone], [false, false]);
  t.equal(parseRosterDateTime('2023-05-01T20:25:43+02:00')?.instant.toISOString(), '2023-05-01T18:25:43.000Z');
  t.equal(parseRosterDateTime('2023-05-01T20:25+0200')?.instant.toISOString(), '2023-05-01T18:25:00.000Z');
  const dateOnly = parseRosterDateTime('2023-05-01');
  t.equal(dateOnly?.instant.toISOString(), '2023-05-01T00:00:00.000Z');
  t.equal(dateOnly?.withoutTime, true);
  const zoneless = parseRosterDateTime('2017-05-06 08:01:05');
  t.equal(zoneless?.instant.toISOString(), '2017-05-06T08:01:05.000Z');
  t.equal(zoneless?.withoutZone, true);
  for (const bad of ['yesterday', '2023-02-30T00:00:00Z', '2023-05-01T25:00:00Z', '2023-05-01T10:61Z', '1682965543']) {
    t.equal(parseRosterDateTime(bad), undefined, bad);
  }
});

t.test('splitRosterList trims and drops blank items', async (t) => {
  t.same(splitRosterList('Science, Physics,,Biology '), ['Science', 'Physics', 'Biology']);
  t.same(splitRosterList(''), []);
  t.same(splitRosterList(' Science '), ['Science']);
  t.same(splitRosterList(' , '), []);
});

t.test('parseUserIdList reads {type:identifier} items', async (t) => {
  t.same(parseUserIdList('{LDAP:12},{LTI:15}, {Fed:23}'), [
    { type: 'LDAP', identifier: '12' },
    { type: 'LTI', identifier: '15' },
    { type: 'Fed', identifier: '23' },
  ]);
  t.same(parseUserIdList('{FED:urn:district:7}'), [{ type: 'FED', identifier: 'urn:district:7' }], 'splits at the first colon');
  t.same(parseUserIdList(''), []);
  for (const bad of ['LDAP:12', '{LDAP12}', '{:12}', '{LDAP:}', '{LDAP:12}{LTI:15}', '{LDAP:12},', '{LDAP:12},x']) {
    t.equal(parseUserIdList(bad), undefined, bad);
  }
});

t.test('entities come in referential order', async (t) => {
  t.same(ROSTER_ENTITY_ORDER, ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics']);
  t.ok(isRosterEntity('users'));
  t.notOk(isRosterEntity('roles'));
  t.notOk(isRosterEntity('Users'));
});
