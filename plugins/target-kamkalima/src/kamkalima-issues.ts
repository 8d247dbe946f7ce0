import { issueFactory } from '@rosterbridge/core';

/** The issue codes the Kamkalima target raises, each with the severity it always has. */
export const KamkalimaIssueCodes = {
  KAMKALIMA_SESSION_NOT_CURRENT_YEAR: { severity: 'warning', title: 'An academic session whose dates lie outside the current academic year is ignored' },
  KAMKALIMA_ORG_NOT_SCHOOL: { severity: 'warning', title: 'Orgs that are not schools (districts, departments…) were skipped' },
  KAMKALIMA_USER_ROLE_NOT_IMPORTED: { severity: 'warning', title: 'Users whose role Kamkalima has no account for (guardians, aides…) were skipped' },
  KAMKALIMA_ENROLLMENT_ROLE_NOT_IMPORTED: {
    severity: 'warning',
    title: 'Enrollments of roles other than teacher and student (administrators, aides…) were skipped',
  },
  KAMKALIMA_ENTITY_NOT_IMPORTED: { severity: 'warning', title: 'Records of an entity Kamkalima does not use were skipped' },
  KAMKALIMA_COURSE_WITHOUT_GRADES: { severity: 'error', title: 'A course has no grades' },
  KAMKALIMA_CLASS_WITHOUT_GRADES: { severity: 'error', title: 'A class has no grades' },
  KAMKALIMA_CLASS_COURSE_MISSING: { severity: 'error', title: 'A class refers to a course Kamkalima does not have' },
  KAMKALIMA_CLASS_OUTSIDE_COURSE_GRADES: { severity: 'error', title: "A class's grades are not all among its course's grades" },
  KAMKALIMA_CLASS_SCHOOL_MISSING: { severity: 'error', title: 'A class is taught at an org that is not a school' },
  KAMKALIMA_CLASS_NOT_CURRENT_YEAR: { severity: 'warning', title: 'A class runs in no session of the current academic year and is ignored' },
  KAMKALIMA_STUDENT_GRADE_COUNT: { severity: 'error', title: 'A student does not have exactly one grade' },
  KAMKALIMA_USER_WITHOUT_SCHOOL: { severity: 'error', title: 'A teacher, student or administrator belongs to no school' },
  KAMKALIMA_USER_SEVERAL_SCHOOLS: { severity: 'warning', title: 'A teacher or student in several schools is kept in the first one only' },
  KAMKALIMA_ENROLLMENT_OTHER_SCHOOL: { severity: 'warning', title: "An enrollment in a class of another school than the user's Kamkalima school is ignored" },
  KAMKALIMA_ENROLLMENT_NOT_LINKED: {
    severity: 'warning',
    title: 'An enrollment names a class or user Kamkalima does not have; it is kept aside and linked once both are in',
  },
  KAMKALIMA_ENROLLMENT_GRADE_MISMATCH: {
    severity: 'error',
    title: "A student's grade is not among the class's grades, or a teacher's grades share none with them",
  },
  KAMKALIMA_SCHOOL_WITHOUT_ADMINISTRATOR: { severity: 'warning', title: 'A school has no administrator account' },
} as const;

/** A code of {@link KamkalimaIssueCodes}. */
export type KamkalimaIssueCode = keyof typeof KamkalimaIssueCodes;

/** Creates a Kamkalima issue with its code's severity. */
export const kamkalimaIssue = issueFactory(KamkalimaIssueCodes);
