import { RosterRowParser, rosterIssue, type RosterEntity, type RosterIssue, type RosterRecord } from '@rosterbridge/core';
import { csvIssue } from './csv-issue-codes';
import type { CsvRowProblem, CsvTokenizer } from './csv-tokenizer';
import { ONEROSTER_CSV_HEADERS } from './oneroster-csv-headers';
import { SourcedIdSet } from './sourced-id-set';

/** The fields whose filling depends on the file's mode, and their columns in the standard header. */
const CHANGE_FIELDS = [
  { field: 'status', column: 2 },
  { field: 'dateLastModified', column: 3 },
] as const;

/** Where an issue about a row is: the row, and its sourcedId when it has one. */
type RowPlace = Omit<RosterIssue, 'code' | 'severity' | 'message'>;

/**
 * Turns the data rows of one roster file into canonical records, applying the CSV binding's rules
 * on top of the roster model's: the row's shape against the header, bulk files leave status and
 * dateLastModified blank and delta files fill them, a sourcedId appears once per file. Extension
 * columns go to `metadata` under their name (`metadata.` prefix dropped). Every issue names file,
 * line and column. Keeps the file's sourcedIds to find duplicates: in a file sorted by sourcedId
 * they go to a spill file and memory stays flat; otherwise memory grows with the number of rows'
 * ids, not with their content.
 *
 * Rows are taken from the file's tokenizer one at a time, as the caller asks for them:
 *
 * ```ts
 * while (parser.next(issues)) if (parser.record) records.push(parser.record);
 * ```
 */
export class CsvRowParser<E extends RosterEntity> {
  /** The 1-based line where the row last parsed starts. */
  line = 0;
  /** That row's canonical record; undefined when the row was rejected. */
  record: RosterRecord<E> | undefined;
  /**
   * That row's sourcedId when it can be read whole (undefined for a malformed row, a blank first
   * field, or a short row whose first field is its only one, which may be cut short).
   */
  sourcedId: string | undefined;

  private readonly records: RosterRowParser<E>;
  /** The 1-based column of each header name (the first, if it repeats). */
  private readonly columns = new Map<string, number>();
  private readonly sourcedIds = new SourcedIdSet();
  private readonly filledInBulk = new Map<string, { rows: number; firstLine: number }>();
  private rowCount = 0;
  private malformedRows = 0;
  private lastReadableLine = 1;

  constructor(
    readonly entity: E,
    readonly file: string,
    readonly mode: 'bulk' | 'delta',
    readonly header: readonly string[],
    private readonly rows: CsvTokenizer,
  ) {
    const standard = ONEROSTER_CSV_HEADERS[entity].length;
    const keys = header.map((name, index) => (index < standard || name.startsWith('metadata.') ? name : `metadata.${name}`));
    this.records = new RosterRowParser(entity, keys);
    header.forEach((name, index) => {
      if (!this.columns.has(name)) this.columns.set(name, index + 1);
    });
  }

  /**
   * Parses the next row the tokenizer has complete, adding the row's issues to `issues`; then
   * {@link line} and {@link record} describe it. False when the tokenizer has no complete row.
   */
  next(issues: RosterIssue[]): boolean {
    const rows = this.rows;
    if (!rows.nextRow()) return false;
    this.rowCount++;
    this.line = rows.line;
    const problem = rows.problem;
    if (problem === undefined) {
      this.sourcedId = rows.fields.length > 1 ? rows.fields[0]!.trim() || undefined : undefined;
      this.record = this.parse(rows.fields, rows.line, issues);
    } else {
      this.sourcedId = problem.firstField?.trim() || undefined;
      this.record = problem.code === 'CSV_MALFORMED_ROW' ? this.malformed(rows.line, problem.message, issues) : this.refused(problem, issues);
    }
    return true;
  }

  /**
   * Issues about the file as a whole, known once every row is parsed, and whether every row is
   * accounted for (false after malformed CSV, which may hide rows).
   */
  finish(): { issues: RosterIssue[]; allRowsAccountedFor: boolean } {
    const issues: RosterIssue[] = [];
    const at = { entity: this.entity, file: this.file };
    if (this.rowCount === 0) {
      issues.push(csvIssue('CSV_EMPTY_FILE', `${this.file} is declared ${this.mode} but has no rows; an empty file should be declared absent`, at));
    }
    for (const [field, { rows, firstLine }] of this.filledInBulk) {
      const message =
        `${field} is filled on ${rows} row${rows === 1 ? '' : 's'} of ${this.file} (first on line ${firstLine}), a bulk file, ` +
        `where OneRoster 1.1 leaves it blank; the values were read as given`;
      issues.push(csvIssue('CSV_BULK_CHANGE_FIELD', message, { ...at, field, line: firstLine, column: this.columns.get(field)! }));
    }
    // The file is done: no more duplicates to find.
    this.sourcedIds.dispose();
    return { issues, allRowsAccountedFor: this.malformedRows === 0 };
  }

