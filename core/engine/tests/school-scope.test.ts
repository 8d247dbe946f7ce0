import t from 'tap';
import type { RosterEntity, RosterRecord } from '@rosterbridge/core';
import { SCHOOL_SCOPE_ORDER, SchoolScopeBuilder } from '@rosterbridge/engine';

// Which records of a roster belong to chosen schools: one small district by hand, each case a row
// (the schools asked for, and the ids each entity then holds in scope).

const base = { status: 'active', dateLastModified: '2026-01-01T00:00:00Z' };
const org = (sourcedId: string, type: string, parentSourcedId?: string) => ({
  ...base,
  sourcedId,
  name: sourcedId,
  type,
  ...(parentSourcedId ? { parentSourcedId } : {}),
});
const cls = (sourcedId: string, schoolSourcedId: string, courseSourcedId: string) => ({
  ...base,
  sourcedId,
  title: sourcedId,
  grades: [],
  courseSourcedId,
  classType: 'scheduled',
  schoolSourcedId,
  termSourcedIds: ['term-1'],
  subjects: [],
  subjectCodes: [],
  periods: [],
});
const enr = (sourcedId: string, classSourcedId: string, userSourcedId: string) => ({
  ...base,
  sourcedId,
  classSourcedId,
  schoolSourcedId: 'x',
  userSourcedId,
  role: 'student',
});
const user = (sourcedId: string, orgSourcedIds: string[], agentSourcedIds: string[] = []) => ({
  ...base,
  sourcedId,
  enabledUser: true,
  orgSourcedIds,
  role: 'student',
  username: sourcedId,
  userIds: [],
  givenName: 'G',
  familyName: 'F',
  agentSourcedIds,
  grades: [],
});
const course = (sourcedId: string, orgSourcedId: string) => ({
  ...base,
  sourcedId,
  title: sourcedId,
  grades: [],
  orgSourcedId,
  subjects: [],
  subjectCodes: [],
});

const roster: Record<RosterEntity, object[]> = {
  orgs: [
    org('district', 'district'),
    org('north', 'school', 'district'),
    org('north-science', 'department', 'north'),
    org('south', 'school', 'district'),
    org('east', 'school', 'district'),
  ],
  academicSessions: [{ ...base, sourcedId: 'term-1', title: 'Fall', type: 'term', startDate: '2026-08-01', endDate: '2026-12-20', schoolYear: '2027' }],
  courses: [course('c-north', 'north'), course('c-district', 'district'), course('c-south', 'south'), course('c-unused', 'district')],
  classes: [cls('k-north', 'north', 'c-district'), cls('k-science', 'north-science', 'c-north'), cls('k-south', 'south', 'c-south')],
  enrollments: [enr('e-1', 'k-north', 'u-south-kid'), enr('e-2', 'k-south', 'u-south-only'), enr('e-3', 'k-science', 'u-north')],
  users: [
    user('u-north', ['north'], ['u-parent']),
    user('u-south-kid', ['south']),
    user('u-south-only', ['south']),
    user('u-parent', []),
    user('u-east', ['east']),
  ],
  demographics: [
    { ...base, sourcedId: 'u-north' },
    { ...base, sourcedId: 'u-parent' },
    { ...base, sourcedId: 'u-south-only' },
  ],
};

const scopeOf = (schools: string[]) => {
  const builder = new SchoolScopeBuilder(schools);
  for (const entity of SCHOOL_SCOPE_ORDER) builder.add(entity, roster[entity] as RosterRecord[]);
  const scope = builder.build();
  const held = Object.fromEntries(
    SCHOOL_SCOPE_ORDER.map((entity) => [
      entity,
      (roster[entity] as { sourcedId: string }[])
        .map((r) => r.sourcedId)
        .filter((id) => scope.has(entity, id))
        .sort(),
    ]),
  );
  return { builder, scope, held };
};

const rows: [string, string[], Partial<Record<RosterEntity, string[]>>][] = [
  [
    'a school: its department and district, its classes (a department class too), their courses and enrollments, its users, those enrolled in it, their agents',
    ['north'],
    {
      orgs: ['district', 'north', 'north-science'],
      classes: ['k-north', 'k-science'],
      courses: ['c-district', 'c-north'],
      enrollments: ['e-1', 'e-3'],
      users: ['u-north', 'u-parent', 'u-south-kid'],
      demographics: ['u-north', 'u-parent'],
      academicSessions: ['term-1'],
    },
  ],
  [
    'another school: none of the first one',
    ['south'],
    {
      orgs: ['district', 'south'],
      classes: ['k-south'],
      courses: ['c-south'],
      enrollments: ['e-2'],
      users: ['u-south-kid', 'u-south-only'],
      demographics: ['u-south-only'],
      academicSessions: ['term-1'],
    },
  ],
  [
    'a school without classes: its users only',
    ['east'],
    { orgs: ['district', 'east'], classes: [], courses: [], enrollments: [], users: ['u-east'], demographics: [], academicSessions: ['term-1'] },
  ],
  [
    'the district: everything below it, its own courses included',
    ['district'],
    {
      orgs: ['district', 'east', 'north', 'north-science', 'south'],
      classes: ['k-north', 'k-science', 'k-south'],
      courses: ['c-district', 'c-north', 'c-south', 'c-unused'],
      enrollments: ['e-1', 'e-2', 'e-3'],
      users: ['u-east', 'u-north', 'u-parent', 'u-south-kid', 'u-south-only'],
      demographics: ['u-north', 'u-parent', 'u-south-only'],
      academicSessions: ['term-1'],
    },
  ],
];

for (const [name, schools, expected] of rows) t.test(name, async (t) => t.strictSame(scopeOf(schools).held, expected));

t.test('schools that are not orgs of the roster are named', async (t) => {
  const { builder } = scopeOf(['north', 'nowhere', 'gone']);
  t.strictSame(builder.unknownSchools(), ['nowhere', 'gone']);
  t.strictSame(scopeOf(['north']).builder.unknownSchools(), []);
});

t.test('a union holds what either scope holds', async (t) => {
  const union = scopeOf(['north']).scope.union(scopeOf(['east']).scope);
  t.ok(union.has('users', 'u-east') && union.has('users', 'u-north') && union.has('classes', 'k-north'));
  t.notOk(union.has('classes', 'k-south'));
});

t.test('entities out of order are refused', async (t) => {
  const builder = new SchoolScopeBuilder(['north']);
  builder.add('classes', []);
  t.throws(() => builder.add('orgs', []), /orgs came after classes/);
});

t.test('a cycle in the orgs parents ends', async (t) => {
  const builder = new SchoolScopeBuilder(['a']);
  builder.add('orgs', [org('a', 'school', 'b'), org('b', 'district', 'a')] as unknown as RosterRecord[]);
  const scope = builder.build();
  t.ok(scope.has('orgs', 'a') && scope.has('orgs', 'b'));
});
