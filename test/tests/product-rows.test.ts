import { finished } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import t from 'tap';
import {
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  type LoadContext,
  type ProductTable,
  ProductRowWriter,
  TupleSink,
  appendProductRows,
  encodeProductRows,
} from '@rosterbridge/core';

// The load's row encoder and writer (core/sdk/src/target/product-rows.ts): rows of every column
// kind go into a real PostgreSQL table by binary COPY and come back as they went; a value a column
// cannot carry is refused naming its row and column; the writer gathers rows per table and sends
// each table's in one COPY, in order, one send at a time.

const TABLE: ProductTable = {
  name: 'product_row',
  columns: { id: 'text', names: 'text[]', active: 'boolean', born: 'date', rank: 'integer', doc: 'jsonb', note: 'text' },
};
const ROWS = [
  {
    id: 'a',
    names: ['Zoë', 'O\'Brien "the first"', ''],
    active: true,
    born: '2014-02-28',
    rank: -7,
    doc: { k: ['v', 1] },
    note: 'tab\there, newline\nhere, emoji 🎒',
  },
  { id: 'b', names: [], active: false, born: '1999-12-31', rank: 2 ** 31 - 1, doc: '{"raw":true}', note: null },
  { id: 'c', names: ['only'], active: true, born: undefined, rank: undefined, doc: null, note: 'x'.repeat(70_000) },
];

t.test(
  'rows of every kind go through COPY and come back as they went',
  { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL)' },
  async (t) => {
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    t.teardown(() => db.end());
    await db.query('create temp table product_row (id text primary key, names text[], active boolean, born date, rank integer, doc jsonb, note text)');
    const stream = db.query(copyFrom(`copy product_row (id, names, active, born, rank, doc, note) from stdin with (format binary)`));
    stream.write(COPY_BINARY_HEADER);
    stream.write(encodeProductRows(TABLE, ROWS));
    stream.end(COPY_BINARY_TRAILER);
    await finished(stream);
    const { rows } = await db.query(`select id, names, active, to_char(born, 'YYYY-MM-DD') as born, rank, doc, note from product_row order by id`);
    t.same(
      rows,
      ROWS.map((r) => ({
        ...r,
        born: r.born ?? null,
        rank: r.rank ?? null,
        doc: typeof r.doc === 'string' ? JSON.parse(r.doc) : r.doc,
      })),
    );
  },
);

t.test('a value its column cannot carry is refused, naming the row and column; the sink keeps what it had', async (t) => {
  const sink = new TupleSink(16);
  appendProductRows(sink, TABLE, [ROWS[0]!]);
  const before = Buffer.from(sink.bytes());
  const bad: [string, unknown, RegExp][] = [
    ['id', 7, /product_row row 2, column id: not a string: 7/],
    ['active', 'yes', /row 2, column active: not a boolean/],
    ['born', '2014-2-1', /row 2, column born: not a date \(YYYY-MM-DD\)/],
    ['rank', 2 ** 31, /row 2, column rank: not a 32-bit integer/],
    ['names', ['a', 1], /row 2, column names: not a list of strings/],
  ];
  for (const [column, value, message] of bad) {
    t.throws(() => appendProductRows(sink, TABLE, [ROWS[1]!, { ...ROWS[1]!, [column]: value }]), message, `${column}: ${JSON.stringify(value)}`);
    t.same(sink.bytes(), before, `${column}: the sink is as it was`);
  }
});

t.test('the writer sends each table in one COPY once about 1 MB is gathered, in order, one send at a time', async (t) => {
  const other: ProductTable = { name: 'other', columns: [['id', 'text']] };
  const sends: { table: string; bytes: number; rows: number }[] = [];
  let inFlight = 0;
  let most = 0;
  const context: LoadContext = {
    trx: undefined as never,
    async copy(table, columns, tuples) {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      // Each tuple starts with its column count: count them to check no row is lost or doubled.
      let rows = 0;
      for (let at = 0; at < tuples.length; rows++) {
        const n = tuples.readInt16BE(at);
        at += 2;
        for (let c = 0; c < n; c++) {
          const length = tuples.readInt32BE(at);
          at += 4 + Math.max(length, 0);
        }
      }
      t.equal(columns.length, table === 'other' ? 1 : 7, `${table}: its columns`);
      sends.push({ table, bytes: tuples.length, rows });
      inFlight--;
      return rows;
    },
  };
  const writer = new ProductRowWriter(context);
  const page = Array.from({ length: 1000 }, (_, i) => ({ ...ROWS[0]!, id: `r${i}`, note: 'n'.repeat(200) }));
  for (let i = 0; i < 12; i++)
    await writer.write([
      [TABLE, page],
      [other, i === 3 ? [{ id: 'one' }] : []],
    ]);
  t.ok(sends.length >= 1 && sends.every((s) => s.table === 'product_row' && s.bytes >= 1 << 20), 'sends of product_row once 1 MB gathered');
  await writer.end();
  t.equal(writer.count, 12_001, 'every row taken');
  t.equal(
    sends.filter((s) => s.table === 'product_row').reduce((n, s) => n + s.rows, 0),
    12_000,
    'every product_row row sent once',
  );
  t.same(
    sends.filter((s) => s.table === 'other'),
    [{ table: 'other', bytes: sends.find((s) => s.table === 'other')?.bytes, rows: 1 }],
    'the small table goes once, at the end',
  );
  t.equal(most, 1, 'one send at a time');
  t.ok(sends.length < 12, `fewer COPYs (${sends.length}) than pages (12)`);
});
