import {
  GRADE_LEVELS,
  type AcademicSession,
  type Course,
  type Demographics,
  type Enrollment,
  type GradeLevel,
  type Org,
  type RosterClass,
  type RosterEntity,
  type RosterRecord,
  type Sex,
  type User,
  type UserRole,
} from '@rosterbridge/core';
import { DISTRICT_FAULT_KINDS, type DistrictFault, type DistrictFaultKind, type DistrictFaultOptions, type DistrictFaultReport } from './district-fault';
import { ClassTerm, DistrictLayout, gradesOfMask, isElementary, type CohortPlan } from './district-layout';
import type { DistrictSize } from './district-size';
import { FaultPlan } from './fault-plan';
import { FAMILY_NAMES, GIVEN_NAMES } from './person-names';
import { PLACE_NAMES } from './place-names';
import { personNameAscii } from './person-name-ascii';
import type { RosterRecordSource } from './roster-record-source';
import { at } from './at';
import { deriveSeed, SeededRandom } from './seeded-random';

/** The resolved settings a {@link GeneratedDistrict} is built from. */
export interface GeneratedDistrictSettings {
  seed: number;
  size: DistrictSize;
  faults?: DistrictFaultOptions;
  /** The year the school year ends (2027 for 2026–27). */
  schoolYear: number;
  /** The moment the roster is a snapshot of: every dateLastModified lies before it. */
  asOf: Date;
  /** Whether students have demographics records. */
  demographics: boolean;
}

/** A generated person's names and login. */
export interface GeneratedPerson {
  givenName: string;
  middleName?: string;
  familyName: string;
  username: string;
  email: string;
  /** Student number or employee number; guardians have none. */
  identifier?: string;
}

/** The sourcedIds of the district's academic sessions: the school year and its two semesters. */
export interface DistrictSessionIds {
  schoolYear: string;
  fall: string;
  spring: string;
}

const STREAM_USER = 100;
const STREAM_FAMILY = 101;
const STREAM_CLASS = 102;
const STREAM_DEMOGRAPHICS = 103;
const STREAM_MODIFIED = 104;
const STREAM_DISTRICT = 105;

const ENTITY_TAG: Record<RosterEntity, number> = {
  orgs: 1,
  academicSessions: 2,
  courses: 3,
  classes: 4,
  users: 5,
  enrollments: 6,
  demographics: 7,
};
const MODIFIED_SPREAD_SECONDS = 180 * 24 * 3600;
const AREA_CODES = ['206', '312', '415', '512', '617', '702', '801', '919'];
const GUARDIAN_DOMAINS = ['example.com', 'example.net', 'example.org'];
const BIRTH_COUNTRIES = ['MX', 'IN', 'CN', 'VN', 'PH', 'SV', 'GT', 'KR', 'NG', 'UA'];
const BIRTH_STATES = ['CA', 'TX', 'NY', 'FL', 'IL', 'WA', 'AZ', 'GA', 'OH', 'NC'];
// americanIndianOrAlaskaNative, asian, blackOrAfricanAmerican, nativeHawaiianOrOtherPacificIslander, white.
const RACE_SHARES = [0.02, 0.08, 0.15, 0.01, 0.74];
const ROMAN = ['', 'I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'];

/**
 * A generated district: a deterministic function of its settings, streamed record by record. Only
 * the {@link DistrictLayout} (per school, course and class facts) and the fault plan are held in
 * memory; every user, enrollment and demographics record is rebuilt from its index on demand, so
 * the same record comes out on every pass, in any order of access.
 *
 * ```ts
 * const district = generateDistrict({ seed: 42, size: 'small' });
 * for (const enrollment of district.records('enrollments')) …
 * ```
 */
export class GeneratedDistrict implements RosterRecordSource {
  readonly seed: number;
  readonly size: DistrictSize;
  readonly schoolYear: number;
  readonly asOf: Date;
  readonly includesDemographics: boolean;
  readonly layout: DistrictLayout;
  readonly faultPlan: FaultPlan;
  /** How many records of each entity the district has. */
  readonly counts: Readonly<Record<RosterEntity, number>>;
  /** The records carrying each switched-on data-quality fault. */
  readonly faults: DistrictFaultReport;
  /** Users whose orgSourcedIds name two schools, in sourcedId order. */
  readonly multiSchoolUsers: readonly string[];
  /** The district's email domain for staff; students use `students.<domain>`. */
  readonly domain: string;
  readonly sessionIds: DistrictSessionIds;
  /** User numbering: students from 0, then teachers, staff and guardians from these offsets. */
  readonly firstTeacher: number;
  readonly firstStaff: number;
  readonly firstGuardian: number;
  readonly userCount: number;
  private readonly districtIdentifier: string;

