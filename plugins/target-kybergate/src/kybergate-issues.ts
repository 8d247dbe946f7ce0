import { issueFactory } from '@rosterbridge/core';

/** Issue codes the KyberGate target raises, with their severities. A code never changes meaning. */
export const KybergateIssueCodes = {
  KYBERGATE_DUPLICATE_EMAIL: { severity: 'error', title: "A user's email is already another user's; KyberGate signs users in by email" },
  KYBERGATE_MISSING_FIELD: { severity: 'error', title: 'A field KyberGate requires (email, first or last name) is blank' },
  KYBERGATE_ROLE_NOT_IMPORTED: { severity: 'warning', title: 'Users whose role has no KyberGate account (guardian, parent, relative) were skipped' },
  KYBERGATE_USER_TYPE_NOT_SELECTED: { severity: 'warning', title: "Records of user types left out of the tenant's userTypes were skipped" },
  KYBERGATE_SCHOOL_NOT_SELECTED: { severity: 'warning', title: "Records of schools left out of the tenant's schools were skipped" },
  KYBERGATE_ORG_TYPE_NOT_IMPORTED: { severity: 'warning', title: 'Orgs other than districts and schools were skipped' },
  KYBERGATE_MEMBER_USER_UNKNOWN: { severity: 'error', title: 'A class member names a user KyberGate does not hold; it waits until KyberGate does' },
  KYBERGATE_MEMBER_CLASS_UNKNOWN: { severity: 'error', title: 'A class member names a class KyberGate does not hold; it waits until KyberGate does' },
  KYBERGATE_CLASS_SCHOOL_UNKNOWN: { severity: 'error', title: 'A class belongs to a school KyberGate does not hold; it waits until KyberGate does' },
  KYBERGATE_SCOPE_CHANGED: {
    severity: 'warning',
    title: "The tenant's schools or userTypes changed since its data was imported; reset the target to re-import",
  },
} as const;

/** A code of {@link KybergateIssueCodes}. */
export type KybergateIssueCode = keyof typeof KybergateIssueCodes;

/** Creates an issue of {@link KybergateIssueCodes} with the code's severity. */
export const kybergateIssue = issueFactory(KybergateIssueCodes);
