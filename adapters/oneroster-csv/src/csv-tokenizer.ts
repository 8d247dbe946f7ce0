import { StringDecoder } from 'node:string_decoder';

/** The longest row accepted by default, in bytes: a quote left open must not pull a whole file into memory. */
export const MAX_CSV_ROW_LENGTH = 1_000_000;
/** The longest field accepted by default, in bytes. */
export const MAX_CSV_FIELD_LENGTH = 100_000;

/** How long a row and a field may be, in bytes (see {@link CsvTokenizer}). */
export interface CsvRowLimits {
  /** The longest row (its line break included); default {@link MAX_CSV_ROW_LENGTH}. */
  maxLineBytes?: number;
  /** The longest field; default {@link MAX_CSV_FIELD_LENGTH}. */
  maxFieldBytes?: number;
}

/**
 * Why a row could not be taken: `CSV_MALFORMED_ROW` (a stray or unclosed quote), `CSV_ROW_TOO_LONG`,
 * `CSV_FIELD_TOO_LONG`, or `CSV_BLANK_LINES` (a run of blank lines longer than a row may be).
 */
export type CsvRowProblemCode = 'CSV_MALFORMED_ROW' | 'CSV_ROW_TOO_LONG' | 'CSV_FIELD_TOO_LONG' | 'CSV_BLANK_LINES';

/** A row the tokenizer could not take, and why. */
export interface CsvRowProblem {
  code: CsvRowProblemCode;
  /** 1-based line: where the row starts, or where the parser gave up on it (malformed CSV). */
  line: number;
  message: string;
  /** The 1-based column of the field at fault (`CSV_FIELD_TOO_LONG`). */
  column?: number;
  /** The row's first field, when the row is whole and has more than one field (`CSV_FIELD_TOO_LONG`, `CSV_ROW_TOO_LONG`). */
  firstField?: string;
  /**
   * True when rows may be lost around this one: malformed CSV, or reading stopped here (a row too
   * long that may hold an open quote, a run of blank lines too long). The rest of the file is in doubt.
   */
  losesRows: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const EMPTY = Buffer.alloc(0);

/** Flags of a field span: what its text needs once decoded. */
const DOUBLED_QUOTES = 1;
const CRLF_INSIDE = 2;
const NOT_ASCII = 4;

/**
 * V8 copies a slice shorter than this (SlicedString::kMinLength) and, from this length on, makes
 * a view that keeps the whole sliced string alive. Fields this long are decoded on their own.
 */
const SHORT_FIELD_LENGTH = 13;

/** What scanning for the next row found. */
const enum Scan {
  /** A row: its fields, line and no error. */
  Row,
  /** A row that is not valid CSV: its errors were queued. */
  Malformed,
  /** The row goes on past the bytes pushed so far. */
  NeedMore,
  /** No more rows: the input ended. */
  End,
}

/**
 * Splits CSV bytes into rows, as RFC 4180 has them: fields separated by commas, quoted fields with
 * embedded commas, doubled quotes and line breaks. Reads UTF-8, with or without a byte order mark,
 * or UTF-16LE with one. Lines end in LF or CRLF (or CR alone, when the first line does), and a CRLF
 * inside a quoted field reads as LF. Blank lines are skipped. Line numbers count every line break,
 * so they are the lines an editor shows.
 *
 * A row that is not valid CSV (a stray or unclosed quote) comes out as an error, once per line on
 * which something went wrong, and the following rows still come; the messages are those of
 * csv-parse, which this replaces. Rows and fields are bounded ({@link CsvRowLimits}): a row longer
 * than `maxLineBytes` is an error, and so is a row with a field longer than `maxFieldBytes`; reading
 * goes on after it, unless the row is still unfinished at the cap and holds a quote (most likely a
 * quote left open: everything after it is in doubt, and reading ends). A row without quotes that
 * goes past the cap is skipped to its line break without being kept in memory. A run of blank
 * lines longer than `maxLineBytes` ends reading too: a file of nothing but line breaks is not worth
 * reading to its end.
 *
 * Push bytes as they arrive, then take the rows that are complete:
 *
 * ```ts
 * const tokenizer = new CsvTokenizer();
 * for await (const chunk of stream) {
 *   tokenizer.push(chunk);
 *   while (tokenizer.nextRow()) use(tokenizer.line, tokenizer.error ?? tokenizer.fields);
 * }
 * tokenizer.end();
 * while (tokenizer.nextRow()) use(tokenizer.line, tokenizer.error ?? tokenizer.fields);
 * ```
 *
 * Nothing is allocated per row but the field strings: {@link fields} is refilled for each row.
 * Every field is a string of its own: keeping one (a sourcedId in a set) never keeps the rest of
 * its row or chunk in memory, as a slice of a decoded chunk would.
 */
export class CsvTokenizer {
  /** The fields of the row {@link nextRow} found; overwritten by the next call, so copy what must be kept. */
  readonly fields: string[] = [];
  /** The 1-based line where that row starts; for an error, the line where it was found. */
  line = 0;
  /** Why that row is not valid CSV; undefined for a good row. */
  error: string | undefined;
  /** That row's problem with its code; undefined for a good row. */
  problem: CsvRowProblem | undefined;
  /** Whether that row is all ASCII: then no field can hold a replacement character (U+FFFD). */
  ascii = true;