  constructor(settings: GeneratedDistrictSettings) {
    this.seed = settings.seed;
    this.size = settings.size;
    this.schoolYear = settings.schoolYear;
    this.asOf = settings.asOf;
    this.includesDemographics = settings.demographics;
    this.layout = new DistrictLayout(settings.seed, settings.size);
    this.faultPlan = new FaultPlan(settings.seed, this.layout, settings.faults);
    const L = this.layout;
    this.firstTeacher = L.studentCount;
    this.firstStaff = this.firstTeacher + L.teacherCount;
    this.firstGuardian = this.firstStaff + L.staffCount;
    this.userCount = this.firstGuardian + L.guardianCount;
    this.domain = `${personNameAscii(L.districtPlace)}usd.example.org`;
    this.districtIdentifier = `${String(10 + (deriveSeed(this.seed, STREAM_DISTRICT) % 46)).padStart(2, '0')}${String(deriveSeed(this.seed, STREAM_DISTRICT, 1) % 100000).padStart(5, '0')}`;
    const y = this.schoolYear;
    this.sessionIds = { schoolYear: `as-${y}`, fall: `as-${y}-1`, spring: `as-${y}-2` };
    this.counts = Object.freeze({
      orgs: 1 + L.schools.length,
      academicSessions: 3,
      courses: L.courses.length,
      classes: L.classCount,
      users: this.userCount,
      enrollments: L.enrollmentCount,
      demographics: this.includesDemographics ? L.studentCount : 0,
    });
    this.multiSchoolUsers = Object.freeze(
      [...[...L.studentSecondSchool.keys()], ...[...L.teacherSecondSchool.keys()].map((t) => this.firstTeacher + t)]
        .sort((a, b) => a - b)
        .map((u) => this.userSourcedId(u)),
    );
    this.faults = this.buildFaultReport();
  }

  /** The records of one entity, in sourcedId order. */
  records<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>> {
    const all: { [K in RosterEntity]: () => Iterable<RosterRecord<K>> } = {
      orgs: () => this.orgs(),
      academicSessions: () => this.academicSessions(),
      courses: () => this.courses(),
      classes: () => this.classes(),
      users: () => this.users(),
      enrollments: () => this.enrollments(),
      demographics: () => this.demographics(),
    };
    return all[entity]() as Iterable<RosterRecord<E>>;
  }

  /** The district org, then its schools. */
  *orgs(): Generator<Org> {
    for (let i = 0; i < this.counts.orgs; i++) yield this.org(i);
  }

  /** The school year, then its fall and spring semesters. */
  *academicSessions(): Generator<AcademicSession> {
    for (let i = 0; i < 3; i++) yield this.academicSession(i);
  }

  /** Every course, school by school. */
  *courses(): Generator<Course> {
    for (let k = 0; k < this.counts.courses; k++) yield this.course(k);
  }

  /** Every class, course by course. */
  *classes(): Generator<RosterClass> {
    for (let c = 0; c < this.counts.classes; c++) yield this.rosterClass(c);
  }

  /** Students, teachers, staff, then guardians. */
  *users(): Generator<User> {
    for (let u = 0; u < this.userCount; u++) yield this.user(u);
  }

  /** Every enrollment, class by class: the teachers first, then the students. */
  *enrollments(): Generator<Enrollment> {
    for (let c = 0; c < this.layout.classCount; c++) {
      const slots = this.enrollmentSlots(c);
      for (let slot = 0; slot < slots; slot++) yield this.enrollment(c, slot);
    }
  }

  /** A demographics record per student (none when demographics are off). */
  *demographics(): Generator<Demographics> {
    if (!this.includesDemographics) return;
    for (let i = 0; i < this.layout.studentCount; i++) yield this.demographicsOf(i, this.layout.cohortOfStudent(i).grade);
  }

  // --- sourcedIds ---------------------------------------------------------------------------

