import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity, type RosterRecord, type SyncRun } from '@rosterbridge/core';
import {
  FIXTURES_DIR,
  type RosterRecordSource,
  type TestHost,
  changeDistrict,
  comparableRecord,
  generateDistrict,
  startTestHost,
  writeOneRosterPackage,
} from '@rosterbridge/test-kit';

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';

const base = generateDistrict({ seed: 21, size: SIZE });
const changed = changeDistrict(base, { seed: 22, fraction: 0.05 });

/** Writes a package into `dir`, replacing what was there. */
async function writePackage(dir: string, source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk') {
  rmSync(dir, { recursive: true, force: true });
  await writeOneRosterPackage(source, dir, { mode });
}

t.test('sync engine through the host', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-sync-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string, targets: unknown[]) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'America/Chicago', source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } }, targets }),
    );
  tenant('lincoln', [{ id: 'memo' }]);
  // flaky refuses the emails of one user in ten: those of user numbers ending in 0, at the students' domain.
  const studentDomain = [...base.records('users')].find((u) => u.role === 'student')!.email!.split('@')[1];
  tenant('jefferson', [{ id: 'memo' }, { id: 'flaky', settings: { failOnBatch: 2, rejectEmailsEndingWith: `0@${studentDomain}` } }]);
  tenant('adams', [{ id: 'flaky', settings: { delayMs: 400 } }]);
  for (const id of ['lincoln', 'jefferson', 'adams']) await writePackage(path.join(root, `${id}-package`), base);

  const th: TestHost = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(host.url + url, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const sync = async (tenantId: string, request: Record<string, unknown> = {}): Promise<SyncRun> => {
    const r = await api('POST', `/tenants/${tenantId}/syncs`, request);
    t.equal(r.status, 202, `trigger ${tenantId}: ${r.body.error?.message ?? 'accepted'}`);
    return host.syncs.settled(r.body.id);
  };
  const memo = async (tenantId: string) => {
    const rows = await host.database.db.withSchema('plugin_target_memo').selectFrom('record').selectAll().where('tenant_id', '=', tenantId).execute();
    const byEntity: Partial<Record<RosterEntity, Map<string, any>>> = {};
    for (const r of rows) (byEntity[r.entity as RosterEntity] ??= new Map()).set(r.sourced_id, r);
    return byEntity;
  };
  const applyCalls = async (tenantId: string) =>
    Number(
      (
        await host.database.db
          .withSchema('plugin_target_memo')
          .selectFrom('apply_call')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const expectMemoEquals = async (t: Test, tenantId: string, source: RosterRecordSource) => {
    const rows = await memo(tenantId);
    for (const entity of ROSTER_ENTITY_ORDER) {
      const have = rows[entity] ?? new Map();
      let count = 0;
      let wrong = 0;
      for (const r of source.records(entity)) {
        count++;
        const row = have.get(r.sourcedId);
        if (!row || comparableRecord(row.record) !== comparableRecord(r)) wrong++;
      }
      t.equal(have.size, count, `${entity}: the target holds exactly the source's records`);
      t.equal(wrong, 0, `${entity}: every record equal`);
    }
  };

  await t.test('a first sync creates everything and fills the target', async (t) => {
    const run = await sync('lincoln');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.errorMessage ?? run.reason}`);
    for (const entity of ROSTER_ENTITY_ORDER) {
      t.equal(run.counts.source[entity]!.created, base.counts[entity], `${entity} created`);
      t.equal(run.counts.targets.memo!.entities[entity]!.created, base.counts[entity], `memo ${entity} created`);
    }
    await expectMemoEquals(t, 'lincoln', base);
    const history = await api('GET', '/tenants/lincoln/runs');
    t.equal(history.body.runs[0].id, run.id);
    t.equal(
      history.body.runs[0].recordsProcessed,
      Object.values(base.counts).reduce((a, b) => a + b, 0),
    );
    t.type(history.body.runs[0].durationMs, 'number');
  });

  await t.test('a no-change resync writes nothing and counts everything unchanged', async (t) => {
    const calls = await applyCalls('lincoln');
    const before = await memo('lincoln');
    const run = await sync('lincoln');
    t.equal(run.status, 'success');
    for (const entity of ROSTER_ENTITY_ORDER) {
      t.same(
        run.counts.source[entity],
        { read: base.counts[entity], rejected: 0, created: 0, updated: 0, unchanged: base.counts[entity], deleted: 0, skipped: 0, heldBack: 0 },
        entity,
      );
    }
    t.equal(await applyCalls('lincoln'), calls, 'the target was not called');
    const after = await memo('lincoln');
    t.same(
      [...after.users!.values()].map((r) => r.applied_seq),
      [...before.users!.values()].map((r) => r.applied_seq),
      'no row rewritten',
    );
  });

  await t.test('a delta package touches only what changed; a full resync of the result then changes nothing', async (t) => {
    await writePackage(path.join(root, 'lincoln-package'), changed.delta, 'delta');
    const run = await sync('lincoln', { mode: 'delta' });
    t.equal(run.status, 'success', `${run.errorCode}: ${run.errorMessage ?? run.reason}`);
    for (const entity of ROSTER_ENTITY_ORDER) {
      const want = changed.report.entities[entity];
      const got = run.counts.source[entity] ?? { created: 0, updated: 0, deleted: 0 }; // a delta marks unchanged files absent
      t.same(
        { created: got.created, updated: got.updated, deleted: got.deleted },
        { created: want.created.length, updated: want.updated.length, deleted: want.deleted.length },
        `${entity} changes`,
      );
    }
    await expectMemoEquals(t, 'lincoln', changed);
    await writePackage(path.join(root, 'lincoln-package'), changed);
    const full = await sync('lincoln');
    const touched = Object.values(full.counts.source).reduce((a, c) => a + c!.created + c!.updated + c!.deleted, 0);
    t.equal(full.status, 'success');
    t.equal(touched, 0, 'applying the delta and a full resync agree');
  });

  await t.test('a dry run reports what would change and writes nothing', async (t) => {
    const again = changeDistrict(base, { seed: 23, fraction: 0.05 });
    await writePackage(path.join(root, 'lincoln-package'), again);
    const calls = await applyCalls('lincoln');
    const run = await sync('lincoln', { dryRun: true });
    t.equal(run.status, 'success');
    t.match(run.reason, /dry run/);
    const touched = Object.values(run.counts.source).reduce((a, c) => a + c!.created + c!.updated + c!.deleted, 0);
    t.ok(touched > 0, `the dry run saw ${touched} changes`);
    t.equal(await applyCalls('lincoln'), calls, 'no target was called');
    await expectMemoEquals(t, 'lincoln', changed);
    await writePackage(path.join(root, 'lincoln-package'), changed);
  });

  await t.test('a bulk package missing a third of the users is held; rejecting it leaves the target untouched', async (t) => {
    const users = [...changed.records('users')];
    const kept = new Set(users.filter((_, i) => i % 3 !== 0).map((u) => u.sourcedId));
    const thinned: RosterRecordSource = {
      records: <E extends RosterEntity>(entity: E) =>
        (entity === 'users' ? [...changed.records('users')].filter((u) => kept.has(u.sourcedId)) : changed.records(entity)) as Iterable<RosterRecord<E>>,
    };
    await writePackage(path.join(root, 'lincoln-package'), thinned);
    const calls = await applyCalls('lincoln');
    const run = await sync('lincoln');
    t.equal(run.status, 'held');
    t.match(run.reason, /users .*would be deleted, above 10%/);
    t.equal(run.hold!.crossed[0]!.entity, 'users');
    const blocked = await api('POST', '/tenants/lincoln/syncs', {});
    t.equal(blocked.status, 409, 'no new run while one is held');
    const rejected = await api('POST', `/runs/${run.id}/reject`);
    t.equal(rejected.body.status, 'cancelled');
    t.match(rejected.body.reason, /hold rejected by ops/);
    t.equal(await applyCalls('lincoln'), calls, 'no target was called');
    await expectMemoEquals(t, 'lincoln', changed);
    await writePackage(path.join(root, 'lincoln-package'), changed);
    const resync = await sync('lincoln');
    t.equal(
      Object.values(resync.counts.source).reduce((a, c) => a + c!.deleted, 0),
      0,
      'the ledger was not moved by the rejected run',
    );
  });

  await t.test('pause refuses runs until resume; reset empties the target; back-fill refills it from the ledger without reading the source', async (t) => {
    const paused = await api('POST', '/tenants/lincoln/pause', { reason: 'district asked to stop over the holidays' });
    t.same(paused.body.paused, true);
    const refused = await api('POST', '/tenants/lincoln/syncs', {});
    t.equal(refused.status, 409);
    t.equal(refused.body.error.code, 'TENANT_PAUSED');
    t.match(refused.body.error.message, /paused by ops .*holidays/);
    t.same((await api('POST', '/tenants/lincoln/resume')).body.paused, false);

    const reset = await api('POST', '/tenants/lincoln/targets/memo/reset');
    t.equal(reset.status, 200, JSON.stringify(reset.body));
    t.equal(Object.keys(await memo('lincoln')).length, 0, "the product forgot the tenant's rows");
    const cursor = await host.database.db
      .withSchema('rosterbridge')
      .selectFrom('target_cursor')
      .selectAll()
      .where('tenant_id', '=', 'lincoln')
      .where('target_id', '=', 'memo')
      .execute();
    t.same(cursor, [], 'the cursor and last sync date are gone');

    const started = await api('POST', '/tenants/lincoln/targets/memo/backfill');
    t.equal(started.status, 202);
    const run = await host.syncs.settled(started.body.id);
    t.equal(run.status, 'success', run.errorMessage ?? run.reason ?? 'the back-fill succeeds');
    t.equal(run.mode, 'backfill');
    t.same(run.counts.source, {}, 'the source was not read');
    t.equal(run.counts.targets.memo!.entities.users!.created, [...changed.records('users')].length, 'every user came from the ledger');
    await expectMemoEquals(t, 'lincoln', changed);
  });

  await t.test('a failing target leaves the others complete, the run partial with its code, and resumes next run', async (t) => {
    const run = await sync('jefferson');
    t.equal(run.status, 'partial');
    t.equal(run.counts.targets.flaky!.status, 'failed');
    t.match(run.counts.targets.flaky!.error, /503 on batch 2/);
    t.equal(run.counts.targets.memo!.status, 'applied');
    await expectMemoEquals(t, 'jefferson', base);
    const issues = await api('GET', `/runs/${run.id}/issues?severity=error`);
    t.ok(issues.body.issues.length > 0, `the refused records are reported (${issues.body.issues.length})`);
    t.ok(
      issues.body.issues.every((i: any) => i.code === 'FLAKY_EMAIL_REFUSED' && i.targetId === 'flaky' && i.sourcedId),
      'each error is a refused email of flaky, naming its record',
    );
    const next = await sync('jefferson');
    t.equal(next.counts.targets.flaky!.status, 'applied', 'the failed target caught up from its cursor');
    const cursors = await host.database.db.withSchema('rosterbridge').selectFrom('target_cursor').selectAll().where('tenant_id', '=', 'jefferson').execute();
    t.equal(new Set(cursors.map((c) => String(c.last_seq))).size, 1, 'both targets stand at the same place in the log');
  });

  await t.test('a run for some targets leaves the change log the others still need', async (t) => {
    await writePackage(path.join(root, 'jefferson-package'), changed);
    const memoOnly = await sync('jefferson', { targets: ['memo'] });
    t.equal(memoOnly.status, 'success', memoOnly.errorMessage ?? memoOnly.reason ?? 'the run for memo succeeds');
    t.same(memoOnly.targets, ['memo']);
    const both = await sync('jefferson');
    const users = both.counts.targets.flaky!.entities.users;
    // flaky consumes users and enrollments and counts every event it is given (taken or refused).
    const missed = (['users', 'enrollments'] as const).reduce(
      (n, e) => n + changed.report.entities[e].updated.length + changed.report.entities[e].created.length + changed.report.entities[e].deleted.length,
      0,
    );
    t.equal(users ? users.created + users.errors : 0, missed, 'flaky received every change it missed while the run fed only memo');
  });

  await t.test('a run is cancelled while a slow target applies', async (t) => {
    const r = await api('POST', '/tenants/adams/syncs', {});
    await new Promise<void>((resolve) => {
      const sub = host.syncs.onDidProgress((p) => {
        if (p.runId === r.body.id && p.phase === 'applying') {
          sub.dispose();
          resolve();
        }
      });
    });
    const cancelled = await api('POST', `/runs/${r.body.id}/cancel`);
    t.equal(cancelled.body.status, 'cancelled');
    t.match(cancelled.body.reason, /cancelled while/);
  });
});
