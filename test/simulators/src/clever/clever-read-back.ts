import {
  GRADE_LEVELS,
  contentHash,
  normalizeGradeLevel,
  type Demographics,
  type Enrollment,
  type GradeLevel,
  type Org,
  type RosterClass,
  type RosterEntity,
  type RosterRecord,
  type User,
  type UserRole,
} from '@rosterbridge/core';
import { cleverGrade, cleverSubject, latest, type CanonicalRecordSource } from './clever-resources';

/**
 * A canonical roster as a Clever source reads it back once the Clever simulator has served it:
 * every record reduced to what Clever v3.0 can carry, and the fields Clever does not hold but a
 * source derives from other objects derived as Clever allows. Written from the Clever API's shape,
 * not from the adapter, so that tests compare the adapter with it. What is lost:
 *
 * - orgs: any org but the (first) district and its schools; a school's parent is the district; metadata.
 * - academicSessions: type (every term is a `term`), parent, dateLastModified; schoolYear follows from startDate.
 * - courses: schoolYear, subjects, subjectCodes, dateLastModified; grades are the first grades of the
 *   course's classes, and its org is their school when they all share one, else the district.
 * - classes: location, subjectCodes, every term but the first, every grade but the first; subjects
 *   become one of Clever's normalized subjects; classType is homeroom only for a `homeroom/advisory` subject.
 * - users: enabledUser (always true), userIds other than the SIS one (none for district administrators),
 *   sms, phone (but guardians'), grades (but students'), the agents of anyone but students and
 *   guardians, an administrator's schools when the district is among its orgs (a district admin holds
 *   the district only), identifiers of district admins and guardians; parents and relatives become
 *   guardians, whose orgs are their students' schools and whose names Clever keeps in one field
 *   (read back as first word, middle words, last word); a student's dateLastModified is the later of
 *   the user's and its demographics'.
 * - enrollments: sourcedId (made from class, role and user), begin and end dates, dateLastModified,
 *   roles other than teacher and student, a school other than the class's; the primary teacher is
 *   the one marked primary (else the first), the others `primary: false`.
 * - demographics: birthplace and residence status, all but the first race flag set (the others
 *   false), records of anyone but students, dateLastModified (the student's).
 */
export function cleverReadBack(roster: CanonicalRecordSource): CleverReadBack {
  return new CleverReadBack(roster);
}

/** The records a Clever source yields for a roster; see {@link cleverReadBack}. */
export class CleverReadBack {
  private readonly byEntity = new Map<RosterEntity, Map<string, RosterRecord>>();
  private readonly fromOriginal = new Map<RosterEntity, Map<string, string>>();