  /** The sourcedId of org `i` (0 is the district, school `s` is org `s + 1`). */
  orgSourcedId(i: number): string {
    return `org-${pad(i + 1, 4)}`;
  }

  /** The sourcedId of course `k`. */
  courseSourcedId(k: number): string {
    return `crs-${pad(k + 1, 6)}`;
  }

  /** The sourcedId of class `c`. */
  classSourcedId(c: number): string {
    return `cls-${pad(c + 1, 7)}`;
  }

  /** The sourcedId of user `u` (students from 0, then teachers, staff, guardians). */
  userSourcedId(u: number): string {
    return `usr-${pad(u + 1, 8)}`;
  }

  /** The sourcedId of enrollment `e`. */
  enrollmentSourcedId(e: number): string {
    return `enr-${pad(e + 1, 9)}`;
  }

  // --- records by position ------------------------------------------------------------------

  /** Org `i`: the district (0) or school `i - 1`. */
  org(i: number): Org {
    const sourcedId = this.orgSourcedId(i);
    const dateLastModified = this.modifiedBefore('orgs', i);
    if (i === 0) {
      return {
        sourcedId,
        status: 'active',
        dateLastModified,
        metadata: {},
        name: this.layout.districtName,
        type: 'district',
        identifier: this.districtIdentifier,
      };
    }
    return {
      sourcedId,
      status: 'active',
      dateLastModified,
      metadata: {},
      name: at(this.layout.schools, i - 1).name,
      type: 'school',
      identifier: `${this.districtIdentifier}${pad(i, 5)}`,
      parentSourcedId: this.orgSourcedId(0),
    };
  }

  /** Session `i`: the school year (0), fall (1) or spring (2). */
  academicSession(i: number): AcademicSession {
    const y = this.schoolYear;
    const ids = this.sessionIds;
    const sessions: Omit<AcademicSession, 'sourcedId' | 'status' | 'dateLastModified' | 'metadata'>[] = [
      { title: `${y - 1}-${y}`, type: 'schoolYear', startDate: `${y - 1}-08-17`, endDate: `${y}-06-11`, schoolYear: String(y) },
      {
        title: `Fall ${y - 1}`,
        type: 'semester',
        startDate: `${y - 1}-08-17`,
        endDate: `${y - 1}-12-18`,
        parentSourcedId: ids.schoolYear,
        schoolYear: String(y),
      },
      { title: `Spring ${y}`, type: 'semester', startDate: `${y}-01-05`, endDate: `${y}-06-11`, parentSourcedId: ids.schoolYear, schoolYear: String(y) },
    ];
    const id = at([ids.schoolYear, ids.fall, ids.spring], i);
    return Object.assign(
      { sourcedId: id, status: 'active' as const, dateLastModified: this.modifiedBefore('academicSessions', i), metadata: {} },
      at(sessions, i),
    );
  }

  /** Course `k`. */
  course(k: number): Course {
    const plan = at(this.layout.courses, k);
    return {
      sourcedId: this.courseSourcedId(k),
      status: 'active',
      dateLastModified: this.modifiedBefore('courses', k),
      metadata: {},
      title: this.courseTitle(k),
      schoolYearSourcedId: this.sessionIds.schoolYear,
      courseCode: this.courseCode(k),
      grades: [...plan.grades],
      orgSourcedId: this.orgSourcedId(plan.school + 1),
      subjects: [plan.subject.name],
      subjectCodes: [plan.subject.scedCode],
    };
  }

  /** Class `c`. */
  rosterClass(c: number): RosterClass {
    const L = this.layout;
    const course = L.courseOf(c);
    const section = at(L.classSection, c);
    const random = new SeededRandom(deriveSeed(this.seed, STREAM_CLASS, c));
    const elementary = isElementary(L.cohortOf(c).grade);
    const period = 1 + ((c - at(L.schools, course.school).classStart) % (elementary ? 6 : 7));
    const periods = !elementary && random.chance(0.1) && period < 7 ? [String(period), String(period + 1)] : [String(period)];
    let location: string;
    if (course.subject.abbreviation === 'PE') location = 'Gymnasium';
    else if (random.chance(0.05)) location = `Portable ${1 + random.int(8)}, North Lot`;
    else location = `Room ${100 + random.int(300)}`;
    return {
      sourcedId: this.classSourcedId(c),
      status: 'active',
      dateLastModified: this.modifiedBefore('classes', c),
      metadata: {},
      title: `${this.courseTitle(course.index)} (Section ${section + 1})`,
      grades: this.faultPlan.classGrades.get(c) ?? L.classGrades(c),
      courseSourcedId: this.courseSourcedId(course.index),
      classCode: `${this.courseCode(course.index)}-${pad(section + 1, 2)}`,
      classType: course.subject.classType,
      location,
      schoolSourcedId: this.orgSourcedId(course.school + 1),
      termSourcedIds: this.termsOf(c),
      subjects: [course.subject.name],
      subjectCodes: [course.subject.scedCode],
      periods,
    };
  }

