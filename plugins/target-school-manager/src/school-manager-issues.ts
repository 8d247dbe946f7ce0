import { issueFactory } from '@rosterbridge/core';

/** The issue codes School Manager's sync raises in a run's log, with their severity. */
export const SchoolManagerIssueCodes = {
  SCHOOL_MANAGER_USER_UNMATCHED: { severity: 'warning', title: "No School Manager user has this roster user's email" },
  SCHOOL_MANAGER_USER_NO_EMAIL: { severity: 'warning', title: 'A roster user has no email, so cannot be matched' },
  SCHOOL_MANAGER_DUPLICATE_EMAIL: { severity: 'error', title: 'An email is shared by several roster users or School Manager users; none of them is matched' },
  SCHOOL_MANAGER_SCHOOL_INCOMPLETE: { severity: 'error', title: 'A school has an incomplete dataset (no students, or no classes)' },
  SCHOOL_MANAGER_EXCLUDED_SCHOOL_UNKNOWN: { severity: 'warning', title: 'An excluded school names no school of the roster' },
  SCHOOL_MANAGER_STUDENT_LEFT: { severity: 'warning', title: 'A student whose enrolments have all ended is not synced (Respect Enrolment Date)' },
  SCHOOL_MANAGER_SCHOOL_EXCLUDED: { severity: 'warning', title: 'Records of excluded schools were skipped' },
  SCHOOL_MANAGER_CLASSROOM_DATA_OFF: { severity: 'warning', title: 'Classes and memberships were skipped: Sync Classroom Data is off' },
  SCHOOL_MANAGER_CLASS_NOT_CURRENT: {
    severity: 'warning',
    title: 'Classes outside the current academic session, and their memberships, were skipped (Respect Academic Sessions)',
  },
  SCHOOL_MANAGER_ENROLMENT_NOT_CURRENT: { severity: 'warning', title: 'Enrolments not active today were skipped (Respect Enrolment Date)' },
  SCHOOL_MANAGER_MEMBER_USER_UNMATCHED: {
    severity: 'warning',
    title: 'Memberships of users not matched to a School Manager user were skipped; they arrive once the user is matched',
  },
  SCHOOL_MANAGER_MEMBER_USER_UNKNOWN: { severity: 'error', title: 'A membership names a user who is not a student or staff member of the roster' },
  SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN: { severity: 'error', title: 'A membership names a class that is not in the roster' },
  SCHOOL_MANAGER_ROLE_NOT_SYNCED: { severity: 'warning', title: 'Records of roles School Manager does not sync were skipped' },
  SCHOOL_MANAGER_PARENT_DATA_OFF: { severity: 'warning', title: 'Parents and guardians were skipped: Sync Parent Data is off' },
  SCHOOL_MANAGER_PARENT_UNLINKED: { severity: 'warning', title: 'Parents and guardians of no matched student of an included school were skipped' },
} as const;

/** A code of {@link SchoolManagerIssueCodes}. */
export type SchoolManagerIssueCode = keyof typeof SchoolManagerIssueCodes;

/**
 * The School Manager code a partial sync carries, saying why ("A partial sync will display an error
 * message advising why … with the error code"): the first of these that the run's issues raised,
 * or undefined when none did (the run is then not partial on School Manager's account).
 */
export const SCHOOL_MANAGER_PARTIAL_CODES = [
  'SCHOOL_MANAGER_SCHOOL_INCOMPLETE',
  'SCHOOL_MANAGER_DUPLICATE_EMAIL',
  'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN',
  'SCHOOL_MANAGER_MEMBER_USER_UNKNOWN',
] as const satisfies readonly SchoolManagerIssueCode[];

/** The code of a partial School Manager sync with these issues ({@link SCHOOL_MANAGER_PARTIAL_CODES}). */
export function schoolManagerPartialCode(issues: readonly { code: string; severity: string }[]): string | undefined {
  const raised = new Set(issues.filter((i) => i.severity === 'error').map((i) => i.code));
  return SCHOOL_MANAGER_PARTIAL_CODES.find((code) => raised.has(code));
}

/** Makes an issue with its code's severity. */
export const schoolManagerIssue = issueFactory(SchoolManagerIssueCodes);

/**
 * Codes of failed syncs, carried in the failure's message and details (the engine records
 * `TARGET_FAILED` as the run's code).
 */
export const SchoolManagerFailureCodes = {
  /** The product has no users for the tenant: nothing could be matched. */
  SCHOOL_MANAGER_NO_USERS: 'SCHOOL_MANAGER_NO_USERS',
  /** Every school of the roster is excluded: there is nothing to sync. */
  SCHOOL_MANAGER_ALL_SCHOOLS_EXCLUDED: 'SCHOOL_MANAGER_ALL_SCHOOLS_EXCLUDED',
} as const;