  /** Bytes pushed and not yet made into rows; the next row starts at `start`. */
  private buffer: Buffer = EMPTY;
  /**
   * `buffer` decoded as Latin-1: one character per byte, so positions in it are byte offsets.
   * String search finds row ends and commas faster than a loop over bytes, and short ASCII fields
   * are cut out of it (V8 copies such short slices, so they do not hold on to it).
   */
  private text = '';
  /** Where in `text` the next quote, CR and non-ASCII character are from the row being read; -1 when unknown. */
  private nextQuote = -1;
  private nextCr = -1;
  private nextNonAscii = -1;
  /** The fields of the row being scanned, as [start, end, flags] byte spans of `buffer`. */
  private readonly spans: number[] = [];
  private spanCount = 0;
  private start = 0;
  /** The line on which `start` is. */
  private startLine = 1;
  private ended = false;
  private stopped = false;
  /** Whether the byte order mark, if any, has been looked for: that needs the first three bytes. */
  private bomChecked = false;
  /** Set for a UTF-16LE file, whose bytes are converted to UTF-8 as they come. */
  private utf16: StringDecoder | undefined;
  /** The byte that ends rows, LF or CR: the first line break outside quotes decides. */
  private recordDelimiter: number | undefined;
  /** Errors of the row being scanned, as line and message (malformed CSV), and the problems waiting to be handed out. */
  private readonly rowErrors: { line: number; message: string }[] = [];
  private readonly pendingErrors: CsvRowProblem[] = [];
  private lastErrorLine = 0;
  private readonly maxLineBytes: number;
  private readonly maxFieldBytes: number;
  /** A row too long, without quotes, being skipped to its line break: its line and the bytes dropped so far. */
  private skipping: { line: number; bytes: number; firstField?: string } | undefined;
  /** Bytes of blank lines since the last row, and the line where they began. */
  private blankBytes = 0;
  private blankLine = 0;

  constructor(limits: CsvRowLimits = {}) {
    this.maxLineBytes = limits.maxLineBytes ?? MAX_CSV_ROW_LENGTH;
    this.maxFieldBytes = limits.maxFieldBytes ?? MAX_CSV_FIELD_LENGTH;
  }

  /** True once reading has ended early (a row too long with a quote, a run of blank lines too long): more bytes are ignored, so need not be read. */
  get readingStopped(): boolean {
    return this.stopped;
  }

  /** Adds the next bytes of the file. */
  push(chunk: Buffer): void {
    this.append(this.utf16 ? Buffer.from(this.utf16.write(chunk), 'utf8') : chunk);
    if (!this.bomChecked) this.checkBom();
  }