  /** The role of user `u`. */
  userRole(u: number): UserRole {
    if (u < this.firstTeacher) return 'student';
    if (u < this.firstStaff) return 'teacher';
    if (u < this.firstGuardian) {
      const a = u - this.firstStaff;
      const school = this.layout.schoolOfStaff(a);
      return !school || (a - school.staffStart) % 3 === 0 ? 'administrator' : 'aide';
    }
    return 'guardian';
  }

  /** User `u`. */
  user(u: number): User {
    if (u < this.firstTeacher) {
      const i = u;
      const L = this.layout;
      const cohort = L.cohortOfStudent(i);
      const second = L.studentSecondSchool.get(i);
      const orgs = [this.orgSourcedId(cohort.school + 1)];
      if (second !== undefined) orgs.push(this.orgSourcedId(second + 1));
      const agents: string[] = [];
      const family = L.familyOfStudent(i);
      if (family >= 0) {
        agents.push(this.userSourcedId(this.firstGuardian + family));
        const coParent = L.coParentOfFamily(family);
        if (coParent >= 0) agents.push(this.userSourcedId(this.firstGuardian + L.primaryGuardianCount + coParent));
      }
      return this.student(u, cohort, orgs, agents);
    }
    const person = this.person(u);
    let orgSourcedIds: string[];
    let grades: GradeLevel[] = [];
    let userIds = [
      { type: 'SIS', identifier: person.identifier! },
      { type: 'LDAP', identifier: person.username },
    ];
    let phone: string | undefined;
    let sms: string | undefined;
    let agentSourcedIds: string[] = [];
    if (u < this.firstStaff) {
      const t = u - this.firstTeacher;
      orgSourcedIds = [this.orgSourcedId(this.layout.schoolOfTeacher(t).index + 1)];
      const second = this.layout.teacherSecondSchool.get(t);
      if (second !== undefined) orgSourcedIds.push(this.orgSourcedId(second + 1));
      grades = gradesOfMask(at(this.layout.teacherGradeMask, t));
    } else if (u < this.firstGuardian) {
      const school = this.layout.schoolOfStaff(u - this.firstStaff);
      orgSourcedIds = [this.orgSourcedId(school ? school.index + 1 : 0)];
      phone = this.phone(u, 1);
    } else {
      const children = this.childrenOf(u - this.firstGuardian);
      orgSourcedIds = [];
      for (const child of children) {
        const id = this.orgSourcedId(this.layout.cohortOfStudent(child).school + 1);
        if (!orgSourcedIds.includes(id)) orgSourcedIds.push(id);
      }
      if (orgSourcedIds.length === 0) orgSourcedIds.push(this.orgSourcedId(0));
      userIds = [];
      phone = this.phone(u, 2);
      sms = (deriveSeed(this.seed, STREAM_USER, u, 3) & 1) === 0 ? phone : undefined;
      agentSourcedIds = children.map((child) => this.userSourcedId(child));
    }
    return {
      sourcedId: this.userSourcedId(u),
      status: 'active',
      dateLastModified: this.modifiedBefore('users', u),
      metadata: {},
      enabledUser: true,
      orgSourcedIds,
      role: this.userRole(u),
      username: person.username,
      userIds,
      givenName: person.givenName,
      familyName: person.familyName,
      middleName: person.middleName,
      identifier: person.identifier,
      email: this.emailOf(u, person),
      sms,
      phone,
      agentSourcedIds,
      grades,
    };
  }

