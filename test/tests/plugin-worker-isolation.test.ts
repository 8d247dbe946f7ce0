import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import type { PluginStatus } from '@rosterbridge/engine';
import { FIXTURES_DIR, apiClient, createTestDatabase, generateDistrict, hostProcessEnv, startHostProcess, writeOneRosterPackage } from '@rosterbridge/test-kit';

const ADMIN = 'worker-admin-token-0123456789abcdef';
/** Deadlines of the host under test: a spinning worker is terminated after this long. */
const DEADLINE_MS = 2000;
/** What the issue asks of `/healthz` while a worker plugin spins. */
const HEALTHZ_BUDGET_MS = 100;

interface Case {
  name: string;
  tenant: string;
  plugin: string;
  /** Where the run shows the failure: its target's entry, or the run itself (a source). */
  failsIn: 'target' | 'run';
  target: string;
  codes: RegExp;
  reason: RegExp;
}

const CASES: Case[] = [
  {
    name: 'a target whose activate() spins in its worker is terminated and failed at the activation deadline',
    tenant: 'spin-activate',
    plugin: 'target-spin-activate',
    failsIn: 'target',
    target: 'spin-activate',
    // The registry's activation deadline and the worker's call deadline are the same: either may be first.
    codes: /^(PLUGIN_ACTIVATION_TIMEOUT|DEADLINE_EXCEEDED)$/,
    reason: new RegExp(`activate\\(\\) did not (finish|answer) within ${DEADLINE_MS} ms`),
  },
  {
    name: 'a target whose apply() spins in its worker is terminated and failed at the call deadline',
    tenant: 'spin-apply',
    plugin: 'target-spin-apply',
    failsIn: 'target',
    target: 'spin-apply',
    codes: /^DEADLINE_EXCEEDED$/,
    reason: new RegExp(`target spin-apply apply\\(\\) did not answer within ${DEADLINE_MS} ms; its worker was terminated`),
  },
  {
    name: 'a source whose read() spins in its worker is terminated and failed at the deadline of its next batch',
    tenant: 'spin-read',
    plugin: 'source-spin-read',
    failsIn: 'run',
    target: 'memo',
    codes: /^DEADLINE_EXCEEDED$/,
    reason: new RegExp(`source spin-read read\\(orgs\\) next batch did not answer within ${DEADLINE_MS} ms; its worker was terminated`),
  },
  {
    name: 'a target that hoards memory in its worker is terminated at its 64 MB limit and failed',
    tenant: 'hog',
    plugin: 'target-memory-hog',
    failsIn: 'target',
    target: 'memory-hog',
    codes: /^PLUGIN_OUT_OF_MEMORY$/,
    reason: /its worker exceeded its memory limit \(64 MB\) and was terminated/,
  },
];

