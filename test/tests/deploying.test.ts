import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import t from 'tap';
import { loadHostConfig } from '@rosterbridge/host';
import { FIXTURES_DIR, type HostProcess, generateDistrict, startHostProcess, writeOneRosterPackage } from '@rosterbridge/test-kit';

const REPO = path.resolve(__dirname, '../..');
const UNIT = readFileSync(path.join(REPO, 'deploy/rosterbridge.service'), 'utf8');
const ENV_EXAMPLE = readFileSync(path.join(REPO, 'deploy/rosterbridge.env.example'), 'utf8');

/** The unit's `Key=value` settings (the last of each key). */
const unit = (key: string): string | undefined => [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].pop()?.[1];

/** KEY=VALUE lines as systemd's EnvironmentFile reads them: comments skipped, one pair of single quotes removed. */
function environmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  return env;
}

t.test('the systemd unit and the env example agree with each other and with the host', async (t) => {
  const env = environmentFile(ENV_EXAMPLE);
  t.same(Object.keys(env).sort(), [
    'RB_API_TOKENS',
    'RB_DATABASE_URL',
    'RB_DATA_DIR',
    'RB_HTTP_HOST',
    'RB_HTTP_PORT',
    'RB_LOG_LEVEL',
    'RB_PLUGIN_DIRS',
    'RB_SECRETS_DIR',
    'RB_TENANTS_DIR',
  ]);
  const config = loadHostConfig({ env });
  t.match(config.database.url, /^postgres:\/\/rosterbridge:[^@]+@127\.0\.0\.1:5432\/rosterbridge$/);
  t.same(
    config.api.tokens.map((k) => [k.name, k.role]),
    [['ops', 'admin']],
  );
  t.equal(config.dataDir, `/var/lib/${unit('StateDirectory')}`, "the data dir is the unit's state directory");
  t.same(config.plugins.dirs, [path.join(unit('WorkingDirectory')!, 'plugins')], 'the plugins of the checkout the unit runs');
  t.match(ENV_EXAMPLE, `# ${unit('EnvironmentFile')}:`, 'the example names the file the unit reads');

  const [node, script, command] = unit('ExecStart')!.split(' ');
  t.equal(node, '/usr/bin/node');
  t.equal(command, 'start');
  t.ok(existsSync(path.join(REPO, script!)), `${script} is in the checkout (built)`);
  t.ok(Number(unit('TimeoutStopSec')) * 1000 > config.shutdownTimeoutMs, 'systemd waits longer than the graceful shutdown');
  t.equal(unit('KillSignal'), 'SIGTERM');
  t.equal(unit('Restart'), 'on-failure');
});

t.test(
  "a role that owns its database is all the host needs; the README's backup and restore commands bring it back",
  { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL) to create a role and a database' },
  async (t) => {
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const role = `rb_deploy_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(18).toString('base64url');
    const root = mkdtempSync(path.join(tmpdir(), 'rb-deploy-'));
    const hosts: HostProcess[] = [];
    t.teardown(async () => {
      await Promise.all(hosts.map((h) => h.stop()));
      await admin.query(`drop database if exists ${role} with (force)`);
      await admin.query(`drop database if exists ${role}_restored with (force)`);
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
      rmSync(root, { recursive: true, force: true });
    });
    // As the README says: a role, and a database it owns.
    await admin.query(`create role ${role} login password '${password}'`);
    await admin.query(`create database ${role} owner ${role}`);
    const urlOf = (database: string) => {
      const url = new URL(process.env.DATABASE_URL!);
      url.username = role;
      url.password = password;
      url.pathname = `/${database}`;
      return url.toString();
    };

    const tenants = path.join(root, 'tenants');
    mkdirSync(tenants);
    await writeOneRosterPackage(generateDistrict({ seed: 16, size: 'tiny' }), path.join(root, 'package'));
    writeFileSync(
      path.join(tenants, 'lincoln.json'),
      JSON.stringify({
        displayName: 'Lincoln',
        timezone: 'America/Chicago',
        source: { id: 'oneroster-csv', settings: { location: '../package' } },
        targets: [{ id: 'memo' }],
      }),
    );
    const token = `deploy-${randomBytes(12).toString('hex')}`;
    const env = (database: string): NodeJS.ProcessEnv => ({
      RB_DATABASE_URL: urlOf(database),
      RB_HTTP_PORT: '0',
      RB_DATA_DIR: path.join(root, 'data'),
      RB_PLUGIN_DIRS: [path.join(REPO, 'plugins'), path.join(FIXTURES_DIR, 'plugins/sync')].join(','),
      RB_TENANTS_DIR: tenants,
      RB_API_TOKENS: JSON.stringify([{ name: 'ops', token, role: 'admin' }]),
      RB_LOG_LEVEL: 'info',
    });
    const call = async (host: HostProcess, method: string, route: string) => {
      const res = await fetch(`${host.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? '{}' : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    const host = await startHostProcess(env(role));
    hosts.push(host);
    const started = await call(host, 'POST', '/tenants/lincoln/syncs');
    t.equal(started.status, 202);
    let run: any;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      run = (await call(host, 'GET', `/runs/${started.body.id}`)).body;
      if (!['queued', 'running'].includes(run.status)) break;
    }
    t.equal(run.status, 'success', 'a run, as the role');
    // pg_namespace is per database: ask the role's database itself, as the role.
    const own = new Client({ connectionString: urlOf(role) });
    await own.connect();
    const schemas = (
      await own.query<{ nspname: string; owner: string }>(
        `select nspname, pg_get_userbyid(nspowner) as owner from pg_namespace where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public') order by 1`,
      )
    ).rows;
    const records = Number((await own.query<{ count: string }>('select count(*) from plugin_target_memo.record')).rows[0]!.count);
    await own.end();
    t.same(
      schemas,
      ['plugin_source_oneroster_csv', 'plugin_target_memo', 'rosterbridge', 'rosterbridge_queue'].map((nspname) => ({ nspname, owner: role })),
      "the host's schema, the queue's and one per plugin used, all the role's",
    );
    t.ok(records > 0, `the product's rows were written (${records} records)`);
    await host.stop();

    // Back up as the README says, restore into an empty database the role owns, start on it.
    const dump = path.join(root, 'backup.dump');
    const dumped = spawnSync('pg_dump', ['--format=custom', `--file=${dump}`, urlOf(role)], { encoding: 'utf8' });
    t.equal(dumped.status, 0, dumped.stderr);
    t.ok(statSync(dump).size > 0);
    const listed = spawnSync('pg_restore', ['--list', dump], { encoding: 'utf8' }).stdout;
    for (const schema of ['rosterbridge', 'rosterbridge_queue', 'plugin_target_memo'])
      t.match(listed, ` SCHEMA - ${schema} ${role}`, `the dump holds ${schema}`);
    await admin.query(`create database ${role}_restored owner ${role}`);
    const restored = spawnSync('pg_restore', ['--exit-on-error', '--dbname', urlOf(`${role}_restored`), dump], { encoding: 'utf8' });
    t.equal(restored.status, 0, restored.stderr);
    const again = await startHostProcess(env(`${role}_restored`));
    hosts.push(again);
    t.match(again.output(), '"applied":[]', 'nothing to migrate on the restored database');
    const runs = (await call(again, 'GET', '/tenants/lincoln/runs')).body;
    t.same(
      runs.runs.map((r: any) => [r.id, r.status]),
      [[started.body.id, 'success']],
      'the run history came back',
    );
  },
);
