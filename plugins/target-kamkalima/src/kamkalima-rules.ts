import { type Insertable, sql } from 'kysely';
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
import type {
  AdministratorTable,
  ClassroomTable,
  KamkalimaDatabase,
  KamkalimaDb,
  KamkalimaRecordTable,
  StudentTable,
  TeacherTable,
} from './kamkalima-database';
import { type KamkalimaIssueCode, kamkalimaIssue } from './kamkalima-issues';
import { type AcademicYear, sessionInAcademicYear } from './kamkalima-settings';

/** A row of a Kamkalima table, with the table it goes to. */
export type KamkalimaRow = { [T in KamkalimaRecordTable]: { table: T; values: Insertable<KamkalimaDatabase[T]> } }[KamkalimaRecordTable];

/** A row of a table whose rows have a {@link Placement}: a classroom, a teacher or a student. */
export type PlacedRow = Extract<KamkalimaRow, { table: keyof KnownPlacements }>;

/** Whether rows of `table` have a {@link Placement} (classrooms, teachers, students). */
export function isPlacedTable(table: KamkalimaRecordTable): table is keyof KnownPlacements {
  return table === 'classroom' || table === 'teacher' || table === 'student';
}

/** Whether `row` goes to a table whose rows have a {@link Placement}. */
export function isPlaced(row: KamkalimaRow): row is PlacedRow {
  return isPlacedTable(row.table);
}

/** The warning codes of records Kamkalima has no place for, reported grouped per batch (see {@link Verdict}). */
export type KamkalimaSkipCode = Extract<
  KamkalimaIssueCode,
  'KAMKALIMA_ORG_NOT_SCHOOL' | 'KAMKALIMA_USER_ROLE_NOT_IMPORTED' | 'KAMKALIMA_ENROLLMENT_ROLE_NOT_IMPORTED' | 'KAMKALIMA_ENTITY_NOT_IMPORTED'
>;

/**
 * What a product rule makes of one record: taken (with warnings that keep it), held back (an issue
 * says why; kept in `held_record` and judged again once what it depends on changes), or skipped
 * (something Kamkalima has no place for: a district org, a guardian, an administrator enrollment;
 * counted as skipped and reported in one warning per reason with examples).
 */
export type Verdict = { take: KamkalimaRow; warnings: RosterIssue[] } | { hold: RosterIssue } | { skip: KamkalimaSkipCode };

/** The rules of one entity: how records are judged, where they go, and what else moves with them. */
export interface EntityRules<E extends RosterEntity = RosterEntity> {
  entity: E;
  /** The tables a record of this entity may live in. */
  tables: readonly KamkalimaRecordTable[];
  judge(db: KamkalimaDb, records: readonly RosterRecord<E>[]): Promise<Verdict[]>;
  /** After records of this entity were written, held or removed: moves dependants that no longer hold. */
  cascade?(db: KamkalimaDb, sourcedIds: readonly string[]): Promise<RosterIssue[]>;
}

/** The rules of each entity Kamkalima uses, typed by it: `rules[entity]` judges that entity's records. */
export type KamkalimaRules = { [E in RosterEntity]?: EntityRules<E> };

/** What the rules need to know of the tenant. */
export interface RuleContext {
  tenantId: string;
  /** The academic year in use, with its dates. */
  year: AcademicYear;
  /** The school and grades of rows this session wrote (null: removed); see {@link KnownPlacements}. */
  known?: KnownPlacements;
}

/** Where a classroom, teacher or student is in Kamkalima: its school and its grade(s). */
export interface Placement {
  school: string;
  grades: readonly string[];
}

/**
 * The placement of each classroom, teacher and student row a session wrote (null where it removed
 * one), kept for the session's later batches: a first sync's enrollments name the classes and users
 * its earlier batches wrote, and need not look them up. Ids not here (rows of earlier runs) are
 * looked up. Every path that writes or deletes such a row updates it.
 */
export type KnownPlacements = Record<'classroom' | 'teacher' | 'student', Map<string, Placement | null>>;

export function knownPlacements(): KnownPlacements {
  return { classroom: new Map(), teacher: new Map(), student: new Map() };
}

/** How many distinct placements a session shares before it stops sharing new ones. */
const SHARED_PLACEMENTS = 10_000;

