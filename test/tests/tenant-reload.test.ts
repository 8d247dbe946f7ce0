import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import t from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import {
  FIXTURES_DIR,
  HOST_CLI,
  apiClient,
  createTestDatabase,
  generateDistrict,
  hostProcessEnv,
  startHostProcess,
  startTestHost,
  writeOneRosterPackage,
} from '@rosterbridge/test-kit';

const ADMIN = 'reload-admin-token-0123456789abcdef';
const OPERATOR = 'reload-operator-token-0123456789abcdef';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/reload')];
const district = generateDistrict({ seed: 41, size: 'tiny' });
const users = district.counts.users;

/** Polls `check` every 50 ms until it answers something, or fails after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

t.test('reloading the tenant files: new, changed, broken and removed tenants take effect without a restart', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-reload-'));
  const tenants = path.join(root, 'tenants');
  const latch = path.join(root, 'latch');
  mkdirSync(tenants);
  mkdirSync(latch);
  await writeOneRosterPackage(district, path.join(root, 'package'));
  const tenant = (id: string, doc: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'America/Chicago', source: { id: 'oneroster-csv', settings: { location: '../package' } }, ...doc }),
    );
  tenant('north', { targets: [{ id: 'latch', settings: { label: 'v1', latchDir: latch } }] });
  tenant('south', { targets: [{ id: 'memo' }] });
  tenant('gone', { targets: [{ id: 'memo' }] });

  const th = await startTestHost({
    pluginDirs: PLUGINS,
    tenantsDir: tenants,
    tokens: [
      { name: 'ops', token: ADMIN, role: 'admin' },
      { name: 'north-ops', token: OPERATOR, role: 'tenant-operator', tenant: 'north' },
    ],
    // Schedules on (the queue reconciles them on reload), nothing due during the test.
    schedules: {},
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const asAdmin = apiClient(host.url, ADMIN);
  const asOperator = apiClient(host.url, OPERATOR);
  const call = (method: 'GET' | 'POST', url: string, body?: unknown, token = ADMIN) => (token === ADMIN ? asAdmin : asOperator)(method, url, body);
  const settled = async (runId: string): Promise<SyncRun> =>
    until(`run ${runId} to settle`, async () => {
      const run = (await call('GET', `/runs/${runId}`)).body as SyncRun;
      return run.status === 'queued' || run.status === 'running' ? undefined : run;
    });
  const labels = async (runId: string) =>
    (
      await sql<{
        label: string;
        n: string;
      }>`select label, count(*)::text as n from plugin_target_latch.user_row where run_id = ${runId} group by label`.execute(host.database.db)
    ).rows.map((r) => [r.label, Number(r.n)]);
  const reload = () => call('POST', '/tenants/reload');

  await t.test('only an admin reloads; a reload with nothing changed says so', async (t) => {
    const refused = await call('POST', '/tenants/reload', undefined, OPERATOR);
    t.equal(refused.status, 403);
    t.equal(refused.body.error.code, 'AUTH_FORBIDDEN');
    const r = await reload();
    t.equal(r.status, 200);
    t.same(
      r.body.tenants.map((x: any) => [x.id, x.change]),
      [
        ['gone', 'unchanged'],
        ['north', 'unchanged'],
        ['south', 'unchanged'],
      ],
    );
  });

  await t.test('a run in flight finishes on the config it started with; the next run takes the new one', async (t) => {
    const run = (await call('POST', '/tenants/north/syncs')).body as SyncRun;
    await until('the latch target to start applying', () => (existsSync(path.join(latch, 'started')) ? true : undefined));
    tenant('north', { targets: [{ id: 'latch', settings: { label: 'v2', latchDir: latch } }] });
    const r = await reload();
    t.match(
      r.body.tenants.find((x: any) => x.id === 'north'),
      { change: 'changed', runInFlight: true },
    );
    t.equal((await call('GET', '/tenants/north')).body.config.targets[0].settings.label, 'v2', 'the API shows the config the next run takes');
    writeFileSync(path.join(latch, 'release'), '');
    const done = await settled(run.id);
    t.equal(done.status, 'success', done.reason ?? '');
    t.same(await labels(run.id), [['v1', users]], 'every row of the run in flight was written with the settings it started with');

    // The next run (after a reset, so that every user is delivered again) reads v2.
    unlinkSync(path.join(latch, 'started'));
    t.equal((await call('POST', '/tenants/north/targets/latch/reset', {})).status, 200);
    const next = await settled(((await call('POST', '/tenants/north/syncs')).body as SyncRun).id);
    t.equal(next.status, 'success', next.reason ?? '');
    t.same(await labels(next.id), [['v2', users]], 'the next run took the new config');
  });

  await t.test('a new tenant is served after a reload and syncs; a removed one is gone', async (t) => {
    t.equal((await call('GET', '/tenants/east')).status, 404);
    tenant('east', { targets: [{ id: 'memo' }] });
    rmSync(path.join(tenants, 'gone.json'));
    const r = await reload();
    t.same(
      r.body.tenants.filter((x: any) => x.change !== 'unchanged').map((x: any) => [x.id, x.change]),
      [
        ['east', 'added'],
        ['gone', 'removed'],
      ],
    );
    t.equal((await call('GET', '/tenants/gone')).status, 404, 'a removed tenant is no longer served');
    t.notOk(
      (await call('GET', '/tenants')).body.tenants.some((x: any) => x.id === 'gone'),
      'nor listed',
    );
    const run = await settled(((await call('POST', '/tenants/east/syncs')).body as SyncRun).id);
    t.equal(run.status, 'success', run.reason ?? '');
    t.equal(run.counts.targets.memo!.entities.users!.created, users);
  });

  await t.test('a file edited into an invalid state keeps its last valid config, reported, and still syncs', async (t) => {
    writeFileSync(path.join(tenants, 'south.json'), '{"displayName": "south", "timezone": "Mars/Olympus_Mons"');
    const r = await reload();
    const south = r.body.tenants.find((x: any) => x.id === 'south');
    t.match(south, { change: 'kept-last-valid', problems: [{ key: '(file)', message: /is not valid JSON/ }] });
    const view = (await call('GET', '/tenants/south')).body;
    t.equal(view.status, 'valid', 'the last valid config is in effect');
    t.match(view.fileProblems, [{ key: '(file)', message: /is not valid JSON/ }], 'and the file says why it was not taken');
    const run = await settled(((await call('POST', '/tenants/south/syncs')).body as SyncRun).id);
    t.equal(run.status, 'success', 'the tenant syncs on its last valid config');
    // Fixed again: the new config is taken.
    tenant('south', { displayName: 'South district', targets: [{ id: 'memo' }] });
    const fixed = (await reload()).body.tenants.find((x: any) => x.id === 'south');
    t.equal(fixed.change, 'changed');
    const again = (await call('GET', '/tenants/south')).body;
    t.equal(again.config.displayName, 'South district');
    t.notOk(again.fileProblems);
  });

  await t.test('schedules are reconciled: a reload adds, changes and removes queue schedules', async (t) => {
    const schedules = async () =>
      (await sql<{ name: string; cron: string; timezone: string }>`select name, cron, timezone from rosterbridge_queue.schedule`.execute(host.database.db)).rows
        .filter((s) => s.name.includes('-east-'))
        .map((s) => [s.cron, s.timezone]);
    // east, added by a reload above, has the memo plugin's default schedule in its time zone.
    t.same(await until('the schedule of east', async () => ((await schedules()).length > 0 ? schedules() : undefined)), [['0 2 * * *', 'America/Chicago']]);
    tenant('east', { targets: [{ id: 'memo', schedule: { cron: '15 3 * * *', timezone: 'Europe/Paris' } }] });
    await reload();
    t.same(
      await until('the new schedule of east', async () => {
        const s = await schedules();
        return s.length === 1 && s[0]![0] === '15 3 * * *' ? s : undefined;
      }),
      [['15 3 * * *', 'Europe/Paris']],
      'the changed cron replaces the old one',
    );
    t.match((await call('GET', '/tenants/east/schedules')).body.schedules, [{ cron: '15 3 * * *', timezone: 'Europe/Paris', targets: ['memo'] }]);
    tenant('east', { targets: [{ id: 'memo', schedule: 'manual' }] });
    await reload();
    await until('the schedule of east to go', async () => ((await schedules()).length === 0 ? true : undefined));
    t.pass('a target made manual loses its queue schedule');
  });
});

t.test('SIGHUP and `rosterbridge reload` make a running host read its tenant files again', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-reload-signal-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'UTC', source: { id: 'oneroster-csv', settings: { location: '../package' } }, targets: [{ id: 'memo' }] }),
    );
  tenant('first');
  await writeOneRosterPackage(district, path.join(root, 'package'));
  const database = await createTestDatabase();
  const proc = await startHostProcess(
    hostProcessEnv({ databaseUrl: database.url, dataDir: path.join(root, 'data'), pluginDirs: PLUGINS, tenantsDir: tenants, adminToken: ADMIN }),
  );
  t.teardown(async () => {
    await proc.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
  });
  const listed = async () =>
    ((await (await fetch(`${proc.url}/tenants`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { tenants: { id: string }[] }).tenants.map(
      (x) => x.id,
    );
  t.same(await listed(), ['first']);

  tenant('second');
  proc.child.kill('SIGHUP');
  await until('the host to log the reload', () => (/"msg":"tenant files reloaded"/.test(proc.output()) ? true : undefined));
  t.same(await listed(), ['first', 'second'], 'SIGHUP: the new tenant is served');
  t.equal(proc.child.exitCode, null, 'the host is still running');
  t.equal(proc.child.signalCode, null);

  tenant('third');
  const cli = await new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [HOST_CLI, 'reload', '--url', proc.url], { env: { PATH: process.env.PATH, RB_TOKEN: ADMIN } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout }));
  });
  t.equal(cli.status, 0, cli.stdout);
  t.match(cli.stdout, /tenant files read again at .*: 3 tenant\(s\), 2 unchanged/);
  t.match(cli.stdout, /^third\s+added/m);
  t.same(await listed(), ['first', 'second', 'third'], 'rosterbridge reload: the new tenant is served');
});