  private malformed(line: number, error: string, issues: RosterIssue[]): undefined {
    // A stray or unclosed quote makes the parser lose track of where rows end: the rows between
    // the last readable one and this line may have been swallowed without a trace.
    this.malformedRows++;
    const message =
      `${this.file} line ${line} is not valid CSV (${error}); rows after line ${this.lastReadableLine} ` +
      `up to here may be lost, so ${this.file} is not read as complete`;
    issues.push(csvIssue('CSV_MALFORMED_ROW', message, { entity: this.entity, file: this.file, line }));
    return undefined;
  }

  /** A row over a cap (too long, a field too long) or a run of blank lines that ended reading. */
  private refused(problem: CsvRowProblem, issues: RosterIssue[]): undefined {
    if (problem.losesRows) this.malformedRows++;
    const column = problem.column;
    const field = column === undefined ? undefined : this.header[column - 1];
    const consequence = problem.code === 'CSV_BLANK_LINES' || problem.losesRows ? '' : '; the row is rejected';
    const message = `${this.file} ${problem.message}${field === undefined ? '' : ` (${field})`}${consequence}`;
    issues.push(csvIssue(problem.code, message, this.placeOf(problem.line, this.sourcedId, field, column)));
    return undefined;
  }

  private parse(fields: readonly string[], line: number, issues: RosterIssue[]): RosterRecord<E> | undefined {
    this.lastReadableLine = line;
    const width = this.header.length;
    const sourcedId = fields[0]?.trim() || undefined;
    if (fields.length < width || hasFilledFieldFrom(fields, width)) {
      const message = `${this.file} line ${line} has ${fields.length} fields but the header has ${width} columns`;
      issues.push(csvIssue('CSV_COLUMN_COUNT', message, this.placeOf(line, sourcedId)));
      return undefined;
    }

    const firstIssue = issues.length;
    for (let index = 0; index < width && !this.rows.ascii; index++) {
      if (fields[index]!.includes('\uFFFD')) {
        const field = this.header[index]!;
        const message = `${field} has bytes that are not UTF-8 (is the file saved as UTF-8?)`;
        issues.push(csvIssue('CSV_ENCODING', message, this.placeOf(line, sourcedId, field, index + 1)));
      }
    }
    this.checkChangeFields(fields, line, sourcedId, issues);

    const parsed = this.records.parse(fields);
    for (const issue of parsed.issues) {
      // The parser's issues are new objects of its own: completed in place rather than copied.
      const column = issue.field === undefined ? undefined : this.columns.get(issue.field);
      issue.file = this.file;
      issue.line = line;
      if (column !== undefined) issue.column = column;
      issues.push(issue);
    }
    let record = hasErrorFrom(issues, firstIssue) ? undefined : parsed.record;
    if (sourcedId !== undefined && !this.sourcedIds.add(sourcedId)) {
      const message = `sourcedId '${sourcedId}' appears earlier in ${this.file}; this row is rejected`;
      issues.push(rosterIssue('DUPLICATE_SOURCED_ID', message, this.placeOf(line, sourcedId, 'sourcedId', 1)));
      record = undefined;
    }
    return record;
  }

  private checkChangeFields(fields: readonly string[], line: number, sourcedId: string | undefined, issues: RosterIssue[]): void {
    // Standard columns are where the header check found them.
    for (const { field, column } of CHANGE_FIELDS) {
      const filled = fields[column - 1]!.trim() !== '';
      if (this.mode === 'delta' && !filled) {
        issues.push(rosterIssue('FIELD_REQUIRED', `${field} is required in a delta file`, this.placeOf(line, sourcedId, field, column)));
      } else if (this.mode === 'bulk' && filled) {
        const tally = this.filledInBulk.get(field);
        if (tally) tally.rows++;
        else this.filledInBulk.set(field, { rows: 1, firstLine: line });
      }
    }
  }

  /** Only built when the row has an issue to report; key by key, not spread (a file of bad rows builds millions). */
  private placeOf(line: number, sourcedId: string | undefined, field?: string, column?: number): RowPlace {
    const at: RowPlace = { entity: this.entity, file: this.file, line };
    if (sourcedId !== undefined) at.sourcedId = sourcedId;
    if (field !== undefined) at.field = field;
    if (column !== undefined) at.column = column;
    return at;
  }
}

/** True when a field from `start` on holds more than blanks: trailing empty fields are tolerated. */
function hasFilledFieldFrom(fields: readonly string[], start: number): boolean {
  for (let index = start; index < fields.length; index++) if (fields[index]!.trim() !== '') return true;
  return false;
}

function hasErrorFrom(issues: readonly RosterIssue[], start: number): boolean {
  for (let index = start; index < issues.length; index++) if (issues[index]!.severity === 'error') return true;
  return false;
}
