import { type RosterIssueSeverity, issueFactory } from '@rosterbridge/core';

/**
 * Record-level issue codes of the OneRoster REST adapter, next to the roster model's own
 * (`RosterIssueCodes`). A code never changes meaning once released.
 */
export const OneRosterRestIssueCodes = {
  REST_RECORD_NOT_OBJECT: { severity: 'error', title: 'An item of a collection is not a JSON object' },
  REST_DUPLICATE_RECORD: { severity: 'warning', title: 'A record repeated one of the previous page and was read once' },
  REST_TOTAL_MISMATCH: { severity: 'warning', title: "The records read differ from the server's X-Total-Count" },
} as const satisfies Record<string, { severity: RosterIssueSeverity; title: string }>;

/** An issue code of {@link OneRosterRestIssueCodes}. */
export type OneRosterRestIssueCode = keyof typeof OneRosterRestIssueCodes;

/** Creates a {@link RosterIssue} for a REST adapter code, with the code's severity. */
export const oneRosterRestIssue = issueFactory(OneRosterRestIssueCodes);
