import type { LoadContext } from './roster-target';

// How a target writes a back-fill's load ({@link RosterTargetSession.load}) into its product's
// tables: each page's rows go by binary COPY in the load's transaction, which the engine commits
// with its record of the load. Written by hand because no maintained library encodes PostgreSQL's
// binary COPY tuples from rows for pg-copy-streams (the libraries that exist write text CSV, which
// would cost quoting and parsing on both sides, or are unmaintained).

/** How a column's value travels in a binary COPY: the column's SQL type. */
export type ProductColumnKind = 'text' | 'text[]' | 'boolean' | 'date' | 'integer' | 'jsonb';

/** A table of the product's schema: its name (unqualified), its key, and its columns in COPY order. */
export interface ProductTable {
  readonly name: string;
  /** Its primary key; (tenant_id, sourced_id) unless said. */
  readonly key?: readonly string[];
  /** The columns a load writes, in order, with their kinds: an object or a list of pairs. */
  readonly columns: Readonly<Record<string, ProductColumnKind>> | readonly (readonly [string, ProductColumnKind])[];
}

/** A product table's columns as (name, kind) pairs, in COPY order. */
export function productColumns(table: ProductTable): readonly (readonly [string, ProductColumnKind])[] {
  return Array.isArray(table.columns) ? table.columns : Object.entries(table.columns as Readonly<Record<string, ProductColumnKind>>);
}

const TEXT_OID = 25;
const DAY_MS = 86_400_000;
const PG_EPOCH = Date.UTC(2000, 0, 1);
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A growing buffer that binary COPY tuples are written into, in one pass. */
export class TupleSink {
  private buffer: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(capacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `bytes` more. */
  ensure(bytes: number): Buffer {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }

  /** What was written (a view: the sink must not be written to again). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * Appends rows (objects keyed by column) to `sink` as binary COPY tuples of `table`'s columns, in
 * its order, in one pass: room for a string is reserved at its worst (three bytes per UTF-16 unit)
 * and its real length written after it. `null` or undefined is SQL NULL. A value its column cannot
 * carry is refused with a TypeError naming the table, row and column (from 1), and the sink is left
 * as it was before the call.
 */
export function appendProductRows(sink: TupleSink, table: ProductTable, rows: readonly Record<string, unknown>[]): void {
  const columns = productColumns(table);
  const start = sink.length;
  let r = 0;
  let name = '';
  let v: unknown;
  const refuse = (what: string) => {
    sink.length = start;
    return new TypeError(`${table.name} row ${r + 1}, column ${name}: not ${what}: ${JSON.stringify(v)}`);
  };
  for (; r < rows.length; r++) {
    const row = rows[r]!;
    let out = sink.ensure(2);
    let at = out.writeInt16BE(columns.length, sink.length);
    sink.length = at;
    for (const [column, kind] of columns) {
      name = column;
      v = row[column];
      if (v === null || v === undefined) {
        out = sink.ensure(4);
        sink.length = out.writeInt32BE(-1, sink.length);
        continue;
      }
      switch (kind) {
        case 'text': {
          if (typeof v !== 'string') throw refuse('a string');
          out = sink.ensure(4 + v.length * 3);
          const length = out.write(v, sink.length + 4, 'utf8');
          out.writeInt32BE(length, sink.length);
          sink.length += 4 + length;
          break;
        }
        case 'jsonb': {
          const text = jsonText(v);
          out = sink.ensure(5 + text.length * 3);
          const length = out.write(text, sink.length + 5, 'utf8');
          out.writeInt32BE(length + 1, sink.length);
          out[sink.length + 4] = 1; // jsonb's binary format: a version byte, then the JSON text
          sink.length += 5 + length;
          break;
        }
        case 'boolean':
          if (typeof v !== 'boolean') throw refuse('a boolean');
          out = sink.ensure(5);
          at = out.writeInt32BE(1, sink.length);
          sink.length = out.writeUInt8(v ? 1 : 0, at);
          break;
        case 'integer':
          if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31) throw refuse('a 32-bit integer');
          out = sink.ensure(8);
          at = out.writeInt32BE(4, sink.length);
          sink.length = out.writeInt32BE(v as number, at);
          break;
        case 'date': {
          const m = typeof v === 'string' ? DATE.exec(v) : null;
          if (!m) throw refuse('a date (YYYY-MM-DD)');
          out = sink.ensure(8);
          at = out.writeInt32BE(4, sink.length);
          sink.length = out.writeInt32BE(Math.round((Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - PG_EPOCH) / DAY_MS), at);
          break;
        }
        case 'text[]': {
          if (!Array.isArray(v)) throw refuse('a list of strings');
          let room = 24;
          for (const item of v) {
            if (typeof item !== 'string') throw refuse('a list of strings');
            room += 4 + item.length * 3;
          }
          out = sink.ensure(room);
          const begin = sink.length;
          at = begin + 4; // the length word, written last
          // One dimension (none when empty), no NULL element, of text; then each element's length and bytes.
          at = out.writeInt32BE(v.length === 0 ? 0 : 1, at);
          at = out.writeInt32BE(0, at);
          at = out.writeInt32BE(TEXT_OID, at);
          if (v.length > 0) {
            at = out.writeInt32BE(v.length, at);
            at = out.writeInt32BE(1, at);
          }
          for (const item of v as string[]) {
            const length = out.write(item, at + 4, 'utf8');
            out.writeInt32BE(length, at);
            at += 4 + length;
          }
          out.writeInt32BE(at - begin - 4, begin);
          sink.length = at;
          break;
        }
      }
    }
  }
}

/**
 * Encodes rows (objects keyed by column) as binary COPY tuples of `table`'s columns, in its order
 * ({@link appendProductRows}).
 */
export function encodeProductRows(table: ProductTable, rows: readonly Record<string, unknown>[]): Buffer {
  const sink = new TupleSink();
  appendProductRows(sink, table, rows);
  return Buffer.from(sink.bytes());
}

/** Encoded rows a {@link ProductRowWriter} gathers for one table before it sends them in one COPY. */
const FLUSH_BYTES = 1 << 20;

/**
 * Writes a load's rows into the product's tables through the load's transaction
 * ({@link LoadContext}). Each table's rows are encoded as they come and gathered until about 1 MB
 * (some ten thousand rows), then sent in one binary COPY: a COPY per page would cost the database a
 * statement's start-up per thousand rows, thousands of times per load. One send is in flight while
 * the next pages are judged; {@link write} waits only for it. Nothing is committed here: the engine
 * commits the load's transaction with its record of the load, or rolls it back.
 *
 * Rows gathered are not yet in the transaction: a loader that reads what its earlier pages wrote
 * calls {@link flush} first.
 *
 * ```ts
 * const writer = new ProductRowWriter(context);
 * return { write: (batch) => writer.write(rowsOf(batch)), end: async () => (await writer.end(), result) };
 * ```
 */
export class ProductRowWriter {
  private pending: Promise<unknown> = Promise.resolve();
  private readonly gathered = new Map<string, { table: ProductTable; columns: string[]; sink: TupleSink }>();
  private rows = 0;

