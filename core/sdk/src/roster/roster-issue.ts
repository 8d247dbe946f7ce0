import type { RosterEntity } from './roster-entity';

/** How bad a {@link RosterIssue} is: an `error` rejects the record, a `warning` keeps it. */
export type RosterIssueSeverity = 'error' | 'warning';

/**
 * The catalogue of record-level issue codes the roster model raises, with the severity each always
 * has. A code never changes meaning once released. Adapters add their own codes (CSV files, REST
 * pages) next to these.
 */
export const RosterIssueCodes = {
  FIELD_REQUIRED: { severity: 'error', title: 'A required field is blank' },
  BAD_VALUE: { severity: 'error', title: 'A field has a value of the wrong shape' },
  BAD_VOCABULARY: { severity: 'error', title: 'A field is not one of its allowed values' },
  VOCABULARY_CASE: { severity: 'warning', title: 'A field is an allowed value in the wrong case' },
  BAD_DATE: { severity: 'error', title: 'A date or date-time cannot be read' },
  DATE_WITHOUT_TIME: { severity: 'warning', title: 'A date-time has no time; midnight UTC is assumed' },
  DATE_WITHOUT_ZONE: { severity: 'warning', title: 'A date-time has no time zone; UTC is assumed' },
  DATES_REVERSED: { severity: 'warning', title: 'An end date comes before its start date' },
  BAD_BOOLEAN: { severity: 'error', title: 'A field is not true or false' },
  BAD_GRADE: { severity: 'warning', title: 'A grade is not a CEDS grade level and was left out' },
  BAD_USER_ID: { severity: 'error', title: 'A userIds item is not of the form {type:identifier}' },
  DUPLICATE_SOURCED_ID: { severity: 'error', title: 'A sourcedId appears twice' },
  DUPLICATE_USER_ID: { severity: 'warning', title: 'Two users share one userIds identifier' },
  REFERENCE_UNRESOLVED: { severity: 'warning', title: 'A reference names a record the source did not send' },
  TOBEDELETED_UNKNOWN: { severity: 'warning', title: 'A record marked tobedeleted was never synced: nothing to delete; skipped' },
  DELETIONS_HELD: { severity: 'warning', title: 'Rows whose sourcedId cannot be read were rejected: nothing of the entity is deleted for its absence' },
  ISSUES_NOT_STORED: { severity: 'warning', title: 'More issues of one code than a run stores: the rest were counted, not stored' },
} as const satisfies Record<string, { severity: RosterIssueSeverity; title: string }>;

/** A record-level issue code from {@link RosterIssueCodes}. */
export type RosterIssueCode = keyof typeof RosterIssueCodes;

/**
 * One problem found in source data: what, where and how bad. Issues are values, not exceptions:
 * a reader reports them next to the records it could produce.
 *
 * ```ts
 * { code: 'BAD_VOCABULARY', severity: 'error', entity: 'academicSessions', sourcedId: 'as-2',
 *   field: 'status', message: "status 'inactive' is not one of active, tobedeleted",
 *   file: 'academicSessions.csv', line: 4, column: 2 }
 * ```
 */
export interface RosterIssue {
  /** A stable code: one of {@link RosterIssueCodes} or an adapter's own (e.g. `CSV_BAD_HEADER`). */
  code: string;
  severity: RosterIssueSeverity;
  /** The entity concerned; absent for package-level issues such as a bad manifest. */
  entity?: RosterEntity;
  /** The record concerned, when it has a readable sourcedId. */
  sourcedId?: string;
  /** The field concerned, by its OneRoster name (the CSV column name). */
  field?: string;
  /** What is wrong and what was expected, fit for a district admin. */
  message: string;
  /** The file the issue was found in (CSV). */
  file?: string;
  /** The 1-based line of the file where the row starts (CSV). */
  line?: number;
  /** The 1-based column of the field (CSV). */
  column?: number;
}

/**
 * Issues counted but not listed one by one: how many of one code and severity. A reader that finds
 * millions of issues of one code lists the first few and counts the rest (see
 * {@link RosterReadOptions.maxIssuesPerCode}); a run stores the first few of each code and counts
 * the rest too.
 */
export interface RosterIssueTally {
  code: string;
  severity: RosterIssueSeverity;
  count: number;
}

/** A catalogue of issue codes with the severity each always has (core's, or an adapter's own). */
export type RosterIssueCatalogue = Readonly<Record<string, { readonly severity: RosterIssueSeverity; readonly title: string }>>;

/** Where an issue is: entity, record, field, file, line, column. */
export type RosterIssueLocation = Omit<RosterIssue, 'code' | 'severity' | 'message'>;

/**
 * Makes the issue constructor of a catalogue: it takes a code of that catalogue and gives the issue
 * the code's severity, so a code can never be raised at the wrong one.
 *
 * ```ts
 * export const csvIssue = issueFactory(CsvIssueCodes);
 * csvIssue('CSV_BAD_HEADER', 'users.csv: column 6 is "role "…', { file: 'users.csv', line: 1 });
 * ```
 */
export function issueFactory<C extends RosterIssueCatalogue>(
  catalogue: C,
): (code: keyof C & string, message: string, where?: RosterIssueLocation) => RosterIssue {
  return (code, message, where = {}) => ({ code, severity: catalogue[code]!.severity, message, ...where });
}

/** Creates a {@link RosterIssue} for a code of {@link RosterIssueCodes}, with the code's severity. */
export const rosterIssue = issueFactory(RosterIssueCodes);

/** True when any of `issues` is an error. */
export function hasRosterErrors(issues: readonly RosterIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error');
}
