import { StringDecoder } from 'node:string_decoder';

/** The longest row accepted, in bytes: a quote left open must not pull a whole file into memory. */
export const MAX_CSV_ROW_LENGTH = 1_000_000;

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
 * csv-parse, which this replaces. A row longer than {@link MAX_CSV_ROW_LENGTH} is an error that
 * ends reading: it is most likely a quote left open, and everything after it is in doubt.
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
  /** Errors of the row being scanned, and those waiting to be handed out, as line and message. */
  private readonly rowErrors: { line: number; message: string }[] = [];
  private readonly pendingErrors: { line: number; message: string }[] = [];
  private lastErrorLine = 0;

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
        return true;
      }
      if (this.stopped || !this.bomChecked) return false;
      const scan = this.scanRow();
      if (scan === Scan.Row) {
        this.error = undefined;
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
        if (!ended) return this.needMore(rowStart, line);
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
            if (!ended) return this.needMore(rowStart, line);
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
            if (i + 1 >= length && !ended) return this.needMore(rowStart, line);
            const next = i + 1 < length ? buffer[i + 1]! : -1;
            if (next === QUOTE) {
              flags |= DOUBLED_QUOTES;
              i += 2;
              continue;
            }
            let closes = next === -1 || next === COMMA;
            if (next === LF || next === CR) {
              if (this.lineBreakAt(i + 1) < 0) return this.needMore(rowStart, line);
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
                `Invalid Closing Quote: got "${got}" at line ${line} instead of delimiter, record delimiter, ` +
                'trimable character (if activated) or comment',
            });
            // Read on as if the quote were part of the field, as csv-parse does.
            i++;
          } else if (byte === LF) {
            line++;
            i++;
          } else if (byte === CR) {
            if (i + 1 >= length && !ended) return this.needMore(rowStart, line);
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
            if (breakLength < 0) return this.needMore(rowStart, line);
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
        if (i >= length && !ended) return this.needMore(rowStart, line);
        if (i === fieldStart && this.spanCount === 0 && i < length && buffer[i] !== COMMA) {
          // A blank line: skipped, and the row starts on the next one.
          this.recordDelimiter ??= this.delimiterAt(i);
          i += this.lineBreakAt(i);
          line++;
          rowStart = i;
          rowLine = line;
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
      if (lf < 0 || lf - start > MAX_CSV_ROW_LENGTH) return undefined;
      if (this.nextCr < start) this.nextCr = indexOrEnd(text, '\r', start);
      const end = this.nextCr === lf - 1 ? lf - 1 : lf;
      if (this.nextCr < end) return undefined;
      if (end === start) {
        // A blank line: skipped.
        this.start = lf + 1;
        this.startLine++;
        continue;
      }
      this.spanCount = 0;
      for (let fieldStart = start; ; ) {
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
    if (next - rowStart > MAX_CSV_ROW_LENGTH) return this.tooLong(nextLine - 1);
    if (this.rowErrors.length === 0) {
      this.line = rowLine;
      this.decodeFields();
      return Scan.Row;
    }
    for (const error of this.rowErrors) {
      // One error per line is enough: a stray quote can fail again on every quote after it.
      if (error.line !== this.lastErrorLine) this.pendingErrors.push(error);
      this.lastErrorLine = error.line;
    }
    this.rowErrors.length = 0;
    return Scan.Malformed;
  }

  /** Keeps the unfinished row for the next push, unless it is already too long. */
  private needMore(rowStart: number, line: number): Scan {
    if (this.buffer.length - rowStart > MAX_CSV_ROW_LENGTH) return this.tooLong(line);
    return Scan.NeedMore;
  }

  private tooLong(line: number): Scan {
    if (line !== this.lastErrorLine) {
      const message = `Max Record Size: record exceed the maximum number of tolerated bytes of ${MAX_CSV_ROW_LENGTH} at line ${line}`;
      this.pendingErrors.push({ line, message });
    }
    this.stopped = true;
    this.buffer = EMPTY;
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
