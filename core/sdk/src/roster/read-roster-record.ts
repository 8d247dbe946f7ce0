import type { RosterEntity } from './roster-entity';
import type { RosterFieldOptions, RosterFieldReader } from './roster-field-reader';
import type { RosterIssue } from './roster-issue';
import type { RosterRecord, RosterRecordMap } from './roster-record';
import type { RosterRecordBase } from './roster-record-base';
import { CLASS_TYPES, ENROLLMENT_ROLES, ORG_TYPES, ROSTER_STATUSES, SESSION_TYPES, SEXES, USER_ROLES } from './roster-vocabulary';

/** What parsing one raw record gave: the canonical record unless an error was found, and every issue. */
export interface RosterRecordResult<E extends RosterEntity = RosterEntity> {
  /** The canonical record; undefined when any issue is an error. */
  record: RosterRecord<E> | undefined;
  /** Errors and warnings, each naming entity, sourcedId and field. */
  issues: RosterIssue[];
}

type EntityFields<E extends RosterEntity> = Omit<RosterRecordMap[E], keyof RosterRecordBase>;
/** A record being read: its base fields, and the entity's fields as far as they are read. */
type RecordInProgress<E extends RosterEntity> = RosterRecordBase & Partial<EntityFields<E>>;
/** Reads the fields of one entity into `record`; optional fields that are blank are not set. */
type EntityParser<E extends RosterEntity> = (reader: RosterFieldReader, record: RecordInProgress<E>) => void;

// Required fields are asserted present (`!`): when one is missing the reader has recorded an error
// and the half-built record is discarded, never returned.
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

/**
 * Sets an optional field unless it is blank, so the record has no undefined-valued keys. Fields are
 * set one by one, by name, rather than copied from an object with a loop: a store to a fixed name
 * is much cheaper than a store to a key that changes on every turn, and this runs for every field.
 */
function setIfDefined<R, K extends keyof R>(record: R, key: K, value: R[K] | undefined): void {
  if (value !== undefined) record[key] = value;
}

const parseOrg: EntityParser<'orgs'> = (r, org) => {
  org.name = r.text('name', required)!;
  org.type = r.vocabulary('type', ORG_TYPES, required)!;
  setIfDefined(org, 'identifier', r.text('identifier'));
  setIfDefined(org, 'parentSourcedId', r.reference('parentSourcedId', parent));
};

const parseAcademicSession: EntityParser<'academicSessions'> = (r, session) => {
  session.title = r.text('title', required)!;
  session.type = r.vocabulary('type', SESSION_TYPES, required)!;
  const startDate = (session.startDate = r.calendarDate('startDate', required)!);
  const endDate = (session.endDate = r.calendarDate('endDate', required)!);
  setIfDefined(session, 'parentSourcedId', r.reference('parentSourcedId', parent));
  session.schoolYear = r.year('schoolYear', required)!;
  checkDateOrder(r, startDate, endDate, 'startDate', 'endDate');
};

const parseCourse: EntityParser<'courses'> = (r, course) => {
  course.title = r.text('title', required)!;
  setIfDefined(course, 'schoolYearSourcedId', r.reference('schoolYearSourcedId', schoolYear));
  setIfDefined(course, 'courseCode', r.text('courseCode'));
  course.grades = r.grades('grades');
  course.orgSourcedId = r.reference('orgSourcedId', requiredOrg)!;
  course.subjects = r.list('subjects');
  course.subjectCodes = r.list('subjectCodes');
};

const parseClass: EntityParser<'classes'> = (r, klass) => {
  klass.title = r.text('title', required)!;
  klass.grades = r.grades('grades');
  klass.courseSourcedId = r.reference('courseSourcedId', requiredCourse)!;
  setIfDefined(klass, 'classCode', r.text('classCode'));
  klass.classType = r.vocabulary('classType', CLASS_TYPES, required)!;
  setIfDefined(klass, 'location', r.text('location'));
  klass.schoolSourcedId = r.reference('schoolSourcedId', requiredSchool)!;
  klass.termSourcedIds = r.references('termSourcedIds', requiredTerms);
  klass.subjects = r.list('subjects');
  klass.subjectCodes = r.list('subjectCodes');
  klass.periods = r.list('periods');
};

