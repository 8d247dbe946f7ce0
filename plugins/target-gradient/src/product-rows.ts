import type { Kysely } from 'kysely';
import { type CopyStream, type OpenCopy, relaxedTransaction, upsertRows } from '@rosterbridge/core';

// A writer of a product's rows for a back-fill's load (RosterTargetSession.load): one binary COPY
// per table on a PostgreSQL server, batched multi-row inserts on the embedded database. Kept in
// this plugin for now; the same file is in target-kybergate (to be factored out).

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
 * Encodes rows (objects keyed by column) as binary COPY tuples of `table`'s columns. A value its
 * column cannot carry is refused with a TypeError naming the table, row and column.
 */
export function productTuples(table: ProductTable, rows: readonly Record<string, unknown>[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(2);
  head.writeInt16BE(table.columns.length, 0);
  rows.forEach((row, r) => {
    parts.push(head);
    for (const [column, kind] of table.columns) parts.push(field(table.name, r, column, kind, row[column]));
  });
  return Buffer.concat(parts);
}

function field(table: string, r: number, column: string, kind: ProductColumnKind, v: unknown): Buffer {
  const refuse = (what: string) => new TypeError(`${table}: row ${r + 1}, column ${column}: not ${what}: ${JSON.stringify(v)}`);
  if (v === null || v === undefined) return int32(-1);
  switch (kind) {
    case 'text': {
      if (typeof v !== 'string') throw refuse('a string');
      const bytes = Buffer.from(v, 'utf8');
      return Buffer.concat([int32(bytes.length), bytes]);
    }
    case 'jsonb': {
      const bytes = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
      return Buffer.concat([int32(bytes.length + 1), Buffer.from([1]), bytes]);
    }
    case 'bool':
      if (typeof v !== 'boolean') throw refuse('a boolean');
      return Buffer.concat([int32(1), Buffer.from([v ? 1 : 0])]);
    case 'date': {
      const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v) : null;
      if (!m) throw refuse('a date (YYYY-MM-DD)');
      const days = Math.round((Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - EPOCH_2000) / DAY);
      return Buffer.concat([int32(4), int32(days)]);
    }
    case 'text[]': {
      if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) throw refuse('a list of strings');
      const elements = (v as string[]).map((e) => Buffer.from(e, 'utf8'));
      // ndim, has-nulls flag, element type; then per dimension its size and lower bound; then the elements.
      const header = v.length === 0 ? [int32(0), int32(0), int32(TEXT_OID)] : [int32(1), int32(0), int32(TEXT_OID), int32(v.length), int32(1)];
      const body = Buffer.concat([...header, ...elements.flatMap((e) => [int32(e.length), e])]);
      return Buffer.concat([int32(body.length), body]);
    }
  }
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
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