  /**
   * A student record for user `u` in `cohort` (used for the district's own students and for
   * students a delta creates).
   */
  student(u: number, cohort: CohortPlan, orgSourcedIds: string[], agentSourcedIds: string[]): User {
    const person = this.person(u, 'student');
    const second = this.faultPlan.secondGrade.get(u);
    const grades = second ? sortGrades([cohort.grade, second]) : [cohort.grade];
    return {
      sourcedId: this.userSourcedId(u),
      status: 'active',
      dateLastModified: this.modifiedBefore('users', u),
      metadata: {},
      enabledUser: true,
      orgSourcedIds,
      role: 'student',
      username: person.username,
      userIds: [{ type: 'SIS', identifier: person.identifier! }],
      givenName: person.givenName,
      familyName: person.familyName,
      middleName: person.middleName,
      identifier: person.identifier,
      email: this.emailOf(u, person),
      agentSourcedIds,
      grades,
    };
  }

  /** The students (user numbers, ascending) guardian number `g` is linked to. */
  childrenOf(g: number): number[] {
    const L = this.layout;
    if (g < L.primaryGuardianCount) return L.studentsOfFamily(g);
    return L.studentsOfFamily(L.familyOfCoParent(g - L.primaryGuardianCount));
  }

  /** How many enrollments class `c` has (its teachers and its students). */
  enrollmentSlots(c: number): number {
    return at(this.layout.classEnrollmentStart, c + 1) - at(this.layout.classEnrollmentStart, c);
  }

  /** The user (number) in enrollment slot `slot` of class `c`: teachers first, then students. */
  enrollmentUser(c: number, slot: number): number {
    const L = this.layout;
    if (slot === 0) return this.firstTeacher + at(L.classTeacher, c);
    const teachers = L.teacherEnrollmentsOf(c);
    if (slot < teachers) return this.firstTeacher + at(L.classCoTeacher, c);
    return L.studentInSeat(c, slot - teachers);
  }

  /** The enrollment in slot `slot` of class `c`. */
  enrollment(c: number, slot: number): Enrollment {
    const e = at(this.layout.classEnrollmentStart, c) + slot;
    const teachers = this.layout.teacherEnrollmentsOf(c);
    return this.enrollmentRecord(e, c, this.enrollmentUser(c, slot), slot < teachers ? (slot === 0 ? 'primary' : 'co-teacher') : 'student');
  }

  /** An enrollment record numbered `e` of user `u` in class `c`. */
  enrollmentRecord(e: number, c: number, u: number, kind: 'primary' | 'co-teacher' | 'student'): Enrollment {
    const dates = this.termDates(c);
    return {
      sourcedId: this.enrollmentSourcedId(e),
      status: 'active',
      dateLastModified: this.modifiedBefore('enrollments', e),
      metadata: {},
      classSourcedId: this.classSourcedId(c),
      schoolSourcedId: this.orgSourcedId(this.layout.courseOf(c).school + 1),
      userSourcedId: this.userSourcedId(u),
      role: kind === 'student' ? 'student' : 'teacher',
      primary: kind === 'student' ? undefined : kind === 'primary',
      beginDate: dates.begin,
      endDate: dates.end,
    };
  }

  /** The demographics of student (user) `u`, who is in `grade`. */
  demographicsOf(u: number, grade: GradeLevel): Demographics {
    const random = new SeededRandom(deriveSeed(this.seed, STREAM_DEMOGRAPHICS, u));
    const offset = gradeOffset(grade);
    // A child starts kindergarten at 5 by September 1st.
    const firstDay = Date.UTC(this.schoolYear - 1 - offset - 6, 8, 2);
    const birthDate = new Date(firstDay + random.int(365) * 86_400_000).toISOString().slice(0, 10);
    const sex: Sex = random.chance(0.5) ? 'female' : 'male';
    // One race drawn by rough US shares; about 7 % of students get a second one.
    const races = [false, false, false, false, false];
    let roll = random.next();
    let race = RACE_SHARES.length - 1;
    for (let r = 0; r < RACE_SHARES.length; r++) {
      roll -= at(RACE_SHARES, r);
      if (roll < 0) {
        race = r;
        break;
      }
    }
    races[race] = true;
    if (random.chance(0.07)) races[random.int(races.length)] = true;
    const usBorn = random.chance(0.88);
    return {
      sourcedId: this.userSourcedId(u),
      status: 'active',
      dateLastModified: this.modifiedBefore('demographics', u),
      metadata: {},
      birthDate,
      sex,
      americanIndianOrAlaskaNative: races[0],
      asian: races[1],
      blackOrAfricanAmerican: races[2],
      nativeHawaiianOrOtherPacificIslander: races[3],
      white: races[4],
      demographicRaceTwoOrMoreRaces: races.filter(Boolean).length > 1,
      hispanicOrLatinoEthnicity: random.chance(0.27),
      countryOfBirthCode: usBorn ? 'US' : random.pick(BIRTH_COUNTRIES),
      stateOfBirthAbbreviation: usBorn ? random.pick(BIRTH_STATES) : undefined,
      cityOfBirth: random.pick(PLACE_NAMES),
    };
  }