  /** Says that no more bytes will come: the last row no longer waits for its line break. */
  end(): void {
    if (this.utf16) this.append(Buffer.from(this.utf16.end(), 'utf8'));
    this.ended = true;
    if (!this.bomChecked) this.checkBom();
  }

  /**
   * Moves to the next row: true when there is one ({@link fields}, {@link line} and {@link error}
   * describe it), false when the bytes pushed so far hold no more complete rows.
   */
  nextRow(): boolean {
    for (;;) {
      const pending = this.pendingErrors.shift();
      if (pending) {
        this.fields.length = 0;
        this.line = pending.line;
        this.error = pending.message;
        this.problem = pending;
        return true;
      }
      if (this.stopped || !this.bomChecked) return false;
      if (this.skipping) {
        // The skipped row's problem comes before the rows after it.
        if (!this.skipLongRow()) return false;
        continue;
      }
      const scan = this.scanRow();
      if (scan === Scan.Row) {
        this.error = undefined;
        this.problem = undefined;
        return true;
      }
      if (scan !== Scan.Malformed) return false;
    }
  }

  private append(bytes: Buffer): void {
    if (this.stopped) return;
    const rest = this.buffer.length - this.start;
    // Only the unfinished row is carried over: a few hundred bytes, not the chunk.
    this.buffer = rest === 0 ? bytes : Buffer.concat([this.buffer.subarray(this.start), bytes]);
    this.start = 0;
    this.text = this.buffer.toString('latin1');
    this.nextQuote = this.nextCr = this.nextNonAscii = -1;
  }

  private checkBom(): void {
    const bytes = this.buffer;
    if (bytes.length < 3 && !this.ended) return;
    this.bomChecked = true;
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      this.start = 3;
    } else if (bytes[0] === 0xff && bytes[1] === 0xfe) {
      // Rare enough to pay for a conversion: the scanner then only ever sees UTF-8.
      this.utf16 = new StringDecoder('utf16le');
      this.buffer = EMPTY;
      this.append(Buffer.from(this.utf16.write(bytes.subarray(2)), 'utf8'));
    }
  }