  constructor(private readonly context: LoadContext) {}

  /** Rows taken so far (all tables). */
  get count(): number {
    return this.rows;
  }

  /** Takes one page's rows, table by table (tables without rows are left alone). Rejects with an earlier send's failure. */
  async write(pages: readonly (readonly [ProductTable, readonly Record<string, unknown>[]])[]): Promise<void> {
    // Encoded now, so that a value a column cannot carry fails this write, naming its row.
    for (const [table, rows] of pages) {
      if (rows.length === 0) continue;
      let at = this.gathered.get(table.name);
      if (!at)
        this.gathered.set(table.name, (at = { table, columns: productColumns(table).map(([c]) => c), sink: new TupleSink(FLUSH_BYTES + FLUSH_BYTES / 4) }));
      appendProductRows(at.sink, table, rows);
      this.rows += rows.length;
    }
    const full = [...this.gathered.values()].filter((g) => g.sink.length >= FLUSH_BYTES);
    if (full.length > 0) await this.send(full);
  }

  /** Sends every table's gathered rows and waits until they are in the load's transaction. */
  async flush(): Promise<void> {
    await this.send([...this.gathered.values()]);
    await this.pending;
  }

  /** Sends what is gathered and waits for every send. */
  async end(): Promise<void> {
    await this.flush();
  }

  /** Waits for the send in flight, then starts sending `tables`' gathered rows (one COPY each, in turn). */
  private async send(tables: readonly { table: ProductTable; columns: string[]; sink: TupleSink }[]): Promise<void> {
    await this.pending;
    // Each table's sink goes with its send; its next rows start a new one.
    const due = tables.filter((g) => g.sink.length > 0 && this.gathered.delete(g.table.name));
    if (due.length === 0) return;
    const copy = async () => {
      for (const { table, columns, sink } of due) await this.context.copy(table.name, columns, sink.bytes());
    };
    this.pending = copy();
    // Awaited by the next send or by flush; a failure meanwhile is not unhandled.
    this.pending.catch(() => undefined);
  }
}
