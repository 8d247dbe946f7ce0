import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { type RosterEntity, type RosterRecord, type SyncRun, type User } from '@rosterbridge/core';
import {
  FIXTURES_DIR,
  type RosterRecordSource,
  type TestHost,
  comparableRecord,
  generateDistrict,
  startTestHost,
  writeOneRosterPackage,
} from '@rosterbridge/test-kit';

// A delta's deletions: the records a delta package marks `tobedeleted` are looked up once, with
// the rest of their batch, and their deletions staged from what that look-up kept (the snapshot's
// record of each), after every entity was read, children first.

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const base = generateDistrict({ seed: 51, size: 'tiny' });

t.test('deletions of a delta package', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-delta-del-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const pkg = path.join(root, 'package');
  await writeOneRosterPackage(base, pkg);
  writeFileSync(
    path.join(tenants, 'hayes.json'),
    JSON.stringify({
      displayName: 'Hayes',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: '../package' } },
      targets: [{ id: 'memo' }],
      // Every run that updates or deletes is held: its staged versions can be looked at before it is approved.
      thresholds: { maxDeletePercent: 0, maxChangePercent: 0 },
    }),
  );
  // Batches of two records: the tombstones of one entity fall into several batches (several look-ups).
  const th: TestHost = await startTestHost({
    pluginDirs: PLUGINS,
    tenantsDir: tenants,
    tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }],
    env: { RB_SYNC_BATCH_SIZE: '2' },
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db;
  const sync = async (mode: 'full' | 'delta'): Promise<SyncRun> => {
    const res = await fetch(`${host.url}/tenants/hayes/syncs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
    const body = (await res.json()) as any;
    t.equal(res.status, 202, `trigger: ${body.error?.message ?? 'accepted'}`);
    return host.syncs.settled(body.id);
  };
  const approve = async (run: SyncRun): Promise<SyncRun> => {
    t.equal(run.status, 'held', `held: ${run.reason}`);
    await host.syncs.approve(run.id, 'test');
    return host.syncs.settled(run.id);
  };
  const memoHas = async (entity: RosterEntity, sourcedId: string) =>
    (await db
      .withSchema('plugin_target_memo')
      .selectFrom('record')
      .select('sourced_id')
      .where('tenant_id', '=', 'hayes')
      .where('entity', '=', entity)
      .where('sourced_id', '=', sourcedId)
      .executeTakeFirst()) !== undefined;
  const versionsOf = async (runId: string) =>
    (
      await db
        .withSchema('rosterbridge')
        .selectFrom('ledger_version')
        .select(['seq', 'entity', 'sourced_id', 'kind', 'record'])
        .where('run_id', '=', runId)
        .orderBy('seq')
        .execute()
    ).map((v) => ({
      ...v,
      seq: Number(v.seq),
      record: JSON.parse(v.record) as RosterRecord,
    }));
  const issuesOf = async (runId: string) => host.runs.issues(runId, { limit: 1000 });
  const leftInRunSeen = async (runId: string) =>
    Number(
      (
        await db
          .withSchema('rosterbridge')
          .selectFrom('run_seen')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('run_id', '=', runId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  const first = await sync('full');
  t.equal(first.status, 'success', `${first.errorCode}: ${first.errorMessage ?? first.reason}`);

  const users = [...base.records('users')] as User[];
  const [gone, alsoGone, renamed] = [users[0]!, users[1]!, users[2]!];
  const goneEnrollments = [...base.records('enrollments')].filter((e) => e.userSourcedId === gone.sourcedId);
  t.ok(goneEnrollments.length > 1, 'the deleted user has enrollments to delete with them');
  const later = new Date(base.asOf.getTime() + 86_400_000);
  // The tombstones carry changed names: what a deletion keeps is the snapshot's record, not this.
  const tombstone = <R extends RosterRecord>(entity: RosterEntity, r: R): R => ({
    ...r,
    ...(entity === 'users' ? { givenName: 'Tombstone' } : {}),
    status: 'tobedeleted',
    dateLastModified: later,
  });
  t.not(comparableRecord(tombstone('users', gone)), comparableRecord(gone), "a user's tombstone is not the snapshot's record");
  const delta: RosterRecordSource = {
    *records<E extends RosterEntity>(entity: E): Iterable<any> {
      if (entity === 'users') {
        yield tombstone('users', gone);
        yield { ...renamed, givenName: `${renamed.givenName}-renamed`, dateLastModified: later };
        yield tombstone('users', alsoGone);
        yield tombstone('users', { ...users[3]!, sourcedId: 'user-never-sent-before' });
      }
      if (entity === 'enrollments') for (const e of goneEnrollments) yield tombstone('enrollments', e);
    },
  };

  await t.test('a delta deletes what it marks, with the records the snapshot had, children first', async (t) => {
    rmSync(pkg, { recursive: true, force: true });
    await writeOneRosterPackage(delta, pkg, { mode: 'delta' });
    const held = await sync('delta');
    // What the run staged, before it is approved (once applied, deletions are pruned).
    const versions = await versionsOf(held.id);
    const run = await approve(held);
    t.equal(run.status, 'success', `${run.errorCode}: ${run.errorMessage ?? run.reason}`);
    t.match(
      run.counts.source.users,
      { read: 4, created: 0, updated: 1, deleted: 2, unchanged: 0, skipped: 1 },
      'users: two deleted, one updated, an unknown tombstone skipped',
    );
    t.match(run.counts.source.enrollments, { read: goneEnrollments.length, deleted: goneEnrollments.length, created: 0, updated: 0 });
    t.notOk(await memoHas('users', gone.sourcedId), 'the target lost the first deleted user');
    t.notOk(await memoHas('users', alsoGone.sourcedId), 'and the second');
    t.ok(await memoHas('users', renamed.sourcedId), 'the renamed user stays');
    for (const e of goneEnrollments) t.notOk(await memoHas('enrollments', e.sourcedId), `enrollment ${e.sourcedId} deleted`);

    const deletions = versions.filter((v) => v.kind === 'deleted');
    t.equal(deletions.length, 2 + goneEnrollments.length, 'one deletion per key');
    const lastChange = Math.max(...versions.filter((v) => v.kind !== 'deleted').map((v) => v.seq));
    t.ok(
      deletions.every((d) => d.seq > lastChange),
      'deletions come after every creation and update of the run',
    );
    t.same(
      deletions.map((d) => d.entity),
      [...goneEnrollments.map(() => 'enrollments'), 'users', 'users'],
      'enrollments are deleted before the users they belong to',
    );
    t.same(
      deletions.filter((d) => d.entity === 'enrollments').map((d) => d.sourced_id),
      goneEnrollments.map((e) => e.sourcedId).sort(),
      'each entity in key order',
    );
    const byId = new Map(deletions.map((d) => [d.sourced_id, d.record]));
    t.equal(comparableRecord(byId.get(gone.sourcedId)!), comparableRecord(gone), 'a deletion carries the record the snapshot had');
    t.equal(comparableRecord(byId.get(alsoGone.sourcedId)!), comparableRecord(alsoGone));
    t.equal(comparableRecord(byId.get(goneEnrollments[0]!.sourcedId)!), comparableRecord(goneEnrollments[0]!));
    t.equal(await leftInRunSeen(run.id), 0, 'nothing of the run is left in run_seen');

    const again = await sync('delta');
    t.equal(again.status, 'success');
    t.match(
      again.counts.source.users,
      { deleted: 0, updated: 0, unchanged: 1, skipped: 3 },
      'the same delta again: the tombstones are of records already gone (and pruned), skipped',
    );
    const warnings = await issuesOf(again.id);
    t.equal(
      warnings.filter((i) => i.code === 'TOBEDELETED_UNKNOWN' && i.severity === 'warning' && i.entity === 'users').length,
      3,
      'each skipped tombstone has its warning',
    );
    t.same(again.counts.issues, { errors: 0, warnings: warnings.length }, 'the run counts the issues it stored');
  });

  await t.test('a delta whose read fails after its tombstones were looked up leaves nothing behind', async (t) => {
    const next = users[4]!;
    const failing: RosterRecordSource = {
      *records<E extends RosterEntity>(entity: E): Iterable<any> {
        if (entity === 'users') for (const u of [next, users[5]!, users[6]!]) yield tombstone('users', u);
        if (entity === 'enrollments')
          yield* [...base.records('enrollments')].filter((e) => e.userSourcedId === next.sourcedId).map((e) => tombstone('enrollments', e));
      },
    };
    rmSync(pkg, { recursive: true, force: true });
    await writeOneRosterPackage(failing, pkg, { mode: 'delta' });
    // The enrollments file loses its header: the read fails there, after the users were looked up.
    const file = path.join(pkg, 'enrollments.csv');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^[^\n]*\n/, 'not,a,header\n'));
    const run = await sync('delta');
    t.equal(run.status, 'failed', `failed: ${run.errorCode}: ${run.errorMessage}`);
    t.equal(await leftInRunSeen(run.id), 0, 'the look-ups kept nothing once the run failed');
    t.equal((await versionsOf(run.id)).length, 0, 'nothing was staged');
    t.ok(await memoHas('users', next.sourcedId), 'the target is untouched');

    // The same package, readable: the deletions go through.
    rmSync(pkg, { recursive: true, force: true });
    await writeOneRosterPackage(failing, pkg, { mode: 'delta' });
    const retry = await approve(await sync('delta'));
    t.equal(retry.status, 'success', `${retry.errorCode}: ${retry.errorMessage ?? retry.reason}`);
    t.match(retry.counts.source.users, { deleted: 3 });
    t.notOk(await memoHas('users', next.sourcedId), 'deleted now');
  });
});
