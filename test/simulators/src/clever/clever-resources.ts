import type { AcademicSession, Demographics, Enrollment, GradeLevel, Org, RosterClass, RosterEntity, RosterRecord, Course, User } from '@rosterbridge/core';

/** A Clever v3.0 object as the API serves it inside `{ data, uri }`. */
export type CleverObject = { id: string } & Record<string, unknown>;

/** The Clever resource types the simulator serves as collections. */
export type CleverResourceType = 'districts' | 'schools' | 'terms' | 'courses' | 'sections' | 'users';

export const CLEVER_RESOURCE_TYPES: readonly CleverResourceType[] = ['districts', 'schools', 'terms', 'courses', 'sections', 'users'];

/** Anything with canonical records per entity (a generated district, a OneRoster dataset). */
export interface CanonicalRecordSource {
  records<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>>;
}

/** How canonical records are written as Clever objects. */
export interface CleverRenderOptions {
  /** Contacts carry their whole name in `name.last`, as Clever stores them. Default true. */
  contactNameInLast?: boolean;
}

/**
 * The canonical roster rendered as Clever v3.0 objects, by resource type, each in id order. The
 * Clever id of every object is the canonical sourcedId; what Clever has no field for is dropped
 * ({@link cleverReadBack} lists it: enrollment ids and dates, term types and parents, course grades
 * and subjects, class locations and subject codes, user ids other than the SIS one, enabledUser,
 * sms, staff phones, metadata, orgs other than the district and its schools…).
 */
