import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { FIXTURES_DIR, createTestDatabase } from '@rosterbridge/test-kit';

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const env = (extra: NodeJS.ProcessEnv = {}) => ({
  PATH: process.env.PATH,
  RB_PLUGIN_DIRS: path.join(FIXTURES_DIR, 'plugins/kernel'),
  RB_TENANTS_DIR: path.join(FIXTURES_DIR, 'tenants/kernel'),
  ROSTERBRIDGE_SECRET_TEST_LINCOLN_KEY: 'ln-Vb8Nc3Xq6Hs1Tz9f3a7c',
  ...extra,
});

t.test('config check names every bad plugin and tenant key, exits 1', async (t) => {
  const r = spawnSync(process.execPath, [CLI, 'config', 'check'], { env: env(), encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stdout, /tenant broken: .*broken\.json source\.settings\.apiKey: is a secret/);
  t.match(r.stdout, /tenant broken: .*broken\.json targets\[0\]\.schedule/);
  t.match(r.stdout, /plugin future-engine: PLUGIN_ENGINE_INCOMPATIBLE/);
  t.match(r.stdout, /tenant lincoln: ok/);
  t.notMatch(r.stdout + r.stderr, 'plain-text-key-do-not-do-this');
});

t.test('a bad host config key stops the CLI with a message naming it', async (t) => {
  const r = spawnSync(process.execPath, [CLI, 'plugins'], { env: env({ RB_HTTP_PORT: 'eighty' }), encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /CONFIG_INVALID: .*http\.port.*RB_HTTP_PORT/);
});

t.test('tenants lists redacted effective config', async (t) => {
  const r = spawnSync(process.execPath, [CLI, 'tenants', '--json'], { env: env(), encoding: 'utf8' });
  const tenants = JSON.parse(r.stdout);
  t.equal(tenants.find((x: any) => x.id === 'lincoln').config.source.settings.apiKey, '[secret from env ROSTERBRIDGE_SECRET_TEST_LINCOLN_KEY]');
  t.equal(tenants.find((x: any) => x.id === 'broken').status, 'invalid');
});

t.test('start serves the API and stops gracefully on SIGTERM', async (t) => {
  const database = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-cli-'));
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  });
  const token = 'cli-admin-token-0123456789';
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: env({
      RB_HTTP_PORT: '0',
      RB_DATA_DIR: dataDir,
      RB_DATABASE_URL: database.url,
      RB_PLUGIN_ACTIVATION_TIMEOUT_MS: '1000',
      RB_API_TOKENS: JSON.stringify([{ name: 'cli', token, role: 'admin' }]),
    }),
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in time:\n${out}`)), 60000);
    child.stdout.on('data', () => {
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  t.equal((await fetch(`${address}/healthz`)).status, 200);
  const plugins = (await (await fetch(`${address}/plugins`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
  t.equal(plugins.plugins.find((p: any) => p.id === 'startup-early').state, 'active');
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 0, 'exits 0 after a graceful shutdown');
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l).msg as string);
  const at = (m: string) => lines.indexOf(m);
  t.ok(at('signal received; stopping') >= 0);
  t.ok(at('control API closed') > at('signal received; stopping'), 'HTTP closes first');
  t.ok(at('plugin deactivated') > at('control API closed'), 'then plugins are deactivated');
  t.ok(at('database closed') > at('plugin deactivated'), 'then the database pool is closed');
  t.ok(at('stopped') > at('database closed'));
  t.notMatch(out, 'ln-Vb8Nc3Xq6Hs1Tz9f3a7c');
});