  constructor(roster: CanonicalRecordSource) {
    const all = <E extends RosterEntity>(entity: E) => [...roster.records(entity)] as RosterRecord<E>[];
    const orgs = all('orgs') as Org[];
    const district = orgs.find((o) => o.type === 'district');
    const districtId = district?.sourcedId ?? 'district-1';
    const schoolIds = new Set(orgs.filter((o) => o.type === 'school').map((o) => o.sourcedId));
    const users = all('users') as User[];
    const roleOf = new Map(users.map((u) => [u.sourcedId, u.role]));
    const demographics = new Map((all('demographics') as Demographics[]).map((d) => [d.sourcedId, d]));
    const classes = all('classes') as RosterClass[];
    const classById = new Map(classes.map((c) => [c.sourcedId, c]));
    const enrollmentsByClass = new Map<string, Enrollment[]>();
    for (const e of all('enrollments') as Enrollment[]) {
      if (!classById.has(e.classSourcedId)) continue;
      let list = enrollmentsByClass.get(e.classSourcedId);
      if (!list) enrollmentsByClass.set(e.classSourcedId, (list = []));
      list.push(e);
    }
    const schoolsOf = (u: User) => unique(u.orgSourcedIds.filter((id) => schoolIds.has(id)));
    const isContact = (role: UserRole) => role === 'guardian' || role === 'parent' || role === 'relative';
    const studentsOfContact = (u: User) => unique(u.agentSourcedIds.filter((id) => roleOf.get(id) === 'student'));
    const contactsOfStudent = new Map<string, string[]>();
    for (const u of users) {
      if (!isContact(u.role)) continue;
      for (const s of studentsOfContact(u)) {
        let list = contactsOfStudent.get(s);
        if (!list) contactsOfStudent.set(s, (list = []));
        list.push(u.sourcedId);
      }
    }
    const studentSchools = new Map(users.filter((u) => u.role === 'student').map((u) => [u.sourcedId, schoolsOf(u)]));
    const base = (r: RosterRecord, dateLastModified: Date | undefined) => ({
      sourcedId: r.sourcedId,
      status: 'active' as const,
      dateLastModified,
      metadata: {},
    });
    const firstGrade = (grades: readonly GradeLevel[]): GradeLevel[] => {
      const g = grades[0] ? normalizeGradeLevel(cleverGrade(grades[0])) : undefined;
      return g ? [g] : [];
    };
    const set = (entity: RosterEntity, originalId: string, record: RosterRecord | undefined) => {
      if (!record) return;
      let map = this.byEntity.get(entity);
      if (!map) this.byEntity.set(entity, (map = new Map()));
      map.set(record.sourcedId, record);
      let ids = this.fromOriginal.get(entity);
      if (!ids) this.fromOriginal.set(entity, (ids = new Map()));
      ids.set(originalId, record.sourcedId);
    };

    for (const o of orgs) {
      if (o === district)
        set('orgs', o.sourcedId, { ...base(o, o.dateLastModified), name: o.name, type: 'district', ...opt('identifier', o.identifier) } as RosterRecord);
      else if (o.type === 'school')
        set('orgs', o.sourcedId, {
          ...base(o, o.dateLastModified),
          name: o.name,
          type: 'school',
          ...opt('identifier', o.identifier),
          parentSourcedId: districtId,
        } as RosterRecord);
    }
    for (const s of all('academicSessions')) {
      set('academicSessions', s.sourcedId, {
        ...base(s, undefined),
        title: s.title,
        type: 'term',
        startDate: s.startDate,
        endDate: s.endDate,
        schoolYear: schoolYearOf(s.startDate),
      } as RosterRecord);
    }
    const readClasses = classes.map((k) => {
      const subject = k.classType === 'homeroom' ? 'homeroom/advisory' : cleverSubject(k.subjects);
      return {
        ...base(k, k.dateLastModified),
        title: k.title,
        grades: firstGrade(k.grades),
        courseSourcedId: k.courseSourcedId,
        ...opt('classCode', k.classCode),
        classType: subject === 'homeroom/advisory' ? 'homeroom' : 'scheduled',
        schoolSourcedId: k.schoolSourcedId,
        termSourcedIds: k.termSourcedIds.slice(0, 1),
        subjects: subject ? [subject] : [],
        subjectCodes: [],
        periods: k.periods
          .join(', ')
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      } as RosterClass;
    });
    for (const c of all('courses')) {
      const mine = readClasses.filter((k) => k.courseSourcedId === c.sourcedId);
      const schools = unique(mine.map((k) => k.schoolSourcedId));
      const grades = new Set(mine.flatMap((k) => k.grades));
      set('courses', c.sourcedId, {
        ...base(c, undefined),
        title: c.title,
        ...opt('courseCode', c.courseCode),
        grades: GRADE_LEVELS.filter((g) => grades.has(g)),
        orgSourcedId: schools.length === 1 ? schools[0]! : districtId,
        subjects: [],
        subjectCodes: [],
      } as RosterRecord);
    }
    for (const k of readClasses) set('classes', k.sourcedId, k);

    for (const u of users) {
      const sisId = u.userIds.find((id) => id.type.toUpperCase() === 'SIS')?.identifier;
      const demo = u.role === 'student' ? demographics.get(u.sourcedId) : undefined;
      const districtAdmin = u.role === 'administrator' && u.orgSourcedIds.includes(districtId);
      const contact = isContact(u.role);
      const role: UserRole = contact ? 'guardian' : u.role === 'administrator' ? 'administrator' : u.role;
      let givenName = u.givenName;
      let familyName = u.familyName;
      let middleName = u.middleName;
      if (contact) {
        const words = [u.givenName, u.middleName, u.familyName].filter(Boolean).join(' ').split(/\s+/).filter(Boolean);
        givenName = words.length > 1 ? words[0]! : '';
        familyName = words[words.length - 1] ?? '';
        middleName = words.length > 2 ? words.slice(1, -1).join(' ') : undefined;
      }
      const agents = contact ? studentsOfContact(u) : u.role === 'student' ? [...(contactsOfStudent.get(u.sourcedId) ?? [])].sort() : [];
      const orgSourcedIds = districtAdmin
        ? [districtId]
        : contact
          ? ((s) => (s.length > 0 ? s : [districtId]))(unique(agents.flatMap((a) => studentSchools.get(a) ?? [])).sort())
          : schoolsOf(u);
      const withCredentials = !districtAdmin && !contact;
      set('users', u.sourcedId, {
        ...base(u, latest(u.dateLastModified, demo?.dateLastModified)),
        enabledUser: true,
        orgSourcedIds,
        role,
        username: (withCredentials && u.username) || u.email || '',
        userIds: sisId && !districtAdmin ? [{ type: 'SIS', identifier: sisId }] : [],
        givenName,
        familyName,
        ...opt('middleName', middleName || undefined),
        ...opt('identifier', districtAdmin || contact ? undefined : u.identifier),
        ...opt('email', u.email),
        ...opt('phone', contact ? u.phone : undefined),
        agentSourcedIds: agents,
        grades: u.role === 'student' ? firstGrade(u.grades) : [],
      } as RosterRecord);
    }

    for (const [classId, enrollments] of enrollmentsByClass) {
      const klass = classById.get(classId)!;
      const teachers = enrollments.filter((e) => e.role === 'teacher');
      const primary = (teachers.find((e) => e.primary === true) ?? teachers[0])?.userSourcedId;
      for (const e of enrollments) {
        if (e.role !== 'teacher' && e.role !== 'student') continue;
        set('enrollments', e.sourcedId, {
          sourcedId: `${classId}:${e.role}:${e.userSourcedId}`,
          status: 'active',
          dateLastModified: undefined,
          metadata: {},
          classSourcedId: classId,
          schoolSourcedId: klass.schoolSourcedId,
          userSourcedId: e.userSourcedId,
          role: e.role,
          ...opt('primary', e.role === 'teacher' ? e.userSourcedId === primary : undefined),
        } as RosterRecord);
      }
    }

    const RACE_FLAGS = [
      'demographicRaceTwoOrMoreRaces',
      'americanIndianOrAlaskaNative',
      'asian',
      'blackOrAfricanAmerican',
      'nativeHawaiianOrOtherPacificIslander',
      'white',
    ] as const;
    const userById = new Map(users.map((u) => [u.sourcedId, u]));
    for (const d of demographics.values()) {
      const user = userById.get(d.sourcedId);
      if (!user || user.role !== 'student') continue;
      const race = RACE_FLAGS.find((flag) => d[flag] === true);
      if (!d.birthDate && !d.sex && !race && d.hispanicOrLatinoEthnicity === undefined) continue;
      const read: Record<string, unknown> = { ...base(d, latest(user.dateLastModified, d.dateLastModified)), ...opt('birthDate', d.birthDate) };
      if (d.sex) read.sex = d.sex;
      if (race) for (const flag of RACE_FLAGS) read[flag] = flag === race;
      if (d.hispanicOrLatinoEthnicity !== undefined) read.hispanicOrLatinoEthnicity = d.hispanicOrLatinoEthnicity;
      set('demographics', d.sourcedId, read as unknown as RosterRecord);
    }
  }

