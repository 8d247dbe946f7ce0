import type { Kysely } from 'kysely';
import { type CopyStream, type OpenCopy, relaxedTransaction, upsertRows } from '@rosterbridge/core';

// A writer of a product's rows for a back-fill's load (RosterTargetSession.load): one binary COPY
// per table on a PostgreSQL server, batched multi-row inserts on the embedded database. Kept in
// this plugin for now; the same file is in target-gradient (to be factored out).

/** How a column's values travel in binary COPY. */
export type ProductColumnKind = 'text' | 'text[]' | 'bool' | 'date' | 'jsonb';

/** A table the loader writes: its columns (in order) and their kinds. */
export interface ProductTable {
  readonly name: string;
  readonly columns: readonly (readonly [string, ProductColumnKind])[];
  /** Its primary key: (tenant_id, sourced_id) unless said. */
  readonly key?: readonly string[];
}

const TEXT_OID = 25;
const EPOCH_2000 = Date.UTC(2000, 0, 1);
const DAY = 86_400_000;

/**
 * Encodes rows (objects keyed by column) as binary COPY tuples of `table`'s columns: sizes first,
 * then one buffer. A value its column cannot carry is refused with a TypeError naming the table,
 * row and column.
 */
export function productTuples(table: ProductTable, rows: readonly Record<string, unknown>[]): Buffer {
  const columns = table.columns;
  let size = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    size += 2;
    for (const [column, kind] of columns) size += 4 + fieldSize(table.name, r, column, kind, row[column]);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const row of rows) {
    at = out.writeInt16BE(columns.length, at);
    for (const [column, kind] of columns) at = writeField(out, at, kind, row[column]);
  }
  return out;
}

/** The bytes of a value after its length word (none for NULL). Checks the value. */
function fieldSize(table: string, r: number, column: string, kind: ProductColumnKind, v: unknown): number {
  const refuse = (what: string) => new TypeError(`${table}: row ${r + 1}, column ${column}: not ${what}: ${JSON.stringify(v)}`);
  if (v === null || v === undefined) return 0;
  switch (kind) {
    case 'text':
      if (typeof v !== 'string') throw refuse('a string');
      return Buffer.byteLength(v, 'utf8');
    case 'jsonb':
      return 1 + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
    case 'bool':
      if (typeof v !== 'boolean') throw refuse('a boolean');
      return 1;
    case 'date':
      if (typeof v !== 'string' || !DATE.test(v)) throw refuse('a date (YYYY-MM-DD)');
      return 4;
    case 'text[]': {
      if (!Array.isArray(v)) throw refuse('a list of strings');
      let n = v.length === 0 ? 12 : 20;
      for (const e of v) {
        if (typeof e !== 'string') throw refuse('a list of strings');
        n += 4 + Buffer.byteLength(e, 'utf8');
      }
      return n;
    }
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Writes a value checked by {@link fieldSize}, with its length word; returns the next offset. */
function writeField(out: Buffer, at: number, kind: ProductColumnKind, v: unknown): number {
  if (v === null || v === undefined) return out.writeInt32BE(-1, at);
  switch (kind) {
    case 'text': {
      const length = out.write(v as string, at + 4, 'utf8');
      out.writeInt32BE(length, at);
      return at + 4 + length;
    }
    case 'jsonb': {
      const length = out.write(typeof v === 'string' ? v : JSON.stringify(v), at + 5, 'utf8');
      out.writeInt32BE(length + 1, at);
      out[at + 4] = 1; // jsonb's binary format: a version byte, then the JSON text
      return at + 5 + length;
    }
    case 'bool':
      at = out.writeInt32BE(1, at);
      return out.writeUInt8(v ? 1 : 0, at);
    case 'date': {
      const m = DATE.exec(v as string)!;
      at = out.writeInt32BE(4, at);
      return out.writeInt32BE(Math.round((Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - EPOCH_2000) / DAY), at);
    }
    case 'text[]': {
      const list = v as string[];
      const start = at;
      at += 4; // the length word, written last
      // ndim, has-nulls flag, element type; then per dimension its size and lower bound; then the elements.
      at = out.writeInt32BE(list.length === 0 ? 0 : 1, at);
      at = out.writeInt32BE(0, at);
      at = out.writeInt32BE(TEXT_OID, at);
      if (list.length > 0) {
        at = out.writeInt32BE(list.length, at);
        at = out.writeInt32BE(1, at);
      }
      for (const e of list) {
        const length = out.write(e, at + 4, 'utf8');
        out.writeInt32BE(length, at);
        at += 4 + length;
      }
      out.writeInt32BE(at - start - 4, start);
      return at;
    }
  }
}

/**
 * Writes rows into a product's tables for one entity's load. On a PostgreSQL server (`openCopy`)
 * each table gets one COPY, opened at its first row, committed by {@link end} (without waiting for
 * the disk: the engine's durable commit of the cursor follows). On the embedded database each
 * page's rows are inserted at once, in a transaction of their own; {@link abort} deletes the
 * tenant's rows of the tables written (a load runs only where the product held none of them).
 */
export class ProductRowWriter {
  private readonly copies = new Map<string, Promise<CopyStream>>();
  private readonly written = new Set<string>();
  private rows = 0;

  constructor(
    private readonly db: Kysely<any>,
    private readonly tenantId: string,
    private readonly openCopy: OpenCopy | undefined,
  ) {}

  /** Rows written so far (all tables). */
  get count(): number {
    return this.rows;
  }

  /** Writes one page's rows, per table (tables without rows are left alone). */
  async write(pages: readonly (readonly [ProductTable, readonly Record<string, unknown>[]])[]): Promise<void> {
    const openCopy = this.openCopy;
    const due = pages.filter(([, rows]) => rows.length > 0);
    for (const [table, rows] of due) {
      this.written.add(table.name);
      this.rows += rows.length;
    }
    if (due.length === 0) return;
    if (openCopy) {
      for (const [table, rows] of due) {
        let copy = this.copies.get(table.name);
        if (!copy) {
          copy = openCopy(
            table.name,
            table.columns.map(([c]) => c),
            { durable: false },
          );
          copy.catch(() => undefined); // awaited below, and by end or abort
          this.copies.set(table.name, copy);
        }
        await (await copy).write(productTuples(table, rows));
      }
      return;
    }
    await relaxedTransaction(this.db, async (trx) => {
      for (const [table, rows] of due)
        await upsertRows(trx, table.name, rows as Record<string, unknown>[], { key: [...(table.key ?? ['tenant_id', 'sourced_id'])], assumeNew: true });
    });
  }

  /** Commits the COPYs (on the embedded database, each page was committed as written). */
  async end(): Promise<void> {
    for (const [name, copy] of this.copies) {
      this.copies.delete(name);
      await (await copy).end();
    }
  }

  /** Drops what was written. Never rejects. */
  async abort(reason?: string): Promise<void> {
    const copies = [...this.copies.values()];
    this.copies.clear();
    for (const copy of copies) {
      const opened = await copy.catch(() => undefined);
      await opened?.abort(reason);
    }
    // Rows already committed (a COPY ended before another failed, or the embedded pages) go too.
    if (this.written.size === 0) return;
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const table of this.written) await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).execute();
      });
    } catch {
      // Left for apply: the next back-fill finds the rows, loads nothing and upserts them.
    }
  }
}
