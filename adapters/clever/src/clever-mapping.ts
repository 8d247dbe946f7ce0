import {
  GRADE_LEVELS,
  findUnresolvedReferences,
  issueFactory,
  normalizeGradeLevel,
  rosterIssue,
  ROSTER_ENTITY_ORDER,
  type AcademicSession,
  type Course,
  type Demographics,
  type Enrollment,
  type GradeLevel,
  type Org,
  type RosterClass,
  type RosterEntity,
  type RosterIssue,
  type RosterIssueCatalogue,
  type RosterRecord,
  type User,
  type UserRole,
} from '@rosterbridge/core';

/** A Clever v3.0 object (the inner `data` of a list item). */
export type CleverObject = { id: string } & Record<string, unknown>;

/** The Clever user roles, in the order a user with several is given one canonical role. */
export const CLEVER_USER_ROLES = ['student', 'teacher', 'staff', 'district_admin', 'contact'] as const;
export type CleverUserRole = (typeof CLEVER_USER_ROLES)[number];

/** A district as read from Clever, before mapping. */
export interface CleverDistrictData {
  districts: CleverObject[];
  schools: CleverObject[];
  terms: CleverObject[];
  courses: CleverObject[];
  sections: CleverObject[];
  /** Every user, once, whichever role lists it came from. */
  users: CleverObject[];
}

/** Canonical records of every entity. */
export type CanonicalRecords = { [E in RosterEntity]: RosterRecord<E>[] };

/** The Clever adapter's own issue codes. */
export const CleverIssueCodes = {
  CLEVER_MULTI_ROLE: { severity: 'warning', title: 'A Clever user has several roles; the canonical user keeps one' },
  CLEVER_MISSING_FIELD: { severity: 'error', title: 'A Clever object lacks a field its canonical record needs; the record is left out' },
  CLEVER_NO_ID: { severity: 'error', title: 'Clever objects without an id were left out; nothing of their entity is deleted for its absence' },
  CLEVER_NO_TERM: { severity: 'warning', title: 'A Clever section has no term' },
  CLEVER_NOT_MAPPED: { severity: 'warning', title: 'A Clever value has no canonical equivalent and was left out' },
} as const satisfies RosterIssueCatalogue;

/** Creates an issue of {@link CleverIssueCodes} with its code's severity. */
export const cleverIssue = issueFactory(CleverIssueCodes);

/**
 * Maps a district read from Clever v3.0 to canonical OneRoster 1.1 records:
 * districts and schools → orgs; terms → academicSessions (type `term`); courses → courses (their
 * org and grades taken from their sections); sections → classes, with an enrollment for each of
 * their teachers (the section's `teacher` primary) and students; users by role — student, teacher,
 * staff (`administrator`, or `aide`/`proctor` by title), district_admin (`administrator` of the
 * district), contact (`guardian`, linked as agents to the students of its `student_relationships`);
 * students' `dob`/`gender`/`race`/`hispanic_ethnicity` → demographics. Clever ids are the sourcedIds.
 */