  /**
   * The names and login of user `u`, before any fault is applied. `kind` says how to name a user
   * numbered past the district's own (a student a delta creates); `familyName` renames the person
   * (a delta's name change), with username and email following.
   */
  person(u: number, kind: 'student' | 'staff' | 'guardian' = this.personKind(u), familyNameOverride?: string): GeneratedPerson {
    const L = this.layout;
    const random = new SeededRandom(deriveSeed(this.seed, STREAM_USER, u));
    const givenName = random.pick(GIVEN_NAMES);
    const middleName = random.chance(0.6) ? random.pick(GIVEN_NAMES) : undefined;
    const ownFamilyName = random.pick(FAMILY_NAMES);
    const sharesName = random.chance(0.85);
    const guardianDomain = random.pick(GUARDIAN_DOMAINS);
    let familyName = ownFamilyName;
    const given = personNameAscii(givenName) || 'user';
    if (kind === 'student') {
      const family = u < L.studentCount ? L.familyOfStudent(u) : -1;
      if (family >= 0 && sharesName) familyName = this.familySurname(family);
      familyName = familyNameOverride ?? familyName;
      const identifier = String(100000 + u);
      const username = `${given[0]}${personNameAscii(familyName)}${identifier}`;
      return { givenName, middleName, familyName, username, email: `${username}@students.${this.domain}`, identifier };
    }
    if (kind === 'staff') {
      familyName = familyNameOverride ?? familyName;
      const identifier = `E${pad(u - this.firstTeacher + 1, 6)}`;
      const username = `${given}.${personNameAscii(familyName)}${u - this.firstTeacher + 1}`;
      return { givenName, middleName, familyName, username, email: `${username}@${this.domain}`, identifier };
    }
    const g = u - this.firstGuardian;
    const family = g < L.primaryGuardianCount ? g : L.familyOfCoParent(g - L.primaryGuardianCount);
    if (g < L.primaryGuardianCount || sharesName) familyName = this.familySurname(family);
    familyName = familyNameOverride ?? familyName;
    const email = `${given}.${personNameAscii(familyName)}${g + 1}@${guardianDomain}`;
    return { givenName, middleName, familyName, username: email, email };
  }

  private personKind(u: number): 'student' | 'staff' | 'guardian' {
    return u < this.firstTeacher ? 'student' : u < this.firstGuardian ? 'staff' : 'guardian';
  }

  /** The sourcedIds of the sessions class `c` runs in. */
  termsOf(c: number): string[] {
    switch (this.layout.classTerm[c] as ClassTerm) {
      case ClassTerm.SchoolYear:
        return [this.sessionIds.schoolYear];
      case ClassTerm.BothSemesters:
        return [this.sessionIds.fall, this.sessionIds.spring];
      case ClassTerm.Fall:
        return [this.sessionIds.fall];
      case ClassTerm.Spring:
        return [this.sessionIds.spring];
    }
  }

  /** The first and last day of class `c` (its terms' span). */
  termDates(c: number): { begin: string; end: string } {
    const y = this.schoolYear;
    switch (this.layout.classTerm[c] as ClassTerm) {
      case ClassTerm.Fall:
        return { begin: `${y - 1}-08-17`, end: `${y - 1}-12-18` };
      case ClassTerm.Spring:
        return { begin: `${y}-01-05`, end: `${y}-06-11` };
      default:
        return { begin: `${y - 1}-08-17`, end: `${y}-06-11` };
    }
  }

