/** `status` values of OneRoster 1.1. (`inactive` belonged to 1.0 and is not accepted.) */
export const ROSTER_STATUSES = ['active', 'tobedeleted'] as const;
/** A record's status: `tobedeleted` is the only explicit deletion. */
export type RosterStatus = (typeof ROSTER_STATUSES)[number];

/** `org.type` values of OneRoster 1.1. */
export const ORG_TYPES = ['department', 'school', 'district', 'local', 'state', 'national'] as const;
/** What kind of organisation an org is. */
export type OrgType = (typeof ORG_TYPES)[number];

/** `academicSession.type` values of OneRoster 1.1. */
export const SESSION_TYPES = ['gradingPeriod', 'semester', 'schoolYear', 'term'] as const;
/** What kind of period an academic session is. */
export type SessionType = (typeof SESSION_TYPES)[number];

/** `class.classType` values of OneRoster 1.1. */
export const CLASS_TYPES = ['homeroom', 'scheduled'] as const;
/** Whether a class is a homeroom or a scheduled class. */
export type ClassType = (typeof CLASS_TYPES)[number];

/** `user.role` values of OneRoster 1.1. */
export const USER_ROLES = ['administrator', 'aide', 'guardian', 'parent', 'proctor', 'relative', 'student', 'teacher'] as const;
/** A user's role. */
export type UserRole = (typeof USER_ROLES)[number];

/** `enrollment.role` values of OneRoster 1.1. */
export const ENROLLMENT_ROLES = ['administrator', 'proctor', 'student', 'teacher'] as const;
/** The role a user has in one class. */
export type EnrollmentRole = (typeof ENROLLMENT_ROLES)[number];

/** `demographics.sex` values of OneRoster 1.1. */
export const SEXES = ['male', 'female'] as const;
/** A person's sex as OneRoster 1.1 records it. */
export type Sex = (typeof SEXES)[number];

/** How a text matched a vocabulary: exactly, or only when case is ignored. */
export interface VocabularyMatch<T extends string> {
  value: T;
  exact: boolean;
}

/**
 * Finds `text` in a vocabulary: exactly, or failing that ignoring case (`Scheduled` → `scheduled`,
 * reported as inexact so the caller can warn). Undefined when it is not there at all.
 */
export function matchVocabulary<T extends string>(vocabulary: readonly T[], text: string): VocabularyMatch<T> | undefined {
  if ((vocabulary as readonly string[]).includes(text)) return { value: text as T, exact: true };
  const lower = text.toLowerCase();
  const value = vocabulary.find((term) => term.toLowerCase() === lower);
  return value === undefined ? undefined : { value, exact: false };
}