  /** Every record of `entity` the Clever source yields. */
  records<E extends RosterEntity>(entity: E): RosterRecord<E>[] {
    return [...(this.byEntity.get(entity)?.values() ?? [])] as RosterRecord<E>[];
  }

  /** What becomes of one record of the roster (by its sourcedId there); undefined: Clever cannot carry it. */
  of<E extends RosterEntity>(entity: E, record: RosterRecord<E>): RosterRecord<E> | undefined {
    const id = this.fromOriginal.get(entity)?.get(record.sourcedId);
    return id === undefined ? undefined : (this.byEntity.get(entity)!.get(id) as RosterRecord<E>);
  }

  /**
   * What a delta read yields after `this` became `after`: records created or changed in content
   * (dateLastModified aside), and records gone as `tobedeleted` at `deletedAt`, in sourcedId order.
   */
  changesTo<E extends RosterEntity>(after: CleverReadBack, entity: E, deletedAt: Date): RosterRecord<E>[] {
    const was = this.byEntity.get(entity) ?? new Map<string, RosterRecord>();
    const now = after.byEntity.get(entity) ?? new Map<string, RosterRecord>();
    const out: RosterRecord[] = [];
    for (const id of [...new Set([...was.keys(), ...now.keys()])].sort()) {
      const b = was.get(id);
      const a = now.get(id);
      if (a && (!b || contentHash(a) !== contentHash(b))) out.push(a);
      else if (b && !a) out.push({ ...b, status: 'tobedeleted', dateLastModified: deletedAt });
    }
    return out as RosterRecord<E>[];
  }
}

function schoolYearOf(startDate: string): string {
  const year = Number(startDate.slice(0, 4));
  return String(Number(startDate.slice(5, 7)) >= 7 ? year + 1 : year);
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