export function renderCleverResources(source: CanonicalRecordSource, options: CleverRenderOptions = {}): Map<CleverResourceType, CleverObject[]> {
  const contactNameInLast = options.contactNameInLast ?? true;
  const orgs = [...source.records('orgs')] as Org[];
  const district = orgs.find((org) => org.type === 'district');
  const districtId = district?.sourcedId ?? 'district-1';
  const schoolIds = new Set(orgs.filter((org) => org.type === 'school').map((org) => org.sourcedId));
  const demographics = new Map<string, Demographics>();
  for (const record of source.records('demographics')) demographics.set(record.sourcedId, record);
  const users = [...source.records('users')] as User[];
  const roleOf = new Map(users.map((user) => [user.sourcedId, user.role]));

  const districts: CleverObject[] = [
    district
      ? { id: district.sourcedId, name: district.name, ...(district.identifier ? { nces_id: district.identifier } : {}), ...stamps(district.dateLastModified) }
      : { id: districtId, name: 'District' },
  ];

  const schools: CleverObject[] = orgs
    .filter((org) => org.type === 'school')
    .map((org) => ({
      id: org.sourcedId,
      district: districtId,
      name: org.name,
      sis_id: org.sourcedId,
      ...(org.identifier ? { nces_id: org.identifier } : {}),
      ...stamps(org.dateLastModified),
    }));

  const terms: CleverObject[] = ([...source.records('academicSessions')] as AcademicSession[]).map((session) => ({
    id: session.sourcedId,
    district: districtId,
    name: session.title,
    start_date: session.startDate,
    end_date: session.endDate,
  }));

  const courses: CleverObject[] = ([...source.records('courses')] as Course[]).map((course) => ({
    id: course.sourcedId,
    district: districtId,
    name: course.title,
    ...(course.courseCode ? { number: course.courseCode } : {}),
  }));

  const enrollmentsByClass = new Map<string, Enrollment[]>();
  for (const enrollment of source.records('enrollments')) {
    let list = enrollmentsByClass.get(enrollment.classSourcedId);
    if (!list) enrollmentsByClass.set(enrollment.classSourcedId, (list = []));
    list.push(enrollment);
  }
  const sections: CleverObject[] = ([...source.records('classes')] as RosterClass[]).map((klass) => {
    const enrollments = enrollmentsByClass.get(klass.sourcedId) ?? [];
    const teacherEnrollments = enrollments.filter((e) => e.role === 'teacher');
    const primary = teacherEnrollments.find((e) => e.primary === true) ?? teacherEnrollments[0];
    const teachers = unique([...(primary ? [primary.userSourcedId] : []), ...teacherEnrollments.map((e) => e.userSourcedId)]);
    return {
      id: klass.sourcedId,
      district: districtId,
      school: klass.schoolSourcedId,
      course: klass.courseSourcedId,
      ...(klass.termSourcedIds[0] ? { term_id: klass.termSourcedIds[0] } : {}),
      name: klass.title,
      sis_id: klass.sourcedId,
      ...(klass.classCode ? { section_number: klass.classCode } : {}),
      ...(klass.periods.length > 0 ? { period: klass.periods.join(', ') } : {}),
      subject: klass.classType === 'homeroom' ? 'homeroom/advisory' : cleverSubject(klass.subjects),
      ...(klass.grades[0] ? { grade: cleverGrade(klass.grades[0]) } : {}),
      ...(primary ? { teacher: primary.userSourcedId } : {}),
      teachers,
      students: unique(enrollments.filter((e) => e.role === 'student').map((e) => e.userSourcedId)),
      ...stamps(klass.dateLastModified),
    };
  });

  const cleverUsers: CleverObject[] = users.map((user) => {
    // A student's demographics are fields of the Clever user: changing them changes the user.
    const demo = user.role === 'student' ? demographics.get(user.sourcedId) : undefined;
    const schoolsOf = user.orgSourcedIds.filter((id) => schoolIds.has(id));
    const credentials = user.username ? { credentials: { district_username: user.username } } : {};
    const sisId = user.userIds.find((id) => id.type.toUpperCase() === 'SIS')?.identifier;
    const common = { ...(sisId ? { sis_id: sisId } : {}), ...(schoolsOf[0] ? { school: schoolsOf[0] } : {}), schools: schoolsOf, legacy_id: user.sourcedId };
    let roles: Record<string, unknown>;
    const isContact = user.role === 'guardian' || user.role === 'parent' || user.role === 'relative';
    switch (user.role) {
      case 'student': {
        roles = {
          student: {
            ...common,
            ...(user.identifier ? { student_number: user.identifier } : {}),
            ...(user.grades[0] ? { grade: cleverGrade(user.grades[0]) } : {}),
            ...credentials,
            ...(demo ? cleverDemographics(demo) : {}),
          },
        };
        break;
      }
      case 'teacher':
        roles = { teacher: { ...common, ...(user.identifier ? { teacher_number: user.identifier } : {}), ...credentials } };
        break;
      case 'administrator':
        if (user.orgSourcedIds.includes(districtId)) {
          roles = { district_admin: { legacy_id: user.sourcedId, title: 'Administrator' } };
          break;
        }
        roles = { staff: { ...common, ...(user.identifier ? { staff_id: user.identifier } : {}), title: 'Administrator', ...credentials } };
        break;
      case 'aide':
      case 'proctor':
        roles = {
          staff: { ...common, ...(user.identifier ? { staff_id: user.identifier } : {}), title: user.role === 'aide' ? 'Aide' : 'Proctor', ...credentials },
        };
        break;
      default:
        roles = {
          contact: {
            ...(sisId ? { sis_id: sisId } : {}),
            legacy_id: user.sourcedId,
            district: districtId,
            ...(user.phone ? { phone: user.phone, phone_type: 'Cell' } : {}),
            student_relationships: user.agentSourcedIds
              .filter((id) => roleOf.get(id) === 'student')
              .map((student) => ({ student, relationship: user.role === 'relative' ? 'Other' : 'Parent', type: 'Parent/Guardian' })),
          },
        };
    }
    const fullName = [user.givenName, user.middleName, user.familyName].filter(Boolean).join(' ');
    const name =
      isContact && contactNameInLast
        ? { last: fullName }
        : { first: user.givenName, ...(user.middleName ? { middle: user.middleName } : {}), last: user.familyName };
    return {
      id: user.sourcedId,
      district: districtId,
      ...(user.email ? { email: user.email } : {}),
      name,
      roles,
      ...stamps(latest(user.dateLastModified, demo?.dateLastModified)),
    };
  });

  const byId = (a: CleverObject, b: CleverObject): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return new Map<CleverResourceType, CleverObject[]>([
    ['districts', districts.sort(byId)],
    ['schools', schools.sort(byId)],
    ['terms', terms.sort(byId)],
    ['courses', courses.sort(byId)],
    ['sections', sections.sort(byId)],
    ['users', cleverUsers.sort(byId)],
  ]);
}

