import t from 'tap';
import { sql } from 'kysely';
import { copyTuples } from '@rosterbridge/core';
import { openTestDatabase } from '@rosterbridge/test-kit';

// The host's streaming binary COPY (Database.openCopy) with core's tuple encoder: what goes in comes
// out, an abandoned COPY leaves nothing, a failing one says why. PostgreSQL servers only; the
// embedded database has none.

t.test('copyTuples refuses values its column kind cannot carry, naming them', async (t) => {
  t.throws(() => copyTuples(['uuid'], [['not-a-uuid']]), /^row 1, column 1: not a UUID: "not-a-uuid"$/);
  t.throws(
    () =>
      copyTuples(
        ['text', 'bigint'],
        [
          ['a', 1],
          ['b', '12x'],
        ],
      ),
    /^row 2, column 2: not an integer: "12x"$/,
  );
  t.equal(copyTuples(['text', 'bigint'], [[null, undefined]]).length, 2 + 4 + 4, 'nulls are a length of -1 only');
});

t.test('binary COPY through the host', async (t) => {
  const { database, close } = await openTestDatabase();
  t.teardown(close);
  if (!database.openCopy) {
    t.equal(database.mode, 'embedded', 'only the embedded database has no COPY');
    return;
  }
  const openCopy = database.openCopy;
  await sql`create table public.copy_target (name text primary key, doc jsonb, id uuid, n bigint)`.execute(database.db);
  const kinds = ['text', 'jsonb', 'uuid', 'bigint'] as const;
  const read = async () =>
    (
      await sql<{ name: string; doc: unknown; id: string | null; n: string | null }>`select * from public.copy_target order by name collate "C"`.execute(
        database.db,
      )
    ).rows;

  await t.test('rows written in several chunks arrive whole once it ends', async (t) => {
    const copy = await openCopy('public.copy_target', ['name', 'doc', 'id', 'n']);
    await copy.write(copyTuples(kinds, [['Ñandú "quoted"\ttab\nline', '{"b":[1,2],"a":"é"}', '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', '9007199254740993']]));
    t.same(await read(), [], 'nothing is visible before the end');
    await copy.write(copyTuples(kinds, [['second', null, null, -5]]));
    t.equal(await copy.end(), 2, 'end answers the rows written');
    t.same(await read(), [
      { name: 'second', doc: null, id: null, n: '-5' },
      { name: 'Ñandú "quoted"\ttab\nline', doc: { a: 'é', b: [1, 2] }, id: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', n: '9007199254740993' },
    ]);
  });

  await t.test('an abandoned COPY leaves nothing; abort twice is harmless', async (t) => {
    const copy = await openCopy('public.copy_target', ['name'], { durable: false });
    await copy.write(copyTuples(['text'], [['third'], ['fourth']]));
    await copy.abort('changed my mind');
    await copy.abort();
    t.same(
      (await read()).map((r) => r.name),
      ['second', 'Ñandú "quoted"\ttab\nline'].sort(),
      'only the earlier rows',
    );
    await t.rejects(copy.write(copyTuples(['text'], [['fifth']])), /has ended/, 'writing after the end is refused');
  });

  await t.test('a COPY the database refuses fails with its error and keeps nothing', async (t) => {
    const copy = await openCopy('public.copy_target', ['name']);
    await copy.write(copyTuples(['text'], [['sixth'], ['second']])); // "second" is there already
    await t.rejects(copy.end(), { code: '23505', message: /duplicate key value violates unique constraint/ });
    t.notOk(
      (await read()).some((r) => r.name === 'sixth'),
      'the row before the conflict was rolled back too',
    );
    await t.rejects(
      openCopy('public.no_such_table', ['name']).then((c) => c.end()),
      /no_such_table/,
      'an unknown table is named',
    );
  });

  await t.test('a COPY that failed while written is closed by its end, not left open in its transaction', async (t) => {
    const copy = await openCopy('public.copy_target', ['name']);
    await copy.write(copyTuples(['text', 'text'], [['two', 'columns']])); // one column was opened
    // The refusal comes back while the COPY is still open: later writes and the end report it.
    for (let i = 0; i < 50; i++) {
      const refused = await copy.write(copyTuples(['text'], [['more']])).then(
        () => false,
        () => true,
      );
      if (refused) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await t.rejects(copy.end(), /row field count is 2, expected 1/, "the end reports the database's refusal");
    const open = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`.execute(database.db);
    t.equal(open.rows[0]!.n, 0, 'no connection is left in its transaction');
  });
});
