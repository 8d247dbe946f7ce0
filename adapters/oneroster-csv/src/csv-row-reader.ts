import type { Readable } from 'node:stream';
import { type CsvRowLimits, CsvTokenizer } from './csv-tokenizer';

export { MAX_CSV_FIELD_LENGTH, MAX_CSV_ROW_LENGTH, type CsvRowLimits } from './csv-tokenizer';

/** One row of a CSV file as read: its fields, or why it could not be read. */
export type CsvRow =
  | { /** 1-based line where the row starts. */ line: number; fields: string[]; error?: undefined }
  | { /** 1-based line where the parser gave up on the row. */ line: number; error: string; fields?: undefined };

/**
 * Streams the rows of an RFC 4180 CSV file, header first: UTF-8 with or without a byte order mark,
 * CRLF or LF, quoted fields with embedded commas, quotes and line breaks, blank lines skipped. A row
 * the parser cannot read becomes an error row and reading goes on. The input stream is destroyed
 * when iteration ends, early or not.
 */
export async function* readCsvRows(input: Readable, limits: CsvRowLimits = {}): AsyncGenerator<CsvRow> {
  for await (const rows of tokenizeCsv(input, limits)) {
    while (rows.nextRow()) yield currentCsvRow(rows);
  }
}

/**
 * Feeds `input` to a {@link CsvTokenizer} chunk by chunk, handing the tokenizer back after each
 * chunk, and once more after the end, for the caller to take the rows now complete. For reading
 * many rows: one await per chunk instead of one per row. The input stream is destroyed when
 * iteration ends, early or not.
 */
export async function* tokenizeCsv(input: Readable, limits: CsvRowLimits = {}): AsyncGenerator<CsvTokenizer> {
  const tokenizer = new CsvTokenizer(limits);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      tokenizer.push(chunk);
      yield tokenizer;
      // The rest would be ignored: it is not inflated or read at all.
      if (tokenizer.readingStopped) break;
    }
    tokenizer.end();
    yield tokenizer;
  } finally {
    input.destroy();
  }
}

/** A copy of the row `tokenizer` is on, to keep. */
export function currentCsvRow(tokenizer: CsvTokenizer): CsvRow {
  const { line, error } = tokenizer;
  return error === undefined ? { line, fields: [...tokenizer.fields] } : { line, error };
}
