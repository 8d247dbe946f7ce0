import { type Kysely, sql } from 'kysely';
import {
  GRADE_LEVELS,
  type AcademicSession,
  type Course,
  type Enrollment,
  type GradeLevel,
  type Org,
  type RosterClass,
  type RosterEntity,
  type RosterIssue,
  type RosterRecord,
  type User,
} from '@rosterbridge/core';
import { kamkalimaIssue } from './kamkalima-issues';

/** A kysely instance or transaction bound to the Kamkalima schema. */
export type KamkalimaDb = Kysely<any>;

/** A row of a Kamkalima table, with the table it goes to. */
export interface KamkalimaRow {
  table: string;
  values: Record<string, unknown>;
}

/**
 * What a product rule makes of one record: taken (with warnings that keep it), held back (an issue
 * says why; kept in `held_record` and judged again once what it depends on changes), or ignored
 * (something Kamkalima has no place for: a district org, a guardian, an administrator enrollment).
 */
export type Verdict = { take: KamkalimaRow; warnings: RosterIssue[] } | { hold: RosterIssue } | { ignore: true };

/** The rules of one entity: how records are judged, where they go, and what else moves with them. */
export interface EntityRules<E extends RosterEntity = RosterEntity> {
  entity: E;
  /** The tables a record of this entity may live in. */
  tables: readonly string[];
  judge(db: KamkalimaDb, records: readonly RosterRecord<E>[]): Promise<Verdict[]>;
  /** After records of this entity were written, held or removed: moves dependants that no longer hold. */
  cascade?(db: KamkalimaDb, sourcedIds: readonly string[]): Promise<RosterIssue[]>;
}

/** What the rules need to know of the tenant. */
export interface RuleContext {
  tenantId: string;
  /** The academic year in use, as OneRoster's `schoolYear` (the year it ends in). */
  schoolYear: number;
  /** The school of rows this session wrote (null: removed), for enrollments' look-ups; see {@link KnownSchools}. */
  known?: KnownSchools;
}

/**
 * The school of each classroom, teacher and student row a session wrote (null where it removed
 * one), kept for the session's later batches: a first sync's enrollments name the classes and users
 * its earlier batches wrote, and need not look them up. Ids not here (rows of earlier runs) are
 * looked up. Every path that writes or deletes such a row updates it.
 */
export type KnownSchools = Record<'classroom' | 'teacher' | 'student', Map<string, string | null>>;

export function knownSchools(): KnownSchools {
  return { classroom: new Map(), teacher: new Map(), student: new Map() };
}

/** `column = any(ids)`, for a list of sourcedIds. */
export function anyOf(column: string, ids: readonly string[]) {
  return sql<boolean>`${sql.ref(column)} = any(${[...ids]}::text[])`;
}

function sortedGrades(grades: readonly GradeLevel[]): GradeLevel[] {
  return [...new Set(grades)].sort((a, b) => GRADE_LEVELS.indexOf(a) - GRADE_LEVELS.indexOf(b));
}

async function existing(db: KamkalimaDb, table: string, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom(table).select('sourced_id').where('tenant_id', '=', tenantId).where(anyOf('sourced_id', ids)).execute();
  return new Set(rows.map((r) => r.sourced_id as string));
}

/**
 * Builds the held-back form of an enrollment from its membership row (when a class or user it
 * links leaves Kamkalima): enough for the enrollment rules to judge it again.
 */
function enrollmentFromMembership(m: { sourced_id: string; classroom_sourced_id: string; member_sourced_id: string; role: string; is_primary: boolean | null }, schoolSourcedId: string | null): Enrollment {
  return {
    sourcedId: m.sourced_id, status: 'active', dateLastModified: undefined, metadata: {},
    classSourcedId: m.classroom_sourced_id, userSourcedId: m.member_sourced_id, schoolSourcedId: schoolSourcedId ?? '',
    role: m.role as Enrollment['role'], primary: m.is_primary ?? undefined,
  };
}