/** The role keys of a Clever user (`student`, `teacher`, `staff`, `district_admin`, `contact`). */
export function cleverRolesOf(user: CleverObject): string[] {
  return Object.keys((user.roles as Record<string, unknown> | undefined) ?? {});
}

const CLEVER_GRADES: Partial<Record<GradeLevel, string>> = {
  IT: 'InfantToddler',
  PR: 'Preschool',
  PK: 'PreKindergarten',
  TK: 'TransitionalKindergarten',
  KG: 'Kindergarten',
  PS: 'PostGraduate',
  UG: 'Ungraded',
  Other: 'Other',
};

/** A CEDS grade as Clever writes it: `06` → `6`, `KG` → `Kindergarten`. */
export function cleverGrade(grade: GradeLevel): string {
  return CLEVER_GRADES[grade] ?? String(Number(grade));
}

const SUBJECTS: readonly [RegExp, string][] = [
  [/english|reading|language arts|writing|literature/i, 'english/language arts'],
  [/math|algebra|geometry|calculus/i, 'math'],
  [/science|biology|chemistry|physics/i, 'science'],
  [/social|history|geography|civics|government/i, 'social studies'],
  [/spanish|french|german|chinese|language/i, 'language'],
  [/physical|health|\bpe\b/i, 'PE and health'],
  [/art|music|band|choir|drama/i, 'arts and music'],
  [/technology|computer|engineering/i, 'technology and engineering'],
];

/** Clever's normalized subject for free-text subjects. */
export function cleverSubject(subjects: readonly string[]): string {
  const text = subjects.join(' ');
  if (!text) return '';
  return SUBJECTS.find(([pattern]) => pattern.test(text))?.[1] ?? 'other';
}

function cleverDemographics(demo: Demographics): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (demo.birthDate) {
    const [y, m, d] = demo.birthDate.split('-');
    out.dob = `${Number(m)}/${Number(d)}/${y}`;
  }
  if (demo.sex) out.gender = demo.sex === 'male' ? 'M' : 'F';
  const races: [keyof Demographics, string][] = [
    ['demographicRaceTwoOrMoreRaces', 'Two or More Races'],
    ['americanIndianOrAlaskaNative', 'American Indian'],
    ['asian', 'Asian'],
    ['blackOrAfricanAmerican', 'Black or African American'],
    ['nativeHawaiianOrOtherPacificIslander', 'Hawaiian or Other Pacific Islander'],
    ['white', 'Caucasian'],
  ];
  const race = races.find(([flag]) => demo[flag] === true)?.[1];
  if (race) out.race = race;
  if (demo.hispanicOrLatinoEthnicity !== undefined) out.hispanic_ethnicity = demo.hispanicOrLatinoEthnicity ? 'Y' : 'N';
  return out;
}

/** The later of two dates (either may be absent). */
export function latest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a || !b) return a ?? b;
  return new Date(a).getTime() >= new Date(b).getTime() ? a : b;
}

function stamps(date: Date | undefined): Record<string, string> {
  if (!date) return {};
  const iso = new Date(date).toISOString();
  return { created: iso, last_modified: iso };
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
