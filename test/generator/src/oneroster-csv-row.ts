import type { RosterEntity, RosterRecord, RosterRecordMap } from '@rosterbridge/core';

/** Whether a package holds full snapshots (status and dateLastModified blank) or changes (both filled). */
export type OneRosterPackageMode = 'bulk' | 'delta';

const text = (value: string | undefined): string => value ?? '';
const list = (values: readonly string[]): string => values.join(',');
const flag = (value: boolean | undefined): string => (value === undefined ? '' : value ? 'true' : 'false');

type Columns<E extends RosterEntity> = (record: RosterRecordMap[E]) => string[];

const COLUMNS: { [E in RosterEntity]: Columns<E> } = {
  orgs: (r) => [r.name, r.type, text(r.identifier), text(r.parentSourcedId)],
  academicSessions: (r) => [r.title, r.type, r.startDate, r.endDate, text(r.parentSourcedId), r.schoolYear],
  courses: (r) => [text(r.schoolYearSourcedId), r.title, text(r.courseCode), list(r.grades), r.orgSourcedId, list(r.subjects), list(r.subjectCodes)],
  classes: (r) => [
    r.title,
    list(r.grades),
    r.courseSourcedId,
    text(r.classCode),
    r.classType,
    text(r.location),
    r.schoolSourcedId,
    list(r.termSourcedIds),
    list(r.subjects),
    list(r.subjectCodes),
    list(r.periods),
  ],
  users: (r) => [
    flag(r.enabledUser),
    list(r.orgSourcedIds),
    r.role,
    r.username,
    r.userIds.map((id) => `{${id.type}:${id.identifier}}`).join(','),
    r.givenName,
    r.familyName,
    text(r.middleName),
    text(r.identifier),
    text(r.email),
    text(r.sms),
    text(r.phone),
    list(r.agentSourcedIds),
    list(r.grades),
    text(r.password),
  ],
  enrollments: (r) => [r.classSourcedId, r.schoolSourcedId, r.userSourcedId, r.role, flag(r.primary), text(r.beginDate), text(r.endDate)],
  demographics: (r) => [
    text(r.birthDate),
    text(r.sex),
    flag(r.americanIndianOrAlaskaNative),
    flag(r.asian),
    flag(r.blackOrAfricanAmerican),
    flag(r.nativeHawaiianOrOtherPacificIslander),
    flag(r.white),
    flag(r.demographicRaceTwoOrMoreRaces),
    flag(r.hispanicOrLatinoEthnicity),
    text(r.countryOfBirthCode),
    text(r.stateOfBirthAbbreviation),
    text(r.cityOfBirth),
    text(r.publicSchoolResidenceStatus),
  ],
};

/**
 * The fields of one OneRoster 1.1 CSV row for a canonical record, in the order of
 * `ONEROSTER_CSV_HEADERS[entity]`. Lists are comma-joined (the CSV writer quotes them), userIds are
 * written `{type:identifier}`, booleans `true`/`false`. In bulk mode status and dateLastModified are
 * left blank, as the specification asks; in delta mode both are filled.
 */
export function oneRosterCsvRow<E extends RosterEntity>(entity: E, record: RosterRecord<E>, mode: OneRosterPackageMode): string[] {
  const status = mode === 'delta' ? record.status : '';
  const modified = mode === 'delta' && record.dateLastModified ? record.dateLastModified.toISOString() : '';
  return [record.sourcedId, status, modified, ...(COLUMNS[entity] as Columns<E>)(record)];
}