  /**
   * Scans one row from `start`. A row that runs past the bytes pushed so far is scanned again from
   * its start once more bytes come: simpler than keeping a half-scanned row, and cheap, since only
   * the last row of a chunk is ever scanned twice.
   */
  private scanRow(): Scan {
    if (this.recordDelimiter === LF) {
      const simple = this.scanSimpleRow();
      if (simple !== undefined) return simple;
    }
    const buffer = this.buffer;
    const length = buffer.length;
    const ended = this.ended;
    const errors = this.rowErrors;
    // Errors found in a row that turned out incomplete are found again when it is scanned again.
    if (errors.length > 0) errors.length = 0;
    this.spanCount = 0;
    let i = this.start;
    let line = this.startLine;
    let rowStart = i;
    let rowLine = line;

    for (;;) {
      // One field per turn, starting at i.
      const fieldStart = i;
      if (i >= length) {
        if (!ended) return this.needMore(rowStart, rowLine, line);
        if (this.spanCount === 0) return Scan.End;
        this.addSpan(i, i, 0);
        return this.endRow(length, line, rowStart, rowLine);
      }
      const first = buffer[i]!;

      if (first === QUOTE) {
        let flags = 0;
        let bytes = 0;
        i++;
        for (;;) {
          if (i >= length) {
            if (!ended) return this.needMore(rowStart, rowLine, line);
            // A line break at the very end does not start a new line of text.
            const last = buffer[length - 1];
            const lastLine = last === LF || last === CR ? line - 1 : line;
            errors.push({ line: lastLine, message: `Quote Not Closed: the parsing is finished with an opening quote at line ${lastLine}` });
            return this.endRow(length, line, rowStart, rowLine);
          }
          const byte = buffer[i]!;
          bytes |= byte;
          // Everything above the quote byte is field content: the common case, tested first.
          if (byte > QUOTE) {
            i++;
          } else if (byte === QUOTE) {
            if (i + 1 >= length && !ended) return this.needMore(rowStart, rowLine, line);
            const next = i + 1 < length ? buffer[i + 1]! : -1;
            if (next === QUOTE) {
              flags |= DOUBLED_QUOTES;
              i += 2;
              continue;
            }
            let closes = next === -1 || next === COMMA;
            if (next === LF || next === CR) {
              if (this.lineBreakAt(i + 1) < 0) return this.needMore(rowStart, rowLine, line);
              closes = this.endsRow(i + 1);
            }
            if (closes) {
              this.addSpan(fieldStart + 1, i, bytes > 0x7f ? flags | NOT_ASCII : flags);
              i++;
              break;
            }
            // A CRLF is named as the LF it reads as.
            const got = String.fromCharCode(next === CR && buffer[i + 2] === LF ? LF : next);
            errors.push({
              line,
              message:
                `Invalid Closing Quote: got "${got}" at line ${line} instead of delimiter, record delimiter, ` + 'trimable character (if activated) or comment',
            });
            // Read on as if the quote were part of the field, as csv-parse does.
            i++;
          } else if (byte === LF) {
            line++;
            i++;
          } else if (byte === CR) {
            if (i + 1 >= length && !ended) return this.needMore(rowStart, rowLine, line);
            if (buffer[i + 1] === LF) flags |= CRLF_INSIDE;
            else line++;
            i++;
          } else {
            i++;
          }
        }
      } else {
        let flags = 0;
        let bytes = 0;
        for (;;) {
          if (i >= length) break;
          const byte = buffer[i]!;
          bytes |= byte;
          // Commas, quotes and line breaks are all below 0x2d: most bytes are passed on one comparison.
          if (byte > COMMA) {
            i++;
          } else if (byte === COMMA) {
            break;
          } else if (byte === LF || byte === CR) {
            const breakLength = this.lineBreakAt(i);
            if (breakLength < 0) return this.needMore(rowStart, rowLine, line);
            if (this.endsRow(i)) break;
            // A line break that is not this file's row end is field content, on a new line.
            if (breakLength === 2) flags |= CRLF_INSIDE;
            line++;
            i += breakLength;
          } else if (byte === QUOTE) {
            // A quote that does not open the field: an error, after which it reads as content.
            const value = JSON.stringify(buffer.toString('utf8', fieldStart, i).replaceAll('\r\n', '\n'));
            errors.push({ line, message: `Invalid Opening Quote: a quote is found on field ${this.spanCount / 3} at line ${line}, value is ${value}` });
            i++;
          } else {
            i++;
          }
        }
        if (i >= length && !ended) return this.needMore(rowStart, rowLine, line);
        if (i === fieldStart && this.spanCount === 0 && i < length && buffer[i] !== COMMA) {
          // A blank line: skipped, and the row starts on the next one (kept as the place to scan
          // from, so a long run of them is not carried over and scanned again with each chunk).
          this.recordDelimiter ??= this.delimiterAt(i);
          const breakLength = this.lineBreakAt(i);
          if (this.blankBytes === 0) this.blankLine = line;
          this.blankBytes += breakLength;
          i += breakLength;
          line++;
          rowStart = this.start = i;
          rowLine = this.startLine = line;
          if (this.blankBytes > this.maxLineBytes) return this.tooManyBlankLines();
          continue;
        }
        this.addSpan(fieldStart, i, bytes > 0x7f ? flags | NOT_ASCII : flags);
      }

      // The field ended at i: on a comma, a row end or the end of the input.
      if (i >= length) return this.endRow(i, line, rowStart, rowLine);
      if (buffer[i] === COMMA) {
        i++;
        continue;
      }
      this.recordDelimiter ??= this.delimiterAt(i);
      return this.endRow(i + this.lineBreakAt(i), line + 1, rowStart, rowLine);
    }
  }

