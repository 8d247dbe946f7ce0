import type { RosterEntity } from './roster-entity';
import type { RosterFieldOptions, RosterFieldReader } from './roster-field-reader';
import type { RosterIssue } from './roster-issue';
import type { RosterRecord, RosterRecordMap } from './roster-record';
import type { RosterRecordBase } from './roster-record-base';
import {
  CLASS_TYPES,
  ENROLLMENT_ROLES,
  ORG_TYPES,
  ROSTER_STATUSES,
  SESSION_TYPES,
  SEXES,
  USER_ROLES,
} from './roster-vocabulary';

/** What parsing one raw record gave: the canonical record unless an error was found, and every issue. */
export interface RosterRecordResult<E extends RosterEntity = RosterEntity> {
  /** The canonical record; undefined when any issue is an error. */
  record: RosterRecord<E> | undefined;
  /** Errors and warnings, each naming entity, sourcedId and field. */
  issues: RosterIssue[];
}

type EntityFields<E extends RosterEntity> = Omit<RosterRecordMap[E], keyof RosterRecordBase>;
type EntityParser<E extends RosterEntity> = (reader: RosterFieldReader) => EntityFields<E>;

// Required fields are asserted present (`!`): when one is missing the reader has recorded an error
// and the half-built fields are discarded, never returned.
// The options are made once here, not in each call: these parsers run for every row of a file.
const required = { required: true } as const;
const restName = (name: string, options: RosterFieldOptions = {}): RosterFieldOptions => ({ ...options, restName: name });
const parent = restName('parent');
const schoolYear = restName('schoolYear');
const agents = restName('agents');
const requiredOrg = restName('org', required);
const requiredCourse = restName('course', required);
const requiredSchool = restName('school', required);
const requiredTerms = restName('terms', required);
const requiredOrgs = restName('orgs', required);
const requiredClass = restName('class', required);
const requiredUser = restName('user', required);

const parseOrg: EntityParser<'orgs'> = (r): EntityFields<'orgs'> => ({
  name: r.text('name', required)!,
  type: r.vocabulary('type', ORG_TYPES, required)!,
  identifier: r.text('identifier'),
  parentSourcedId: r.reference('parentSourcedId', parent),
});

const parseAcademicSession: EntityParser<'academicSessions'> = (r) => {
  const session: EntityFields<'academicSessions'> = {
    title: r.text('title', required)!,
    type: r.vocabulary('type', SESSION_TYPES, required)!,
    startDate: r.calendarDate('startDate', required)!,
    endDate: r.calendarDate('endDate', required)!,
    parentSourcedId: r.reference('parentSourcedId', parent),
    schoolYear: r.year('schoolYear', required)!,
  };
  checkDateOrder(r, session.startDate, session.endDate, 'startDate', 'endDate');
  return session;
};

const parseCourse: EntityParser<'courses'> = (r) => ({
  title: r.text('title', required)!,
  schoolYearSourcedId: r.reference('schoolYearSourcedId', schoolYear),
  courseCode: r.text('courseCode'),
  grades: r.grades('grades'),
  orgSourcedId: r.reference('orgSourcedId', requiredOrg)!,
  subjects: r.list('subjects'),
  subjectCodes: r.list('subjectCodes'),
});

const parseClass: EntityParser<'classes'> = (r) => ({
  title: r.text('title', required)!,
  grades: r.grades('grades'),
  courseSourcedId: r.reference('courseSourcedId', requiredCourse)!,
  classCode: r.text('classCode'),
  classType: r.vocabulary('classType', CLASS_TYPES, required)!,
  location: r.text('location'),
  schoolSourcedId: r.reference('schoolSourcedId', requiredSchool)!,
  termSourcedIds: r.references('termSourcedIds', requiredTerms),
  subjects: r.list('subjects'),
  subjectCodes: r.list('subjectCodes'),
  periods: r.list('periods'),
});

