import t from 'tap';
import { formatOneRosterFilter, modifiedSinceFilter, percentEncode } from '../src/index';

t.test('formats predicates, dates and one AND or OR', async (t) => {
  t.equal(formatOneRosterFilter({ field: 'role', operator: '=', value: 'student' }), "role='student'");
  t.equal(formatOneRosterFilter(modifiedSinceFilter(new Date('2024-09-01T12:00:00Z'))), "dateLastModified>'2024-09-01T12:00:00.000Z'");
  t.equal(
    formatOneRosterFilter({
      and: [
        { field: 'role', operator: '=', value: 'teacher' },
        { field: 'familyName', operator: '~', value: 'smi' },
      ],
    }),
    "role='teacher' AND familyName~'smi'",
  );
  t.equal(
    formatOneRosterFilter({
      or: [
        { field: 'status', operator: '!=', value: 'active' },
        { field: 'enabledUser', operator: '=', value: false },
      ],
    }),
    "status!='active' OR enabledUser='false'",
  );
  for (const operator of ['>=', '<', '<='] as const) {
    t.equal(formatOneRosterFilter({ field: 'school.sourcedId', operator, value: 7 }), `school.sourcedId${operator}'7'`);
  }
});

t.test('the delta filter is encoded on the wire with every reserved character escaped', async (t) => {
  const text = formatOneRosterFilter(modifiedSinceFilter(new Date('2024-09-01T00:00:00Z')));
  t.equal(percentEncode(text), 'dateLastModified%3E%272024-09-01T00%3A00%3A00.000Z%27');
  t.equal(percentEncode("role='student' OR role='teacher'"), 'role%3D%27student%27%20OR%20role%3D%27teacher%27');
});

t.test('refuses filters it cannot express', async (t) => {
  const bad = [
    { field: 'family name', operator: '=', value: 'x' },
    { field: 'role', operator: '==', value: 'x' },
    { field: 'familyName', operator: '=', value: "O'Brien" },
    { field: 'dateLastModified', operator: '>', value: new Date('nonsense') },
  ] as const;
  for (const predicate of bad) {
    t.throws(() => formatOneRosterFilter(predicate as never), { name: 'RosterbridgeError', code: 'BAD_REQUEST' }, JSON.stringify(predicate));
  }
});