  /** A record's dateLastModified: a seeded moment in the 180 days before `asOf`. */
  modifiedBefore(entity: RosterEntity, index: number): Date {
    const secondsBefore = 1 + (deriveSeed(this.seed, STREAM_MODIFIED, ENTITY_TAG[entity], index) % MODIFIED_SPREAD_SECONDS);
    return new Date(this.asOf.getTime() - secondsBefore * 1000);
  }

  private emailOf(u: number, person: GeneratedPerson): string | undefined {
    if (this.faultPlan.missingEmail.has(u)) return undefined;
    const copied = this.faultPlan.duplicateOf.get(u);
    return copied === undefined ? person.email : this.person(copied).email;
  }

  private familySurname(family: number): string {
    return at(FAMILY_NAMES, deriveSeed(this.seed, STREAM_FAMILY, family) % FAMILY_NAMES.length);
  }

  private phone(u: number, line: number): string {
    const h = deriveSeed(this.seed, STREAM_USER, u, line);
    return `(${AREA_CODES[h % AREA_CODES.length]}) 555-01${pad((h >>> 8) % 100, 2)}`;
  }

  private courseTitle(k: number): string {
    const plan = at(this.layout.courses, k);
    const name = plan.tier > 0 ? `${plan.subject.name} ${ROMAN[plan.tier + 1] ?? plan.tier + 1}` : plan.subject.name;
    const [first, last] = [at(plan.grades, 0), at(plan.grades, plan.grades.length - 1)];
    const grades = plan.grades.length === 1 ? gradeTitle(first) : `Grades ${gradeNumber(first)}–${gradeNumber(last)}`;
    return `${name}, ${grades}`;
  }

  private courseCode(k: number): string {
    const plan = at(this.layout.courses, k);
    return `${plan.subject.abbreviation}${plan.tier > 0 ? plan.tier + 1 : ''}-${plan.grades.join('')}`;
  }

  private buildFaultReport(): DistrictFaultReport {
    const plan = this.faultPlan;
    const report = Object.fromEntries(DISTRICT_FAULT_KINDS.map((k) => [k, [] as DistrictFault[]])) as Record<DistrictFaultKind, DistrictFault[]>;
    for (const [u, v] of plan.duplicateOf) {
      report.duplicateEmails.push({
        kind: 'duplicateEmails',
        entity: 'users',
        sourcedId: this.userSourcedId(u),
        relatedSourcedId: this.userSourcedId(v),
        email: this.person(v).email,
      });
    }
    for (const u of plan.missingEmail) report.missingEmails.push({ kind: 'missingEmails', entity: 'users', sourcedId: this.userSourcedId(u) });
    for (const [u, second] of plan.secondGrade) {
      const grades = sortGrades([this.layout.cohortOfStudent(u).grade, second]);
      report.studentsWithTwoGrades.push({ kind: 'studentsWithTwoGrades', entity: 'users', sourcedId: this.userSourcedId(u), grades });
    }
    for (const [c, grades] of plan.classGrades) {
      const course = this.layout.courseOf(c);
      report.classesOutsideCourseGrades.push({
        kind: 'classesOutsideCourseGrades',
        entity: 'classes',
        sourcedId: this.classSourcedId(c),
        relatedSourcedId: this.courseSourcedId(course.index),
        grades: [...grades],
        courseGrades: [...course.grades],
      });
    }
    for (const kind of DISTRICT_FAULT_KINDS) {
      report[kind].sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : a.sourcedId > b.sourcedId ? 1 : 0));
      Object.freeze(report[kind]);
    }
    return Object.freeze(report);
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function sortGrades(grades: GradeLevel[]): GradeLevel[] {
  return [...new Set(grades)].sort((a, b) => GRADE_LEVELS.indexOf(a) - GRADE_LEVELS.indexOf(b));
}

/** Years after kindergarten: KG 0, 01 1 … 12 12; pre-K grades negative. */
function gradeOffset(grade: GradeLevel): number {
  const i = GRADE_LEVELS.indexOf(grade) - GRADE_LEVELS.indexOf('KG');
  return grade === 'PS' || grade === 'UG' || grade === 'Other' ? 9 : i;
}

function gradeNumber(grade: GradeLevel): string {
  return /^\d+$/.test(grade) ? String(Number(grade)) : grade;
}

function gradeTitle(grade: GradeLevel): string {
  if (grade === 'KG') return 'Kindergarten';
  return /^\d+$/.test(grade) ? `Grade ${Number(grade)}` : grade;
}
