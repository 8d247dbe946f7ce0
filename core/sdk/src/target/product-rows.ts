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

/**
 * The bytes a non-null value takes after its length word; refuses (a TypeError naming the table,
 * row and column, from 1) a value its column cannot carry, before a byte is written.
 */
function valueSize(table: string, r: number, column: string, kind: ProductColumnKind, v: unknown): number {
  const refuse = (what: string) => new TypeError(`${table} row ${r + 1}, column ${column}: not ${what}: ${JSON.stringify(v)}`);
  switch (kind) {
    case 'text':
      if (typeof v !== 'string') throw refuse('a string');
      return Buffer.byteLength(v, 'utf8');
    case 'jsonb':
      return 1 + Buffer.byteLength(jsonText(v), 'utf8');
    case 'boolean':
      if (typeof v !== 'boolean') throw refuse('a boolean');
      return 1;
    case 'integer':
      if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31) throw refuse('a 32-bit integer');
      return 4;
    case 'date':
      if (typeof v !== 'string' || !DATE.test(v)) throw refuse('a date (YYYY-MM-DD)');
      return 4;
    case 'text[]': {
      if (!Array.isArray(v)) throw refuse('a list of strings');
      let size = v.length === 0 ? 12 : 20;
      for (const item of v) {
        if (typeof item !== 'string') throw refuse('a list of strings');
        size += 4 + Buffer.byteLength(item, 'utf8');
      }
      return size;
    }
  }
}

/**
 * Encodes rows (objects keyed by column) as binary COPY tuples of `table`'s columns, in its order.
 * `null` or undefined is SQL NULL. Two passes: sizes (which check every value), then one buffer.
 */
export function encodeProductRows(table: ProductTable, rows: readonly Record<string, unknown>[]): Buffer {
  const columns = productColumns(table);
  let size = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    size += 2;
    for (const [name, kind] of columns) {
      const v = row[name];
      size += 4 + (v === null || v === undefined ? 0 : valueSize(table.name, r, name, kind, v));
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const row of rows) {
    at = out.writeInt16BE(columns.length, at);
    for (const [name, kind] of columns) {
      const v = row[name];
      if (v === null || v === undefined) {
        at = out.writeInt32BE(-1, at);
        continue;
      }
      switch (kind) {
        case 'text': {
          const length = out.write(v as string, at + 4, 'utf8');
          out.writeInt32BE(length, at);
          at += 4 + length;
          break;
        }
        case 'jsonb': {
          const length = out.write(jsonText(v), at + 5, 'utf8');
          out.writeInt32BE(length + 1, at);
          out[at + 4] = 1; // jsonb's binary format: a version byte, then the JSON text
          at += 5 + length;
          break;
        }
        case 'boolean':
          at = out.writeInt32BE(1, at);
          at = out.writeUInt8(v ? 1 : 0, at);
          break;
        case 'integer':
          at = out.writeInt32BE(4, at);
          at = out.writeInt32BE(v as number, at);
          break;
        case 'date': {
          const m = DATE.exec(v as string)!;
          at = out.writeInt32BE(4, at);
          at = out.writeInt32BE(Math.round((Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - PG_EPOCH) / DAY_MS), at);
          break;
        }
        case 'text[]': {
          const list = v as readonly string[];
          const start = at;
          at += 4; // the length word, written last
          // One dimension (none when empty), no NULL element, of text; then each element's length and bytes.
          at = out.writeInt32BE(list.length === 0 ? 0 : 1, at);
          at = out.writeInt32BE(0, at);
          at = out.writeInt32BE(TEXT_OID, at);
          if (list.length > 0) {
            at = out.writeInt32BE(list.length, at);
            at = out.writeInt32BE(1, at);
          }
          for (const item of list) {
            const length = out.write(item, at + 4, 'utf8');
            out.writeInt32BE(length, at);
            at += 4 + length;
          }
          out.writeInt32BE(at - start - 4, start);
          break;
        }
      }
    }
  }
  return out;
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
  private readonly gathered = new Map<string, { table: ProductTable; tuples: Buffer[]; bytes: number }>();
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
      const tuples = encodeProductRows(table, rows);
      let at = this.gathered.get(table.name);
      if (!at) this.gathered.set(table.name, (at = { table, tuples: [], bytes: 0 }));
      at.tuples.push(tuples);
      at.bytes += tuples.length;
      this.rows += rows.length;
    }
    const full = [...this.gathered.values()].filter((g) => g.bytes >= FLUSH_BYTES);
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
  private async send(tables: readonly { table: ProductTable; tuples: Buffer[]; bytes: number }[]): Promise<void> {
    await this.pending;
    const due = tables
      .filter((g) => g.bytes > 0)
      .map((g) => {
        this.gathered.delete(g.table.name);
        return g;
      });
    if (due.length === 0) return;
    const copy = async () => {
      for (const { table, tuples } of due)
        await this.context.copy(
          table.name,
          productColumns(table).map(([c]) => c),
          tuples.length === 1 ? tuples[0]! : Buffer.concat(tuples),
        );
    };
    this.pending = copy();
    // Awaited by the next send or by flush; a failure meanwhile is not unhandled.
    this.pending.catch(() => undefined);
  }
}
