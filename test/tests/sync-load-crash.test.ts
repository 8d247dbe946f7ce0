import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import t from 'tap';
import type { RunCounts } from '@rosterbridge/core';
import { FIXTURES_DIR, type HostProcess, createTestDatabase, generateDistrict, startHostProcess, writeOneRosterPackage } from '@rosterbridge/test-kit';

// A host killed after a target's load of an entity is written but before the engine commits it
// with its record of the load: the load and the record are one transaction, so neither is kept,
// and the resumed run loads the entity again from nothing and counts it once, as created (a load
// that committed on its own connection was counted `unchanged` by the resumed run).

const TOKEN = 'load-crash-admin-token-0123456789';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')].join(',');

t.test(
  'a kill between a load and its commit loses the load whole; the resumed run loads and counts it once',
  { skip: process.env.DATABASE_URL ? false : 'loads run on a PostgreSQL server only (DATABASE_URL): the embedded database applies its back-fills' },
  async (t) => {
    const district = generateDistrict({ seed: 73, size: 'tiny' });
    const database = await createTestDatabase();
    const root = mkdtempSync(path.join(tmpdir(), 'rb-load-crash-'));
    const db = new Client({ connectionString: database.url });
    await db.connect();
    let host: HostProcess | undefined;
    t.teardown(async () => {
      if (host && host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
      await db.end();
      rmSync(root, { recursive: true, force: true });
      await database.drop();
    });
    await writeOneRosterPackage(district, path.join(root, 'package'));
    const tenants = path.join(root, 'tenants');
    mkdirSync(tenants);
    const marker = path.join(root, 'killed');
    writeFileSync(
      path.join(tenants, 'district.json'),
      JSON.stringify({
        displayName: 'district',
        timezone: 'UTC',
        source: { id: 'oneroster-csv', settings: { location: '../package' } },
        targets: [{ id: 'memo', settings: { killAfterLoadOf: 'users', killMarker: marker } }],
      }),
    );
    const env = {
      RB_HTTP_PORT: '0',
      RB_DATABASE_URL: database.url,
      RB_DATA_DIR: path.join(root, 'data'),
      RB_PLUGIN_DIRS: PLUGINS,
      RB_TENANTS_DIR: tenants,
      RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: TOKEN, role: 'admin' }]),
      RB_SYNC_LEASE_MS: '1500',
      RB_SCHEDULE_ENABLED: 'false',
      RB_SYNC_SWEEP_MS: '300',
      RB_SYNC_BATCH_SIZE: '10',
      RB_LOG_LEVEL: 'info',
    };
    const api = async (route: string, method = 'GET') => {
      const res = await fetch(host!.url + route, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      return (await res.json()) as Record<string, unknown>;
    };
    const count = async (query: string) => Number((await db.query(query)).rows[0].n);

    host = await startHostProcess(env);
    const runId = (await api('/tenants/district/syncs', 'POST')).id as string;
    // The memo target kills the host once its users' load is written, before the engine commits it.
    const exited = await Promise.race([new Promise((resolve) => host!.child.once('exit', () => resolve(true))), sleep(60_000, false, { ref: false })]);
    t.ok(exited && existsSync(marker), 'the host was killed inside the load of users');
    t.equal(await count(`select count(*) as n from plugin_target_memo.record where entity = 'users'`), 0, 'not one user row of the killed load is kept');
    t.equal(await count(`select count(*) as n from plugin_target_memo.load_call where entity = 'users'`), 0, 'nor its load_call');
    const progress = (await db.query(`select backfill_entity from rosterbridge.run_target_progress where run_id = $1`, [runId])).rows[0] as {
      backfill_entity: string;
    };
    t.equal(progress.backfill_entity, 'users', "the run's record of the back-fill stands at users, not past them");

    host = await startHostProcess(env);
    let run: { status: string; counts: RunCounts } | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
      run = (await api(`/runs/${runId}`)) as unknown as { status: string; counts: RunCounts };
      if (run.status !== 'queued' && run.status !== 'running') break;
    }
    t.equal(run?.status, 'success', 'the resumed run succeeds');
    const users = [...district.records('users')].length;
    const memo = run!.counts.targets.memo!;
    t.same(memo.entities.users, { created: users, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 }, `users counted once, as created (${users})`);
    t.equal(await count(`select count(*) as n from plugin_target_memo.record where entity = 'users'`), users, 'and held once');
    t.equal(await count(`select count(*) as n from plugin_target_memo.load_call where entity = 'users'`), 1, 'by one committed load');
    for (const entity of ['orgs', 'academicSessions', 'courses', 'classes', 'enrollments'] as const) {
      const n = [...district.records(entity)].length;
      t.equal(memo.entities[entity]?.created, n, `${entity}: ${n} created`);
      t.equal(await count(`select count(*) as n from plugin_target_memo.record where entity = '${entity}'`), n, `${entity}: ${n} held`);
    }
    await host.stop();
  },
);
