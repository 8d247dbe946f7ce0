import { type RosterIssueSeverity, issueFactory } from '@rosterbridge/core';

/**
 * The issue codes of the OneRoster CSV reader, with the severity each always has. Record-level
 * problems use the roster model's codes (`FIELD_REQUIRED`, `BAD_VOCABULARY`…); these are about the
 * package, its manifest, its files and rows as CSV. A code never changes meaning once released.
 */
export const CsvIssueCodes = {
  CSV_MANIFEST_MISSING: { severity: 'error', title: 'The package has no manifest.csv; nothing is read' },
  CSV_MANIFEST_INVALID: { severity: 'error', title: 'manifest.csv is malformed; the package (or the file it names) is not read' },
  CSV_UNSUPPORTED_VERSION: { severity: 'error', title: 'The package is not OneRoster 1.1; nothing is read' },
  CSV_MANIFEST_UNKNOWN_PROPERTY: { severity: 'warning', title: 'manifest.csv has a property OneRoster 1.1 does not define; ignored' },
  CSV_MANIFEST_FILE_UNLISTED: { severity: 'warning', title: 'manifest.csv does not list a roster file; it is treated as absent' },
  CSV_FILE_NOT_SUPPORTED: { severity: 'warning', title: 'A gradebook or resource file is declared; this reader does not read it' },
  CSV_FILE_MISSING: { severity: 'error', title: 'A file the manifest declares bulk or delta is not in the package' },
  CSV_FILE_IGNORED: { severity: 'warning', title: 'A file is in the package but the manifest does not declare it; not read' },
  CSV_BAD_HEADER: { severity: 'error', title: 'A file does not have the OneRoster 1.1 header; the file is not read' },
  CSV_EMPTY_FILE: { severity: 'warning', title: 'A bulk or delta file has no rows; it should be declared absent' },
  CSV_MALFORMED_ROW: { severity: 'error', title: 'A row is not valid CSV (a stray or unclosed quote); rejected' },
  CSV_COLUMN_COUNT: { severity: 'error', title: 'A row has a different number of fields than the header; rejected' },
  CSV_ROW_TOO_LONG: { severity: 'error', title: 'A row is longer than the cap of a row (maxLineBytes); rejected' },
  CSV_FIELD_TOO_LONG: { severity: 'error', title: 'A field is longer than the cap of a field (maxFieldBytes); the row is rejected' },
  CSV_BLANK_LINES: { severity: 'error', title: 'A run of blank lines is longer than a row may be; the rest of the file is not read' },
  CSV_BULK_CHANGE_FIELD: { severity: 'warning', title: 'A bulk file fills status or dateLastModified, which bulk files leave blank' },
  CSV_ENCODING: { severity: 'warning', title: 'A field is not valid UTF-8; unreadable bytes were replaced' },
  CSV_PACKAGE_NESTED: { severity: 'warning', title: 'The zip keeps its files in a folder instead of at its root' },
} as const satisfies Record<string, { severity: RosterIssueSeverity; title: string }>;

/** An issue code from {@link CsvIssueCodes}. */
export type CsvIssueCode = keyof typeof CsvIssueCodes;

/** Creates a {@link RosterIssue} for a CSV issue code, with the code's severity. */
export const csvIssue = issueFactory(CsvIssueCodes);
