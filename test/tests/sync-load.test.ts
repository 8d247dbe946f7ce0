import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity, type SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, type TestHost, comparableRecord, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// Back-filling a target that loads in bulk (RosterTargetSession.load): the memo fixture streams an
// entity it holds none of into one COPY where the database takes COPY (a PostgreSQL server).

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const ON_SERVER = Boolean(process.env.DATABASE_URL);
const district = generateDistrict({ seed: 41, size: 'tiny' });

t.test('bulk loads of a back-fill', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-load-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(district, path.join(root, 'package'));
  const tenant = (id: string, targets: unknown[]) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'UTC', source: { id: 'oneroster-csv', settings: { location: '../package' } }, targets }),
    );
  tenant('plain', [{ id: 'memo' }]);
  tenant('refused', [{ id: 'memo', settings: { failLoadOf: 'users' } }, { id: 'flaky' }]);
  tenant('slow', [{ id: 'memo', settings: { loadDelayMs: 150 } }]);

  // Pages of ten records: every entity but the smallest is loaded over several pages.
  const th: TestHost = await startTestHost({
    pluginDirs: PLUGINS,
    tenantsDir: tenants,
    tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }],
    env: { RB_SYNC_BATCH_SIZE: '10' },
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const api = async (method: string, url: string) => {
    const res = await fetch(host.url + url, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' });
    return { status: res.status, body: (await res.json()) as any };
  };
  const sync = async (tenantId: string): Promise<SyncRun> => {
    const r = await api('POST', `/tenants/${tenantId}/syncs`);
    t.equal(r.status, 202, `trigger ${tenantId}: ${r.body.error?.message ?? 'accepted'}`);
    return host.syncs.settled(r.body.id);
  };
  const memo = host.database.db.withSchema('plugin_target_memo');
  const rowsOf = async (tenantId: string) => {
    const rows = await memo.selectFrom('record').select(['entity', 'sourced_id', 'record']).where('tenant_id', '=', tenantId).execute();
    const byEntity = new Map<string, Map<string, string>>();
    for (const r of rows) {
      const m = byEntity.get(r.entity) ?? new Map<string, string>();
      m.set(r.sourced_id, comparableRecord(typeof r.record === 'string' ? JSON.parse(r.record) : r.record));
      byEntity.set(r.entity, m);
    }
    return byEntity;
  };
  const expectComplete = async (t: Test, tenantId: string) => {
    const rows = await rowsOf(tenantId);
    for (const entity of ROSTER_ENTITY_ORDER) {
      const have = rows.get(entity) ?? new Map();
      let wrong = 0;
      for (const r of district.records(entity)) if (have.get(r.sourcedId) !== comparableRecord(r)) wrong++;
      t.equal(have.size, district.counts[entity], `${entity}: the target holds exactly the source's records`);
      t.equal(wrong, 0, `${entity}: every record equal`);
    }
  };
  const loads = async (tenantId: string) =>
    Object.fromEntries(
      (await memo.selectFrom('load_call').select(['entity', 'records']).where('tenant_id', '=', tenantId).execute()).map((r) => [r.entity, r.records]),
    );

  await t.test('a first sync loads each entity in one COPY on a server, by apply batches on the embedded database', async (t) => {
    const run = await sync('plain');
    t.equal(run.status, 'success', `${run.errorCode}: ${run.errorMessage ?? run.reason}`);
    await expectComplete(t, 'plain');
    for (const entity of ROSTER_ENTITY_ORDER)
      t.equal(run.counts.targets.memo!.entities[entity]!.created, district.counts[entity], `${entity}: counted created once`);
    const applied = Number(
      (
        await memo
          .selectFrom('apply_call')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', 'plain')
          .executeTakeFirstOrThrow()
      ).n,
    );
    if (ON_SERVER) {
      t.same(await loads('plain'), district.counts, 'every entity was loaded, with all its records');
      t.equal(applied, 0, 'apply was not called');
    } else {
      t.same(await loads('plain'), {}, 'no load: the embedded database has no COPY');
      t.ok(applied > 0, 'apply took the batches');
    }
    const cursor = await host.database.db
      .withSchema('rosterbridge')
      .selectFrom('target_cursor')
      .select('last_seq')
      .where('tenant_id', '=', 'plain')
      .executeTakeFirst();
    t.ok(cursor && Number(cursor.last_seq) > 0, 'the cursor moved past the snapshot');
    const again = await sync('plain');
    t.equal(again.status, 'success');
    t.same(again.counts.targets.memo?.entities ?? {}, {}, 'a resync sends the target nothing');
  });

  await t.test(
    'a load that fails is dropped whole; the other targets go on; the next run loads the rest',
    { skip: ON_SERVER ? false : 'loads need a PostgreSQL server' },
    async (t) => {
      const run = await sync('refused');
      t.equal(run.status, 'partial', run.reason ?? '');
      t.equal(run.counts.targets.memo!.status, 'failed');
      t.match(run.counts.targets.memo!.error, /refused the load of \d+ users/);
      t.equal(run.counts.targets.flaky!.status, 'applied', 'the other target completed');
      const rows = await rowsOf('refused');
      const before = ROSTER_ENTITY_ORDER.slice(0, ROSTER_ENTITY_ORDER.indexOf('users'));
      for (const entity of before) t.equal(rows.get(entity)?.size, district.counts[entity], `${entity}: loaded before the failure`);
      t.equal(rows.get('users')?.size ?? 0, 0, 'not one user row of the failed load is left');
      t.equal(rows.get('enrollments')?.size ?? 0, 0, 'nothing after it was loaded');
      const cursor = await host.database.db
        .withSchema('rosterbridge')
        .selectFrom('target_cursor')
        .selectAll()
        .where('tenant_id', '=', 'refused')
        .where('target_id', '=', 'memo')
        .execute();
      t.same(cursor, [], 'the failed target has no cursor: it is back-filled again');

      const next = await sync('refused');
      t.equal(next.status, 'success', `${next.errorCode}: ${next.errorMessage ?? next.reason}`);
      await expectComplete(t, 'refused');
      const loaded = await loads('refused');
      for (const entity of before) t.equal(loaded[entity], district.counts[entity], `${entity}: loaded once, by the first run`);
      t.equal(loaded.users, district.counts.users, 'users: loaded by the second run');
      t.equal(next.counts.targets.memo!.entities.orgs!.updated ?? 0, 0, 'what was loaded already is applied again unchanged');
    },
  );

  await t.test(
    'a run cancelled mid-load leaves no entity half loaded, and the next run completes',
    { skip: ON_SERVER ? false : 'loads need a PostgreSQL server' },
    async (t) => {
      const r = await api('POST', '/tenants/slow/syncs');
      // Cancel once enrollments (the largest entity, many pages) are being loaded.
      await new Promise<void>((resolve) => {
        const sub = host.syncs.onDidProgress((p) => {
          if (p.runId === r.body.id && p.phase === 'applying' && p.entity === 'enrollments') {
            sub.dispose();
            resolve();
          }
        });
      });
      const cancelled = await api('POST', `/runs/${r.body.id}/cancel`);
      t.equal(cancelled.body.status, 'cancelled');
      const rows = await rowsOf('slow');
      for (const entity of ROSTER_ENTITY_ORDER) {
        const n = rows.get(entity)?.size ?? 0;
        t.ok(n === 0 || n === district.counts[entity as RosterEntity], `${entity}: ${n} rows, none or all`);
      }
      t.equal(rows.get('enrollments')?.size ?? 0, 0, 'the load in progress was dropped');
      const next = await sync('slow');
      t.equal(next.status, 'success', `${next.errorCode}: ${next.errorMessage ?? next.reason}`);
      await expectComplete(t, 'slow');
    },
  );
});