/**
 * The placement a classroom, teacher or student row gives (`grades`, or a student's one `grade`).
 * With `shared`, equal placements are one object: a district has a few hundred (school, grades)
 * pairs, while a first sync remembers one placement per row written (126,000 in the large
 * benchmark, 12 MB live, which the garbage collector's headroom made 50 MB of peak memory).
 */
export function placementOf(
  row: { school_sourced_id: string; grades: readonly GradeLevel[] } | { school_sourced_id: string; grade: GradeLevel },
  shared?: Map<string, Placement>,
): Placement {
  const school = row.school_sourced_id;
  const grades = 'grades' in row ? row.grades : [row.grade];
  if (!shared) return { school, grades };
  const key = `${school}\u0000${grades.join('\u0000')}`;
  const found = shared.get(key);
  if (found) return found;
  const placement = { school, grades };
  if (shared.size < SHARED_PLACEMENTS) shared.set(key, placement);
  return placement;
}

/** `column = any(ids)`, for a list of sourcedIds. */
export function anyOf(column: string, ids: readonly string[]) {
  return sql<boolean>`${sql.ref(column)} = any(${[...ids]}::text[])`;
}

function sortedGrades(grades: readonly GradeLevel[]): GradeLevel[] {
  return [...new Set(grades)].sort((a, b) => GRADE_LEVELS.indexOf(a) - GRADE_LEVELS.indexOf(b));
}

async function existing(db: KamkalimaDb, table: KamkalimaRecordTable, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom(table).select('sourced_id').where('tenant_id', '=', tenantId).where(anyOf('sourced_id', ids)).execute();
  return new Set(rows.map((r) => r.sourced_id));
}

/** The sourcedIds among `ids` that `table` does not hold. */
async function missing(db: KamkalimaDb, table: KamkalimaRecordTable, tenantId: string, ids: readonly string[]): Promise<string[]> {
  const held = await existing(db, table, tenantId, ids);
  return [...new Set(ids)].filter((id) => !held.has(id));
}

/**
 * Whether a member's grades are incompatible with a class's (the seed: grades must be "compatible
 * with the grades in each of the 3 components [Courses, Classes, and Users]"): a student's one
 * grade must be among the class's; a teacher's grades must share one with the class's. A teacher
 * with no grades is not judged: the seed lets a teacher have grades ("can have"), it does not
 * require them.
 */
export function gradesIncompatible(role: 'teacher' | 'student', memberGrades: readonly string[], classGrades: readonly string[]): boolean {
  if (role === 'teacher' && memberGrades.length === 0) return false;
  return !memberGrades.some((g) => classGrades.includes(g));
}

/**
 * Builds the held-back form of an enrollment from its membership row (when a class or user it
 * links leaves Kamkalima): enough for the enrollment rules to judge it again.
 */
function enrollmentFromMembership(
  m: { sourced_id: string; classroom_sourced_id: string; member_sourced_id: string; role: 'teacher' | 'student'; is_primary: boolean | null },
  schoolSourcedId: string | null,
): Enrollment {
  return {
    sourcedId: m.sourced_id,
    status: 'active',
    dateLastModified: undefined,
    metadata: {},
    classSourcedId: m.classroom_sourced_id,
    userSourcedId: m.member_sourced_id,
    schoolSourcedId: schoolSourcedId ?? '',
    role: m.role,
    primary: m.is_primary ?? undefined,
  };
}

/** The classroom columns a held-back class is rebuilt from. */
const CLASSROOM_COLUMNS = ['sourced_id', 'title', 'code', 'course_sourced_id', 'school_sourced_id', 'grades', 'term_sourced_ids'] as const;

/** Builds the held-back form of a class from its classroom row, with the terms it names. */
function classFromRow(
  r: Pick<ClassroomTable, 'sourced_id' | 'title' | 'code' | 'course_sourced_id' | 'school_sourced_id' | 'grades'>,
  termSourcedIds: string[],
): RosterClass {
  return {
    sourcedId: r.sourced_id,
    status: 'active',
    dateLastModified: undefined,
    metadata: {},
    title: r.title,
    classCode: r.code ?? undefined,
    courseSourcedId: r.course_sourced_id,
    schoolSourcedId: r.school_sourced_id,
    grades: r.grades,
    termSourcedIds,
    classType: 'scheduled',
    subjects: [],
    subjectCodes: [],
    periods: [],
  };
}

