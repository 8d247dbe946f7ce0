import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import t from 'tap';
import { FIXTURES_DIR, type HostProcess, createTestDatabase, generateDistrict, startHostProcess, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')].join(',');
const TOKEN = 'two-hosts-admin-token-0123456789';
const TENANTS = 10;

t.test(
  'two host processes on one database, ten tenants scheduled: every due run executes exactly once, and both hosts take a share',
  { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL): two processes cannot share the embedded database' },
  async (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'rb-two-hosts-'));
    const tenantsDir = path.join(root, 'tenants');
    mkdirSync(tenantsDir);
    const district = generateDistrict({ seed: 41, size: 'tiny' });
    await writeOneRosterPackage(district, path.join(root, 'package'));
    const ids = Array.from({ length: TENANTS }, (_, i) => `district-${String(i + 1).padStart(2, '0')}`);
    for (const id of ids)
      writeFileSync(
        path.join(tenantsDir, `${id}.json`),
        // Six fields, seconds first: due at once, then once a minute (the queue's finest grain).
        JSON.stringify({
          displayName: id,
          timezone: 'America/Chicago',
          source: { id: 'oneroster-csv', settings: { location: '../package' } },
          targets: [{ id: 'memo', schedule: '* * * * * *' }],
        }),
      );
    const database = await createTestDatabase();
    const env = (name: string): NodeJS.ProcessEnv => ({
      RB_HTTP_PORT: '0',
      RB_DATABASE_URL: database.url,
      RB_DATA_DIR: path.join(root, `data-${name}`),
      RB_PLUGIN_DIRS: PLUGINS,
      RB_TENANTS_DIR: tenantsDir,
      RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: TOKEN, role: 'admin' }]),
      RB_SCHEDULE_CRON_CHECK_SECONDS: '1',
      RB_SCHEDULE_POLL_SECONDS: '1',
      // Three runs at a time each: ten due at once cannot all go to one host.
      RB_SYNC_MAX_RUNS: '3',
      RB_SYNC_SWEEP_MS: '300',
      RB_LOG_LEVEL: 'info',
    });
    const hosts: HostProcess[] = [];
    t.teardown(async () => {
      await Promise.all(hosts.map((h) => h.stop()));
      await database.drop();
      rmSync(root, { recursive: true, force: true });
    });
    // pg-boss puts at most one job per schedule and clock minute, but a job put in the last seconds
    // of a minute may start its run in the next one, beside that minute's own run. Start well inside
    // a minute, so that each minute's runs are that minute's jobs (CI once started at :58 and found
    // two runs "in one minute" for six tenants: one job of each minute).
    const second = new Date().getSeconds();
    if (second < 5 || second > 40) await sleep(((65 - second) % 60) * 1000);
    // Both hosts start together: both write the same schedules, both poll every queue.
    hosts.push(...(await Promise.all([startHostProcess(env('a')), startHostProcess(env('b'))])));

    const db = new Client({ connectionString: database.url });
    await db.connect();
    t.teardown(() => db.end());
    type Row = { id: string; tenant_id: string; job_id: string; status: string; queued_at: Date };
    let runs: Row[];
    const deadline = Date.now() + 60_000;
    for (;;) {
      runs = (await db.query<Row>(`select id, tenant_id, job_id, status, queued_at from rosterbridge.run order by queued_at`)).rows;
      const done = new Set(runs.filter((r) => r.status === 'success').map((r) => r.tenant_id));
      if (done.size === TENANTS || Date.now() > deadline) break;
      await sleep(250);
    }
    // Stop both before counting, so nothing starts meanwhile; the first minute's runs are what counts.
    await Promise.all(hosts.map((h) => h.stop()));
    runs = (await db.query<Row>(`select id, tenant_id, job_id, status, queued_at from rosterbridge.run order by queued_at`)).rows;

    for (const id of ids) {
      const own = runs.filter((r) => r.tenant_id === id);
      const jobs = new Set(own.map((r) => r.job_id));
      t.ok(own.length >= 1 && own.every((r) => r.job_id), `${id}: ${own.length} scheduled run(s)`);
      t.equal(jobs.size, own.length, `${id}: one run per due job`);
      const minutes = own.map((r) => Math.floor(r.queued_at.getTime() / 60_000));
      t.equal(new Set(minutes).size, minutes.length, `${id}: at most one run a minute`);
      t.ok(
        own.some((r) => r.status === 'success'),
        `${id}: its run succeeded`,
      );
    }

    // Each run was staged by exactly one host, and each host took some.
    const staged = (h: HostProcess) =>
      h
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"run staged"'))
        .map((l) => (JSON.parse(l) as { run: string }).run);
    const [a, b] = hosts.map(staged) as [string[], string[]];
    const all = [...a, ...b];
    t.equal(new Set(all).size, all.length, `no run was staged twice (host a ${a.length}, host b ${b.length})`);
    t.same(new Set(all), new Set(runs.filter((r) => r.status === 'success').map((r) => r.id)), 'every successful run was staged once, by one of the hosts');
    t.ok(a.length > 0 && b.length > 0, `both hosts executed runs: ${a.length} and ${b.length}`);
    if (a.length === 0 || b.length === 0)
      for (const h of hosts)
        t.comment(
          h
            .output()
            .split('\n')
            .filter((l) => !l.includes('plugin'))
            .join('\n'),
        );

    // Each tenant's records reached the target exactly once: the first run created them, no second
    // execution applied them again.
    const records = Object.values(district.counts).reduce((x, y) => x + y, 0);
    // Records reach the target by apply batches or, on a first sync here, by one load per entity.
    const applied = await db.query<{ tenant_id: string; events: string }>(
      `select tenant_id, sum(n)::text as events from (
         select tenant_id, events as n from plugin_target_memo.apply_call
         union all select tenant_id, records from plugin_target_memo.load_call) c
       group by tenant_id order by tenant_id`,
    );
    t.same(
      applied.rows.map((r) => [r.tenant_id, Number(r.events)]),
      ids.map((id) => [id, records]),
      `every tenant's ${records} records were applied once`,
    );
  },
);