/** Saves held-back records (password left out), replacing an older copy only when it differs. */
export async function holdRecords(db: KamkalimaDb, tenantId: string, entity: RosterEntity, held: { record: RosterRecord; code: string }[]): Promise<void> {
  if (held.length === 0) return;
  const rows = held.map(({ record, code }) => {
    const { password: _secret, ...kept } = record as unknown as Record<string, unknown>;
    return { tenant_id: tenantId, entity, sourced_id: record.sourcedId, code, record: JSON.stringify(kept) };
  });
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insertInto('held_record')
      .values(rows.slice(i, i + 1000))
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'entity', 'sourced_id'])
          .doUpdateSet({ code: sql.ref('excluded.code'), record: sql.ref('excluded.record') })
          .where(sql.raw<boolean>('(held_record.code, held_record.record) is distinct from (excluded.code, excluded.record)')),
      )
      .execute();
  }
}

/**
 * Moves the memberships among `where` that no longer hold (their class or member left Kamkalima,
 * or the member's school is not the class's) to the held records, with a warning each.
 */
async function demoteMemberships(db: KamkalimaDb, tenantId: string, column: 'member_sourced_id' | 'classroom_sourced_id', ids: readonly string[]): Promise<RosterIssue[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('class_membership as m')
    .leftJoin('classroom as c', (j) => j.onRef('c.tenant_id', '=', 'm.tenant_id').onRef('c.sourced_id', '=', 'm.classroom_sourced_id'))
    .leftJoin('teacher as t', (j) => j.onRef('t.tenant_id', '=', 'm.tenant_id').onRef('t.sourced_id', '=', 'm.member_sourced_id').on('m.role', '=', 'teacher'))
    .leftJoin('student as s', (j) => j.onRef('s.tenant_id', '=', 'm.tenant_id').onRef('s.sourced_id', '=', 'm.member_sourced_id').on('m.role', '=', 'student'))
    .select(['m.sourced_id', 'm.classroom_sourced_id', 'm.member_sourced_id', 'm.role', 'm.is_primary', 'c.school_sourced_id as class_school'])
    .select(sql<string | null>`coalesce(t.school_sourced_id, s.school_sourced_id)`.as('member_school'))
    .where('m.tenant_id', '=', tenantId)
    .where(anyOf(`m.${column}`, ids))
    .where(sql<boolean>`(c.sourced_id is null or coalesce(t.school_sourced_id, s.school_sourced_id) is distinct from c.school_sourced_id)`)
    .execute();
  if (rows.length === 0) return [];
  const issues: RosterIssue[] = [];
  const held: { record: RosterRecord; code: string }[] = [];
  for (const m of rows) {
    const issue = judgeMembership(m.sourced_id, m.classroom_sourced_id, m.member_sourced_id, m.role, m.class_school, m.member_school);
    if (!issue) continue;
    issues.push(issue);
    held.push({ record: enrollmentFromMembership(m, m.class_school), code: issue.code });
  }
  await holdRecords(db, tenantId, 'enrollments', held);
  await db.deleteFrom('class_membership').where('tenant_id', '=', tenantId).where(anyOf('sourced_id', rows.map((r) => r.sourced_id))).execute();
  return issues;
}

function judgeMembership(sourcedId: string, classSourcedId: string, userSourcedId: string, role: string, classSchool: string | null | undefined, memberSchool: string | null | undefined): RosterIssue | undefined {
  const where = { entity: 'enrollments' as const, sourcedId };
  if (!classSchool)
    return kamkalimaIssue('KAMKALIMA_ENROLLMENT_NOT_LINKED', `class ${classSourcedId} is not in Kamkalima (see its own issue), so ${userSourcedId} is not placed in it`, { ...where, field: 'classSourcedId' });
  if (!memberSchool)
    return kamkalimaIssue('KAMKALIMA_ENROLLMENT_NOT_LINKED', `user ${userSourcedId} is not a Kamkalima ${role} (see the user's own issue, or the user's role), so is not placed in class ${classSourcedId}`, { ...where, field: 'userSourcedId' });
  if (memberSchool !== classSchool)
    return kamkalimaIssue(
      'KAMKALIMA_ENROLLMENT_OTHER_SCHOOL',
      `class ${classSourcedId} is at school ${classSchool}, but ${userSourcedId} belongs to school ${memberSchool} in Kamkalima (a user belongs to one school, the first listed); the enrollment is ignored`,
      { ...where, field: 'schoolSourcedId' },
    );
  return undefined;
}

