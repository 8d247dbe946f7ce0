import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import type { AcademicSession, Enrollment, GradeLevel, RosterClass, RosterEntity, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import { type RosterRecordSource, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';
import { currentAcademicYear, gradesIncompatible, sessionInAcademicYear } from '@rosterbridge/target-kamkalima';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const TODAY = '2026-11-23';
/** Warnings on records Kamkalima took: they do not count as skips. */
const TAKEN_WARNINGS = new Set(['KAMKALIMA_USER_SEVERAL_SCHOOLS', 'KAMKALIMA_SCHOOL_WITHOUT_ADMINISTRATOR']);

/**
 * Every reference a Kamkalima row makes, as a query of the rows pointing at nothing: `[what, SQL]`.
 * Array columns are unnested; a membership points at a teacher or a student by its role.
 */
const DANGLING: [string, string][] = [
  [
    'term.parent_sourced_id → term',
    `select r.sourced_id from term r where r.parent_sourced_id is not null and not exists (select 1 from term p where p.tenant_id = r.tenant_id and p.sourced_id = r.parent_sourced_id)`,
  ],
  [
    'course.school_sourced_id → school',
    `select r.sourced_id from course r where r.school_sourced_id is not null and not exists (select 1 from school s where s.tenant_id = r.tenant_id and s.sourced_id = r.school_sourced_id)`,
  ],
  [
    'classroom.course_sourced_id → course',
    `select r.sourced_id from classroom r where not exists (select 1 from course c where c.tenant_id = r.tenant_id and c.sourced_id = r.course_sourced_id)`,
  ],
  [
    'classroom.school_sourced_id → school',
    `select r.sourced_id from classroom r where not exists (select 1 from school s where s.tenant_id = r.tenant_id and s.sourced_id = r.school_sourced_id)`,
  ],
  [
    'classroom.term_sourced_ids → term',
    `select r.sourced_id from classroom r, unnest(r.term_sourced_ids) as x(id) where not exists (select 1 from term p where p.tenant_id = r.tenant_id and p.sourced_id = x.id)`,
  ],
  ['classroom without a term', `select r.sourced_id from classroom r where cardinality(r.term_sourced_ids) = 0`],
  [
    'teacher.school_sourced_id → school',
    `select r.sourced_id from teacher r where not exists (select 1 from school s where s.tenant_id = r.tenant_id and s.sourced_id = r.school_sourced_id)`,
  ],
  [
    'student.school_sourced_id → school',
    `select r.sourced_id from student r where not exists (select 1 from school s where s.tenant_id = r.tenant_id and s.sourced_id = r.school_sourced_id)`,
  ],
  [
    'administrator.school_sourced_ids → school',
    `select r.sourced_id from administrator r, unnest(r.school_sourced_ids) as x(id) where not exists (select 1 from school s where s.tenant_id = r.tenant_id and s.sourced_id = x.id)`,
  ],
  [
    'class_membership.classroom_sourced_id → classroom',
    `select r.sourced_id from class_membership r where not exists (select 1 from classroom c where c.tenant_id = r.tenant_id and c.sourced_id = r.classroom_sourced_id)`,
  ],
  [
    'class_membership.member_sourced_id → teacher',
    `select r.sourced_id from class_membership r where r.role = 'teacher' and not exists (select 1 from teacher p where p.tenant_id = r.tenant_id and p.sourced_id = r.member_sourced_id)`,
  ],
  [
    'class_membership.member_sourced_id → student',
    `select r.sourced_id from class_membership r where r.role = 'student' and not exists (select 1 from student p where p.tenant_id = r.tenant_id and p.sourced_id = r.member_sourced_id)`,
  ],
  [
    'teacher_admin_account.school_sourced_id → school',
    `select r.school_sourced_id from teacher_admin_account r where not exists (select 1 from school s where s.tenant_id = r.tenant_id and s.sourced_id = r.school_sourced_id)`,
  ],
  [
    'teacher_admin_account.assigned_teacher_sourced_id → teacher',
    `select r.school_sourced_id from teacher_admin_account r where r.assigned_teacher_sourced_id is not null and not exists (select 1 from teacher p where p.tenant_id = r.tenant_id and p.sourced_id = r.assigned_teacher_sourced_id)`,
  ],
];

t.test('the academic year and its sessions are judged by dates', async (t) => {
  const year = currentAcademicYear(TODAY, 8);
  t.same(year, { schoolYear: 2027, startsOn: '2026-08-01', endsOn: '2027-07-31' });
  t.same(currentAcademicYear('2026-07-31', 8), { schoolYear: 2026, startsOn: '2025-08-01', endsOn: '2026-07-31' });
  t.same(currentAcademicYear(TODAY, 1), { schoolYear: 2026, startsOn: '2026-01-01', endsOn: '2026-12-31' });
  t.same(currentAcademicYear('2024-03-01', 3), { schoolYear: 2025, startsOn: '2024-03-01', endsOn: '2025-02-28' });
  const cases: [string, string, boolean, string][] = [
    ['2026-08-17', '2027-06-11', true, 'the school year'],
    ['2026-07-27', '2027-06-04', true, 'a school year starting days before August'],
    ['2026-08-17', '2026-12-18', true, 'the fall semester'],
    ['2027-01-04', '2027-06-11', true, 'the spring semester'],
    ['2019-08-19', '2019-12-20', false, 'a 2019 term (whatever its label)'],
    ['2025-08-18', '2026-06-12', false, 'last school year'],
    ['2026-06-15', '2026-08-07', false, "last year's summer school"],
    ['2027-08-16', '2028-06-09', false, 'next school year'],
    ['2026-12-18', '2026-08-17', false, 'dates reversed'],
  ];
  for (const [startDate, endDate, inside, what] of cases) t.equal(sessionInAcademicYear({ startDate, endDate }, year), inside, what);
});

t.test("a member's grades against the class's", async (t) => {
  const cases: ['teacher' | 'student', string[], string[], boolean, string][] = [
    ['student', ['06'], ['06'], false, 'a grade-06 student in a grade-06 class'],
    ['student', ['06'], ['06', '07'], false, 'in a mixed class'],
    ['student', ['KG'], ['06'], true, 'a kindergartner in a grade-06 class'],
    ['teacher', ['05', '06'], ['06', '07'], false, 'a teacher sharing a grade'],
    ['teacher', ['01', '02'], ['06'], true, 'a teacher sharing none'],
    ['teacher', [], ['06'], false, 'a teacher with no grades is not judged'],
  ];
  for (const [role, member, klass, incompatible, what] of cases) t.equal(gradesIncompatible(role, member, klass), incompatible, what);
});

t.test('Kamkalima: counts match issues, grades fit, sessions by dates, no row points at nothing', async (t) => {
  const base = generateDistrict({ seed: 51, size: SIZE });
  const all = <E extends RosterEntity>(entity: E): RosterRecord<E>[] => [...base.records(entity)];
  const enrollments = all('enrollments');
  const users = all('users');
  const classes = new Map(all('classes').map((c) => [c.sourcedId, c]));
  const enrolled = (u: User) => enrollments.filter((e) => e.userSourcedId === u.sourcedId);
  const schools = all('orgs').filter((o) => o.type === 'school');

  // A student whose new grade none of their classes teaches (a kindergartner in grade-06 classes).
  const student = users.find((u) => u.role === 'student' && u.orgSourcedIds.length === 1 && enrolled(u).length >= 2)!;
  const studentClassGrades = new Set(enrolled(student).flatMap((e) => classes.get(e.classSourcedId)!.grades));
  const wrongGrade = (['KG', '12', '01'] as GradeLevel[]).find((g) => !studentClassGrades.has(g))!;
  // A teacher whose grades share none with their classes, and one with no grades at all.
  const teachers = users.filter((u) => u.role === 'teacher' && u.orgSourcedIds.length === 1 && enrolled(u).length >= 1);
  const [teacher, gradeless] = teachers as [User, User];
  const teacherClassGrades = new Set(enrolled(teacher).flatMap((e) => classes.get(e.classSourcedId)!.grades));
  const wrongTeacherGrade = (['IT', 'PR', 'PK', 'KG', '12'] as GradeLevel[]).find((g) => !teacherClassGrades.has(g))!;
  // Sessions: a 2019 term labelled 2027, a current term labelled 2019; a class of the 2019 term only,
  // and one naming a current term and the 2019 one.
  const [yearSession, termSession] = all('academicSessions') as AcademicSession[];
  const old: AcademicSession = {
    ...termSession!,
    sourcedId: 'as-2019',
    title: 'Fall 2019',
    startDate: '2019-08-19',
    endDate: '2019-12-20',
    schoolYear: '2027',
    parentSourcedId: yearSession!.sourcedId,
  };
  const mislabelled: AcademicSession = {
    ...termSession!,
    sourcedId: 'as-mislabelled',
    title: 'Winter',
    startDate: '2027-01-04',
    endDate: '2027-03-26',
    schoolYear: '2019',
    parentSourcedId: 'as-2019',
  };
  const template = [...classes.values()][0]!;
  const oldClass: RosterClass = { ...template, sourcedId: 'cls-2019', title: 'A 2019 section', termSourcedIds: ['as-2019'] };
  const straddling: RosterClass = {
    ...template,
    sourcedId: 'cls-straddling',
    title: 'A section named in two years',
    termSourcedIds: [termSession!.sourcedId, 'as-2019'],
  };
  // Enrollments naming a class and a user the district does not have.
  const strays: Enrollment[] = [
    { ...enrollments[0]!, sourcedId: 'enr-no-class', classSourcedId: 'cls-missing' },
    { ...enrollments[0]!, sourcedId: 'enr-no-user', userSourcedId: 'usr-missing' },
  ];
  // Administrators' enrollments (the generator makes none): Kamkalima places no administrator in a class.
  const administrators = users.filter((u) => u.role === 'administrator').slice(0, 3);
  const adminEnrollments: Enrollment[] = administrators.map((u, i) => ({
    ...enrollments[0]!,
    sourcedId: `enr-admin-${i}`,
    userSourcedId: u.sourcedId,
    role: 'administrator',
  }));

  type Edits = { users?: (u: User) => User; drop?: Partial<Record<RosterEntity, (id: string) => boolean>> };
  const district = (edits: Edits = {}): RosterRecordSource => ({
    records: <E extends RosterEntity>(entity: E) => {
      let records: RosterRecord[] = all(entity);
      if (entity === 'academicSessions') records = [...records, old, mislabelled];
      if (entity === 'classes') records = [...records, oldClass, straddling];
      if (entity === 'enrollments') records = [...records, ...strays, ...adminEnrollments];
      if (entity === 'users' && edits.users) records = (records as User[]).map(edits.users);
      const drop = edits.drop?.[entity];
      if (drop) records = records.filter((r) => !drop(r.sourcedId));
      return records.sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : a.sourcedId > b.sourcedId ? 1 : 0)) as RosterRecord<E>[];
    },
  });
  const misgraded = (u: User): User =>
    u.sourcedId === student.sourcedId
      ? { ...u, grades: [wrongGrade] }
      : u.sourcedId === teacher.sourcedId
        ? { ...u, grades: [wrongTeacherGrade] }
        : u.sourcedId === gradeless.sourcedId
          ? { ...u, grades: [] }
          : u;
  const fixed = (u: User): User => (u.sourcedId === gradeless.sourcedId ? { ...u, grades: [] } : u);

  const root = mkdtempSync(path.join(tmpdir(), 'rb-kamkalima-integrity-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  writeFileSync(
    path.join(tenants, 'k.json'),
    JSON.stringify({
      displayName: 'District K',
      timezone: 'Asia/Dubai',
      source: { id: 'oneroster-csv', settings: { location: '../k-package' } },
      targets: [{ id: 'kamkalima', settings: { today: TODAY } }],
    }),
  );
  const write = async (source: RosterRecordSource) => {
    rmSync(path.join(root, 'k-package'), { recursive: true, force: true });
    await writeOneRosterPackage(source, path.join(root, 'k-package'), { mode: 'bulk' });
  };
  // Every issue stored (no cap per code), so that each entity's counts can be checked against its
  // issues: the cap's tally is per code, not per entity (sync-bounds tests the cap).
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, env: { RB_SYNC_MAX_ISSUES_PER_CODE: '1000000' } });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const kk = host.database.db.withSchema('plugin_target_kamkalima');
  type Issue = { code: string; severity: string; sourcedId?: string; entity?: string; message: string };
  const issuesOf = async (run: SyncRun) => (await host.runs.issues(run.id, { limit: 100_000, targetId: 'kamkalima' })) as Issue[];
  const sync = async (source: RosterRecordSource) => {
    await write(source);
    const run = await host.syncs.settled((await host.syncs.trigger('k', { trigger: 'test', mode: 'full' })).id);
    return { run, issues: await issuesOf(run) };
  };
  const ids = async (table: string) =>
    new Set((await kk.selectFrom(table).select('sourced_id').where('tenant_id', '=', 'k').execute()).map((r) => r.sourced_id as string));
  const held = async () =>
    new Set(
      (await kk.selectFrom('held_record').select(['entity', 'sourced_id']).where('tenant_id', '=', 'k').execute()).map((r) => `${r.entity}:${r.sourced_id}`),
    );
  const counts = (run: SyncRun, entity: RosterEntity) =>
    run.counts.targets.kamkalima!.entities[entity] ?? { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 };

  /** Every skipped record has a warning (grouped ones count their number) and every error an issue: per entity, the counts are the issues. */
  const countsMatchIssues = (t: Test, run: SyncRun, issues: Issue[]) => {
    const entities = new Set<RosterEntity>([
      ...(Object.keys(run.counts.targets.kamkalima!.entities) as RosterEntity[]),
      ...issues.flatMap((i) => (i.entity ? [i.entity as RosterEntity] : [])),
    ]);
    for (const entity of entities) {
      const mine = issues.filter((i) => i.entity === entity);
      const skips = mine
        .filter((i) => i.severity === 'warning' && !TAKEN_WARNINGS.has(i.code))
        .reduce((n, i) => n + (i.sourcedId ? 1 : Number(/^(\d+) /.exec(i.message)?.[1] ?? Number.NaN)), 0);
      const errors = mine.filter((i) => i.severity === 'error').length;
      t.same([counts(run, entity).skipped, counts(run, entity).errors], [skips, errors], `${entity}: skipped and errors are the warnings and errors reported`);
    }
  };
  /** The anti-joins: no row of any table points at a row Kamkalima lacks. */
  const noDangling = async (t: Test) => {
    // The queries name the plugin's tables bare: run them with its schema on the search path.
    const found = await host.database.db.transaction().execute(async (trx) => {
      await sql`set local search_path to plugin_target_kamkalima`.execute(trx);
      const out: [string, unknown[]][] = [];
      for (const [what, query] of DANGLING) out.push([what, (await sql.raw(query).execute(trx)).rows]);
      return out;
    });
    for (const [what, rows] of found) t.same(rows, [], `${what}: 0 rows pointing at nothing`);
  };

  await t.test('first sync: skips are warned with their number, misfit grades rejected, sessions judged by dates', async (t) => {
    const { run, issues } = await sync(district({ users: misgraded }));
    t.equal(run.status, 'partial', 'rejected enrollments make the run partial');
    countsMatchIssues(t, run, issues);
    await noDangling(t);

    const nonSchools = all('orgs').length - schools.length;
    t.ok(nonSchools > 0, 'the district org is not a school');
    t.match(
      issues.find((i) => i.code === 'KAMKALIMA_ORG_NOT_SCHOOL'),
      { severity: 'warning', entity: 'orgs', message: new RegExp(`^${nonSchools} orgs record\\(s\\) were skipped`) },
    );
    const nonMembers = adminEnrollments.length;
    t.ok(nonMembers > 0, "the district has administrators' enrollments");
    const guardians = users.filter((u) => u.role !== 'teacher' && u.role !== 'student' && u.role !== 'administrator').length;
    t.ok(guardians > 0, 'the district has guardians');
    t.match(
      issues.find((i) => i.code === 'KAMKALIMA_USER_ROLE_NOT_IMPORTED'),
      { severity: 'warning', entity: 'users', message: new RegExp(`^${guardians} users record\\(s\\) were skipped`) },
    );
    t.match(
      issues.find((i) => i.code === 'KAMKALIMA_ENROLLMENT_ROLE_NOT_IMPORTED'),
      { severity: 'warning', entity: 'enrollments', message: new RegExp(`^${nonMembers} enrollments record\\(s\\) were skipped`) },
    );

    // The student of the wrong grade is imported, their enrollments are not.
    const studentEnrollments = enrolled(student)
      .map((e) => e.sourcedId)
      .sort();
    const teacherEnrollments = enrolled(teacher)
      .filter((e) => e.role === 'teacher')
      .map((e) => e.sourcedId)
      .sort();
    t.ok((await ids('student')).has(student.sourcedId), 'the student is imported');
    const mismatch = issues.filter((i) => i.code === 'KAMKALIMA_ENROLLMENT_GRADE_MISMATCH');
    t.same(
      mismatch.map((i) => i.sourcedId).sort(),
      [...studentEnrollments, ...teacherEnrollments].sort(),
      'every enrollment of the misfit student and teacher is reported',
    );
    t.ok(
      mismatch.every((i) => i.severity === 'error'),
      'as errors',
    );
    t.match(mismatch.find((i) => i.sourcedId === studentEnrollments[0])!.message, new RegExp(`student ${student.sourcedId} is in grade ${wrongGrade}`));
    const memberships = await ids('class_membership');
    for (const id of [...studentEnrollments, ...teacherEnrollments]) t.notOk(memberships.has(id), `${id} is not a membership`);
    const gradelessEnrollments = enrolled(gradeless).filter((e) => e.role === 'teacher');
    t.ok(gradelessEnrollments.length > 0 && gradelessEnrollments.every((e) => memberships.has(e.sourcedId)), 'a teacher with no grades keeps their classes');

    // Sessions by their dates, not their labels.
    const terms = await ids('term');
    t.notOk(terms.has('as-2019'), 'a 2019 term labelled 2027 is not a term');
    t.ok(terms.has('as-mislabelled'), 'a term of this year labelled 2019 is');
    t.match(
      issues.filter((i) => i.sourcedId === 'as-2019'),
      [
        {
          code: 'KAMKALIMA_SESSION_NOT_CURRENT_YEAR',
          severity: 'warning',
          message: /2019-08-19 to 2019-12-20, outside the current academic year \(2026-08-01 to 2027-07-31\)/,
        },
      ],
    );
    t.equal(counts(run, 'academicSessions').skipped, 1);
    const termRows = await kk
      .selectFrom('term')
      .select(['sourced_id', 'school_year', 'parent_sourced_id'])
      .where('tenant_id', '=', 'k')
      .where('sourced_id', '=', 'as-mislabelled')
      .execute();
    t.same(
      termRows,
      [{ sourced_id: 'as-mislabelled', school_year: 2027, parent_sourced_id: null }],
      'its year is the current one, and its parent (the 2019 term) is not named',
    );
    const classrooms = await ids('classroom');
    t.notOk(classrooms.has('cls-2019'), 'a class of the 2019 term only is not imported');
    const straddle = await kk
      .selectFrom('classroom')
      .select('term_sourced_ids')
      .where('tenant_id', '=', 'k')
      .where('sourced_id', '=', 'cls-straddling')
      .executeTakeFirstOrThrow();
    t.same(straddle.term_sourced_ids, [termSession!.sourcedId], 'a class naming a current and a 2019 term keeps the current one only');

    // Enrollments naming nothing are held aside with their code.
    t.match(
      issues.filter((i) => i.sourcedId === 'enr-no-class' || i.sourcedId === 'enr-no-user').map((i) => i.code),
      ['KAMKALIMA_ENROLLMENT_NOT_LINKED', 'KAMKALIMA_ENROLLMENT_NOT_LINKED'],
    );
    const aside = await held();
    for (const id of [...studentEnrollments, 'enr-no-class', 'enr-no-user']) t.ok(aside.has(`enrollments:${id}`), `${id} is held aside`);
  });

  await t.test('fixing only the users brings their held memberships in', async (t) => {
    const { run, issues } = await sync(district({ users: fixed }));
    t.equal(run.status, 'success', `${run.errorCode}: ${run.reason}`);
    countsMatchIssues(t, run, issues);
    await noDangling(t);
    const memberships = await ids('class_membership');
    const back = [...enrolled(student), ...enrolled(teacher).filter((e) => e.role === 'teacher')];
    t.ok(back.length > 0 && back.every((e) => memberships.has(e.sourcedId)), 'every enrollment of the student and teacher is a membership now');
    t.equal(counts(run, 'enrollments').created, back.length, 'counted as created');
    const aside = await held();
    t.notOk(
      back.some((e) => aside.has(`enrollments:${e.sourcedId}`)),
      'and no longer held aside',
    );
  });

  await t.test('a held enrollment deleted upstream leaves the held records', async (t) => {
    await sync(district({ users: misgraded }));
    const [gone, ...kept] = enrolled(student).map((e) => e.sourcedId);
    t.ok((await held()).has(`enrollments:${gone}`));
    const { run, issues } = await sync(district({ users: misgraded, drop: { enrollments: (id) => id === gone || id === 'enr-no-user' } }));
    countsMatchIssues(t, run, issues);
    const aside = await held();
    t.notOk(aside.has(`enrollments:${gone}`), `${gone} is no longer held`);
    t.notOk(aside.has('enrollments:enr-no-user'), 'nor the stray enrollment');
    const back = await sync(district({ users: fixed, drop: { enrollments: (id) => id === gone || id === 'enr-no-user' } }));
    const memberships = await ids('class_membership');
    t.notOk(memberships.has(gone!), 'the deleted enrollment does not come back');
    t.ok(kept.length > 0 && kept.every((id) => memberships.has(id)), 'the others do');
    countsMatchIssues(t, back.run, back.issues);
  });

  await t.test('a school, a term and a user leaving take what points at them, and bring it back when they return', async (t) => {
    const school = schools[schools.length - 1]!.sourcedId;
    const at = (c: RosterClass) => c.schoolSourcedId === school;
    const schoolClasses = [...classes.values()].filter(at).map((c) => c.sourcedId);
    const schoolPeople = users.filter((u) => (u.role === 'teacher' || u.role === 'student') && u.orgSourcedIds[0] === school).map((u) => u.sourcedId);
    t.ok(schoolClasses.length > 0 && schoolPeople.length > 0);
    const drop = {
      orgs: (id: string) => id === school,
      users: (id: string) => id === gradeless.sourcedId,
      academicSessions: (id: string) => id === termSession!.sourcedId,
    };
    const { run, issues } = await sync(district({ users: fixed, drop }));
    countsMatchIssues(t, run, issues);
    await noDangling(t);
    const classrooms = await ids('classroom');
    t.notOk(
      schoolClasses.some((id) => classrooms.has(id)),
      "the school's classrooms left with it",
    );
    const people = new Set([...(await ids('teacher')), ...(await ids('student'))]);
    t.notOk(
      schoolPeople.some((id) => people.has(id)),
      "the school's teachers and students left with it",
    );
    t.notOk(people.has(gradeless.sourcedId), 'the deleted teacher is gone');
    t.equal(counts(run, 'classes').errors, issues.filter((i) => i.entity === 'classes' && i.severity === 'error').length);
    t.notOk((await ids('term')).has(termSession!.sourcedId), 'the deleted term is gone');
    t.notOk((await ids('classroom')).has('cls-straddling'), 'a classroom left with no current term is held back');

    const again = await sync(district({ users: fixed }));
    countsMatchIssues(t, again.run, again.issues);
    await noDangling(t);
    const restored = await ids('classroom');
    t.ok(schoolClasses.length > 0 && schoolClasses.every((id) => restored.has(id)), "the school's classrooms are back");
    const everyone = new Set([...(await ids('teacher')), ...(await ids('student'))]);
    t.ok(schoolPeople.length > 0 && schoolPeople.every((id) => everyone.has(id)), 'and its people');
    const memberships = await ids('class_membership');
    const expected = enrollments.filter(
      (e) => schoolClasses.includes(e.classSourcedId) && (e.role === 'teacher' || e.role === 'student') && schoolPeople.includes(e.userSourcedId),
    );
    t.ok(expected.length > 0 && expected.every((e) => memberships.has(e.sourcedId)), "and the school's memberships, without the source resending them");
  });
});
