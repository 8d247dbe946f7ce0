import { issueFactory } from '@rosterbridge/core';

/** The issue codes School Manager's sync raises in a run's log, with their severity. */
export const SchoolManagerIssueCodes = {
  SCHOOL_MANAGER_USER_UNMATCHED: { severity: 'warning', title: 'No School Manager user has this roster user\'s email' },
  SCHOOL_MANAGER_USER_NO_EMAIL: { severity: 'warning', title: 'A roster user has no email, so cannot be matched' },
  SCHOOL_MANAGER_DUPLICATE_EMAIL: { severity: 'error', title: 'An email is shared by several roster users or School Manager users; none of them is matched' },
  SCHOOL_MANAGER_SCHOOL_INCOMPLETE: { severity: 'error', title: 'A school has an incomplete dataset (no students, or no classes)' },
  SCHOOL_MANAGER_EXCLUDED_SCHOOL_UNKNOWN: { severity: 'warning', title: 'An excluded school names no school of the roster' },
} as const;

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
