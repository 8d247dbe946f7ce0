import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { AcademicSession, Course, RosterClass, RosterEntity, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import { type RosterRecordSource, changeDistrict, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const TODAY = '2026-11-23';
const TABLES = [
  'school',
  'term',
  'course',
  'classroom',
  'teacher',
  'student',
  'administrator',
  'class_membership',
  'teacher_admin_account',
  'held_record',
] as const;

const faultyBase = generateDistrict({ seed: 31, size: SIZE, faults: { studentsWithTwoGrades: 2, classesOutsideCourseGrades: 2 } });
const cleanBase = generateDistrict({ seed: 32, size: SIZE });
const changed = changeDistrict(cleanBase, { seed: 33, fraction: 0.01 });

const all = <E extends RosterEntity>(source: RosterRecordSource, entity: E): RosterRecord<E>[] => [...source.records(entity)];
const bySourcedId = (a: { sourcedId: string }, b: { sourcedId: string }) => (a.sourcedId < b.sourcedId ? -1 : a.sourcedId > b.sourcedId ? 1 : 0);

/**
 * The faulty district, with more than its generated faults: last year's school year and a semester
 * of it, a class that runs only in that old semester, a student with no grade, and a school whose
 * administrators were made aides.
 */
function withExtraFaults(base: RosterRecordSource) {
  const schools = all(base, 'orgs').filter((o) => o.type === 'school');
  const unadministered = schools[schools.length - 1]!.sourcedId;
  const users = all(base, 'users');
  const faulted = new Set([...faultyBase.faults.studentsWithTwoGrades.map((f) => f.sourcedId), ...faultyBase.multiSchoolUsers]);
  const gradeless = users.find((u) => u.role === 'student' && !faulted.has(u.sourcedId))!.sourcedId;
  const [yearTemplate, termTemplate] = all(base, 'academicSessions') as AcademicSession[];
  const oldSessions: AcademicSession[] = [
    { ...yearTemplate!, sourcedId: 'as-2026', title: '2025-2026', startDate: '2025-08-18', endDate: '2026-06-12', schoolYear: '2026' },
    {
      ...termTemplate!,
      sourcedId: 'as-2026-1',
      title: 'Fall 2025',
      startDate: '2025-08-18',
      endDate: '2025-12-19',
      parentSourcedId: 'as-2026',
      schoolYear: '2026',
    },
  ];
  const course = all(base, 'courses')[0] as Course;
  const classTemplate = all(base, 'classes').find((c) => c.courseSourcedId === course.sourcedId)!;
  const oldClass: RosterClass = {
    ...classTemplate,
    sourcedId: 'cls-old',
    title: 'Last year’s section',
    grades: [...course.grades],
    termSourcedIds: ['as-2026-1'],
  };
  const source: RosterRecordSource = {
    records: <E extends RosterEntity>(entity: E) => {
      let records: RosterRecord[] = all(base, entity);
      if (entity === 'academicSessions') records = [...records, ...oldSessions].sort(bySourcedId);
      if (entity === 'classes') records = [...records, oldClass].sort(bySourcedId);
      if (entity === 'users')
        records = (records as User[]).map((u) =>
          u.sourcedId === gradeless
            ? { ...u, grades: [] }
            : u.role === 'administrator' && u.orgSourcedIds.includes(unadministered)
              ? { ...u, role: 'aide' as const }
              : u,
        );
      return records as RosterRecord<E>[];
    },
  };
  return { source, unadministered, gradeless, oldSessionIds: oldSessions.map((s) => s.sourcedId), oldClassId: oldClass.sourcedId };
}

t.test('target-kamkalima', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-kamkalima-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string, settings: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: `District ${id}`,
        timezone: 'Asia/Dubai',
        source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } },
        targets: [{ id: 'kamkalima', settings }],
      }),
    );
  const writePackage = async (id: string, source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk') => {
    rmSync(path.join(root, `${id}-package`), { recursive: true, force: true });
    await writeOneRosterPackage(source, path.join(root, `${id}-package`), { mode });
  };
  const faulty = withExtraFaults(faultyBase);
  tenant('faulty', { today: TODAY });
  tenant('clean', { today: TODAY });
  // Same data as clean, but an academic year starting in January: 2026 is its current year, so
  // every (2026–27) session and class is out of it.
  tenant('shifted', { today: TODAY, academicYearStartMonth: 1 });
  await writePackage('faulty', faulty.source);
  await writePackage('clean', cleanBase);
  cpSync(path.join(root, 'clean-package'), path.join(root, 'shifted-package'), { recursive: true });

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const kk = host.database.db.withSchema('plugin_target_kamkalima');
  const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
    host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode })).id);
  const issues = async (run: SyncRun) =>
    (await host.runs.issues(run.id, { limit: 100_000, targetId: 'kamkalima' })) as {
      code: string;
      severity: string;
      sourcedId?: string;
      entity?: string;
      message: string;
    }[];
  const rows = async (table: string, tenantId: string) => kk.selectFrom(table).selectAll().where('tenant_id', '=', tenantId).execute();
  const ids = async (table: string, tenantId: string) => new Set((await rows(table, tenantId)).map((r) => r.sourced_id as string));
  const counts = (run: SyncRun, entity: RosterEntity) => run.counts.targets.kamkalima!.entities[entity]!;
  /** Every row of the tenant with its xmin: a row rewritten, even to equal values, shows. */
  const snapshot = async (tenantId: string) => {
    const map = new Map<string, string>();
    for (const table of TABLES) {
      const all = await kk.selectFrom(table).select('xmin').selectAll().where('tenant_id', '=', tenantId).execute();
      for (const r of all) map.set(`${table}:${r.entity ? `${r.entity}:` : ''}${r.sourced_id ?? r.school_sourced_id}`, JSON.stringify(r));
    }
    return map;
  };
  const diff = (before: Map<string, string>, after: Map<string, string>) => {
    const touched: string[] = [];
    for (const [k, v] of after) if (before.get(k) !== v) touched.push(k);
    for (const k of before.keys()) if (!after.has(k)) touched.push(k);
    return touched.sort();
  };

  let faultyRun: SyncRun;
  await t.test('first sync of a district with faults: every rule', async (t) => {
    faultyRun = await sync('faulty');
    t.equal(faultyRun.status, 'partial', 'records were rejected, so the run is partial');
    t.equal(faultyRun.errorCode, 'RECORDS_REJECTED');
    const found = await issues(faultyRun);
    const codesOf = (sourcedId: string) => found.filter((i) => i.sourcedId === sourcedId).map((i) => i.code);

    // Schools: every org of type school, with its name; the district org is not one.
    const orgs = all(faulty.source, 'orgs');
    const schoolOrgs = orgs.filter((o) => o.type === 'school');
    t.ok(schoolOrgs.length >= 2, 'the district has several schools');
    t.same(
      (await rows('school', 'faulty')).map((s) => [s.sourced_id, s.name]).sort(),
      schoolOrgs.map((o) => [o.sourcedId, o.name]).sort(),
      'one Kamkalima school per school org, with its name',
    );
    t.same(counts(faultyRun, 'orgs'), {
      created: schoolOrgs.length,
      updated: 0,
      unchanged: 0,
      skipped: orgs.length - schoolOrgs.length,
      deleted: 0,
      errors: 0,
    });

    // Sessions: only the current academic year's.
    const sessions = all(faulty.source, 'academicSessions');
    t.same(
      [...(await ids('term', 'faulty'))].sort(),
      sessions
        .filter((s) => s.schoolYear === '2027')
        .map((s) => s.sourcedId)
        .sort(),
      'only 2026–27 sessions are terms',
    );
    t.equal(counts(faultyRun, 'academicSessions').skipped, 2, 'the two 2025–26 sessions are counted as skipped');
    for (const id of faulty.oldSessionIds) t.same(codesOf(id), ['KAMKALIMA_SESSION_NOT_CURRENT_YEAR'], `${id} reported`);
    t.notOk((await ids('classroom', 'faulty')).has(faulty.oldClassId), 'a class of last year only is not imported');
    t.same(codesOf(faulty.oldClassId), ['KAMKALIMA_CLASS_NOT_CURRENT_YEAR']);

    // Courses carry their grades, several allowed.
    const courses = await rows('course', 'faulty');
    const sourceCourses = new Map(all(faulty.source, 'courses').map((c) => [c.sourcedId, c]));
    t.equal(courses.length, sourceCourses.size, 'every course is imported');
    t.ok(
      courses.some((c) => c.grades.length > 1),
      'a course with several grades',
    );
    t.equal(
      courses.filter((c) => JSON.stringify(c.grades) !== JSON.stringify(sourceCourses.get(c.sourced_id)!.grades)).length,
      0,
      "each course has the source's grades",
    );

    // Classes: within their course's grades, else reported and not imported.
    const classFaults = faultyBase.faults.classesOutsideCourseGrades;
    t.equal(classFaults.length, 2);
    const classrooms = await ids('classroom', 'faulty');
    for (const f of classFaults) {
      t.notOk(classrooms.has(f.sourcedId), `${f.sourcedId} (grades ${f.grades} outside ${f.courseGrades}) is not imported`);
      t.same(codesOf(f.sourcedId), ['KAMKALIMA_CLASS_OUTSIDE_COURSE_GRADES']);
      t.equal(found.find((i) => i.sourcedId === f.sourcedId)!.severity, 'error');
    }
    t.equal(classrooms.size, all(faulty.source, 'classes').length - classFaults.length - 1, 'every other class is imported');
    t.equal(counts(faultyRun, 'classes').errors, classFaults.length);
    t.equal(counts(faultyRun, 'classes').skipped, 1, 'the old class is skipped');
    const faultyClassEnrollments = all(faulty.source, 'enrollments').filter((e) => classFaults.some((f) => f.sourcedId === e.classSourcedId));
    for (const e of faultyClassEnrollments)
      t.same(codesOf(e.sourcedId), ['KAMKALIMA_ENROLLMENT_NOT_LINKED'], `enrollment ${e.sourcedId} in a rejected class is reported`);

    // Teachers may have several grades; students exactly one.
    const teachers = await rows('teacher', 'faulty');
    t.ok(
      teachers.some((r) => r.grades.length > 1),
      'a teacher with several grades is imported',
    );
    const students = await ids('student', 'faulty');
    const rejectedStudents = [...faultyBase.faults.studentsWithTwoGrades.map((f) => f.sourcedId), faulty.gradeless];
    for (const id of rejectedStudents) {
      t.notOk(students.has(id), `student ${id} is not imported`);
      t.same(codesOf(id), ['KAMKALIMA_STUDENT_GRADE_COUNT']);
    }
    const sourceStudents = all(faulty.source, 'users').filter((u) => u.role === 'student');
    t.equal(students.size, sourceStudents.length - rejectedStudents.length, 'every other student is imported');
    t.equal(counts(faultyRun, 'users').errors, rejectedStudents.length);

    // A school with no administrator is reported (by finish), the others are not.
    const noAdmin = found.filter((i) => i.code === 'KAMKALIMA_SCHOOL_WITHOUT_ADMINISTRATOR');
    t.same(
      noAdmin.map((i) => [i.sourcedId, i.severity, i.entity]),
      [[faulty.unadministered, 'warning', 'orgs']],
    );

    // A teacher or student in several schools belongs to the first one; the others are warnings.
    const users = new Map(all(faulty.source, 'users').map((u) => [u.sourcedId, u]));
    const people = new Map([...teachers, ...(await rows('student', 'faulty'))].map((r) => [r.sourced_id as string, r]));
    t.ok(faultyBase.multiSchoolUsers.length >= 2);
    for (const id of faultyBase.multiSchoolUsers) {
      t.equal(people.get(id)?.school_sourced_id, users.get(id)!.orgSourcedIds[0], `${id} is at their first school`);
      t.same(codesOf(id), ['KAMKALIMA_USER_SEVERAL_SCHOOLS']);
      t.equal(found.find((i) => i.sourcedId === id)!.severity, 'warning');
    }
    const elsewhere = found.filter((i) => i.code === 'KAMKALIMA_ENROLLMENT_OTHER_SCHOOL');
    t.ok(elsewhere.length >= 1, "an itinerant teacher's class at the second school is reported");
    t.ok(elsewhere.every((i) => i.severity === 'warning'));
    const crossing = await kk
      .selectFrom('class_membership as m')
      .innerJoin('classroom as c', (j) => j.onRef('c.tenant_id', '=', 'm.tenant_id').onRef('c.sourced_id', '=', 'm.classroom_sourced_id'))
      .leftJoin('teacher as tt', (j) => j.onRef('tt.tenant_id', '=', 'm.tenant_id').onRef('tt.sourced_id', '=', 'm.member_sourced_id'))
      .leftJoin('student as s', (j) => j.onRef('s.tenant_id', '=', 'm.tenant_id').onRef('s.sourced_id', '=', 'm.member_sourced_id'))
      .select('m.sourced_id')
      .where('m.tenant_id', '=', 'faulty')
      .where((eb) => eb(eb.fn.coalesce('tt.school_sourced_id', 's.school_sourced_id'), 'is distinct from', eb.ref('c.school_sourced_id')))
      .execute();
    t.same(crossing, [], 'no membership links a user to a class of another school');

    // Memberships: every enrollment not reported is imported.
    const reportedEnrollments = new Set(found.filter((i) => i.entity === 'enrollments').map((i) => i.sourcedId));
    const memberships = await ids('class_membership', 'faulty');
    const expected = all(faulty.source, 'enrollments').filter((e) => !reportedEnrollments.has(e.sourcedId));
    t.equal(memberships.size, expected.length);
    t.ok(expected.every((e) => memberships.has(e.sourcedId)));

    // One system teacher-admin account per school.
    t.same((await rows('teacher_admin_account', 'faulty')).map((a) => a.school_sourced_id).sort(), schoolOrgs.map((o) => o.sourcedId).sort());
    t.ok(found.length > 0 && found.every((i) => i.code.startsWith('KAMKALIMA_')), 'every issue has a Kamkalima code');
  });

  await t.test('a resync of the same data changes no row, and still reports the school without an administrator', async (t) => {
    const before = await snapshot('faulty');
    const run = await sync('faulty');
    t.same(diff(before, await snapshot('faulty')), [], 'no row rewritten (xmin unchanged)');
    t.same(
      (await issues(run)).map((i) => [i.code, i.sourcedId]),
      [['KAMKALIMA_SCHOOL_WITHOUT_ADMINISTRATOR', faulty.unadministered]],
    );
    t.equal((await rows('teacher_admin_account', 'faulty')).length, (await rows('school', 'faulty')).length, 'no second teacher-admin account');
  });

  await t.test('a whole snapshot delivered again (as after a crash) changes no row', async (t) => {
    const before = await snapshot('faulty');
    await host.database.db
      .withSchema('rosterbridge')
      .deleteFrom('target_cursor')
      .where('tenant_id', '=', 'faulty')
      .where('target_id', '=', 'kamkalima')
      .execute();
    const run = await sync('faulty');
    t.equal(counts(run, 'users').created, 0);
    t.equal(counts(run, 'enrollments').created, 0);
    t.ok(counts(run, 'enrollments').unchanged > 0, 'enrollments came again, unchanged');
    t.same(diff(before, await snapshot('faulty')), [], 'no row rewritten');
  });

  await t.test('a class held back is taken once its course gets its grade, and held back again when the course loses it', async (t) => {
    const fault = faultyBase.faults.classesOutsideCourseGrades[0]!;
    const widened = (grades: readonly string[]): RosterRecordSource => ({
      records: <E extends RosterEntity>(entity: E) =>
        (entity === 'courses'
          ? all(faulty.source, 'courses').map((c) => (c.sourcedId === fault.relatedSourcedId ? { ...c, grades } : c))
          : all(faulty.source, entity)) as RosterRecord<E>[],
    });
    const enrollments = all(faulty.source, 'enrollments')
      .filter((e) => e.classSourcedId === fault.sourcedId)
      .map((e) => e.sourcedId)
      .sort();
    await writePackage('faulty', widened([...fault.courseGrades!, ...fault.grades!]));
    const fixed = await sync('faulty');
    t.ok((await ids('classroom', 'faulty')).has(fault.sourcedId), 'the class is imported');
    const members = await kk
      .selectFrom('class_membership')
      .select('sourced_id')
      .where('tenant_id', '=', 'faulty')
      .where('classroom_sourced_id', '=', fault.sourcedId)
      .execute();
    const rejected = new Set([...faultyBase.faults.studentsWithTwoGrades.map((f) => f.sourcedId), faulty.gradeless]);
    const users = new Map(all(faulty.source, 'users').map((u) => [u.sourcedId, u]));
    const school = all(faulty.source, 'classes').find((c) => c.sourcedId === fault.sourcedId)!.schoolSourcedId;
    // The class's grade was moved outside its course's, so its students (of the old grade) do not fit it.
    const classGrades = fault.grades!;
    const fits = (u: User) =>
      u.role === 'student' ? classGrades.includes(u.grades[0]!) : u.grades.length === 0 || u.grades.some((g) => classGrades.includes(g));
    const sameSchool = all(faulty.source, 'enrollments').filter(
      (e) =>
        e.classSourcedId === fault.sourcedId &&
        !rejected.has(e.userSourcedId) &&
        users.get(e.userSourcedId)!.orgSourcedIds[0] === school &&
        ['teacher', 'student'].includes(e.role),
    );
    const linkable = sameSchool
      .filter((e) => fits(users.get(e.userSourcedId)!))
      .map((e) => e.sourcedId)
      .sort();
    t.ok(enrollments.length > 0);
    t.same(
      members.map((m) => m.sourced_id).sort(),
      linkable,
      'every enrollment of the class whose user is in Kamkalima at its school, with a fitting grade, is linked',
    );
    const mismatched = sameSchool
      .filter((e) => !fits(users.get(e.userSourcedId)!))
      .map((e) => e.sourcedId)
      .sort();
    t.ok(mismatched.length > 0, 'the class has students of another grade');
    const fixedIssues = await issues(fixed);
    t.same(
      fixedIssues
        .filter((i) => i.code === 'KAMKALIMA_ENROLLMENT_GRADE_MISMATCH')
        .map((i) => i.sourcedId)
        .sort(),
      mismatched,
      'the enrollments taken out of hold for the class but of another grade are reported',
    );
    t.equal(counts(fixed, 'classes').created, 1, 'counted as created');

    await writePackage('faulty', faulty.source);
    const narrowed = await sync('faulty');
    t.notOk((await ids('classroom', 'faulty')).has(fault.sourcedId), 'the class is held back again');
    const found = await issues(narrowed);
    t.same(
      found.filter((i) => i.sourcedId === fault.sourcedId).map((i) => i.code),
      ['KAMKALIMA_CLASS_OUTSIDE_COURSE_GRADES'],
    );
    t.equal(counts(narrowed, 'classes').errors, 1, 'counted as an error');
    t.equal(
      (
        await kk
          .selectFrom('class_membership')
          .select('sourced_id')
          .where('tenant_id', '=', 'faulty')
          .where('classroom_sourced_id', '=', fault.sourcedId)
          .execute()
      ).length,
      0,
      'with its memberships',
    );
  });

  let cleanBefore: Map<string, string>;
  await t.test('a clean district syncs with success', async (t) => {
    const run = await sync('clean');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.reason}`);
    t.equal((await ids('student', 'clean')).size, all(cleanBase, 'users').filter((u) => u.role === 'student').length);
    t.equal((await ids('classroom', 'clean')).size, cleanBase.counts.classes);
    cleanBefore = await snapshot('clean');
  });

  await t.test('a 1% delta changes only the rows it should', async (t) => {
    const report = changed.report.entities;
    const touchedIds = new Set(Object.values(report).flatMap((c) => [...c.created, ...c.updated, ...c.deleted]));
    t.ok(touchedIds.size > 0, `the delta touches ${touchedIds.size} records`);
    await writePackage('clean', changed.delta, 'delta');
    const run = await sync('clean', 'delta');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.reason}`);
    const after = await snapshot('clean');
    const touched = diff(cleanBefore, after);
    t.ok(touched.length > 0, `${touched.length} rows changed`);
    const outside = touched.filter((k) => !touchedIds.has(k.split(':').pop()!));
    t.same(outside, [], 'every row changed belongs to a record the delta changed');
    // What changed is now as the source says.
    const people = new Map([...(await rows('teacher', 'clean')), ...(await rows('student', 'clean'))].map((r) => [r.sourced_id as string, r]));
    const nowUsers = new Map(all(changed, 'users').map((u) => [u.sourcedId, u]));
    for (const id of report.users.updated) {
      const row = people.get(id);
      if (!row) continue;
      const u = nowUsers.get(id)!;
      t.same([row.given_name, row.family_name, row.email, row.active], [u.givenName, u.familyName, u.email ?? null, u.enabledUser], `${id} updated`);
    }
    for (const id of report.users.deleted) t.notOk(people.has(id), `${id} deleted`);
    const memberships = await ids('class_membership', 'clean');
    for (const id of report.enrollments.deleted) t.notOk(memberships.has(id), `${id} deleted`);
    for (const id of report.users.created) t.ok(people.has(id), `${id} created`);
    for (const id of report.enrollments.created) t.ok(memberships.has(id), `${id} created`);

    await writePackage('clean', changed);
    const before = await snapshot('clean');
    const full = await sync('clean');
    t.equal(full.status, 'success');
    t.same(diff(before, await snapshot('clean')), [], 'a full resync of the changed district then changes no row');
  });

  await t.test('two tenants with different settings never see each other’s rows', async (t) => {
    const cleanRows = await snapshot('clean');
    const run = await sync('shifted');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.reason}`);
    t.same(diff(cleanRows, await snapshot('clean')), [], "the other tenant's rows are untouched");
    // Judged by dates: of the 2026–27 sessions only the fall semester lies (its middle day) in calendar 2026.
    const inShifted = all(cleanBase, 'academicSessions')
      .filter((s) => s.endDate <= '2026-12-31')
      .map((s) => s.sourcedId);
    t.same([...(await ids('term', 'shifted'))].sort(), inShifted.sort(), 'shifted: only the session within its current year (2026) is a term');
    const fallClasses = all(cleanBase, 'classes').filter((c) => c.termSourcedIds.some((id) => inShifted.includes(id)));
    t.equal((await ids('classroom', 'shifted')).size, fallClasses.length, 'shifted: only classes running in it');
    t.equal(counts(run, 'academicSessions').skipped, cleanBase.counts.academicSessions - inShifted.length);
    t.equal((await ids('term', 'clean')).size, cleanBase.counts.academicSessions, 'clean keeps its terms');
    t.same([...(await ids('school', 'shifted'))].sort(), [...(await ids('school', 'clean'))].sort(), 'both have the same schools, each its own rows');
    for (const table of TABLES) {
      const foreign = await kk.selectFrom(table).select('tenant_id').where('tenant_id', 'not in', ['faulty', 'clean', 'shifted']).execute();
      t.equal(foreign.length, 0, `${table}: every row carries its tenant`);
    }
    const reset = await host.syncs.resetTarget('shifted', 'kamkalima', 'test');
    t.equal(reset, undefined);
    t.equal((await ids('student', 'shifted')).size, 0, 'reset empties the tenant');
    t.same(diff(cleanRows, await snapshot('clean')), [], 'and only that tenant');
    const again = await sync('shifted');
    t.equal(again.status, 'success');
    t.equal((await ids('student', 'shifted')).size, all(cleanBase, 'users').filter((u) => u.role === 'student').length, 'the next run back-fills it');
  });
});