  /**
   * Reads the common row with string search rather than byte by byte: a row on one line, without
   * CRs but a CRLF's, whose quoted fields hold no quote or line break. Undefined when the row is
   * not of that kind (it may be malformed) or not complete; then it is scanned byte by byte.
   */
  private scanSimpleRow(): Scan | undefined {
    const text = this.text;
    for (;;) {
      const start = this.start;
      const lf = text.indexOf('\n', start);
      if (lf < 0 || lf - start > this.maxLineBytes) return undefined;
      if (this.nextCr < start) this.nextCr = indexOrEnd(text, '\r', start);
      const end = this.nextCr === lf - 1 ? lf - 1 : lf;
      if (this.nextCr < end) return undefined;
      if (end === start) {
        // A blank line: skipped.
        if (this.blankBytes === 0) this.blankLine = this.startLine;
        this.blankBytes += lf + 1 - start;
        this.start = lf + 1;
        this.startLine++;
        if (this.blankBytes > this.maxLineBytes) return this.tooManyBlankLines();
        continue;
      }
      this.spanCount = 0;
      for (let fieldStart = start; ;) {
        let fieldEnd: number;
        let contentStart = fieldStart;
        let contentEnd: number;
        if (text.charCodeAt(fieldStart) === QUOTE) {
          // The content runs to the next quote, which must end the field: a doubled quote or
          // anything else after it is left to the byte scan.
          const close = text.indexOf('"', fieldStart + 1);
          if (close < 0 || close >= end) return undefined;
          fieldEnd = close + 1;
          if (fieldEnd !== end && text.charCodeAt(fieldEnd) !== COMMA) return undefined;
          contentStart = fieldStart + 1;
          contentEnd = close;
        } else {
          const comma = text.indexOf(',', fieldStart);
          fieldEnd = contentEnd = comma < 0 || comma > end ? end : comma;
          // A quote inside an unquoted field is an error, which the byte scan reports.
          if (this.nextQuote < fieldStart) this.nextQuote = indexOrEnd(text, '"', fieldStart);
          if (this.nextQuote < fieldEnd) return undefined;
        }
        this.addSpan(contentStart, contentEnd, this.hasNonAscii(contentStart, contentEnd) ? NOT_ASCII : 0);
        if (fieldEnd === end) break;
        fieldStart = fieldEnd + 1;
      }
      return this.endRow(lf + 1, this.startLine + 1, start, this.startLine);
    }
  }

  /** Whether text[start, end) has a character above ASCII; asked of increasing, non-overlapping ranges. */
  private hasNonAscii(start: number, end: number): boolean {
    if (this.nextNonAscii < start) {
      NON_ASCII.lastIndex = start;
      this.nextNonAscii = NON_ASCII.test(this.text) ? NON_ASCII.lastIndex - 1 : this.text.length;
    }
    return this.nextNonAscii < end;
  }

  /** Length of the line break at i: 2 for CRLF, 1 for LF or CR, 0 for none, -1 when a CR ends the bytes so far. */
  private lineBreakAt(i: number): number {
    const byte = this.buffer[i];
    if (byte === LF) return 1;
    if (byte !== CR) return 0;
    if (i + 1 < this.buffer.length) return this.buffer[i + 1] === LF ? 2 : 1;
    return this.ended ? 1 : -1;
  }

  /** The row end a line break at i makes: LF for LF or CRLF, CR for CR alone. */
  private delimiterAt(i: number): number {
    return this.buffer[i] === LF || this.buffer[i + 1] === LF ? LF : CR;
  }

  /** Whether the line break at i ends the row: a CRLF reads as LF; before the first row end, any break does. */
  private endsRow(i: number): boolean {
    return this.recordDelimiter === undefined || this.delimiterAt(i) === this.recordDelimiter;
  }