t.test('a worker plugin that spins or hoards memory fails alone: the host answers, other tenants sync, the next run starts', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-worker-isolation-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const district = generateDistrict({ seed: 71, size: 'tiny' });
  await writeOneRosterPackage(district, path.join(root, 'package'));
  const csv = { id: 'oneroster-csv', settings: { location: '../package' } };
  const tenant = (id: string, source: unknown, target: string) =>
    writeFileSync(path.join(tenants, `${id}.json`), JSON.stringify({ displayName: id, timezone: 'UTC', source, targets: [{ id: target }] }));
  tenant('lincoln', csv, 'memo');
  tenant('spin-activate', csv, 'spin-activate');
  tenant('spin-apply', csv, 'spin-apply');
  tenant('spin-read', { id: 'spin-read' }, 'memo');
  tenant('hog', csv, 'memory-hog');

  const database = await createTestDatabase();
  const proc = await startHostProcess({
    ...hostProcessEnv({
      databaseUrl: database.url,
      dataDir: path.join(root, 'data'),
      pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/worker')],
      tenantsDir: tenants,
      adminToken: ADMIN,
    }),
    RB_PLUGIN_ACTIVATION_TIMEOUT_MS: String(DEADLINE_MS),
    RB_PLUGIN_WORKER_CALL_TIMEOUT_MS: String(DEADLINE_MS),
  });
  t.teardown(async () => {
    await proc.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
  });
  const call = apiClient(proc.url, ADMIN);
  const startRun = async (tenantId: string): Promise<SyncRun> => {
    const started = await call('POST', `/tenants/${tenantId}/syncs`);
    t.equal(started.status, 202, `a run of ${tenantId} starts`);
    return started.body as SyncRun;
  };
  const finished = async (run: SyncRun): Promise<SyncRun> => {
    const deadline = Date.now() + 60_000;
    while ((run.status === 'queued' || run.status === 'running') && Date.now() < deadline) {
      await sleep(100);
      run = (await call('GET', `/runs/${run.id}`)).body as SyncRun;
    }
    return run;
  };

  // The in-process tenant's first run activates its plugins before anything is timed.
  const first = await finished(await startRun('lincoln'));
  t.equal(first.status, 'success', 'the in-process tenant syncs');
  t.equal(first.counts.targets.memo!.entities.users!.created, district.counts.users);

  for (const c of CASES) {
    await t.test(c.name, async (t) => {
      // The plugin's tenant and another tenant (in-process plugins) start a run each, together. Once
      // the worker says it spins (or hoards), /healthz is polled from this process, one request
      // after another, until the plugin's run has ended: what the other tenant's in-process staging
      // costs the host's thread is its own, not the worker's, so it mostly runs before the polling.
      const spinning = await startRun(c.tenant);
      const other = await startRun('lincoln');
      const saysSo = new RegExp(`"plugin":"${c.plugin}".*"msg":"about to (spin|hoard)`);
      const waitUntil = Date.now() + 30_000;
      while (!saysSo.test(proc.output()) && Date.now() < waitUntil) await sleep(10);
      t.match(proc.output(), saysSo, 'the plugin started spinning in its worker');
      const latencies: number[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const sent = performance.now();
          const res = await fetch(`${proc.url}/healthz`);
          await res.arrayBuffer();
          latencies.push(performance.now() - sent);
          if (res.status !== 200) t.fail(`/healthz answered ${res.status}`);
          await sleep(20);
        }
      })();
      const failed = await finished(spinning);
      polling = false;
      await poller;
      const succeeded = await finished(other);

      t.equal(failed.status, 'failed', `the run of ${c.tenant} fails`);
      const where = c.failsIn === 'target' ? failed.counts.targets[c.target]! : { errorCode: failed.errorCode, error: failed.errorMessage };
      t.match(where.errorCode, c.codes, 'with the code of what the plugin did');
      t.match(where.error, c.reason, 'and its reason');
      const status = (await call('GET', `/plugins/${c.plugin}`)).body as PluginStatus;
      t.equal(status.state, 'failed', 'the plugin is failed');
      t.match(status.failure?.code, c.codes);
      t.match(status.failure?.reason, c.reason, 'its failure says why');

      t.equal(succeeded.status, 'success', 'another tenant (in-process plugins) synced meanwhile');

      t.ok(latencies.length >= 10, `/healthz was asked throughout (${latencies.length} times)`);
      const slowest = Math.max(...latencies);
      const slow = latencies.filter((ms) => ms >= HEALTHZ_BUDGET_MS).map((ms) => ms.toFixed(0));
      t.ok(
        slowest < HEALTHZ_BUDGET_MS,
        `/healthz answered within ${HEALTHZ_BUDGET_MS} ms every time (slowest ${slowest.toFixed(1)} ms${slow.length > 0 ? `; ${slow.join(', ')} ms` : ''})`,
      );

      // The tenant is not left stuck: its next run starts, and ends saying the plugin failed.
      const next = await finished(await startRun(c.tenant));
      t.equal(next.status, 'failed', "the tenant's next run starts and ends");
      const nextWhere = c.failsIn === 'target' ? next.counts.targets[c.target]! : { error: next.errorMessage };
      t.match(nextWhere.error, new RegExp(`plugin "${c.plugin}" failed`), 'naming the failed plugin');
    });
  }

  t.equal(proc.child.exitCode, null, 'the host is still running');
  t.match(proc.output(), /"plugin":"target-memory-hog".*"msg":"plugin worker terminated"/, 'the log names the plugin whose worker was terminated');
  const last = await finished(await startRun('lincoln'));
  t.equal(last.status, 'success', 'and the in-process tenant still syncs');
});
