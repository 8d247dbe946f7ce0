/**
 * Streaming `COPY … FROM STDIN (FORMAT binary)`: the fastest way into a PostgreSQL table. The host
 * opens the stream (on a PostgreSQL server; the embedded database has none) and writes the format's
 * header and trailer; callers write tuples encoded by {@link copyTuples}.
 */

/** A COPY in progress, in a transaction on a connection of its own. */
export interface CopyStream {
  /** Sends tuples ({@link copyTuples}); resolves once the connection takes more (backpressure), rejects once the COPY failed. */
  write(tuples: Buffer): Promise<void>;
  /** Ends the COPY and commits it; resolves with the rows written. */
  end(): Promise<number>;
  /** Abandons the COPY: nothing it wrote is kept. Never rejects. */
  abort(reason?: string): Promise<void>;
}

/**
 * Opens a COPY into `columns` of the schema-qualified `table`. With `durable: false` its commit does
 * not wait for the disk: for rows that count only once a later, durable commit on the same database
 * says so (PostgreSQL writes its log in order, so that commit makes them durable too).
 */
export type OpenCopy = (table: string, columns: readonly string[], options?: { durable?: boolean }) => Promise<CopyStream>;

/**
 * How a column's values travel: `text` (text, varchar: UTF-8 bytes), `jsonb` (JSON text, sent with
 * jsonb's version byte), `uuid` (a canonical UUID string, sent as its 16 bytes) or `bigint` (a
 * decimal string or a number, sent as 8 bytes).
 */
export type CopyColumnKind = 'text' | 'jsonb' | 'uuid' | 'bigint';

/** The COPY binary format's header (signature, flags, extension length) and trailer. */
export const COPY_BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/**
 * Encodes rows as binary COPY tuples of columns of `kinds` (in order): no escaping, a length and
 * the bytes of each value. `null` (or undefined) is SQL NULL. Two passes: sizes, then one buffer.
 * A value its column cannot carry is refused with a TypeError naming its row and column (from 1).
 */
export function copyTuples(kinds: readonly CopyColumnKind[], rows: readonly (readonly (string | number | null | undefined)[])[]): Buffer {
  let size = 0;
  for (const row of rows) {
    size += 2;
    for (let c = 0; c < kinds.length; c++) {
      const v = row[c];
      if (v === null || v === undefined) size += 4;
      else if (kinds[c] === 'uuid') size += 4 + 16;
      else if (kinds[c] === 'bigint') size += 4 + 8;
      else size += 4 + (kinds[c] === 'jsonb' ? 1 : 0) + Buffer.byteLength(String(v), 'utf8');
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const refuse = (r: number, c: number, what: string) => new TypeError(`row ${r + 1}, column ${c + 1}: not ${what}: ${JSON.stringify(rows[r]![c])}`);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    at = out.writeInt16BE(kinds.length, at);
    for (let c = 0; c < kinds.length; c++) {
      const v = row[c];
      if (v === null || v === undefined) {
        at = out.writeInt32BE(-1, at);
      } else if (kinds[c] === 'uuid') {
        at = out.writeInt32BE(16, at);
        const hex = String(v).replace(/-/g, '');
        if (hex.length !== 32 || out.write(hex, at, 'hex') !== 16) throw refuse(r, c, 'a UUID');
        at += 16;
      } else if (kinds[c] === 'bigint') {
        at = out.writeInt32BE(8, at);
        let n: bigint;
        try {
          n = BigInt(v);
        } catch {
          throw refuse(r, c, 'an integer');
        }
        at = out.writeBigInt64BE(n, at);
      } else if (kinds[c] === 'jsonb') {
        const length = out.write(String(v), at + 5, 'utf8');
        out.writeInt32BE(length + 1, at);
        out[at + 4] = 1; // jsonb's binary format: a version byte, then the JSON text
        at += 5 + length;
      } else {
        const length = out.write(String(v), at + 4, 'utf8');
        out.writeInt32BE(length, at);
        at += 4 + length;
      }
    }
  }
  return at === size ? out : out.subarray(0, at);
}
