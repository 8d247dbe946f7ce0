import type { RosterEntity } from './roster-entity';
import { RosterFieldReader, type RawRosterRecord } from './roster-field-reader';
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
const required = { required: true } as const;

const parseOrg: EntityParser<'orgs'> = (r): EntityFields<'orgs'> => ({
  name: r.text('name', required)!,
  type: r.vocabulary('type', ORG_TYPES, required)!,
  identifier: r.text('identifier'),
  parentSourcedId: r.reference('parentSourcedId', { restName: 'parent' }),
});

const parseAcademicSession: EntityParser<'academicSessions'> = (r) => {
  const session: EntityFields<'academicSessions'> = {
    title: r.text('title', required)!,
    type: r.vocabulary('type', SESSION_TYPES, required)!,
    startDate: r.calendarDate('startDate', required)!,
    endDate: r.calendarDate('endDate', required)!,
    parentSourcedId: r.reference('parentSourcedId', { restName: 'parent' }),
    schoolYear: r.year('schoolYear', required)!,
  };
  checkDateOrder(r, session.startDate, session.endDate, 'startDate', 'endDate');
  return session;
};

const parseCourse: EntityParser<'courses'> = (r) => ({
  title: r.text('title', required)!,
  schoolYearSourcedId: r.reference('schoolYearSourcedId', { restName: 'schoolYear' }),
  courseCode: r.text('courseCode'),
  grades: r.grades('grades'),
  orgSourcedId: r.reference('orgSourcedId', { required: true, restName: 'org' })!,
  subjects: r.list('subjects'),
  subjectCodes: r.list('subjectCodes'),
});

const parseClass: EntityParser<'classes'> = (r) => ({
  title: r.text('title', required)!,
  grades: r.grades('grades'),
  courseSourcedId: r.reference('courseSourcedId', { required: true, restName: 'course' })!,
  classCode: r.text('classCode'),
  classType: r.vocabulary('classType', CLASS_TYPES, required)!,
  location: r.text('location'),
  schoolSourcedId: r.reference('schoolSourcedId', { required: true, restName: 'school' })!,
  termSourcedIds: r.references('termSourcedIds', { required: true, restName: 'terms' }),
  subjects: r.list('subjects'),
  subjectCodes: r.list('subjectCodes'),
  periods: r.list('periods'),
});

const parseUser: EntityParser<'users'> = (r) => ({
  enabledUser: r.boolean('enabledUser', required)!,
  orgSourcedIds: r.references('orgSourcedIds', { required: true, restName: 'orgs' }),
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
  agentSourcedIds: r.references('agentSourcedIds', { restName: 'agents' }),
  grades: r.grades('grades'),
  password: r.text('password'),
});

const parseEnrollment: EntityParser<'enrollments'> = (r) => {
  const enrollment: EntityFields<'enrollments'> = {
    classSourcedId: r.reference('classSourcedId', { required: true, restName: 'class' })!,
    schoolSourcedId: r.reference('schoolSourcedId', { required: true, restName: 'school' })!,
    userSourcedId: r.reference('userSourcedId', { required: true, restName: 'user' })!,
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
 * Parses one raw record of `entity` (a CSV row keyed by header, or a REST JSON object) into its
 * canonical record. Never throws on bad data: every problem is an issue, and the record is left
 * out when any issue is an error. A blank `status` reads as `active`; optional fields that are
 * blank are left out of the record; lists are always arrays.
 *
 * ```ts
 * const { record, issues } = parseRosterRecord('classes', row);
 * if (record) batch.push(record);
 * report.push(...issues);
 * ```
 */
export function parseRosterRecord<E extends RosterEntity>(entity: E, raw: RawRosterRecord): RosterRecordResult<E> {
  const reader = new RosterFieldReader(entity, raw);
  const base: RosterRecordBase = {
    sourcedId: reader.text('sourcedId', required)!,
    status: reader.vocabulary('status', ROSTER_STATUSES) ?? 'active',
    dateLastModified: reader.dateTime('dateLastModified'),
    metadata: reader.metadata(),
  };
  const fields = (entityParsers[entity] as EntityParser<E>)(reader);
  if (reader.hasErrors) return { record: undefined, issues: reader.issues };
  const record = { ...base, ...withoutBlanks(fields) } as RosterRecord<E>;
  return { record, issues: reader.issues };
}

function withoutBlanks<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