const parseUser: EntityParser<'users'> = (r) => ({
  enabledUser: r.boolean('enabledUser', required)!,
  orgSourcedIds: r.references('orgSourcedIds', requiredOrgs),
  role: r.vocabulary('role', USER_ROLES, required)!,
  username: r.text('username', required)!,
  userIds: r.userIds('userIds'),
  givenName: r.text('givenName', required)!,
  familyName: r.text('familyName', required)!,
  middleName: r.text('middleName'),
  identifier: r.text('identifier'),
  email: r.text('email'),
  sms: r.text('sms'),
  phone: r.text('phone'),
  agentSourcedIds: r.references('agentSourcedIds', agents),
  grades: r.grades('grades'),
  password: r.text('password'),
});

const parseEnrollment: EntityParser<'enrollments'> = (r) => {
  const enrollment: EntityFields<'enrollments'> = {
    classSourcedId: r.reference('classSourcedId', requiredClass)!,
    schoolSourcedId: r.reference('schoolSourcedId', requiredSchool)!,
    userSourcedId: r.reference('userSourcedId', requiredUser)!,
    role: r.vocabulary('role', ENROLLMENT_ROLES, required)!,
    primary: r.boolean('primary'),
    beginDate: r.calendarDate('beginDate'),
    endDate: r.calendarDate('endDate'),
  };
  checkDateOrder(r, enrollment.beginDate, enrollment.endDate, 'beginDate', 'endDate');
  return enrollment;
};

const parseDemographics: EntityParser<'demographics'> = (r) => ({
  birthDate: r.calendarDate('birthDate'),
  sex: r.vocabulary('sex', SEXES),
  americanIndianOrAlaskaNative: r.boolean('americanIndianOrAlaskaNative'),
  asian: r.boolean('asian'),
  blackOrAfricanAmerican: r.boolean('blackOrAfricanAmerican'),
  nativeHawaiianOrOtherPacificIslander: r.boolean('nativeHawaiianOrOtherPacificIslander'),
  white: r.boolean('white'),
  demographicRaceTwoOrMoreRaces: r.boolean('demographicRaceTwoOrMoreRaces'),
  hispanicOrLatinoEthnicity: r.boolean('hispanicOrLatinoEthnicity'),
  countryOfBirthCode: r.text('countryOfBirthCode'),
  stateOfBirthAbbreviation: r.text('stateOfBirthAbbreviation'),
  cityOfBirth: r.text('cityOfBirth'),
  publicSchoolResidenceStatus: r.text('publicSchoolResidenceStatus'),
});

const entityParsers: { readonly [E in RosterEntity]: EntityParser<E> } = {
  orgs: parseOrg,
  academicSessions: parseAcademicSession,
  courses: parseCourse,
  classes: parseClass,
  users: parseUser,
  enrollments: parseEnrollment,
  demographics: parseDemographics,
};

function checkDateOrder(
  r: RosterFieldReader,
  start: string | undefined,
  end: string | undefined,
  startField: string,
  endField: string,
): void {
  if (start !== undefined && end !== undefined && end < start) {
    r.report('DATES_REVERSED', endField, `${endField} ${end} comes before ${startField} ${start}`);
  }
}

/**
 * Reads one record of `entity` through `reader`, whatever shape the raw record has: the rules of
 * {@link parseRosterRecord}, shared by the path for JSON objects and the path for CSV rows.
 */
export function readRosterRecord<E extends RosterEntity>(entity: E, reader: RosterFieldReader): RosterRecordResult<E> {
  const record: RosterRecordBase = {
    sourcedId: reader.text('sourcedId', required)!,
    status: reader.vocabulary('status', ROSTER_STATUSES) ?? 'active',
    dateLastModified: reader.dateTime('dateLastModified'),
    metadata: reader.metadata(),
  };
  const fields = (entityParsers[entity] as EntityParser<E>)(reader);
  if (reader.hasErrors) return { record: undefined, issues: reader.issues };
  // Blank optional fields are left out by copying key by key: cheaper than Object.entries/fromEntries
  // and a spread on every record.
  const target = record as unknown as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key as keyof typeof fields];
    if (value !== undefined) target[key] = value;
  }
  return { record: record as RosterRecord<E>, issues: reader.issues };
}
