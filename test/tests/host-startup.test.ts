import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { DATA_DIR_LOCK_FILE, listenFailure } from '@rosterbridge/host';
import { HOST_CLI, type HostProcess, startHostProcess } from '@rosterbridge/test-kit';

const TOKEN = 'startup-admin-gT4kW9pQ2zX7vN3b';
/** A stack frame line, which the CLI must never print for a start-up refusal. */
const STACK_FRAME = /^\s+at /m;

function freshDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-startup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function cli(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [HOST_CLI, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 120_000 });
}

/** A port held by a server of this process on 127.0.0.1. */
async function holdPort(t: Test): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

function logLines(output: string): { level: number; msg: string }[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

t.test('config check fails on a missing tenants dir or plugin dir, naming the key; it warns when no API token is set', async (t) => {
  const root = freshDir(t);
  const tenants = path.join(root, 'tenants');
  const plugins = path.join(root, 'plugins');
  mkdirSync(tenants);
  mkdirSync(plugins);

  const fine = cli(['config', 'check'], {
    RB_TENANTS_DIR: tenants,
    RB_PLUGIN_DIRS: plugins,
    RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: TOKEN, role: 'admin' }]),
  });
  t.equal(fine.status, 0, fine.stdout + fine.stderr);
  t.equal(fine.stdout, 'host config: ok (database embedded, 40 keys)\nconfig check passed\n');

  const missing = cli(['config', 'check'], { RB_TENANTS_DIR: path.join(root, 'tennants'), RB_PLUGIN_DIRS: `${plugins},${path.join(root, 'plugns')}` });
  t.equal(missing.status, 1);
  t.equal(
    missing.stdout,
    `host config: tenants.dir (env RB_TENANTS_DIR): folder ${path.join(root, 'tennants')} does not exist: no tenant is loaded\n` +
      `host config: plugins.dirs (env RB_PLUGIN_DIRS): folder ${path.join(root, 'plugns')} does not exist: no plugin is discovered in it\n` +
      'host config: warning: no API token is configured (api.tokens, env RB_API_TOKENS): the control API answers 401 to every request but /healthz, /readyz and /docs, ' +
      "so no run can be started, followed or managed through it (the CLI's sync, runs and run included); scheduled runs still run. " +
      'Set RB_API_TOKENS to a JSON list such as [{"name":"ops","token":"<at least 16 random characters>","role":"admin"}]\n' +
      'config check found 2 problem(s)\n',
  );

  const bad = cli(['config', 'check'], { RB_TENANTS_DIR: tenants, RB_PLUGIN_DIRS: plugins, RB_SCHEDULE_ENABLED: 'nope', RB_SYNC_MAX_RUNS: '0' });
  t.equal(bad.status, 1);
  t.equal(
    bad.stderr,
    'rosterbridge: CONFIG_INVALID: host config is invalid: sync.maxConcurrentRuns (env RB_SYNC_MAX_RUNS): must be a whole number from 1 to 1,000, got 0; ' +
      'sync.schedule.enabled (env RB_SCHEDULE_ENABLED): must be true or false (or 1 or 0), got "nope"\n',
  );
});

t.test('start on a port another process holds: exit 1, one line naming RB_HTTP_PORT and the port, no stack, nothing started', async (t) => {
  const root = freshDir(t);
  const port = await holdPort(t);
  const started = Date.now();
  const r = cli(['start'], {
    RB_HTTP_PORT: String(port),
    RB_DATA_DIR: path.join(root, 'data'),
    RB_TENANTS_DIR: root,
    RB_PLUGIN_DIRS: root,
    RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: TOKEN, role: 'admin' }]),
  });
  t.equal(r.status, 1);
  t.equal(
    r.stderr,
    `rosterbridge: CONFIG_INVALID: http.port (env RB_HTTP_PORT): port ${port} on 127.0.0.1 is in use by another process (another host?): stop it, or set RB_HTTP_PORT to a free port (0 picks one)\n`,
  );
  t.notMatch(r.stdout + r.stderr, STACK_FRAME, 'no stack');
  t.notMatch(r.stdout + r.stderr, 'EADDRINUSE', 'no bare errno');
  t.notOk(existsSync(path.join(root, 'data')), 'refused before the database was opened');
  t.ok(Date.now() - started < 30_000, `refused at once (${Date.now() - started} ms)`);
});

