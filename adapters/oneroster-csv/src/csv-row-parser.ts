import { parseRosterRecord, rosterIssue, type RosterEntity, type RosterIssue, type RosterRecord } from '@rosterbridge/core';
import { csvIssue } from './csv-issue-codes';
import type { CsvRow } from './csv-row-reader';
import { ONEROSTER_CSV_HEADERS } from './oneroster-csv-headers';

/** What one data row of a roster file gave: its record unless it was rejected, and its issues. */
export interface CsvRowOutcome<E extends RosterEntity> {
  /** 1-based line where the row starts. */
  line: number;
  /** The canonical record; undefined when the row was rejected. */
  record: RosterRecord<E> | undefined;
  issues: RosterIssue[];
}

const CHANGE_FIELDS = ['status', 'dateLastModified'] as const;

/**
 * Turns the data rows of one roster file into canonical records, applying the CSV binding's rules
 * on top of the roster model's: the row's shape against the header, bulk files leave status and
 * dateLastModified blank and delta files fill them, a sourcedId appears once per file. Extension
 * columns go to `metadata` under their name (`metadata.` prefix dropped). Every issue names file,
 * line and column. Keeps the file's sourcedIds to find duplicates: memory grows with the number of
 * rows' ids, not with their content.
 */
export class CsvRowParser<E extends RosterEntity> {
  private readonly keys: string[];
  private readonly columns = new Map<string, number>();
  private readonly sourcedIds = new Set<string>();
  private readonly filledInBulk = new Map<string, { rows: number; firstLine: number }>();
  private rows = 0;
  private malformedRows = 0;
  private lastReadableLine = 1;

  constructor(
    readonly entity: E,
    readonly file: string,
    readonly mode: 'bulk' | 'delta',
    readonly header: readonly string[],
  ) {
    const standard = ONEROSTER_CSV_HEADERS[entity].length;
    this.keys = header.map((name, index) => (index < standard || name.startsWith('metadata.') ? name : `metadata.${name}`));
    header.forEach((name, index) => {
      if (!this.columns.has(name)) this.columns.set(name, index + 1);
    });
  }

  /** Parses one data row. */
  parse(row: CsvRow): CsvRowOutcome<E> {
    this.rows++;
    const at = { entity: this.entity, file: this.file, line: row.line };
    if (row.error !== undefined) {
      // A stray or unclosed quote makes the parser lose track of where rows end: the rows between
      // the last readable one and this line may have been swallowed without a trace.
      this.malformedRows++;
      const message =
        `${this.file} line ${row.line} is not valid CSV (${row.error}); rows after line ${this.lastReadableLine} ` +
        `up to here may be lost, so ${this.file} is not read as complete`;
      return { line: row.line, record: undefined, issues: [csvIssue('CSV_MALFORMED_ROW', message, at)] };
    }
    this.lastReadableLine = row.line;
    const { fields } = row;
    const sourcedId = fields[0]?.trim() || undefined;
    const where = sourcedId === undefined ? at : { ...at, sourcedId };
    const extra = fields.slice(this.header.length);
    if (fields.length < this.header.length || extra.some((field) => field.trim() !== '')) {
      const message = `${this.file} line ${row.line} has ${fields.length} fields but the header has ${this.header.length} columns`;
      return { line: row.line, record: undefined, issues: [csvIssue('CSV_COLUMN_COUNT', message, where)] };
    }

    const issues: RosterIssue[] = [];
    const raw: Record<string, string> = {};
    this.keys.forEach((key, index) => {
      const value = fields[index]!;
      raw[key] = value;
      if (value.includes('\uFFFD')) {
        const field = this.header[index]!;
        issues.push(csvIssue('CSV_ENCODING', `${field} has bytes that are not UTF-8 (is the file saved as UTF-8?)`, { ...where, field, column: index + 1 }));
      }
    });
    this.checkChangeFields(raw, where, issues);

    const parsed = parseRosterRecord(this.entity, raw);
    for (const issue of parsed.issues) {
      const column = issue.field === undefined ? undefined : this.columns.get(issue.field);
      issues.push({ ...issue, file: this.file, line: row.line, ...(column === undefined ? {} : { column }) });
    }
    let record = issues.some((issue) => issue.severity === 'error') ? undefined : parsed.record;
    if (sourcedId !== undefined) {
      if (this.sourcedIds.has(sourcedId)) {
        issues.push(rosterIssue('DUPLICATE_SOURCED_ID', `sourcedId '${sourcedId}' appears earlier in ${this.file}; this row is rejected`, { ...where, field: 'sourcedId', column: 1 }));
        record = undefined;
      }
      this.sourcedIds.add(sourcedId);
    }
    return { line: row.line, record, issues };
  }

  /**
   * Issues about the file as a whole, known once every row is parsed, and whether every row is
   * accounted for (false after malformed CSV, which may hide rows).
   */
  finish(): { issues: RosterIssue[]; allRowsAccountedFor: boolean } {
    const issues: RosterIssue[] = [];
    const at = { entity: this.entity, file: this.file };
    if (this.rows === 0) {
      issues.push(csvIssue('CSV_EMPTY_FILE', `${this.file} is declared ${this.mode} but has no rows; an empty file should be declared absent`, at));
    }
    for (const [field, { rows, firstLine }] of this.filledInBulk) {
      const message =
        `${field} is filled on ${rows} row${rows === 1 ? '' : 's'} of ${this.file} (first on line ${firstLine}), a bulk file, ` +
        `where OneRoster 1.1 leaves it blank; the values were read as given`;
      issues.push(csvIssue('CSV_BULK_CHANGE_FIELD', message, { ...at, field, line: firstLine, column: this.columns.get(field)! }));
    }
    return { issues, allRowsAccountedFor: this.malformedRows === 0 };
  }

  private checkChangeFields(raw: Record<string, string>, where: Omit<RosterIssue, 'code' | 'severity' | 'message'>, issues: RosterIssue[]): void {
    for (const field of CHANGE_FIELDS) {
      const filled = raw[field]!.trim() !== '';
      if (this.mode === 'delta' && !filled) {
        issues.push(rosterIssue('FIELD_REQUIRED', `${field} is required in a delta file`, { ...where, field, column: this.columns.get(field)! }));
      } else if (this.mode === 'bulk' && filled) {
        const tally = this.filledInBulk.get(field);
        if (tally) tally.rows++;
        else this.filledInBulk.set(field, { rows: 1, firstLine: where.line! });
      }
    }
  }
}