  /** Finishes the row scanned from `rowStart`: hands it out, or queues its errors. */
  private endRow(next: number, nextLine: number, rowStart: number, rowLine: number): Scan {
    this.start = next;
    this.startLine = nextLine;
    this.blankBytes = 0;
    const length = next - rowStart;
    if (length > this.maxLineBytes) {
      // With a quote in it, too long a row ends reading, as it does when it is still open at the cap
      // (whether it is whole at the cap depends on how the bytes came in chunks).
      const quote = this.text.indexOf('"', rowStart);
      if (this.rowErrors.length > 0 || (quote >= 0 && quote < next)) return this.tooLong(rowLine, nextLine - 1);
      // Whole, without quotes: rejected alone, and reading goes on.
      const message = `line ${rowLine} is ${length} bytes long, over the cap of ${this.maxLineBytes} bytes a row (maxLineBytes)`;
      return this.reject({ code: 'CSV_ROW_TOO_LONG', line: rowLine, message, ...this.firstFieldFrom(rowStart), losesRows: false });
    }
    if (this.rowErrors.length === 0) {
      // Only a row longer than a field may be can hold a field too long.
      if (length > this.maxFieldBytes) {
        const spans = this.spans;
        for (let at = 0; at < this.spanCount; at += 3) {
          const bytes = spans[at + 1]! - spans[at]!;
          if (bytes <= this.maxFieldBytes) continue;
          const column = at / 3 + 1;
          const message = `line ${rowLine}: field ${column} is ${bytes} bytes long, over the cap of ${this.maxFieldBytes} bytes a field (maxFieldBytes)`;
          return this.reject({ code: 'CSV_FIELD_TOO_LONG', line: rowLine, message, column, ...(column === 1 ? {} : this.firstFieldOfRow()), losesRows: false });
        }
      }
      this.line = rowLine;
      this.decodeFields();
      return Scan.Row;
    }
    for (const error of this.rowErrors) {
      // One error per line is enough: a stray quote can fail again on every quote after it.
      if (error.line !== this.lastErrorLine) this.pendingErrors.push({ code: 'CSV_MALFORMED_ROW', ...error, losesRows: true });
      this.lastErrorLine = error.line;
    }
    this.rowErrors.length = 0;
    return Scan.Malformed;
  }

  /** Queues a whole row's problem; the row is not handed out. */
  private reject(problem: CsvRowProblem): Scan {
    this.rowErrors.length = 0;
    this.pendingErrors.push(problem);
    this.lastErrorLine = problem.line;
    return Scan.Malformed;
  }

  /** The first field of the row just scanned, when it has others and is not too long itself. */
  private firstFieldOfRow(): { firstField?: string } {
    const spans = this.spans;
    if (this.spanCount < 6 || spans[1]! - spans[0]! > this.maxFieldBytes) return {};
    let field = this.buffer.toString('utf8', spans[0], spans[1]);
    if (spans[2]! & DOUBLED_QUOTES) field = field.replaceAll('""', '"');
    return { firstField: field };
  }

  /** The first field of a row without quotes from `rowStart`, when a comma ends it within the bytes at hand and the field cap. */
  private firstFieldFrom(rowStart: number): { firstField?: string } {
    const comma = this.text.indexOf(',', rowStart);
    if (comma < 0 || comma - rowStart > this.maxFieldBytes) return {};
    return { firstField: this.buffer.toString('utf8', rowStart, comma) };
  }

  /**
   * Keeps the unfinished row for the next push, unless it is already too long: then a row without
   * a quote so far is skipped to its line break (it cannot hold one); one with a quote ends reading.
   */
  private needMore(rowStart: number, rowLine: number, line: number): Scan {
    if (this.buffer.length - rowStart <= this.maxLineBytes) return Scan.NeedMore;
    const quoted = this.text.indexOf('"', rowStart) >= 0;
    if (quoted || this.recordDelimiter === undefined || rowLine !== line) return this.tooLong(rowLine, line);
    // The row goes on past the bytes at hand: all of them are dropped, and so is the rest of it.
    this.skipping = { line: rowLine, bytes: this.buffer.length - rowStart, ...this.firstFieldFrom(rowStart) };
    this.buffer = EMPTY;
    this.text = '';
    this.start = 0;
    return Scan.NeedMore;
  }

