import type { RosterEntity } from '@rosterbridge/core';
import { ONEROSTER_CSV_HEADERS } from './oneroster-csv-headers';

/** What is wrong with a header: the first column that differs, and what was expected there. */
export interface CsvHeaderMismatch {
  /** 1-based column of the first difference. */
  column: number;
  /** What the file has there; undefined when the header stops too early. */
  found: string | undefined;
  expected: string;
  /** A message naming the column, what it is and what was expected. */
  message: string;
}

/**
 * Compares a file's header with the OneRoster 1.1 header of `entity`: every defined column, in
 * order, spelled exactly (headers are case-sensitive). Columns after the defined ones are
 * extensions and always allowed. Returns undefined when the header is right.
 */
export function checkCsvHeader(entity: RosterEntity, header: readonly string[], file: string): CsvHeaderMismatch | undefined {
  const expectedHeader = ONEROSTER_CSV_HEADERS[entity];
  const column = expectedHeader.findIndex((name, index) => header[index] !== name);
  if (column < 0) return undefined;
  const expected = expectedHeader[column]!;
  const found = header[column];
  const spec = `OneRoster 1.1 ${file} starts with: ${expectedHeader.join(',')}`;
  let problem: string;
  if (found === undefined) {
    problem = `the header ends after column ${column} but column ${column + 1} must be '${expected}'`;
  } else if (found.toLowerCase() === expected.toLowerCase()) {
    problem = `column ${column + 1} is ${JSON.stringify(found)}, expected '${expected}' (headers are case-sensitive)`;
  } else if (found.trim() === expected) {
    problem = `column ${column + 1} is ${JSON.stringify(found)}, expected '${expected}' without surrounding blanks`;
  } else if (expectedHeader.includes(found)) {
    problem = `column ${column + 1} is '${found}', expected '${expected}' ('${found}' belongs in column ${expectedHeader.indexOf(found) + 1})`;
  } else {
    problem = `column ${column + 1} is '${found}', expected '${expected}'`;
  }
  return { column: column + 1, found, expected, message: `${file}: ${problem}. ${spec}` };
}