export function mapCleverDistrict(data: CleverDistrictData): { records: CanonicalRecords; issues: RosterIssue[] } {
  const issues: RosterIssue[] = [];
  const district = data.districts[0];
  const districtId = district?.id ?? str(data.schools[0]?.district) ?? '';

  const orgs: Org[] = [];
  for (const d of data.districts) {
    orgs.push({ ...base(d), name: str(d.name) ?? '', type: 'district', ...opt('identifier', str(d.nces_id) ?? str(d.state_id) ?? str(d.mdr_number)) });
  }
  for (const s of data.schools) {
    orgs.push({
      ...base(s),
      name: str(s.name) ?? '',
      type: 'school',
      ...opt('identifier', str(s.nces_id) ?? str(s.state_id) ?? str(s.school_number)),
      ...opt('parentSourcedId', str(s.district) ?? (districtId || undefined)),
    });
  }

  const academicSessions: AcademicSession[] = [];
  for (const t of data.terms) {
    const startDate = dateOnly(t.start_date);
    const endDate = dateOnly(t.end_date);
    if (!startDate || !endDate) {
      issues.push(
        cleverIssue('CLEVER_MISSING_FIELD', `term '${t.id}' has no ${!startDate ? 'start_date' : 'end_date'}; an academic session needs both`, {
          entity: 'academicSessions',
          sourcedId: t.id,
          field: !startDate ? 'startDate' : 'endDate',
        }),
      );
      continue;
    }
    academicSessions.push({ ...base(t), title: str(t.name) ?? '', type: 'term', startDate, endDate, schoolYear: schoolYearOf(startDate) });
  }

  const classes: RosterClass[] = [];
  const enrollments: Enrollment[] = [];
  const sectionsByCourse = new Map<string, RosterClass[]>();
  for (const s of data.sections) {
    const course = str(s.course);
    const school = str(s.school);
    if (!course || !school) {
      issues.push(
        cleverIssue('CLEVER_MISSING_FIELD', `section '${s.id}' has no ${!course ? 'course' : 'school'}; a class needs one`, {
          entity: 'classes',
          sourcedId: s.id,
          field: !course ? 'courseSourcedId' : 'schoolSourcedId',
        }),
      );
      continue;
    }
    const term = str(s.term_id);
    if (!term) issues.push(cleverIssue('CLEVER_NO_TERM', `section '${s.id}' has no term_id`, { entity: 'classes', sourcedId: s.id, field: 'termSourcedIds' }));
    const subject = str(s.subject);
    const klass: RosterClass = {
      ...base(s),
      title: str(s.name) ?? '',
      grades: grades([s.grade], 'classes', s.id, issues),
      courseSourcedId: course,
      ...opt('classCode', str(s.section_number)),
      classType: subject === 'homeroom/advisory' ? 'homeroom' : 'scheduled',
      schoolSourcedId: school,
      termSourcedIds: term ? [term] : [],
      subjects: subject ? [subject] : [],
      subjectCodes: [],
      periods: (str(s.period) ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    };
    classes.push(klass);
    let list = sectionsByCourse.get(course);
    if (!list) sectionsByCourse.set(course, (list = []));
    list.push(klass);

    const primary = str(s.teacher);
    const teachers = unique([...(primary ? [primary] : []), ...strings(s.teachers)]);
    for (const teacher of teachers) {
      enrollments.push(enrollment(s.id, school, teacher, 'teacher', teacher === primary));
    }
    for (const student of unique(strings(s.students))) enrollments.push(enrollment(s.id, school, student, 'student', undefined));
  }

  const courses: Course[] = data.courses.map((c) => {
    const sections = sectionsByCourse.get(c.id) ?? [];
    const schools = unique(sections.map((s) => s.schoolSourcedId));
    const courseGrades = new Set(sections.flatMap((s) => s.grades));
    return {
      ...base(c),
      title: str(c.name) ?? '',
      ...opt('courseCode', str(c.number)),
      grades: GRADE_LEVELS.filter((g) => courseGrades.has(g)),
      // Clever courses belong to the district; a course taught in one school is that school's.
      orgSourcedId: schools.length === 1 ? schools[0]! : districtId,
      subjects: [],
      subjectCodes: [],
    };
  });

  const { users, demographics } = mapUsers(data.users, districtId, issues);

  const records: CanonicalRecords = { orgs, academicSessions, courses, classes, users, enrollments, demographics };
  const ids = new Map<RosterEntity, Set<string>>(ROSTER_ENTITY_ORDER.map((e) => [e, new Set((records[e] as RosterRecord[]).map((r) => r.sourcedId))]));
  for (const entity of ROSTER_ENTITY_ORDER) {
    for (const record of records[entity] as RosterRecord[]) {
      issues.push(...findUnresolvedReferences(entity, record as never, (target, id) => ids.get(target)!.has(id)));
    }
  }
  return { records, issues };
}

function mapUsers(cleverUsers: CleverObject[], districtId: string, issues: RosterIssue[]): { users: User[]; demographics: Demographics[] } {
  const users: User[] = [];
  const demographics: Demographics[] = [];
  const contactsOf = new Map<string, string[]>();
  const schoolsOf = new Map<string, string[]>();
  for (const u of cleverUsers) {
    const roles = rolesOf(u);
    if (roles.student) schoolsOf.set(u.id, schoolList(roles.student));
    for (const r of relationshipsOf(roles.contact)) {
      let list = contactsOf.get(r);
      if (!list) contactsOf.set(r, (list = []));
      list.push(u.id);
    }
  }

  for (const u of cleverUsers) {
    const roles = rolesOf(u);
    const present = CLEVER_USER_ROLES.filter((r) => roles[r] !== undefined);
    const cleverRole = present[0];
    if (!cleverRole) {
      issues.push(cleverIssue('CLEVER_MISSING_FIELD', `user '${u.id}' has no role`, { entity: 'users', sourcedId: u.id, field: 'role' }));
      continue;
    }
    if (present.length > 1) {
      issues.push(
        cleverIssue('CLEVER_MULTI_ROLE', `user '${u.id}' has the Clever roles ${present.join(', ')}; kept as ${cleverRole}`, {
          entity: 'users',
          sourcedId: u.id,
          field: 'role',
        }),
      );
    }
    const role = roles[cleverRole]!;
    const name = (u.name ?? {}) as Record<string, unknown>;
    let givenName = str(name.first) ?? '';
    let familyName = str(name.last) ?? '';
    let middleName = str(name.middle);
    if (cleverRole === 'contact' && !givenName && familyName.includes(' ')) {
      // Clever keeps a contact's whole name in `last`.
      const words = familyName.split(/\s+/);
      givenName = words[0]!;
      familyName = words[words.length - 1]!;
      middleName = words.length > 2 ? words.slice(1, -1).join(' ') : undefined;
    }
    if (!givenName && !familyName) {
      // OneRoster requires a user's names; a user Clever knows by no name at all is not a user record.
      issues.push(
        cleverIssue('CLEVER_MISSING_FIELD', `user '${u.id}' has no name (first or last); a user needs one`, {
          entity: 'users',
          sourcedId: u.id,
          field: 'familyName',
        }),
      );
      continue;
    }
    const email = str(u.email);
    const credentials = (role.credentials ?? {}) as Record<string, unknown>;
    const sisId = str(role.sis_id);
    const agents = cleverRole === 'contact' ? unique(relationshipsOf(role)) : cleverRole === 'student' ? [...(contactsOf.get(u.id) ?? [])].sort() : [];
    const orgs =
      cleverRole === 'district_admin'
        ? [str(u.district) ?? districtId]
        : cleverRole === 'contact'
          ? contactOrgs(agents, schoolsOf, str(u.district) ?? districtId)
          : schoolList(role);
    users.push({
      ...base(u),
      enabledUser: true,
      orgSourcedIds: orgs,
      role: canonicalRole(cleverRole, str(role.title)),
      username: str(credentials.district_username) ?? email ?? '',
      userIds: sisId ? [{ type: 'SIS', identifier: sisId }] : [],
      givenName,
      familyName,
      ...opt('middleName', middleName),
      ...opt('identifier', str(role.student_number) ?? str(role.teacher_number) ?? str(role.staff_id)),
      ...opt('email', email),
      ...opt('phone', str(role.phone)),
      agentSourcedIds: agents,
      grades: cleverRole === 'student' ? grades([role.grade], 'users', u.id, issues) : [],
    });
    if (cleverRole === 'student') {
      const demo = studentDemographics(u, role);
      if (demo) demographics.push(demo);
    }
  }
  return { users, demographics };
}

function canonicalRole(role: CleverUserRole, title: string | undefined): UserRole {
  switch (role) {
    case 'student':
      return 'student';
    case 'teacher':
      return 'teacher';
    case 'contact':
      return 'guardian';
    case 'district_admin':
      return 'administrator';
    case 'staff':
      if (title && /\b(aide|para)/i.test(title)) return 'aide';
      if (title && /proctor/i.test(title)) return 'proctor';
      return 'administrator';
  }
}

const RACES: Record<string, keyof Demographics> = {
  'american indian': 'americanIndianOrAlaskaNative',
  asian: 'asian',
  'black or african american': 'blackOrAfricanAmerican',
  'hawaiian or other pacific islander': 'nativeHawaiianOrOtherPacificIslander',
  caucasian: 'white',
  white: 'white',
  'two or more races': 'demographicRaceTwoOrMoreRaces',
};

function studentDemographics(u: CleverObject, role: Record<string, unknown>): Demographics | undefined {
  const birthDate = dateOnly(role.dob);
  const gender = str(role.gender)?.toUpperCase();
  const race = str(role.race)?.toLowerCase();
  const hispanic = str(role.hispanic_ethnicity)?.toUpperCase();
  if (!birthDate && !gender && !race && !hispanic) return undefined;
  const demo: Demographics = { ...base(u), ...opt('birthDate', birthDate) };
  if (gender === 'M') demo.sex = 'male';
  else if (gender === 'F') demo.sex = 'female';
  const flag = race ? RACES[race] : undefined;
  if (flag) {
    for (const key of new Set(Object.values(RACES))) (demo as unknown as Record<string, unknown>)[key] = key === flag;
  }
  if (hispanic === 'Y' || hispanic === 'N') demo.hispanicOrLatinoEthnicity = hispanic === 'Y';
  return demo;
}

function enrollment(section: string, school: string, user: string, role: 'teacher' | 'student', primary: boolean | undefined): Enrollment {
  return {
    // Clever has no enrollment objects: the id is made from the section, role and user, stable across reads.
    sourcedId: `${section}:${role}:${user}`,
    status: 'active',
    dateLastModified: undefined,
    metadata: {},
    classSourcedId: section,
    schoolSourcedId: school,
    userSourcedId: user,
    role,
    ...opt('primary', primary),
  };
}

function contactOrgs(students: string[], schoolsOf: Map<string, string[]>, district: string): string[] {
  const schools = unique(students.flatMap((s) => schoolsOf.get(s) ?? [])).sort();
  return schools.length > 0 ? schools : district ? [district] : [];
}

function rolesOf(u: CleverObject): Partial<Record<CleverUserRole, Record<string, unknown>>> {
  const roles = u.roles;
  return roles && typeof roles === 'object' ? (roles as Partial<Record<CleverUserRole, Record<string, unknown>>>) : {};
}

function relationshipsOf(contact: Record<string, unknown> | undefined): string[] {
  const list = contact?.student_relationships;
  if (!Array.isArray(list)) return [];
  return list.map((r) => str((r as Record<string, unknown>)?.student)).filter((s): s is string => s !== undefined);
}

function schoolList(role: Record<string, unknown>): string[] {
  const schools = strings(role.schools);
  const school = str(role.school);
  return unique(schools.length > 0 ? schools : school ? [school] : []);
}

function grades(values: unknown[], entity: RosterEntity, sourcedId: string, issues: RosterIssue[]): GradeLevel[] {
  const out: GradeLevel[] = [];
  for (const value of values) {
    const text = str(value);
    if (!text) continue;
    const grade = normalizeGradeLevel(text);
    if (grade) out.push(grade);
    else issues.push(rosterIssue('BAD_GRADE', `grade '${text}' is not a CEDS grade level`, { entity, sourcedId, field: 'grades' }));
  }
  return unique(out);
}

/** `YYYY` of the school year a session starting on `startDate` belongs to (2027 for 2026–27). */
export function schoolYearOf(startDate: string): string {
  const year = Number(startDate.slice(0, 4));
  const month = Number(startDate.slice(5, 7));
  return String(month >= 7 ? year + 1 : year);
}

/** `YYYY-MM-DD` from Clever's `YYYY-MM-DD`, a timestamp, or `M/D/YYYY`; undefined otherwise. */
export function dateOnly(value: unknown): string | undefined {
  const text = str(value);
  if (!text) return undefined;
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (us) return `${us[3]}-${us[1]!.padStart(2, '0')}-${us[2]!.padStart(2, '0')}`;
  return undefined;
}

function base(o: CleverObject): { sourcedId: string; status: 'active'; dateLastModified: Date | undefined; metadata: Record<string, string> } {
  const modified = str(o.last_modified);
  const date = modified ? new Date(modified) : undefined;
  return { sourcedId: o.id, status: 'active', dateLastModified: date && !Number.isNaN(date.getTime()) ? date : undefined, metadata: {} };
}

function str(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(str).filter((s): s is string => s !== undefined) : [];
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
