import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { sql } from 'kysely';
import type { SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, changeDistrict, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const ADMIN = 'worker-target-admin-token-0123456789';
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];

interface Outcome {
  runs: SyncRun[];
  /** What memo holds of the tenant after each run: entity, sourcedId and record, in order. */
  rows: string[][];
  /** What its `memo.count` command answered at the end. */
  counted: number;
  logs: string;
  pluginState: string;
}

/**
 * Syncs lincoln into the memo target twice (a full sync, then the district changed: updates,
 * deletions, new students) on a host that runs memo where `workers` says, and reads back what memo
 * holds after each run.
 */
async function syncIntoMemo(root: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants, { recursive: true });
  const district = generateDistrict({ seed: 29, size: 'tiny' });
  const pkg = path.join(root, 'package');
  await writeOneRosterPackage(district, pkg);
  writeFileSync(
    path.join(tenants, 'lincoln.json'),
    JSON.stringify({
      displayName: 'Lincoln',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: '../package' } },
      targets: [{ id: 'memo' }],
    }),
  );
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }], env });
  try {
    const call = async (method: 'GET' | 'POST', url: string, body: unknown = {}) => {
      const res = await fetch(th.host.url + url, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
      });
      return res.json() as Promise<any>;
    };
    const sync = async (): Promise<SyncRun> => {
      let run = (await call('POST', '/tenants/lincoln/syncs')) as SyncRun;
      while (run.status === 'queued' || run.status === 'running') {
        await sleep(100);
        run = (await call('GET', `/runs/${run.id}`)) as SyncRun;
      }
      return run;
    };
    const rows = async () => {
      const result = await sql<{ entity: string; sourced_id: string; record: unknown }>`
        select entity, sourced_id, record from plugin_target_memo.record where tenant_id = 'lincoln' order by entity, sourced_id`.execute(th.host.database.db);
      return result.rows.map((r) => [r.entity, r.sourced_id, JSON.stringify(r.record)]);
    };
    const runs: SyncRun[] = [];
    const held: string[][] = [];
    runs.push(await sync());
    held.push(...(await rows()).map((r) => ['1', ...r]));
    rmSync(pkg, { recursive: true, force: true });
    await writeOneRosterPackage(changeDistrict(district, { seed: 3, fraction: 0.06 }), pkg);
    runs.push(await sync());
    held.push(...(await rows()).map((r) => ['2', ...r]));
    const counted = (await call('POST', '/tenants/lincoln/commands/memo.count', {})) as { result?: { records?: number } };
    const plugin = (await call('GET', '/plugins/target-memo')) as { state: string };
    return { runs, rows: held, counted: counted.result?.records ?? -1, logs: th.logs(), pluginState: plugin.state };
  } finally {
    await th.stop();
  }
}

t.test('a target run in a worker syncs the same rows and counts as in-process', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-worker-target-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const inProcess = await syncIntoMemo(path.join(root, 'in-process'), {});
  const inWorker = await syncIntoMemo(path.join(root, 'worker'), { RB_PLUGIN_WORKERS: 'target-memo' });

  t.match(inWorker.logs, /"plugin":"target-memo".*"msg":"plugin runs in a worker thread"/, 'memo ran in a worker');
  t.notMatch(inProcess.logs, /"msg":"plugin runs in a worker thread"/, 'and in-process on the other host');
  t.equal(inWorker.pluginState, 'active', 'and stays active');
  for (const [i, run] of inWorker.runs.entries()) {
    t.equal(run.status, 'success', `run ${i + 1} in the worker succeeds (${run.errorMessage ?? ''})`);
    t.equal(inProcess.runs[i]!.status, 'success', `run ${i + 1} in-process succeeds`);
    t.same(run.counts.targets.memo, inProcess.runs[i]!.counts.targets.memo, `run ${i + 1}: the target's counts are the same`);
  }
  const changed = inWorker.runs[1]!.counts.targets.memo!.entities.users!;
  t.ok((changed.updated ?? 0) > 0 && (changed.deleted ?? 0) > 0 && (changed.created ?? 0) > 0, 'the second run updated, deleted and created users');
  t.ok(inWorker.rows.length > 0, 'memo holds rows');
  t.same(inWorker.rows, inProcess.rows, 'memo holds the same rows after each run');
  t.equal(inWorker.counted, inWorker.rows.filter((r) => r[0] === '2').length, "memo's command, run in the worker, counts what it holds");
  t.equal(inWorker.counted, inProcess.counted);
});
