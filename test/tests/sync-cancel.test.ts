import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { startTestHost } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../fixtures/plugins/sync'), path.resolve(__dirname, '../../plugins')];

// A run cancelled while its source works ends `cancelled`, whatever the source throws as it stops
// (the transports throw CANCELLED): not `failed` with the code CANCELLED.
for (const stallIn of ['fingerprint', 'read'] as const) {
  t.test(`a run cancelled while its source is in ${stallIn} ends cancelled`, async (t) => {
    const root = mkdtempSync(path.join(tmpdir(), 'rb-cancel-'));
    const tenants = path.join(root, 'tenants');
    mkdirSync(tenants);
    writeFileSync(
      path.join(tenants, 'adams.json'),
      JSON.stringify({ displayName: 'Adams', timezone: 'America/Chicago', source: { id: 'stalling', settings: { stallIn } }, targets: [{ id: 'memo' }] }),
    );
    const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
    t.teardown(async () => {
      await th.stop();
      rmSync(root, { recursive: true, force: true });
    });
    const { host } = th;
    const { id } = await host.syncs.trigger('adams', { trigger: 'test', mode: 'full' });
    // Wait until the run is staging (the source stalls there), then cancel it.
    for (let i = 0; i < 200 && (await host.runs.get(id))?.phase !== 'staging'; i++) await new Promise((r) => setTimeout(r, 25));
    t.equal((await host.runs.get(id))?.phase, 'staging', 'the run reached its source');
    await host.syncs.cancel(id, 'test');
    const run = await host.syncs.settled(id);
    t.equal(run.status, 'cancelled', `ended ${run.status} (${run.errorCode ?? ''} ${run.reason ?? ''})`);
    t.equal(run.errorCode, undefined, 'no error code');
    t.match(run.reason, /cancelled while/);
  });
}
