import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startTestHost } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../fixtures/plugins/sync'), path.resolve(__dirname, '../../plugins')];
const CALL_TIMEOUT_MS = 1500;

// The stalling source waits on its signal. Run in a worker, a cancel must reach it there: its call
// then settles, and nothing is left pending for the call deadline to end the worker for.
for (const stallIn of ['fingerprint', 'read'] as const) {
  t.test(`a cancel reaches a source's ${stallIn} in its worker: the run ends cancelled and the plugin stays active`, async (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'rb-worker-signal-'));
    const tenants = path.join(root, 'tenants');
    mkdirSync(tenants);
    writeFileSync(
      path.join(tenants, 'adams.json'),
      JSON.stringify({ displayName: 'Adams', timezone: 'America/Chicago', source: { id: 'stalling', settings: { stallIn } }, targets: [{ id: 'memo' }] }),
    );
    const th = await startTestHost({
      pluginDirs: PLUGINS,
      tenantsDir: tenants,
      env: { RB_PLUGIN_WORKERS: 'source-stalling', RB_PLUGIN_WORKER_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS) },
    });
    t.teardown(async () => {
      await th.stop();
      rmSync(root, { recursive: true, force: true });
    });
    const { host } = th;
    const { id } = await host.syncs.trigger('adams', { trigger: 'test', mode: 'full' });
    for (let i = 0; i < 200 && (await host.runs.get(id))?.phase !== 'staging'; i++) await sleep(25);
    t.equal((await host.runs.get(id))?.phase, 'staging', 'the run reached its source');
    // Its worker starts (migrations, activate) while the run stages; then the source stalls in it.
    const inWorker = /"plugin":"source-stalling".*"msg":"plugin runs in a worker thread"/;
    for (let i = 0; i < 400 && !inWorker.test(th.logs()); i++) await sleep(25);
    t.match(th.logs(), inWorker, 'the source runs in a worker');
    await sleep(500);
    t.equal((await host.runs.get(id))?.status, 'running', 'and the run waits on it');
    await host.syncs.cancel(id, 'test');
    const run = await host.syncs.settled(id);
    t.equal(run.status, 'cancelled', `ended ${run.status} (${run.errorCode ?? ''} ${run.reason ?? ''})`);
    // Past the call deadline: a call the signal did not reach would have ended the worker by now.
    await sleep(CALL_TIMEOUT_MS * 2);
    const status = host.plugins.get('source-stalling');
    t.equal(status?.state, 'active', `the plugin is still active (${status?.failure?.reason ?? ''})`);
    t.notMatch(th.logs(), /plugin worker terminated/, 'its worker was not terminated');
  });
}