t.test('a port taken between the check and the listen is named the same way', async (t) => {
  const port = await holdPort(t);
  const second = createServer();
  const err = await new Promise<Error>((resolve) => {
    second.once('error', resolve);
    second.listen({ host: '127.0.0.1', port });
  });
  t.equal((err as NodeJS.ErrnoException).code, 'EADDRINUSE', 'a real EADDRINUSE');
  t.match(listenFailure(err, '127.0.0.1', port), {
    code: 'CONFIG_INVALID',
    message: `http.port (env RB_HTTP_PORT): port ${port} on 127.0.0.1 is in use by another process`,
    details: { key: 'http.port' },
  });
  const other = new Error('something else');
  t.equal(listenFailure(other, '127.0.0.1', port), other, 'other errors pass through');
});

t.test(
  'embedded database: the first start says it creates it and warns of a missing tenants dir and no token; a second host on the data dir is refused naming it and the holder; once the holder is killed, the next host takes over',
  async (t) => {
    const root = freshDir(t);
    const dataDir = path.join(root, 'data');
    const plugins = path.join(root, 'plugins');
    mkdirSync(plugins);
    const env = { RB_HTTP_PORT: '0', RB_DATA_DIR: dataDir, RB_PLUGIN_DIRS: plugins, RB_TENANTS_DIR: path.join(root, 'tenants'), RB_LOG_LEVEL: 'info' };
    const hosts: HostProcess[] = [];
    t.teardown(() => Promise.all(hosts.map((h) => (h.child.kill('SIGKILL'), h.stop()))));

    const first = await startHostProcess(env);
    hosts.push(first);
    const lines = logLines(first.output());
    const at = (start: string) => lines.findIndex((l) => l.msg.startsWith(start));
    t.equal(lines[at('no API token is configured')]?.level, 40, 'no token: a warning');
    t.equal(lines[at('tenants.dir')]?.msg, `tenants.dir (env RB_TENANTS_DIR): folder ${path.join(root, 'tenants')} does not exist: no tenant is loaded`);
    t.equal(lines[at('tenants.dir')]?.level, 40, 'a missing tenants dir: a warning');
    t.equal(lines[at('creating the embedded database')]?.msg, `creating the embedded database in ${path.join(dataDir, 'pgdata')} (first start, about 10 s) …`);
    t.match(lines[at('embedded database created in')]?.msg, /^embedded database created in \d+\.\d s$/);
    t.ok(at('creating the embedded database') < at('embedded database created in'), 'said before, and after');
    t.ok(at('embedded database created in') < at('control API listening'), 'both before the host listens');
    t.same(JSON.parse(readFileSync(path.join(dataDir, DATA_DIR_LOCK_FILE), 'utf8')).pid, first.child.pid, 'the lock names the host');

    const second = cli(['start'], env);
    t.equal(second.status, 1);
    t.match(
      second.stderr,
      new RegExp(
        `^rosterbridge: CONFIG_INVALID: dataDir \\(env RB_DATA_DIR\\): the embedded database in ${dataDir} is in use: pid ${first.child.pid} on this machine, since [^,]+, holds it\\. ` +
          'Two hosts on one embedded database would corrupt it: stop that host, or give this one another data dir \\(RB_DATA_DIR\\); hosts that share data use a PostgreSQL server \\(RB_DATABASE_URL\\)\\n$',
      ),
    );
    t.notMatch(second.stdout + second.stderr, STACK_FRAME, 'no stack');
    t.equal((await fetch(`${first.url}/healthz`)).status, 200, 'the first host goes on');

    const killed = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await killed;
    const third = await startHostProcess(env);
    hosts.push(third);
    const after = logLines(third.output());
    t.equal(
      after.find((l) => l.msg.startsWith('took over'))?.msg,
      `took over the data dir's lock from pid ${first.child.pid}, which is no longer running: the last host on ${dataDir} did not stop cleanly`,
    );
    t.notOk(
      after.some((l) => l.msg.startsWith('creating the embedded database')),
      'the database is not created again',
    );
    t.equal((await fetch(`${third.url}/healthz`)).status, 200);
    await third.stop();
    t.equal(third.child.exitCode, 0);
    t.notOk(existsSync(path.join(dataDir, DATA_DIR_LOCK_FILE)), 'a host that stops removes its lock');
  },
);
