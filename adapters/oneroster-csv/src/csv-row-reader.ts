import { parse, type CsvError, type Info } from 'csv-parse';
import { pipeline, type Readable } from 'node:stream';
import { createLineEndingNormalizer } from './line-ending-normalizer';

/** One row of a CSV file as read: its fields, or why it could not be read. */
export type CsvRow =
  | { /** 1-based line where the row starts. */ line: number; fields: string[]; error?: undefined }
  | { /** 1-based line where the parser gave up on the row. */ line: number; error: string; fields?: undefined };

/** The longest row accepted, in characters: a quote left open must not pull a whole file into memory. */
export const MAX_CSV_ROW_LENGTH = 1_000_000;

type ParsedRow = { record: string[]; info: Info } | { skipped: CsvError };

/**
 * Streams the rows of an RFC 4180 CSV file, header first: UTF-8 with or without a byte order mark,
 * CRLF or LF, quoted fields with embedded commas, quotes and line breaks, blank lines skipped. A row
 * the parser cannot read becomes an error row and reading goes on. The input stream is destroyed
 * when iteration ends, early or not.
 */
export async function* readCsvRows(input: Readable): AsyncGenerator<CsvRow> {
  // Skipped rows are pushed into the parser's own output, so they come out in file order.
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_CSV_ROW_LENGTH,
    info: true,
    on_skip: (error) => {
      if (error) parser.push({ skipped: error } satisfies ParsedRow);
    },
  });
  const rows = pipeline(input, createLineEndingNormalizer(), parser, () => {
    // Errors surface through the iteration of `rows` below.
  });
  let lastErrorLine: number | undefined;
  try {
    for await (const row of rows as AsyncIterable<ParsedRow>) {
      if ('skipped' in row) {
        // An over-long row (an unclosed quote) fails again on every chunk of the same line: once is enough.
        const line = Number(row.skipped['lines']);
        if (line !== lastErrorLine) yield { line, error: row.skipped.message };
        lastErrorLine = line;
      } else {
        const breaks = row.record.reduce((count, field) => count + countLineBreaks(field), 0);
        yield { line: row.info.lines - breaks, fields: row.record };
      }
    }
  } finally {
    rows.destroy();
    input.destroy();
  }
}

function countLineBreaks(field: string): number {
  let count = 0;
  for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) count++;
  return count;
}
