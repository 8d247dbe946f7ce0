import { issueFactory } from '@rosterbridge/core';

/** The record-level issues Gradient raises, each with the severity it always has. */
export const GradientIssueCodes = {
  GRADIENT_TERM_DATES_INVALID: { severity: 'error', title: 'A term ends before it starts; it was not taken' },
  GRADIENT_CLASS_WITHOUT_TERM: { severity: 'warning', title: 'A class names no term Gradient holds; it shows in no schedule' },
  GRADIENT_ENROLLMENT_CLASS_UNKNOWN: { severity: 'error', title: 'An enrollment names a class Gradient does not hold; it is not taken until the class is' },
  GRADIENT_ENROLLMENT_PERSON_UNKNOWN: { severity: 'error', title: 'An enrollment names a person Gradient does not hold; it is not taken until they are' },
  GRADIENT_ENROLLMENT_NOT_ROSTERED: { severity: 'warning', title: "An enrollment of a staff role the tenant's settings leave out was not taken" },
  GRADIENT_USERS_NOT_ROSTERED: {
    severity: 'warning',
    title: 'Users of roles Gradient does not roster (guardians, or staff roles left out by the settings) were not taken',
  },
  GRADIENT_STAFF_EMAIL_MISSING: { severity: 'warning', title: 'A staff member has no email and cannot be sent a login invite' },
  GRADIENT_STAFF_EMAIL_DUPLICATE: { severity: 'warning', title: 'Staff members share an email; only one can sign in with it' },
} as const;

/** Creates a Gradient issue with its code's severity. */
export const gradientIssue = issueFactory(GradientIssueCodes);