/** The rules of every entity Kamkalima consumes, in referential order. */
export function kamkalimaRules(context: RuleContext): { [E in Exclude<RosterEntity, 'demographics'>]: EntityRules<E> } {
  const { tenantId, schoolYear, known } = context;
  return {
    orgs: {
      entity: 'orgs',
      tables: ['school'],
      async judge(_db, orgs: readonly Org[]) {
        return orgs.map((org): Verdict =>
          org.type === 'school'
            ? { take: { table: 'school', values: { tenant_id: tenantId, sourced_id: org.sourcedId, name: org.name, identifier: org.identifier ?? null } }, warnings: [] }
            : { ignore: true },
        );
      },
      // A school that left takes its system teacher-admin account with it.
      async cascade(db, orgIds) {
        await db
          .deleteFrom('teacher_admin_account')
          .where('tenant_id', '=', tenantId)
          .where(anyOf('school_sourced_id', orgIds))
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('school as s').select('s.sourced_id').where('s.tenant_id', '=', tenantId).whereRef('s.sourced_id', '=', 'teacher_admin_account.school_sourced_id'))),
          )
          .execute();
        return [];
      },
    },

    academicSessions: {
      entity: 'academicSessions',
      tables: ['term'],
      async judge(_db, sessions: readonly AcademicSession[]) {
        return sessions.map((session): Verdict => {
          const year = Number(session.schoolYear) || Number(session.endDate.slice(0, 4));
          if (year !== schoolYear) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_SESSION_NOT_CURRENT_YEAR',
                `${session.type} "${session.title}" belongs to school year ${year}, not the current academic year (${schoolYear - 1}–${schoolYear}); Kamkalima ignores it`,
                { entity: 'academicSessions', sourcedId: session.sourcedId, field: 'schoolYear' },
              ),
            };
          }
          return {
            take: {
              table: 'term',
              values: {
                tenant_id: tenantId, sourced_id: session.sourcedId, title: session.title, kind: session.type, school_year: year,
                starts_on: session.startDate, ends_on: session.endDate, parent_sourced_id: session.parentSourcedId ?? null,
              },
            },
            warnings: [],
          };
        });
      },
    },

    courses: {
      entity: 'courses',
      tables: ['course'],
      async judge(db, courses: readonly Course[]) {
        const schools = await existing(db, 'school', tenantId, courses.map((c) => c.orgSourcedId));
        return courses.map((course): Verdict => {
          if (course.grades.length === 0) {
            return { hold: kamkalimaIssue('KAMKALIMA_COURSE_WITHOUT_GRADES', `course "${course.title}" has no grades: give it every grade its classes teach`, { entity: 'courses', sourcedId: course.sourcedId, field: 'grades' }) };
          }
          return {
            take: {
              table: 'course',
              values: {
                tenant_id: tenantId, sourced_id: course.sourcedId, title: course.title, code: course.courseCode ?? null,
                school_sourced_id: schools.has(course.orgSourcedId) ? course.orgSourcedId : null, grades: sortedGrades(course.grades),
              },
            },
            warnings: [],
          };
        });
      },
      // A course changed or left: its classrooms whose grades no longer fit (or whose course is
      // gone) are held back, and their memberships with them.
      async cascade(db, courseIds) {
        const rows = await db
          .selectFrom('classroom as c')
          .leftJoin('course as k', (j) => j.onRef('k.tenant_id', '=', 'c.tenant_id').onRef('k.sourced_id', '=', 'c.course_sourced_id'))
          .select(['c.sourced_id', 'c.title', 'c.code', 'c.course_sourced_id', 'c.school_sourced_id', 'c.grades', 'c.term_sourced_ids', 'k.grades as course_grades'])
          .where('c.tenant_id', '=', tenantId)
          .where(anyOf('c.course_sourced_id', courseIds))
          .where(sql<boolean>`(k.sourced_id is null or not (c.grades <@ k.grades))`)
          .execute();
        if (rows.length === 0) return [];
        const issues: RosterIssue[] = [];
        const held: { record: RosterRecord; code: string }[] = [];
        for (const r of rows) {
          const record: RosterClass = {
            sourcedId: r.sourced_id, status: 'active', dateLastModified: undefined, metadata: {},
            title: r.title, classCode: r.code ?? undefined, courseSourcedId: r.course_sourced_id, schoolSourcedId: r.school_sourced_id,
            grades: r.grades, termSourcedIds: r.term_sourced_ids, classType: 'scheduled', subjects: [], subjectCodes: [], periods: [],
          };
          const issue = classGradeIssue(record, r.course_grades);
          issues.push(issue);
          held.push({ record, code: issue.code });
        }
        await holdRecords(db, tenantId, 'classes', held);
        const ids = rows.map((r) => r.sourced_id);
        await db.deleteFrom('classroom').where('tenant_id', '=', tenantId).where(anyOf('sourced_id', ids)).execute();
        for (const id of ids) known?.classroom.set(id, null);
        return [...issues, ...(await demoteMemberships(db, tenantId, 'classroom_sourced_id', ids))];
      },
    },

    classes: {
      entity: 'classes',
      tables: ['classroom'],
      async judge(db, classes: readonly RosterClass[]) {
        const terms = await existing(db, 'term', tenantId, classes.flatMap((c) => c.termSourcedIds));
        const schools = await existing(db, 'school', tenantId, classes.map((c) => c.schoolSourcedId));
        const courseIds = classes.map((c) => c.courseSourcedId);
        const courses = new Map<string, GradeLevel[]>();
        if (courseIds.length > 0) {
          const rows = await db.selectFrom('course').select(['sourced_id', 'grades']).where('tenant_id', '=', tenantId).where(anyOf('sourced_id', courseIds)).execute();
          for (const r of rows) courses.set(r.sourced_id, r.grades);
        }
        return classes.map((klass): Verdict => {
          const where = { entity: 'classes' as const, sourcedId: klass.sourcedId };
          if (!klass.termSourcedIds.some((t) => terms.has(t))) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_CLASS_NOT_CURRENT_YEAR',
                `class "${klass.title}" runs in ${klass.termSourcedIds.join(', ') || 'no session'}, none of which is a session of the current academic year (${schoolYear - 1}–${schoolYear}); Kamkalima ignores it`,
                { ...where, field: 'termSourcedIds' },
              ),
            };
          }
          if (!schools.has(klass.schoolSourcedId)) {
            return { hold: kamkalimaIssue('KAMKALIMA_CLASS_SCHOOL_MISSING', `class "${klass.title}" is taught at ${klass.schoolSourcedId}, which is not an org of type school`, { ...where, field: 'schoolSourcedId' }) };
          }
          if (klass.grades.length === 0) {
            return { hold: kamkalimaIssue('KAMKALIMA_CLASS_WITHOUT_GRADES', `class "${klass.title}" has no grades: give it the grade(s) it teaches, within its course's grades`, { ...where, field: 'grades' }) };
          }
          const courseGrades = courses.get(klass.courseSourcedId);
          if (courseGrades === undefined || !klass.grades.every((g) => courseGrades.includes(g))) return { hold: classGradeIssue(klass, courseGrades ?? null) };
          return {
            take: {
              table: 'classroom',
              values: {
                tenant_id: tenantId, sourced_id: klass.sourcedId, title: klass.title, code: klass.classCode ?? null, course_sourced_id: klass.courseSourcedId,
                school_sourced_id: klass.schoolSourcedId, grades: sortedGrades(klass.grades), term_sourced_ids: klass.termSourcedIds,
              },
            },
            warnings: [],
          };
        });
      },
      cascade: (db, classIds) => demoteMemberships(db, tenantId, 'classroom_sourced_id', classIds),
    },

    users: {
      entity: 'users',
      tables: ['teacher', 'student', 'administrator'],
      async judge(db, users: readonly User[]) {
        const schools = await existing(db, 'school', tenantId, users.flatMap((u) => u.orgSourcedIds));
        return users.map((user): Verdict => {
          if (user.role !== 'teacher' && user.role !== 'student' && user.role !== 'administrator') return { ignore: true };
          const where = { entity: 'users' as const, sourcedId: user.sourcedId };
          const userSchools = [...new Set(user.orgSourcedIds.filter((o) => schools.has(o)))];
          if (userSchools.length === 0) {
            return { hold: kamkalimaIssue('KAMKALIMA_USER_WITHOUT_SCHOOL', `${user.role} ${user.username} belongs to no school (orgs: ${user.orgSourcedIds.join(', ') || 'none'}); add the school to the user's orgs`, { ...where, field: 'orgSourcedIds' }) };
          }
          const person = { tenant_id: tenantId, sourced_id: user.sourcedId, username: user.username, given_name: user.givenName, family_name: user.familyName, email: user.email ?? null, active: user.enabledUser };
          if (user.role === 'administrator') return { take: { table: 'administrator', values: { ...person, school_sourced_ids: userSchools } }, warnings: [] };
          if (user.role === 'student' && user.grades.length !== 1) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_STUDENT_GRADE_COUNT',
                `student ${user.username} has ${user.grades.length === 0 ? 'no grade' : `${user.grades.length} grades (${user.grades.join(', ')})`}; a Kamkalima student must have exactly one grade`,
                { ...where, field: 'grades' },
              ),
            };
          }
          const warnings =
            userSchools.length > 1
              ? [
                  kamkalimaIssue(
                    'KAMKALIMA_USER_SEVERAL_SCHOOLS',
                    `${user.role} ${user.username} is in ${userSchools.length} schools (${userSchools.join(', ')}); Kamkalima places them in the first, ${userSchools[0]}, only`,
                    { ...where, field: 'orgSourcedIds' },
                  ),
                ]
              : [];
          const values = { ...person, school_sourced_id: userSchools[0] };
          return user.role === 'teacher'
            ? { take: { table: 'teacher', values: { ...values, grades: sortedGrades(user.grades) } }, warnings }
            : { take: { table: 'student', values: { ...values, grade: user.grades[0] } }, warnings };
        });
      },
      cascade: (db, userIds) => demoteMemberships(db, tenantId, 'member_sourced_id', userIds),
    },

    enrollments: {
      entity: 'enrollments',
      tables: ['class_membership'],
      async judge(db, enrollments: readonly Enrollment[]) {
        const classIds = enrollments.map((e) => e.classSourcedId);
        const userIds = enrollments.map((e) => e.userSourcedId);
        const classSchool = new Map<string, string>();
        const memberSchool = new Map<string, string>();
        /** The school of each of `ids` the table holds: from what this session wrote, else asked. */
        const schoolsOf = async (table: keyof KnownSchools, ids: readonly string[], found: (id: string, school: string) => void) => {
          const ask: string[] = [];
          for (const id of new Set(ids)) {
            const school = known?.[table].get(id);
            if (school === undefined) ask.push(id);
            else if (school !== null) found(id, school);
          }
          if (ask.length === 0) return;
          for (const r of await db.selectFrom(table).select(['sourced_id', 'school_sourced_id']).where('tenant_id', '=', tenantId).where(anyOf('sourced_id', ask)).execute()) found(r.sourced_id, r.school_sourced_id);
        };
        if (enrollments.length > 0) {
          await schoolsOf('classroom', classIds, (id, school) => classSchool.set(id, school));
          for (const role of ['teacher', 'student'] as const) await schoolsOf(role, userIds, (id, school) => memberSchool.set(`${role}:${id}`, school));
        }
        return enrollments.map((e): Verdict => {
          if (e.role !== 'teacher' && e.role !== 'student') return { ignore: true };
          const issue = judgeMembership(e.sourcedId, e.classSourcedId, e.userSourcedId, e.role, classSchool.get(e.classSourcedId), memberSchool.get(`${e.role}:${e.userSourcedId}`));
          if (issue) return { hold: issue };
          return {
            take: { table: 'class_membership', values: { tenant_id: tenantId, sourced_id: e.sourcedId, classroom_sourced_id: e.classSourcedId, member_sourced_id: e.userSourcedId, role: e.role, is_primary: e.primary ?? null } },
            warnings: [],
          };
        });
      },
    },
  };
}

function classGradeIssue(klass: Pick<RosterClass, 'sourcedId' | 'title' | 'grades' | 'courseSourcedId'>, courseGrades: readonly string[] | null): RosterIssue {
  const where = { entity: 'classes' as const, sourcedId: klass.sourcedId };
  if (courseGrades === null) {
    return kamkalimaIssue('KAMKALIMA_CLASS_COURSE_MISSING', `class "${klass.title}" refers to course ${klass.courseSourcedId}, which is not in Kamkalima (missing, or held back by its own issue)`, { ...where, field: 'courseSourcedId' });
  }
  return kamkalimaIssue(
    'KAMKALIMA_CLASS_OUTSIDE_COURSE_GRADES',
    `class "${klass.title}" has grade(s) ${klass.grades.join(', ')}, not all within its course ${klass.courseSourcedId}'s grades (${courseGrades.join(', ')}); fix the class's or the course's grades`,
    { ...where, field: 'grades' },
  );
}
