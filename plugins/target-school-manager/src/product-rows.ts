import type { Kysely } from 'kysely';
import { type CopyStream, type OpenCopy, relaxedTransaction, upsertRows } from '@rosterbridge/core';

// A writer of a product's rows for a bulk load (RosterTargetSession.load): a binary COPY per table
// on a PostgreSQL server, batched multi-row inserts on the embedded database. The same file is in
// target-school-manager (and kin in the other products) until it moves into the SDK.

/** How a column's value travels in a binary COPY: the column's SQL type. */
export type ProductColumnKind = 'text' | 'text[]' | 'date' | 'boolean' | 'integer' | 'jsonb';

/** A table of the product's schema: its name (unqualified), its key, and its columns in COPY order. */
export interface ProductTable {
  name: string;
  key: readonly string[];
  columns: Readonly<Record<string, ProductColumnKind>>;
}

const TEXT_OID = 25;
const DAY_MS = 86_400_000;
const PG_EPOCH = Date.UTC(2000, 0, 1);
const ROWS_PER_INSERT = 2000;

/** Days since 2000-01-01 (PostgreSQL's binary date) of a `YYYY-MM-DD` date; refuses anything else. */
function pgDays(value: string, where: () => string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) throw new TypeError(`${where()}: not a YYYY-MM-DD date: ${JSON.stringify(value)}`);
  return (Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) - PG_EPOCH) / DAY_MS;
}

function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The bytes a non-null value takes after its length word. */
function valueSize(kind: ProductColumnKind, value: unknown): number {
  switch (kind) {
    case 'text':
      return Buffer.byteLength(String(value), 'utf8');
    case 'jsonb':
      return 1 + Buffer.byteLength(jsonText(value), 'utf8');
    case 'boolean':
      return 1;
    case 'integer':
    case 'date':
      return 4;
    case 'text[]': {
      const items = value as readonly string[];
      let size = items.length === 0 ? 12 : 20;
      for (const item of items) size += 4 + Buffer.byteLength(item, 'utf8');
      return size;
    }
  }
}

/**
 * Encodes rows as binary COPY tuples of `table`'s columns (in its order). `null` or undefined is SQL
 * NULL; a value its column cannot carry is refused with a TypeError naming the table, row and column.
 */
export function encodeProductRows(table: ProductTable, rows: readonly Record<string, unknown>[]): Buffer {
  const columns = Object.entries(table.columns);
  let size = 0;
  for (const row of rows) {
    size += 2;
    for (const [name, kind] of columns) {
      const v = row[name];
      size += 4 + (v === null || v === undefined ? 0 : valueSize(kind, v));
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  rows.forEach((row, r) => {
    at = out.writeInt16BE(columns.length, at);
    for (const [name, kind] of columns) {
      const v = row[name];
      if (v === null || v === undefined) {
        at = out.writeInt32BE(-1, at);
        continue;
      }
      const where = () => `${table.name} row ${r + 1}, column ${name}`;
      switch (kind) {
        case 'text': {
          const length = out.write(String(v), at + 4, 'utf8');
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
          if (!Number.isInteger(v)) throw new TypeError(`${where()}: not an integer: ${JSON.stringify(v)}`);
          at = out.writeInt32BE(4, at);
          at = out.writeInt32BE(v as number, at);
          break;
        case 'date':
          at = out.writeInt32BE(4, at);
          at = out.writeInt32BE(pgDays(String(v), where), at);
          break;
        case 'text[]': {
          if (!Array.isArray(v)) throw new TypeError(`${where()}: not a list: ${JSON.stringify(v)}`);
          at = out.writeInt32BE(valueSize(kind, v), at);
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
          break;
        }
      }
    }
  });
  return out;
}

/**
 * Writes the rows of one bulk load into the product's tables. On a PostgreSQL server (`openCopy`)
 * each table gets one COPY, opened at its first rows and committed by {@link end} (in the order the
 * tables were first written); on the embedded database each {@link write} inserts its rows at once
 * in a transaction of its own, like the engine's own staging there, so {@link abort} reports that
 * rows may be left for the caller to remove.
 */
export class ProductRowWriter {
  private readonly copies = new Map<string, Promise<CopyStream>>();
  private committed = false;

  constructor(
    private readonly db: Kysely<any>,
    private readonly openCopy: OpenCopy | undefined,
  ) {}

  async write(table: ProductTable, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    if (!this.openCopy) {
      this.committed = true;
      await relaxedTransaction(this.db, async (trx) => {
        await upsertRows(trx, table.name, rows, { key: table.key, chunk: ROWS_PER_INSERT, assumeNew: true });
      });
      return;
    }
    let copy = this.copies.get(table.name);
    if (!copy) {
      copy = this.openCopy(table.name, Object.keys(table.columns), { durable: false });
      copy.catch(() => undefined); // awaited below, and by end or abort
      this.copies.set(table.name, copy);
    }
    const tuples = encodeProductRows(table, rows);
    await (await copy).write(tuples);
  }

  /** Commits every COPY; their commits do not wait for the disk (the engine's durable commit follows). */
  async end(): Promise<void> {
    for (const [name, copy] of this.copies) {
      this.copies.delete(name);
      await (await copy).end();
      this.committed = true;
    }
  }

  /** Abandons the COPYs still open. Answers whether rows may have been kept (to be removed by the caller). Never rejects. */
  async abort(reason?: string): Promise<boolean> {
    const open = [...this.copies.values()];
    this.copies.clear();
    await Promise.all(open.map(async (copy) => (await copy.catch(() => undefined))?.abort(reason)));
    return this.committed;
  }
}