const parseUser: EntityParser<'users'> = (r, user) => {
  user.enabledUser = r.boolean('enabledUser', required)!;
  user.orgSourcedIds = r.references('orgSourcedIds', requiredOrgs);
  user.role = r.vocabulary('role', USER_ROLES, required)!;
  user.username = r.text('username', required)!;
  user.userIds = r.userIds('userIds');
  user.givenName = r.text('givenName', required)!;
  user.familyName = r.text('familyName', required)!;
  setIfDefined(user, 'middleName', r.text('middleName'));
  setIfDefined(user, 'identifier', r.text('identifier'));
  setIfDefined(user, 'email', r.text('email'));
  setIfDefined(user, 'sms', r.text('sms'));
  setIfDefined(user, 'phone', r.text('phone'));
  user.agentSourcedIds = r.references('agentSourcedIds', agents);
  user.grades = r.grades('grades');
  setIfDefined(user, 'password', r.text('password'));
};

const parseEnrollment: EntityParser<'enrollments'> = (r, enrollment) => {
  enrollment.classSourcedId = r.reference('classSourcedId', requiredClass)!;
  enrollment.schoolSourcedId = r.reference('schoolSourcedId', requiredSchool)!;
  enrollment.userSourcedId = r.reference('userSourcedId', requiredUser)!;
  enrollment.role = r.vocabulary('role', ENROLLMENT_ROLES, required)!;
  setIfDefined(enrollment, 'primary', r.boolean('primary'));
  const beginDate = r.calendarDate('beginDate');
  const endDate = r.calendarDate('endDate');
  setIfDefined(enrollment, 'beginDate', beginDate);
  setIfDefined(enrollment, 'endDate', endDate);
  checkDateOrder(r, beginDate, endDate, 'beginDate', 'endDate');
};

const parseDemographics: EntityParser<'demographics'> = (r, person) => {
  setIfDefined(person, 'birthDate', r.calendarDate('birthDate'));
  setIfDefined(person, 'sex', r.vocabulary('sex', SEXES));
  setIfDefined(person, 'americanIndianOrAlaskaNative', r.boolean('americanIndianOrAlaskaNative'));
  setIfDefined(person, 'asian', r.boolean('asian'));
  setIfDefined(person, 'blackOrAfricanAmerican', r.boolean('blackOrAfricanAmerican'));
  setIfDefined(person, 'nativeHawaiianOrOtherPacificIslander', r.boolean('nativeHawaiianOrOtherPacificIslander'));
  setIfDefined(person, 'white', r.boolean('white'));
  setIfDefined(person, 'demographicRaceTwoOrMoreRaces', r.boolean('demographicRaceTwoOrMoreRaces'));
  setIfDefined(person, 'hispanicOrLatinoEthnicity', r.boolean('hispanicOrLatinoEthnicity'));
  setIfDefined(person, 'countryOfBirthCode', r.text('countryOfBirthCode'));
  setIfDefined(person, 'stateOfBirthAbbreviation', r.text('stateOfBirthAbbreviation'));
  setIfDefined(person, 'cityOfBirth', r.text('cityOfBirth'));
  setIfDefined(person, 'publicSchoolResidenceStatus', r.text('publicSchoolResidenceStatus'));
};

const entityParsers: { readonly [E in RosterEntity]: EntityParser<E> } = {
  orgs: parseOrg,
  academicSessions: parseAcademicSession,
  courses: parseCourse,
  classes: parseClass,
  users: parseUser,
  enrollments: parseEnrollment,
  demographics: parseDemographics,
};

function checkDateOrder(r: RosterFieldReader, start: string | undefined, end: string | undefined, startField: string, endField: string): void {
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
  const tombstone = record.status === 'tobedeleted' && !reader.hasErrors ? { ...record } : undefined;
  const baseIssues = reader.issues.length;
  (entityParsers[entity] as EntityParser<E>)(reader, record as RecordInProgress<E>);
  if (reader.hasErrors) {
    // A tombstone needs only its sourcedId: servers often send `tobedeleted` records with nothing
    // else, and what else they carry is never used (a deletion carries the last synced record).
    if (tombstone) return { record: tombstone as RosterRecord<E>, issues: reader.issues.slice(0, baseIssues) };
    return { record: undefined, issues: reader.issues };
  }
  return { record: record as RosterRecord<E>, issues: reader.issues };
}
