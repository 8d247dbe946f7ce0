import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import t from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
/** Six fields, seconds first: due every second, so the queue sends a job at once (then one a minute). */
const NOW_AND_EVERY_MINUTE = '* * * * * *';

/** The wall-clock fields of an instant in a time zone. */
function localTime(iso: string, timeZone: string): { weekday: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return { weekday: parts.weekday!, time: `${parts.hour}:${parts.minute}` };
}

t.test('schedules: cron with time zones per tenant and target, run on the queue, retried with backoff, skipped while paused', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-schedule-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string, doc: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } }, ...doc }),
    );
  // The plugin's default (02:00) in the tenant's time zone.
  tenant('auckland', { timezone: 'Pacific/Auckland', region: 'NZ', targets: [{ id: 'memo' }] });
  // A schedule the plugin names, whose time zone the plugin gives by region (AU → Australia/Perth).
  tenant('perth', { timezone: 'Australia/Sydney', region: 'AU', targets: [{ id: 'memo', schedule: 'evenings' }] });
  // The tenant's own cron and time zone for one target; the other target manual.
  tenant('london', {
    timezone: 'America/New_York',
    targets: [
      { id: 'memo', schedule: { cron: '30 6 * * 1-5', timezone: 'Europe/London' } },
      { id: 'flaky', schedule: 'manual' },
    ],
  });
  // Due now: the package is not there yet at first (a transient failure), then it is.
  tenant('retrying', { timezone: 'America/Chicago', targets: [{ id: 'memo', schedule: NOW_AND_EVERY_MINUTE }] });
  // Due now, but paused in its file.
  tenant('paused', { timezone: 'America/Chicago', paused: true, targets: [{ id: 'memo', schedule: NOW_AND_EVERY_MINUTE }] });
  // Bad schedules: the tenant is refused naming the key, the others go on.
  tenant('badzone', { timezone: 'UTC', targets: [{ id: 'memo', schedule: { cron: '0 2 * * *', timezone: 'Mars/Olympus_Mons' } }] });
  tenant('badname', { timezone: 'UTC', targets: [{ id: 'memo', schedule: 'fortnightly' }] });
  const district = generateDistrict({ seed: 31, size: 'tiny' });
  await writeOneRosterPackage(district, path.join(root, 'paused-package'));
  // The retrying tenant's package, written aside now and moved into place in one rename once the first run
  // has failed: the retry must find it whole, however slow the machine is at writing files.
  await writeOneRosterPackage(district, path.join(root, 'retrying-upload'));

  const th = await startTestHost({
    pluginDirs: PLUGINS,
    tenantsDir: tenants,
    tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }],
    schedules: { retryDelaySeconds: 4, retryLimit: 2 },
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const get = async (url: string) => {
    const res = await fetch(host.url + url, { headers: { authorization: `Bearer ${ADMIN}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  await t.test('a bad time zone or an unknown schedule name is refused, naming the key', async (t) => {
    const badzone = (await get('/tenants/badzone')).body;
    t.equal(badzone.status, 'invalid');
    t.match(badzone.problems, [{ key: 'targets[0].schedule.timezone', message: /"Mars\/Olympus_Mons" \(from tenant file\) is not an IANA time zone/ }]);
    const badname = (await get('/tenants/badname')).body;
    t.match(badname.problems, [
      {
        key: 'targets[0].schedule',
        message: /"fortnightly" is neither a cron expression nor "manual" nor a schedule of plugin target-memo \(default, evenings\)/,
      },
    ]);
  });

  await t.test('each schedule with its time zone and where it came from, and its next times', async (t) => {
    const auckland = (await get('/tenants/auckland/schedules')).body;
    t.equal(auckland.enabled, true);
    t.same(
      auckland.schedules.map((s: any) => [s.cron, s.timezone, s.targets, s.origins.memo]),
      [['0 2 * * *', 'Pacific/Auckland', ['memo'], 'plugin target-memo schedule "default"; time zone from tenant']],
    );
    for (const next of auckland.schedules[0].next) t.equal(localTime(next, 'Pacific/Auckland').time, '02:00', `${next} is 02:00 in Auckland`);

    const perth = (await get('/tenants/perth/schedules')).body.schedules;
    t.same(
      [perth[0].timezone, perth[0].origins.memo],
      ['Australia/Perth', 'plugin target-memo schedule "evenings"; time zone from plugin target-memo for region AU'],
    );
    for (const next of perth[0].next) {
      const local = localTime(next, 'Australia/Perth');
      t.ok(['Tue', 'Fri'].includes(local.weekday) && local.time === '18:00', `${next} is ${local.weekday} ${local.time} in Perth`);
    }

    const london = (await get('/tenants/london/schedules')).body;
    t.same(
      [london.schedules[0].cron, london.schedules[0].timezone, london.schedules[0].targets, london.manual],
      ['30 6 * * 1-5', 'Europe/London', ['memo'], ['flaky']],
    );
    for (const next of london.schedules[0].next) {
      const local = localTime(next, 'Europe/London');
      t.ok(!['Sat', 'Sun'].includes(local.weekday) && local.time === '06:30', `${next} is ${local.weekday} ${local.time} in London`);
    }

    // The queue holds the same schedules, each with its time zone.
    const rows = await sql<{
      name: string;
      cron: string;
      timezone: string;
    }>`select name, cron, timezone from rosterbridge_queue.schedule order by name`.execute(host.database.db);
    const byTenant = Object.fromEntries(rows.rows.map((r) => [r.name.replace(/^rosterbridge-sync-(.*)-[0-9a-f]{10}$/, '$1'), [r.cron, r.timezone]]));
    t.same(byTenant, {
      auckland: ['0 2 * * *', 'Pacific/Auckland'],
      perth: ['0 18 * * 2,5', 'Australia/Perth'],
      london: ['30 6 * * 1-5', 'Europe/London'],
      retrying: [NOW_AND_EVERY_MINUTE, 'America/Chicago'],
      paused: [NOW_AND_EVERY_MINUTE, 'America/Chicago'],
    });
  });

  /** The tenant's runs, oldest first, once `done` says they are enough (or after 60 s). */
  const runsOf = async (tenantId: string, done: (runs: SyncRun[]) => boolean): Promise<SyncRun[]> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const runs = (await get(`/tenants/${tenantId}/runs?limit=20`)).body.runs.reverse() as SyncRun[];
      if (done(runs) || Date.now() > deadline) return runs;
      await sleep(200);
    }
  };

  await t.test('a paused tenant: the scheduled run is recorded as skipped with the reason, not run', async (t) => {
    const [run] = await runsOf('paused', (runs) => runs.length > 0);
    t.ok(run, 'a run was recorded at the scheduled time');
    t.match(run, {
      status: 'skipped',
      errorCode: 'TENANT_PAUSED',
      reason: /paused in its config file/,
      trigger: /^schedule \* \* \* \* \* \* \(America\/Chicago\)/,
      targets: ['memo'],
    });
    t.ok(run!.jobId, 'it carries its queue job');
  });

  await t.test('a transient failure is retried with backoff by the same job; the retry completes the work', async (t) => {
    const [failed] = await runsOf('retrying', (runs) => runs.some((r) => r.status !== 'queued' && r.status !== 'running'));
    t.match(failed, { status: 'failed', errorCode: 'CSV_PACKAGE_UNREADABLE', attempt: 0, trigger: /^schedule / });
    // The package arrives (an upload that was not finished), whole, before the retry is due.
    renameSync(path.join(root, 'retrying-upload'), path.join(root, 'retrying-package'));
    // Wait for this job's retry itself: the next minute's scheduled job may succeed first.
    const finished = (r: SyncRun) => r.status !== 'queued' && r.status !== 'running';
    const runs = await runsOf('retrying', (runs) => runs.some((r) => r.jobId === failed!.jobId && r.attempt === 1 && finished(r)));
    const retry = runs.find((r) => r.jobId === failed!.jobId && r.attempt === 1);
    t.match(retry, { status: 'success', trigger: /retry 1 of 2/ }, 'the job ran again as attempt 1, and it succeeded');
    t.ok(Date.parse(retry!.queuedAt) - Date.parse(failed!.endedAt!) >= 1000, 'after a delay');
    t.equal(runs.filter((r) => r.jobId === failed!.jobId).length, 2, 'two runs for the job: the failure and its retry');
    const users = district.counts.users;
    const detail = (await get(`/runs/${retry!.id}`)).body as SyncRun;
    t.equal(detail.counts.targets.memo!.entities.users!.created, users, `the retry delivered every user (${users})`);
  });
});
