import t from 'tap';
import type { AcademicSession, Course, Demographics, Enrollment, GradeLevel, Org, RosterClass, RosterEntity, User } from '@rosterbridge/core';
import { GRADE_LEVELS, ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import {
  DISTRICT_FAULT_KINDS,
  DISTRICT_SIZES,
  generateDistrict,
  parseDistrictFaults,
  resolveDistrictSize,
  scaleDistrictSize,
  type GeneratedDistrict,
} from '@rosterbridge/test-kit';

interface Roster {
  orgs: Org[];
  academicSessions: AcademicSession[];
  courses: Course[];
  classes: RosterClass[];
  users: User[];
  enrollments: Enrollment[];
  demographics: Demographics[];
}

function collect(district: GeneratedDistrict): Roster {
  const roster = {} as Record<RosterEntity, unknown[]>;
  for (const entity of ROSTER_ENTITY_ORDER) roster[entity] = [...district.records(entity)];
  return roster as unknown as Roster;
}

const byId = <T extends { sourcedId: string }>(records: T[]): Map<string, T> => new Map(records.map((r) => [r.sourcedId, r]));
const gradeIndex = (g: GradeLevel): number => GRADE_LEVELS.indexOf(g);
const roleCount = (roster: Roster, ...roles: string[]): number => roster.users.filter((u) => roles.includes(u.role)).length;

for (const sizeName of ['tiny', 'small'] as const) {
  t.test(`${sizeName}: counts match the size table exactly`, async (t) => {
    const size = DISTRICT_SIZES[sizeName];
    const district = generateDistrict({ seed: 42, size: sizeName, faults: 'all' });
    const roster = collect(district);
    t.equal(roster.orgs.filter((o) => o.type === 'district').length, 1, 'one district org');
    t.equal(roster.orgs.filter((o) => o.type === 'school').length, size.schools, 'schools');
    t.equal(roster.academicSessions.filter((s) => s.type === 'schoolYear').length, 1, 'one school year');
    t.equal(roster.academicSessions.filter((s) => s.type === 'semester').length, 2, 'two semesters');
    t.equal(roster.courses.length, size.courses, 'courses');
    t.equal(roster.classes.length, size.classes, 'classes');
    t.equal(roleCount(roster, 'student'), size.students, 'students');
    t.equal(roleCount(roster, 'teacher'), size.teachers, 'teachers');
    t.equal(roleCount(roster, 'administrator', 'aide'), size.staff, 'administrators and aides');
    t.equal(roleCount(roster, 'guardian'), size.guardians, 'guardians');
    t.equal(roster.enrollments.length, size.enrollments, 'enrollments');
    t.equal(roster.demographics.length, size.students, 'one demographics record per student');
    t.ok(roleCount(roster, 'administrator') >= size.schools, 'an administrator for every school at least');
    for (const entity of ROSTER_ENTITY_ORDER) t.equal(roster[entity].length, district.counts[entity], `district.counts.${entity}`);
  });
}

t.test('the size table scales proportionally and rejects what cannot be built', async (t) => {
  const large = DISTRICT_SIZES.large;
  t.same(
    [large.schools, large.students, large.teachers, large.staff, large.guardians, large.classes, large.enrollments],
    [20, 100_000, 6_000, 400, 50_000, 20_000, 1_000_000],
    'large is the district the issue describes',
  );
  const double = scaleDistrictSize(DISTRICT_SIZES.small, 2);
  t.same(
    [double.schools, double.students, double.teachers, double.guardians, double.courses, double.classes, double.enrollments],
    [6, 2_000, 120, 1_000, 372, 400, 20_000],
    'counts double; courses follow the 31 grade cohorts of 6 schools',
  );
  const district = generateDistrict({ seed: 1, size: 'small', scale: 2 });
  t.equal(district.counts.users, 2_000 + 120 + 16 + 1_000);
  t.equal([...district.records('enrollments')].length, 20_000);
  t.throws(() => resolveDistrictSize('huge' as never), RangeError);
  t.throws(() => generateDistrict({ seed: 1, size: { ...DISTRICT_SIZES.tiny, enrollments: 10_000 } }), /enrollments do not fit/);
  t.throws(() => generateDistrict({ seed: 1, size: { ...DISTRICT_SIZES.tiny, courses: 3 } }), /cannot cover/);
});

t.test('generation is deterministic per seed and differs between seeds', async (t) => {
  const a = JSON.stringify(collect(generateDistrict({ seed: 42, size: 'tiny', faults: 'all' })));
  const b = JSON.stringify(collect(generateDistrict({ seed: 42, size: 'tiny', faults: 'all' })));
  const c = JSON.stringify(collect(generateDistrict({ seed: 43, size: 'tiny', faults: 'all' })));
  t.equal(a, b, 'same seed, same records');
  t.not(a, c, 'another seed, other records');
  const text = JSON.stringify(collect(generateDistrict({ seed: 'forty-two', size: 'tiny' })));
  t.equal(text, JSON.stringify(collect(generateDistrict({ seed: 'forty-two', size: 'tiny' }))), 'string seeds too');
  // Records are rebuilt from their number: reading out of order gives the same record.
  const district = generateDistrict({ seed: 42, size: 'small' });
  const users = [...district.records('users')];
  t.same(district.user(777), users[777]);
  t.same(district.user(3), users[3]);
});

t.test('records come in ascending sourcedId order with unique sourcedIds', async (t) => {
  const roster = collect(generateDistrict({ seed: 9, size: 'small', faults: 'all' }));
  for (const entity of ROSTER_ENTITY_ORDER) {
    const ids = (roster[entity] as { sourcedId: string }[]).map((r) => r.sourcedId);
    const ascending = ids.every((id, i) => i === 0 || ids[i - 1]! < id); // i - 1 is an index when i > 0
    t.ok(ids.length > 0 && ascending, `${entity} strictly ascending (${ids.length})`);
  }
});

for (const faults of [undefined, 'all'] as const) {
  t.test(`every reference resolves (faults ${faults ?? 'off'})`, async (t) => {
    const district = generateDistrict({ seed: 5, size: 'small', faults });
    const r = collect(district);
    const orgs = byId(r.orgs);
    const sessions = byId(r.academicSessions);
    const courses = byId(r.courses);
    const classes = byId(r.classes);
    const users = byId(r.users);
    const problems: string[] = [];
    const expect = (ok: boolean, problem: string): void => {
      if (!ok) problems.push(problem);
    };
    const district0 = r.orgs.find((o) => o.type === 'district')!;
    for (const org of r.orgs) {
      if (org.type === 'school') expect(org.parentSourcedId === district0.sourcedId, `school ${org.sourcedId} parent`);
    }
    const year = r.academicSessions.find((s) => s.type === 'schoolYear')!;
    for (const s of r.academicSessions) {
      if (s.type === 'semester')
        expect(s.parentSourcedId === year.sourcedId && s.startDate >= year.startDate && s.endDate <= year.endDate, `term ${s.sourcedId}`);
    }
    for (const course of r.courses) {
      expect(orgs.get(course.orgSourcedId)?.type === 'school', `course ${course.sourcedId} org`);
      expect(sessions.get(course.schoolYearSourcedId!)?.type === 'schoolYear', `course ${course.sourcedId} school year`);
    }
    for (const c of r.classes) {
      const course = courses.get(c.courseSourcedId);
      expect(course !== undefined, `class ${c.sourcedId} course`);
      expect(orgs.get(c.schoolSourcedId)?.type === 'school' && course?.orgSourcedId === c.schoolSourcedId, `class ${c.sourcedId} school`);
      expect(c.termSourcedIds.length > 0 && c.termSourcedIds.every((id) => sessions.has(id)), `class ${c.sourcedId} terms`);
    }
    for (const u of r.users) {
      expect(u.orgSourcedIds.length > 0 && u.orgSourcedIds.every((id) => orgs.has(id)), `user ${u.sourcedId} orgs`);
      for (const agent of u.agentSourcedIds) {
        const other = users.get(agent);
        expect(other !== undefined && other.agentSourcedIds.includes(u.sourcedId), `agents of ${u.sourcedId} and ${agent} both ways`);
        expect(u.role === 'student' ? other?.role === 'guardian' : other?.role === 'student', `agent ${agent} of ${u.sourcedId} has the other role`);
      }
      if (u.role === 'guardian') expect(u.agentSourcedIds.length > 0, `guardian ${u.sourcedId} has a student`);
    }
    t.ok(
      r.users.filter((u) => u.role === 'student').some((u) => u.agentSourcedIds.length === 2),
      'some students have two guardians',
    );
    t.ok(
      r.users.filter((u) => u.role === 'guardian').some((u) => u.agentSourcedIds.length > 1),
      'some guardians have several children',
    );
    const primaries = new Map<string, number>();
    const seats = new Set<string>();
    for (const e of r.enrollments) {
      const c = classes.get(e.classSourcedId);
      const user = users.get(e.userSourcedId);
      expect(c !== undefined && user !== undefined, `enrollment ${e.sourcedId} class and user`);
      expect(c?.schoolSourcedId === e.schoolSourcedId, `enrollment ${e.sourcedId} school is the class's`);
      expect(user?.orgSourcedIds.includes(e.schoolSourcedId) === true, `enrollment ${e.sourcedId} user belongs to the school`);
      expect(user?.role === e.role, `enrollment ${e.sourcedId} role matches the user's`);
      expect(!seats.has(`${e.classSourcedId}/${e.userSourcedId}`), `enrollment ${e.sourcedId} is no duplicate`);
      seats.add(`${e.classSourcedId}/${e.userSourcedId}`);
      if (e.role === 'teacher') {
        expect(typeof e.primary === 'boolean', `teacher enrollment ${e.sourcedId} has a primary flag`);
        if (e.primary) primaries.set(e.classSourcedId, (primaries.get(e.classSourcedId) ?? 0) + 1);
      }
      expect(!!e.beginDate && !!e.endDate && e.beginDate < e.endDate, `enrollment ${e.sourcedId} dates`);
    }
    for (const c of r.classes) expect(primaries.get(c.sourcedId) === 1, `class ${c.sourcedId} has exactly one primary teacher`);
    for (const d of r.demographics) expect(users.get(d.sourcedId)?.role === 'student', `demographics ${d.sourcedId} is a student's`);
    const enrolledStudents = new Set(r.enrollments.filter((e) => e.role === 'student').map((e) => e.userSourcedId));
    t.equal(enrolledStudents.size, district.size.students, 'every student is enrolled');
    t.same(problems.slice(0, 10), [], 'no broken references');
  });
}

t.test('grades: one per student, several per teacher, classes within their course', async (t) => {
  for (const faults of [undefined, 'all'] as const) {
    const district = generateDistrict({ seed: 11, size: 'small', faults });
    const r = collect(district);
    const courses = byId(r.courses);
    const classes = byId(r.classes);
    const users = byId(r.users);
    const outside = r.classes.filter((c) => !c.grades.every((g) => courses.get(c.courseSourcedId)!.grades.includes(g))).map((c) => c.sourcedId);
    const twoGrades = r.users.filter((u) => u.role === 'student' && u.grades.length !== 1).map((u) => u.sourcedId);
    t.same(
      outside,
      district.faults.classesOutsideCourseGrades.map((f) => f.sourcedId),
      `classes outside course grades (faults ${faults ?? 'off'})`,
    );
    t.same(
      twoGrades,
      district.faults.studentsWithTwoGrades.map((f) => f.sourcedId),
      `students without exactly one grade (faults ${faults ?? 'off'})`,
    );
    t.ok(
      r.courses.some((c) => c.grades.length > 1),
      'some courses span several grades',
    );
    t.ok(r.courses.length > 0 && r.courses.every((c) => c.grades.every((g) => GRADE_LEVELS.includes(g))), 'CEDS grades');
    const teachers = r.users.filter((u) => u.role === 'teacher');
    t.ok(teachers.filter((u) => u.grades.length >= 2).length > teachers.length / 2, 'most teachers teach several grades');
    // A student sits only in classes of their own grade, at most once per course.
    const taken = new Set<string>();
    let wrongGrade = 0;
    let twice = 0;
    for (const e of r.enrollments) {
      if (e.role !== 'student') continue;
      const c = classes.get(e.classSourcedId)!;
      const student = users.get(e.userSourcedId)!;
      const courseGrades = courses.get(c.courseSourcedId)!.grades;
      if (!student.grades.some((g) => c.grades.includes(g) || courseGrades.includes(g))) wrongGrade++;
      const key = `${e.userSourcedId}/${c.courseSourcedId}`;
      if (taken.has(key)) twice++;
      taken.add(key);
    }
    t.equal(wrongGrade, 0, 'students sit in classes of their grade');
    t.equal(twice, 0, 'no student takes two sections of a course');
    t.equal(
      district.faults.classesOutsideCourseGrades.length > 0,
      faults === 'all',
      `classes outside their course grades only with faults (faults ${faults ?? 'off'})`,
    );
    for (const fault of district.faults.classesOutsideCourseGrades) {
      t.equal(fault.grades?.length, 1, `${fault.sourcedId}: one grade`);
      t.notOk(fault.courseGrades!.includes(fault.grades![0]!), `${fault.sourcedId}: ${fault.grades} is outside ${fault.courseGrades}`);
    }
    t.equal(district.faults.studentsWithTwoGrades.length > 0, faults === 'all', `students with two grades only with faults (faults ${faults ?? 'off'})`);
    for (const fault of district.faults.studentsWithTwoGrades) {
      const grades = users.get(fault.sourcedId)!.grades;
      t.equal(grades.length, 2);
      t.equal(Math.abs(gradeIndex(grades[0]!) - gradeIndex(grades[1]!)), 1, 'adjacent grades'); // two grades: asserted above
    }
  }
});

t.test('email faults: exactly the reported users, and nowhere else', async (t) => {
  const clean = collect(generateDistrict({ seed: 21, size: 'small' }));
  const cleanEmails = clean.users.map((u) => u.email);
  t.ok(cleanEmails.length > 0 && cleanEmails.every((e) => typeof e === 'string' && /^[a-z0-9.]+@[a-z0-9.-]+$/.test(e)), 'every user has a plain ASCII email');
  t.equal(new Set(cleanEmails).size, cleanEmails.length, 'all emails unique without faults');
  t.equal(new Set(clean.users.map((u) => u.username)).size, clean.users.length, 'usernames unique');

  const district = generateDistrict({ seed: 21, size: 'small', faults: 'all' });
  const r = collect(district);
  const users = byId(r.users);
  const count = district.size.faultCount;
  for (const kind of DISTRICT_FAULT_KINDS) t.equal(district.faults[kind].length, count, `${kind}: ${count} reported`);
  const missing = r.users.filter((u) => u.email === undefined).map((u) => u.sourcedId);
  t.same(
    missing,
    district.faults.missingEmails.map((f) => f.sourcedId),
    'missing emails are the reported ones',
  );
  const owners = new Map<string, string[]>();
  for (const u of r.users) if (u.email) owners.set(u.email, [...(owners.get(u.email) ?? []), u.sourcedId]);
  const shared = [...owners.values()].filter((ids) => ids.length > 1);
  t.equal(shared.length, count, 'as many shared emails as duplicate faults');
  for (const fault of district.faults.duplicateEmails) {
    t.equal(users.get(fault.sourcedId)!.email, fault.email);
    t.equal(users.get(fault.relatedSourcedId!)!.email, fault.email, `${fault.sourcedId} copies ${fault.relatedSourcedId}`);
    t.same(owners.get(fault.email!)!.sort(), [fault.relatedSourcedId!, fault.sourcedId].sort());
  }
});

t.test('faults switch on one at a time, at the asked count, without moving each other', async (t) => {
  const only = generateDistrict({ seed: 3, size: 'small', faults: { missingEmails: 2 } });
  t.same(
    DISTRICT_FAULT_KINDS.map((k) => only.faults[k].length),
    [0, 2, 0, 0],
  );
  const all = generateDistrict({
    seed: 3,
    size: 'small',
    faults: { missingEmails: 2, duplicateEmails: true, studentsWithTwoGrades: 1, classesOutsideCourseGrades: 4 },
  });
  t.same(
    DISTRICT_FAULT_KINDS.map((k) => all.faults[k].length),
    [3, 2, 1, 4],
  );
  t.same(all.faults.missingEmails, only.faults.missingEmails, 'the missing emails stay on the same users');
  const none = generateDistrict({ seed: 3, size: 'small' });
  t.same(
    DISTRICT_FAULT_KINDS.map((k) => none.faults[k].length),
    [0, 0, 0, 0],
  );
  t.same(parseDistrictFaults('all'), 'all');
  t.same(parseDistrictFaults('duplicate-emails,missing-emails=5'), { duplicateEmails: true, missingEmails: 5 });
  t.throws(() => parseDistrictFaults('typos'), /unknown fault "typos"/);
});

t.test('realistic shapes: names, multi-school users, dates', async (t) => {
  const district = generateDistrict({ seed: 8, size: 'small' });
  const r = collect(district);
  const schoolIds = new Set(r.orgs.filter((o) => o.type === 'school').map((o) => o.sourcedId));
  const inTwoSchools = (u: User): boolean => u.orgSourcedIds.filter((id) => schoolIds.has(id)).length === 2;
  const multi = r.users.filter((u) => (u.role === 'student' || u.role === 'teacher') && inTwoSchools(u)).map((u) => u.sourcedId);
  t.same(multi, [...district.multiSchoolUsers], 'the reported multi-school users are the users in two schools');
  t.equal(multi.length, DISTRICT_SIZES.small.multiSchoolUsers);
  t.ok(
    multi.some((id) => r.users.find((u) => u.sourcedId === id)!.role === 'teacher'),
    'a teacher among them',
  );
  t.ok(
    multi.some((id) => r.users.find((u) => u.sourcedId === id)!.role === 'student'),
    'a student among them',
  );
  t.ok(
    r.users.some((u) => u.role === 'guardian' && inTwoSchools(u)),
    'guardians of children in two schools belong to both',
  );
  const names = new Set(r.users.map((u) => u.familyName));
  t.ok(names.size > 50, 'many family names');
  t.ok(r.users.length > 0 && r.users.every((u) => /^\p{Lu}/u.test(u.givenName) && /^\p{Lu}/u.test(u.familyName)), 'names are capitalised');
  t.ok(
    r.users.some((u) => /[^\x00-\x7f]/.test(u.familyName + u.givenName)),
    'some names beyond ASCII',
  );
  const asOf = district.asOf.getTime();
  for (const entity of ROSTER_ENTITY_ORDER) {
    const dates = r[entity] as { dateLastModified: Date | undefined; status: string }[];
    t.ok(
      dates.length > 0 && dates.every((x) => x.status === 'active' && x.dateLastModified instanceof Date && x.dateLastModified.getTime() < asOf),
      `${entity}: active, modified before asOf`,
    );
  }
  t.equal(r.academicSessions.find((s) => s.type === 'schoolYear')!.schoolYear, '2027', 'default school year 2026–27');
  const students = byId(r.users);
  for (const d of r.demographics.slice(0, 200)) {
    const grade = students.get(d.sourcedId)!.grades[0]!; // gradeIndex(undefined) is -1: a student without a grade fails
    const kindergartenYear = gradeIndex(grade) - gradeIndex('KG');
    const age = 2026 - Number(d.birthDate!.slice(0, 4));
    t.ok(age >= 5 + kindergartenYear && age <= 6 + kindergartenYear, `${d.sourcedId} in ${grade} born ${d.birthDate}`);
  }
  const withoutDemographics = generateDistrict({ seed: 8, size: 'small', demographics: false });
  t.equal([...withoutDemographics.records('demographics')].length, 0);
  t.equal(withoutDemographics.counts.demographics, 0);
});