  /**
   * Drops the bytes of a row too long up to its line break. True when the line break (or the end of
   * the input) was reached: the row's problem is queued and the next row starts after it.
   */
  private skipLongRow(): boolean {
    const skipping = this.skipping!;
    const end = this.text.indexOf(this.recordDelimiter === CR ? '\r' : '\n', this.start);
    if (end < 0 && !this.ended) {
      // Nothing of the row is kept: only the count of its bytes.
      skipping.bytes += this.buffer.length - this.start;
      this.buffer = EMPTY;
      this.text = '';
      this.start = 0;
      return false;
    }
    const stop = end < 0 ? this.buffer.length : end + 1;
    skipping.bytes += stop - this.start;
    this.skipping = undefined;
    this.start = stop;
    this.startLine = skipping.line + 1;
    this.blankBytes = 0;
    this.nextQuote = this.nextCr = this.nextNonAscii = -1;
    const message = `line ${skipping.line} is ${skipping.bytes} bytes long, over the cap of ${this.maxLineBytes} bytes a row (maxLineBytes)`;
    const firstField = skipping.firstField === undefined ? {} : { firstField: skipping.firstField };
    this.pendingErrors.push({ code: 'CSV_ROW_TOO_LONG', line: skipping.line, message, ...firstField, losesRows: false });
    this.lastErrorLine = skipping.line;
    return true;
  }

  /** Ends reading at a row too long that may hold an open quote (from `rowLine`, seen up to `line`): what follows is in doubt. */
  private tooLong(rowLine: number, line: number): Scan {
    if (line !== this.lastErrorLine) {
      const reach = line === rowLine ? '' : ` (to line ${line} at least)`;
      const message =
        `line ${rowLine}: a row runs past the cap of ${this.maxLineBytes} bytes a row (maxLineBytes)${reach} and holds a quote, ` +
        'most likely one left open; the rest of the file is not read';
      this.pendingErrors.push({ code: 'CSV_ROW_TOO_LONG', line: rowLine, message, losesRows: true });
    }
    return this.stop();
  }

  private tooManyBlankLines(): Scan {
    const message = `from line ${this.blankLine} on, more than ${this.maxLineBytes} bytes of blank lines (the cap of a row, maxLineBytes); the rest of the file is not read`;
    this.pendingErrors.push({ code: 'CSV_BLANK_LINES', line: this.blankLine, message, losesRows: true });
    return this.stop();
  }

  private stop(): Scan {
    this.stopped = true;
    this.buffer = EMPTY;
    this.text = '';
    this.start = 0;
    return Scan.Malformed;
  }

  private addSpan(start: number, end: number, flags: number): void {
    const spans = this.spans;
    const at = this.spanCount;
    spans[at] = start;
    spans[at + 1] = end;
    spans[at + 2] = flags;
    this.spanCount = at + 3;
  }

  /** Makes the spans of the row just scanned into {@link fields}. */
  private decodeFields(): void {
    const { buffer, spans, spanCount, fields } = this;
    // Decoding is a call into C++ per string, which costs more than the scan: short ASCII fields
    // are cut out of `text` instead. Only the others are decoded on their own.
    const text = this.text;
    let count = 0;
    let ascii = true;
    for (let at = 0; at < spanCount; at += 3) {
      const start = spans[at]!;
      const end = spans[at + 1]!;
      const flags = spans[at + 2]!;
      if (flags & NOT_ASCII) ascii = false;
      let field: string;
      if (start === end) field = '';
      else if (end - start < SHORT_FIELD_LENGTH && (flags & NOT_ASCII) === 0) field = text.slice(start, end);
      else field = buffer.toString('utf8', start, end);
      if (flags & DOUBLED_QUOTES) field = field.replaceAll('""', '"');
      if (flags & CRLF_INSIDE) field = field.replaceAll('\r\n', '\n');
      fields[count++] = field;
    }
    // Rows of a file have the same width but for the odd one: the array is refilled, not rebuilt.
    if (fields.length !== count) fields.length = count;
    this.ascii = ascii;
  }
}

const NON_ASCII = /[^\x00-\x7f]/g;

/** Where `search` is in `text` from `start` on, or the end of `text` when it is not. */
function indexOrEnd(text: string, search: string, start: number): number {
  const index = text.indexOf(search, start);
  return index < 0 ? text.length : index;
}