/** Builds the held-back form of a user from its teacher, student or administrator row, in the schools given. */
function userFromRow(role: 'teacher' | 'student' | 'administrator', r: TeacherTable | StudentTable | AdministratorTable, orgSourcedIds: string[]): User {
  return {
    sourcedId: r.sourced_id,
    status: 'active',
    dateLastModified: undefined,
    metadata: {},
    enabledUser: r.active,
    orgSourcedIds,
    role,
    username: r.username,
    userIds: [],
    givenName: r.given_name,
    familyName: r.family_name,
    email: r.email ?? undefined,
    agentSourcedIds: [],
    grades: 'grades' in r ? r.grades : 'grade' in r && r.grade ? [r.grade] : [],
  };
}

/** The `held_record` row of a held-back record: the record as kept, its password left out. */
export function heldRecordRow(tenantId: string, entity: RosterEntity, record: RosterRecord, code: string) {
  const { password: _secret, ...kept } = record as unknown as Record<string, unknown>;
  return { tenant_id: tenantId, entity, sourced_id: record.sourcedId, code, record: kept };
}

/** Saves held-back records (password left out), replacing an older copy only when it differs. */
export async function holdRecords(db: KamkalimaDb, tenantId: string, entity: RosterEntity, held: { record: RosterRecord; code: string }[]): Promise<void> {
  if (held.length === 0) return;
  const rows = held.map(({ record, code }) => {
    const row = heldRecordRow(tenantId, entity, record, code);
    return { ...row, record: JSON.stringify(row.record) };
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
 * the member's school is not the class's, or their grades no longer fit) to the held records, with
 * an issue each.
 */
async function demoteMemberships(
  db: KamkalimaDb,
  tenantId: string,
  column: 'member_sourced_id' | 'classroom_sourced_id',
  ids: readonly string[],
): Promise<RosterIssue[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('class_membership as m')
    .leftJoin('classroom as c', (j) => j.onRef('c.tenant_id', '=', 'm.tenant_id').onRef('c.sourced_id', '=', 'm.classroom_sourced_id'))
    .leftJoin('teacher as t', (j) => j.onRef('t.tenant_id', '=', 'm.tenant_id').onRef('t.sourced_id', '=', 'm.member_sourced_id').on('m.role', '=', 'teacher'))
    .leftJoin('student as s', (j) => j.onRef('s.tenant_id', '=', 'm.tenant_id').onRef('s.sourced_id', '=', 'm.member_sourced_id').on('m.role', '=', 'student'))
    .select([
      'm.sourced_id',
      'm.classroom_sourced_id',
      'm.member_sourced_id',
      'm.role',
      'm.is_primary',
      'c.school_sourced_id as class_school',
      'c.grades as class_grades',
    ])
    .select(sql<string | null>`coalesce(t.school_sourced_id, s.school_sourced_id)`.as('member_school'))
    .select(sql<string[]>`coalesce(t.grades, array[s.grade])`.as('member_grades'))
    .where('m.tenant_id', '=', tenantId)
    .where(anyOf(`m.${column}`, ids))
    .where(
      sql<boolean>`(c.sourced_id is null or coalesce(t.school_sourced_id, s.school_sourced_id) is distinct from c.school_sourced_id
        or (m.role = 'student' and not (s.grade = any(c.grades)))
        or (m.role = 'teacher' and cardinality(t.grades) > 0 and not (t.grades && c.grades)))`,
    )
    .execute();
  if (rows.length === 0) return [];
  const issues: RosterIssue[] = [];
  const held: { record: RosterRecord; code: string }[] = [];
  for (const m of rows) {
    // A classroom joined has both (not null columns); neither when the class is not in Kamkalima.
    const klass = m.class_school && m.class_grades ? { school: m.class_school, grades: m.class_grades } : null;
    const member = m.member_school ? { school: m.member_school, grades: m.member_grades } : null;
    const issue = judgeMembership(m.sourced_id, m.classroom_sourced_id, m.member_sourced_id, m.role, klass, member);
    if (!issue) continue;
    issues.push(issue);
    held.push({ record: enrollmentFromMembership(m, m.class_school), code: issue.code });
  }
  await holdRecords(db, tenantId, 'enrollments', held);
  await db
    .deleteFrom('class_membership')
    .where('tenant_id', '=', tenantId)
    .where(
      anyOf(
        'sourced_id',
        held.map((h) => h.record.sourcedId),
      ),
    )
    .execute();
  return issues;
}

/** Why a teacher's or student's enrollment in a class cannot be a Kamkalima membership, or undefined when it can. */
function judgeMembership(
  sourcedId: string,
  classSourcedId: string,
  userSourcedId: string,
  role: 'teacher' | 'student',
  klass: Placement | null | undefined,
  member: Placement | null | undefined,
): RosterIssue | undefined {
  const where = { entity: 'enrollments' as const, sourcedId };
  if (!klass)
    return kamkalimaIssue(
      'KAMKALIMA_ENROLLMENT_NOT_LINKED',
      `class ${classSourcedId} is not in Kamkalima (see its own issue), so ${userSourcedId} is not placed in it until it is`,
      { ...where, field: 'classSourcedId' },
    );
  if (!member)
    return kamkalimaIssue(
      'KAMKALIMA_ENROLLMENT_NOT_LINKED',
      `user ${userSourcedId} is not a Kamkalima ${role} (see the user's own issue, or the user's role), so is not placed in class ${classSourcedId} until they are`,
      { ...where, field: 'userSourcedId' },
    );
  if (member.school !== klass.school)
    return kamkalimaIssue(
      'KAMKALIMA_ENROLLMENT_OTHER_SCHOOL',
      `class ${classSourcedId} is at school ${klass.school}, but ${userSourcedId} belongs to school ${member.school} in Kamkalima (a user belongs to one school, the first listed); the enrollment is ignored`,
      { ...where, field: 'schoolSourcedId' },
    );
  if (gradesIncompatible(role, member.grades, klass.grades))
    return kamkalimaIssue(
      'KAMKALIMA_ENROLLMENT_GRADE_MISMATCH',
      role === 'student'
        ? `student ${userSourcedId} is in grade ${member.grades.join(', ')}, which class ${classSourcedId} (grades ${klass.grades.join(', ')}) does not teach; fix the student's grade, the class's grades or the enrollment`
        : `teacher ${userSourcedId} teaches grades ${member.grades.join(', ')}, none of which class ${classSourcedId} (grades ${klass.grades.join(', ')}) has; fix the teacher's or the class's grades`,
      { ...where, field: 'userSourcedId' },
    );
  return undefined;
}

/** Holds back the classrooms among `rows` with `issue`, and the memberships in them. */
async function holdClassrooms(
  db: KamkalimaDb,
  tenantId: string,
  known: KnownPlacements | undefined,
  held: { record: RosterClass; issue: RosterIssue }[],
): Promise<RosterIssue[]> {
  if (held.length === 0) return [];
  await holdRecords(
    db,
    tenantId,
    'classes',
    held.map((h) => ({ record: h.record, code: h.issue.code })),
  );
  const ids = held.map((h) => h.record.sourcedId);
  await db.deleteFrom('classroom').where('tenant_id', '=', tenantId).where(anyOf('sourced_id', ids)).execute();
  for (const id of ids) known?.classroom.set(id, null);
  return [...held.map((h) => h.issue), ...(await demoteMemberships(db, tenantId, 'classroom_sourced_id', ids))];
}

/** The rules of every entity Kamkalima consumes, in referential order. */
export function kamkalimaRules(context: RuleContext): { [E in Exclude<RosterEntity, 'demographics'>]: EntityRules<E> } {
  const { tenantId, year, known } = context;
  const schoolYear = year.schoolYear;
  return {
    orgs: {
      entity: 'orgs',
      tables: ['school'],
      async judge(_db, orgs: readonly Org[]) {
        return orgs.map((org): Verdict =>
          org.type === 'school'
            ? {
                take: { table: 'school', values: { tenant_id: tenantId, sourced_id: org.sourcedId, name: org.name, identifier: org.identifier ?? null } },
                warnings: [],
              }
            : { skip: 'KAMKALIMA_ORG_NOT_SCHOOL' },
        );
      },
      // A school that left takes with it its system teacher-admin account and what is placed in it:
      // classrooms and users there are held back (and taken again if it returns), courses lose it.
      async cascade(db, orgIds) {
        const gone = await missing(db, 'school', tenantId, orgIds);
        if (gone.length === 0) return [];
        await db.deleteFrom('teacher_admin_account').where('tenant_id', '=', tenantId).where(anyOf('school_sourced_id', gone)).execute();
        await db.updateTable('course').set({ school_sourced_id: null }).where('tenant_id', '=', tenantId).where(anyOf('school_sourced_id', gone)).execute();
        const classrooms = await db
          .selectFrom('classroom')
          .select(CLASSROOM_COLUMNS)
          .where('tenant_id', '=', tenantId)
          .where(anyOf('school_sourced_id', gone))
          .execute();
        const issues = await holdClassrooms(
          db,
          tenantId,
          known,
          classrooms.map((r) => ({
            record: classFromRow(r, r.term_sourced_ids),
            issue: kamkalimaIssue(
              'KAMKALIMA_CLASS_SCHOOL_MISSING',
              `class "${r.title}" is taught at ${r.school_sourced_id}, which is no longer a Kamkalima school`,
              { entity: 'classes', sourcedId: r.sourced_id, field: 'schoolSourcedId' },
            ),
          })),
        );
        const held: { record: RosterRecord; code: string }[] = [];
        const removed: string[] = [];
        for (const role of ['teacher', 'student'] as const) {
          const people = await db.selectFrom(role).selectAll().where('tenant_id', '=', tenantId).where(anyOf('school_sourced_id', gone)).execute();
          for (const r of people) {
            const issue = kamkalimaIssue(
              'KAMKALIMA_USER_WITHOUT_SCHOOL',
              `${role} ${r.username}'s school ${r.school_sourced_id} is no longer a Kamkalima school`,
              { entity: 'users', sourcedId: r.sourced_id, field: 'orgSourcedIds' },
            );
            issues.push(issue);
            held.push({ record: userFromRow(role, r, [r.school_sourced_id]), code: issue.code });
            known?.[role].set(r.sourced_id, null);
          }
          if (people.length > 0)
            await db
              .deleteFrom(role)
              .where('tenant_id', '=', tenantId)
              .where(
                anyOf(
                  'sourced_id',
                  people.map((r) => r.sourced_id),
                ),
              )
              .execute();
          removed.push(...people.map((r) => r.sourced_id));
        }
        const administrators = await db
          .selectFrom('administrator')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where(sql<boolean>`school_sourced_ids && ${gone}::text[]`)
          .execute();
        for (const r of administrators) {
          const left = r.school_sourced_ids.filter((id) => !gone.includes(id));
          if (left.length > 0) {
            await db
              .updateTable('administrator')
              .set({ school_sourced_ids: left })
              .where('tenant_id', '=', tenantId)
              .where('sourced_id', '=', r.sourced_id)
              .execute();
            continue;
          }
          const issue = kamkalimaIssue('KAMKALIMA_USER_WITHOUT_SCHOOL', `administrator ${r.username}'s schools are no longer Kamkalima schools`, {
            entity: 'users',
            sourcedId: r.sourced_id,
            field: 'orgSourcedIds',
          });
          issues.push(issue);
          held.push({ record: userFromRow('administrator', r, r.school_sourced_ids), code: issue.code });
          await db.deleteFrom('administrator').where('tenant_id', '=', tenantId).where('sourced_id', '=', r.sourced_id).execute();
        }
        await holdRecords(db, tenantId, 'users', held);
        return [...issues, ...(await demoteMemberships(db, tenantId, 'member_sourced_id', removed))];
      },
    },

    academicSessions: {
      entity: 'academicSessions',
      tables: ['term'],
      async judge(db, sessions: readonly AcademicSession[]) {
        const current = new Set(sessions.filter((s) => sessionInAcademicYear(s, year)).map((s) => s.sourcedId));
        const parents = await existing(
          db,
          'term',
          tenantId,
          sessions.flatMap((s) => (s.parentSourcedId ? [s.parentSourcedId] : [])),
        );
        return sessions.map((session): Verdict => {
          if (!current.has(session.sourcedId)) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_SESSION_NOT_CURRENT_YEAR',
                `${session.type} "${session.title}" runs ${session.startDate} to ${session.endDate}, outside the current academic year (${year.startsOn} to ${year.endsOn}); Kamkalima ignores it`,
                { entity: 'academicSessions', sourcedId: session.sourcedId, field: 'startDate' },
              ),
            };
          }
          const parent =
            session.parentSourcedId && (parents.has(session.parentSourcedId) || current.has(session.parentSourcedId)) ? session.parentSourcedId : null;
          return {
            take: {
              table: 'term',
              values: {
                tenant_id: tenantId,
                sourced_id: session.sourcedId,
                title: session.title,
                kind: session.type,
                school_year: schoolYear,
                starts_on: session.startDate,
                ends_on: session.endDate,
                parent_sourced_id: parent,
              },
            },
            warnings: [],
          };
        });
      },
      // A term that left: its child terms lose their parent, classrooms lose it from their terms,
      // and a classroom left with no term of the current year is held back.
      async cascade(db, sessionIds) {
        const gone = await missing(db, 'term', tenantId, sessionIds);
        if (gone.length === 0) return [];
        await db.updateTable('term').set({ parent_sourced_id: null }).where('tenant_id', '=', tenantId).where(anyOf('parent_sourced_id', gone)).execute();
        const classrooms = await db
          .selectFrom('classroom')
          .select(CLASSROOM_COLUMNS)
          .where('tenant_id', '=', tenantId)
          .where(sql<boolean>`term_sourced_ids && ${gone}::text[]`)
          .execute();
        const held: { record: RosterClass; issue: RosterIssue }[] = [];
        for (const r of classrooms) {
          const left = r.term_sourced_ids.filter((id) => !gone.includes(id));
          if (left.length > 0) {
            await db
              .updateTable('classroom')
              .set({ term_sourced_ids: left })
              .where('tenant_id', '=', tenantId)
              .where('sourced_id', '=', r.sourced_id)
              .execute();
            continue;
          }
          held.push({
            record: classFromRow(r, r.term_sourced_ids),
            issue: kamkalimaIssue(
              'KAMKALIMA_CLASS_NOT_CURRENT_YEAR',
              `class "${r.title}" runs in ${r.term_sourced_ids.join(', ')}, none of which is now a session of the current academic year; Kamkalima ignores it`,
              {
                entity: 'classes',
                sourcedId: r.sourced_id,
                field: 'termSourcedIds',
              },
            ),
          });
        }
        return holdClassrooms(db, tenantId, known, held);
      },
    },

    courses: {
      entity: 'courses',
      tables: ['course'],
      async judge(db, courses: readonly Course[]) {
        const schools = await existing(
          db,
          'school',
          tenantId,
          courses.map((c) => c.orgSourcedId),
        );
        return courses.map((course): Verdict => {
          if (course.grades.length === 0) {
            return {
              hold: kamkalimaIssue('KAMKALIMA_COURSE_WITHOUT_GRADES', `course "${course.title}" has no grades: give it every grade its classes teach`, {
                entity: 'courses',
                sourcedId: course.sourcedId,
                field: 'grades',
              }),
            };
          }
          return {
            take: {
              table: 'course',
              values: {
                tenant_id: tenantId,
                sourced_id: course.sourcedId,
                title: course.title,
                code: course.courseCode ?? null,
                school_sourced_id: schools.has(course.orgSourcedId) ? course.orgSourcedId : null,
                grades: sortedGrades(course.grades),
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
          .select([
            'c.sourced_id',
            'c.title',
            'c.code',
            'c.course_sourced_id',
            'c.school_sourced_id',
            'c.grades',
            'c.term_sourced_ids',
            'k.grades as course_grades',
          ])
          .where('c.tenant_id', '=', tenantId)
          .where(anyOf('c.course_sourced_id', courseIds))
          .where(sql<boolean>`(k.sourced_id is null or not (c.grades <@ k.grades))`)
          .execute();
        return holdClassrooms(
          db,
          tenantId,
          known,
          rows.map((r) => {
            const record = classFromRow(r, r.term_sourced_ids);
            return { record, issue: classGradeIssue(record, r.course_grades) };
          }),
        );
      },
    },

    classes: {
      entity: 'classes',
      tables: ['classroom'],
      async judge(db, classes: readonly RosterClass[]) {
        const terms = await existing(
          db,
          'term',
          tenantId,
          classes.flatMap((c) => c.termSourcedIds),
        );
        const schools = await existing(
          db,
          'school',
          tenantId,
          classes.map((c) => c.schoolSourcedId),
        );
        const courseIds = classes.map((c) => c.courseSourcedId);
        const courses = new Map<string, GradeLevel[]>();
        if (courseIds.length > 0) {
          const rows = await db
            .selectFrom('course')
            .select(['sourced_id', 'grades'])
            .where('tenant_id', '=', tenantId)
            .where(anyOf('sourced_id', courseIds))
            .execute();
          for (const r of rows) courses.set(r.sourced_id, r.grades);
        }
        return classes.map((klass): Verdict => {
          const where = { entity: 'classes' as const, sourcedId: klass.sourcedId };
          const currentTerms = [...new Set(klass.termSourcedIds.filter((t) => terms.has(t)))];
          if (currentTerms.length === 0) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_CLASS_NOT_CURRENT_YEAR',
                `class "${klass.title}" runs in ${klass.termSourcedIds.join(', ') || 'no session'}, none of which is a session of the current academic year (${schoolYear - 1}–${schoolYear}); Kamkalima ignores it`,
                { ...where, field: 'termSourcedIds' },
              ),
            };
          }
          if (!schools.has(klass.schoolSourcedId)) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_CLASS_SCHOOL_MISSING',
                `class "${klass.title}" is taught at ${klass.schoolSourcedId}, which is not an org of type school`,
                { ...where, field: 'schoolSourcedId' },
              ),
            };
          }
          if (klass.grades.length === 0) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_CLASS_WITHOUT_GRADES',
                `class "${klass.title}" has no grades: give it the grade(s) it teaches, within its course's grades`,
                { ...where, field: 'grades' },
              ),
            };
          }
          const courseGrades = courses.get(klass.courseSourcedId);
          if (courseGrades === undefined || !klass.grades.every((g) => courseGrades.includes(g))) return { hold: classGradeIssue(klass, courseGrades ?? null) };
          return {
            take: {
              table: 'classroom',
              values: {
                tenant_id: tenantId,
                sourced_id: klass.sourcedId,
                title: klass.title,
                code: klass.classCode ?? null,
                course_sourced_id: klass.courseSourcedId,
                school_sourced_id: klass.schoolSourcedId,
                grades: sortedGrades(klass.grades),
                term_sourced_ids: currentTerms,
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
        const schools = await existing(
          db,
          'school',
          tenantId,
          users.flatMap((u) => u.orgSourcedIds),
        );
        return users.map((user): Verdict => {
          if (user.role !== 'teacher' && user.role !== 'student' && user.role !== 'administrator') return { skip: 'KAMKALIMA_USER_ROLE_NOT_IMPORTED' };
          const where = { entity: 'users' as const, sourcedId: user.sourcedId };
          const userSchools = [...new Set(user.orgSourcedIds.filter((o) => schools.has(o)))];
          if (userSchools.length === 0) {
            return {
              hold: kamkalimaIssue(
                'KAMKALIMA_USER_WITHOUT_SCHOOL',
                `${user.role} ${user.username} belongs to no school (orgs: ${user.orgSourcedIds.join(', ') || 'none'}); add the school to the user's orgs`,
                { ...where, field: 'orgSourcedIds' },
              ),
            };
          }
          const person = {
            tenant_id: tenantId,
            sourced_id: user.sourcedId,
            username: user.username,
            given_name: user.givenName,
            family_name: user.familyName,
            email: user.email ?? null,
            active: user.enabledUser,
          };
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
          // One school at least (else held above); a student has exactly one grade (else held above).
          const values = { ...person, school_sourced_id: userSchools[0]! };
          return user.role === 'teacher'
            ? { take: { table: 'teacher', values: { ...values, grades: sortedGrades(user.grades) } }, warnings }
            : { take: { table: 'student', values: { ...values, grade: user.grades[0]! } }, warnings };
        });
      },
      // A user changed or left: memberships that no longer hold are held back, and a teacher-admin
      // account assigned to a teacher Kamkalima no longer has is unassigned.
      async cascade(db, userIds) {
        await db
          .updateTable('teacher_admin_account')
          .set({ assigned_teacher_sourced_id: null, assigned_at: null, assigned_by: null })
          .where('tenant_id', '=', tenantId)
          .where(anyOf('assigned_teacher_sourced_id', userIds))
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('teacher as t')
                  .select('t.sourced_id')
                  .where('t.tenant_id', '=', tenantId)
                  .whereRef('t.sourced_id', '=', 'teacher_admin_account.assigned_teacher_sourced_id'),
              ),
            ),
          )
          .execute();
        return demoteMemberships(db, tenantId, 'member_sourced_id', userIds);
      },
    },

    enrollments: {
      entity: 'enrollments',
      tables: ['class_membership'],
      async judge(db, enrollments: readonly Enrollment[]) {
        const classIds = enrollments.map((e) => e.classSourcedId);
        const userIds = enrollments.map((e) => e.userSourcedId);
        const classPlacement = new Map<string, Placement>();
        const memberPlacement = new Map<string, Placement>();
        /** The placement of each of `ids` the table holds: from what this session wrote, else asked. */
        const placementsOf = async (table: keyof KnownPlacements, ids: readonly string[], found: (id: string, placement: Placement) => void) => {
          const ask: string[] = [];
          for (const id of new Set(ids)) {
            const placement = known?.[table].get(id);
            if (placement === undefined) ask.push(id);
            else if (placement !== null) found(id, placement);
          }
          if (ask.length === 0) return;
          const rows =
            table === 'student'
              ? await db
                  .selectFrom(table)
                  .select(['sourced_id', 'school_sourced_id', 'grade'])
                  .where('tenant_id', '=', tenantId)
                  .where(anyOf('sourced_id', ask))
                  .execute()
              : await db
                  .selectFrom(table)
                  .select(['sourced_id', 'school_sourced_id', 'grades'])
                  .where('tenant_id', '=', tenantId)
                  .where(anyOf('sourced_id', ask))
                  .execute();
          for (const r of rows) found(r.sourced_id, placementOf(r));
        };
        if (enrollments.length > 0) {
          await placementsOf('classroom', classIds, (id, placement) => classPlacement.set(id, placement));
          for (const role of ['teacher', 'student'] as const)
            await placementsOf(role, userIds, (id, placement) => memberPlacement.set(`${role}:${id}`, placement));
        }
        return enrollments.map((e): Verdict => {
          if (e.role !== 'teacher' && e.role !== 'student') return { skip: 'KAMKALIMA_ENROLLMENT_ROLE_NOT_IMPORTED' };
          const issue = judgeMembership(
            e.sourcedId,
            e.classSourcedId,
            e.userSourcedId,
            e.role,
            classPlacement.get(e.classSourcedId),
            memberPlacement.get(`${e.role}:${e.userSourcedId}`),
          );
          if (issue) return { hold: issue };
          return {
            take: {
              table: 'class_membership',
              values: {
                tenant_id: tenantId,
                sourced_id: e.sourcedId,
                classroom_sourced_id: e.classSourcedId,
                member_sourced_id: e.userSourcedId,
                role: e.role,
                is_primary: e.primary ?? null,
              },
            },
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
    return kamkalimaIssue(
      'KAMKALIMA_CLASS_COURSE_MISSING',
      `class "${klass.title}" refers to course ${klass.courseSourcedId}, which is not in Kamkalima (missing, or held back by its own issue)`,
      { ...where, field: 'courseSourcedId' },
    );
  }
  return kamkalimaIssue(
    'KAMKALIMA_CLASS_OUTSIDE_COURSE_GRADES',
    `class "${klass.title}" has grade(s) ${klass.grades.join(', ')}, not all within its course ${klass.courseSourcedId}'s grades (${courseGrades.join(', ')}); fix the class's or the course's grades`,
    { ...where, field: 'grades' },
  );
}
