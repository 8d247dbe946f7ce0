import { randomUUID } from 'node:crypto';
import t from 'tap';
import { sql } from 'kysely';
import { Ledger, syncMigrations } from '@rosterbridge/engine';
import { CORE_SCHEMA, coreMigrations, migrateSchema } from '@rosterbridge/host';
import { openTestDatabase } from '@rosterbridge/test-kit';

// A database that holds the ledger in its earlier layout (a snapshot table beside a change log) is
// carried over to the versioned ledger: the same snapshot, the same pending changes for a target
// behind, the same sizes. Runs on PostgreSQL (DATABASE_URL) and on the embedded database.
t.test('the ledger migration carries over the snapshot and the change log', async (t) => {
  const { database, close } = await openTestDatabase();
  t.teardown(close);
  const before = Object.fromEntries(Object.entries(coreMigrations).filter(([name]) => name < '0104'));
  t.ok(Object.keys(syncMigrations).includes('0104_ledger_versions'), 'the migration exists');
  await migrateSchema(database.db, CORE_SCHEMA, before);
  const db = database.db.withSchema(CORE_SCHEMA);

  // Tenant "north": run A committed a first sync (u1, u2, c1); run B committed u2's update and u3's
  // creation and c1's deletion; target "behind" has applied A only, target "ahead" both.
  const runA = randomUUID();
  const runB = randomUUID();
  const runRow = (id: string, at: string) => ({
    id,
    tenant_id: 'north',
    source_id: 'oneroster-csv',
    mode: 'full',
    trigger: 'test',
    targets: '["behind","ahead"]',
    status: 'success',
    phase: 'done',
    started_at: at,
    committed_at: at,
    ended_at: at,
  });
  await db
    .insertInto('run')
    .values([runRow(runA, '2026-11-01T00:00:00Z'), runRow(runB, '2026-11-02T00:00:00Z')])
    .execute();
  const user = (id: string, givenName: string) => ({
    sourcedId: id,
    status: 'active',
    metadata: {},
    givenName,
    familyName: 'X',
    role: 'student',
    enabledUser: true,
    orgSourcedIds: ['o1'],
    userIds: [],
    agentSourcedIds: [],
    grades: ['09'],
    username: id,
  });
  const record = (r: object) => JSON.stringify(r);
  await db
    .insertInto('ledger_record')
    .values([
      { tenant_id: 'north', entity: 'users', sourced_id: 'u1', hash: 'h1', record: record(user('u1', 'Ann')), run_id: runA },
      { tenant_id: 'north', entity: 'users', sourced_id: 'u2', hash: 'h2b', record: record(user('u2', 'Bob2')), run_id: runB },
      { tenant_id: 'north', entity: 'users', sourced_id: 'u3', hash: 'h3', record: record(user('u3', 'Cy')), run_id: runB },
    ])
    .execute();
  // The change log as pruned past "behind"'s cursor (seq 3): only run B's changes are left.
  const change = (seq: number, run: string, entity: string, id: string, kind: string, hash: string | null, r: object) => ({
    seq,
    tenant_id: 'north',
    run_id: run,
    entity,
    sourced_id: id,
    kind,
    hash,
    record: record(r),
  });
  await db
    .insertInto('run_change')
    .values([
      change(4, runB, 'users', 'u2', 'updated', 'h2b', user('u2', 'Bob2')),
      change(5, runB, 'users', 'u3', 'created', 'h3', user('u3', 'Cy')),
      change(6, runB, 'classes', 'c1', 'deleted', null, { sourcedId: 'c1', status: 'active', metadata: {}, title: 'Algebra' }),
    ])
    .execute();
  await db
    .insertInto('target_cursor')
    .values([
      { tenant_id: 'north', target_id: 'behind', last_seq: 3, last_run_id: runA },
      { tenant_id: 'north', target_id: 'ahead', last_seq: 6, last_run_id: runB },
    ])
    .execute();

  await migrateSchema(database.db, CORE_SCHEMA, coreMigrations);
  const ledger = new Ledger(database.db, CORE_SCHEMA);

  t.equal(await ledger.lastCommittedSeq('north'), 6, 'the watermark is the last committed change');
  t.same(await ledger.sizes('north'), { users: 3 }, 'sizes counted from the snapshot');
  const users = await ledger.snapshot('north', 'users', '', 100);
  t.same(
    users.records.map((r) => [r.sourcedId, (r as { givenName?: string }).givenName]),
    [
      ['u1', 'Ann'],
      ['u2', 'Bob2'],
      ['u3', 'Cy'],
    ],
    'the snapshot is the old one, each key once, latest first',
  );
  t.same((await ledger.snapshot('north', 'classes', '', 100)).records, [], 'the deleted class is not in the snapshot');
  const behind = await ledger.changesAfter('north', 3, 100);
  t.same(
    behind.map((c) => [c.seq, c.entity, c.sourcedId, c.kind]),
    [
      [4, 'users', 'u2', 'updated'],
      [5, 'users', 'u3', 'created'],
      [6, 'classes', 'c1', 'deleted'],
    ],
    'a target behind still gets the changes it had not applied, with their sequence numbers',
  );
  t.same(await ledger.changesAfter('north', 6, 100), [], 'a target ahead gets nothing again');
  t.equal(
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(`${CORE_SCHEMA}.ledger_version`)} where seq <= 6`.execute(database.db)).rows[0]!.n),
    4,
    'one snapshot row (u1; u2 and u3 are carried by their changes) and three changes',
  );
  const next = await sql<{ seq: string }>`select nextval(pg_get_serial_sequence(${`${CORE_SCHEMA}.ledger_version`}, 'seq')) as seq`.execute(database.db);
  t.ok(Number(next.rows[0]!.seq) > 6, 'new versions are numbered after the carried-over log');

  // Once both targets have passed the log, pruning leaves one version per key and no deletion.
  await ledger.advanceCursor('north', 'behind', 6, runB);
  await ledger.pruneApplied('north');
  const left = await sql<{
    entity: string;
    sourced_id: string;
    kind: string;
  }>`select entity, sourced_id, kind from ${sql.table(`${CORE_SCHEMA}.ledger_version`)} where tenant_id = 'north' order by entity, sourced_id, seq`.execute(
    database.db,
  );
  t.same(
    left.rows.map((r) => `${r.entity}/${r.sourced_id}/${r.kind}`),
    ['users/u1/created', 'users/u2/updated', 'users/u3/created'],
    'the deletion is pruned; one version per key is left',
  );
  t.same(
    (await ledger.snapshot('north', 'users', '', 100)).records.map((r) => r.sourcedId),
    ['u1', 'u2', 'u3'],
    'the snapshot is unchanged by pruning',
  );
});
