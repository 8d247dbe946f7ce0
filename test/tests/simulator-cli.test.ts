import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { OneRosterClient, type OneRosterCredentials } from '@rosterbridge/oneroster-rest';
import { FIXTURES_DIR, OneRosterDataset, generateDistrict } from '@rosterbridge/test-kit';

const REPO = path.resolve(__dirname, '../..');
const SIMULATOR_CLI = path.join(REPO, 'test/simulators/dist/oneroster/cli.js');
const HOST_CLI = path.join(REPO, 'host/dist/cli/main.js');
const SECRET = 'sim-cli-S3cret!(x)*';
const TINY = generateDistrict({ seed: 42, size: 'tiny' }).counts;

interface Running {
  child: ChildProcessWithoutNullStreams;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a CLI and waits until it printed `ready` (a pattern), or fails with what it printed. */
async function start(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 30 s; printed:\n${out}`)), 30_000);
    const poll = setInterval(() => {
      if (ready.test(out)) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      }
    }, 20);
    void exit.then(() => {
      clearTimeout(timer);
      clearInterval(poll);
      if (!ready.test(out)) reject(new Error(`exited before it was ready; printed:\n${out}`));
    });
  });
  return { child, output: () => out, exit };
}

/** Stops a running CLI with SIGTERM and answers how it ended. */
async function stop(running: Running) {
  running.child.kill('SIGTERM');
  return running.exit;
}

/** Reads every record of a collection through the REST client, signed as `credentials` say. */
async function readAll(baseUrl: string, credentials: OneRosterCredentials, collection: 'orgs' | 'users' = 'orgs', pageSize = 100) {
  const client = new OneRosterClient({ baseUrl, credentials, pageSize, backoff: { baseMs: 5, maxMs: 20 } });
  try {
    const reading = client.read(collection);
    let records = 0;
    for await (const batch of reading) records += batch.records.length;
    return { records, report: reading.report };
  } finally {
    await client.dispose();
  }
}

t.test('the simulator CLI serves a generated district to a signed client and stops on SIGTERM', async (t) => {
  const sim = await start(
    [SIMULATOR_CLI, '--seed', '42', '--size', 'tiny', '--port', '0', '--key', 'cli-key', '--secret-env', 'ROSTERBRIDGE_SECRET_TEST_SIM_SECRET'],
    /Ctrl-C stops it/,
    { ROSTERBRIDGE_SECRET_TEST_SIM_SECRET: SECRET },
  );
  const baseUrl = /base URL\s+(\S+)/.exec(sim.output())?.[1];
  t.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/ims\/oneroster\/v1p1$/);
  const { records } = await readAll(baseUrl!, { kind: 'oauth1', consumerKey: 'cli-key', consumerSecret: SECRET });
  t.equal(records, TINY.orgs, 'GET /orgs, signed with OAuth 1.0a, gives the district orgs');
  await t.rejects(readAll(baseUrl!, { kind: 'oauth1', consumerKey: 'cli-key', consumerSecret: 'not-it-at-all' }), { code: 'SOURCE_BAD_CREDENTIALS' });
  t.match(sim.output(), /secret\s+from env ROSTERBRIDGE_SECRET_TEST_SIM_SECRET \(not shown\)/);
  t.match(sim.output(), `"consumerSecret":{"env":"ROSTERBRIDGE_SECRET_TEST_SIM_SECRET"}`, 'the tenant snippet names the env var');
  t.match(sim.output(), `orgs ${TINY.orgs}, academicSessions ${TINY.academicSessions}`);
  t.notMatch(sim.output(), SECRET, 'the secret is never printed');
  t.same(await stop(sim), { code: 0, signal: null }, 'SIGTERM stops it cleanly');
});

t.test('rosterbridge simulate launches it, forwards options and SIGTERM, and passes the exit code back', async (t) => {
  const sim = await start([HOST_CLI, 'simulate', '--size', 'tiny', '--port', '0', '--auth', 'bearer', '--secret', SECRET, '--json'], /\}\n/);
  const ready = JSON.parse(sim.output().trim().split('\n').at(-1)!);
  t.same(ready.secret, { from: 'command line', length: SECRET.length }, 'a secret from the command line is described by its length');
  t.same(ready.source.settings.auth, { mode: 'bearer', token: { env: 'ROSTERBRIDGE_SECRET_SIM' } });
  t.notMatch(sim.output(), SECRET);
  const { records } = await readAll(ready.baseUrl, { kind: 'bearer', token: SECRET });
  t.equal(records, TINY.orgs);
  t.same(await stop(sim), { code: 0, signal: null }, 'the launcher exits with the simulator');
  await t.rejects(fetch(`${ready.origin}/ims/oneroster/v1p1/orgs`), 'the simulator child is gone too');

  const bad = spawnSync(process.execPath, [HOST_CLI, 'simulate', '--fault', 'status:200'], { encoding: 'utf8' });
  t.equal(bad.status, 2, "the simulator's usage error comes back as the exit code");
  t.match(bad.stderr, /status must be an HTTP error status/);
  const help = spawnSync(process.execPath, [HOST_CLI, 'simulate', '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /--latency-ms/, "--help is the simulator's");
});

t.test('without a secret it writes a random one to a private file, removed on exit', async (t) => {
  const sim = await start([SIMULATOR_CLI, '--size', 'tiny', '--port', '0', '--auth', 'oauth2', '--key', 'cli-client', '--json'], /\}\n/, {
    ROSTERBRIDGE_SECRET_SIM: '',
  });
  const ready = JSON.parse(sim.output().trim().split('\n').at(-1)!);
  const file: string = ready.secret.file;
  t.equal(ready.secret.from, 'file');
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable only by its owner');
  t.same(ready.source.settings.auth, { mode: 'oauth2', tokenUrl: ready.tokenUrl, clientId: 'cli-client', clientSecret: { file } });
  const secret = readFileSync(file, 'utf8').trim();
  t.notMatch(sim.output(), secret);
  const { records } = await readAll(ready.baseUrl, { kind: 'oauth2', tokenUrl: ready.tokenUrl, clientId: 'cli-client', clientSecret: secret });
  t.equal(records, TINY.orgs);
  await stop(sim);
  t.notOk(existsSync(file), 'the secret file is removed when the simulator stops');
});

t.test('paging, latency and fault options shape what the server does', async (t) => {
  const sim = await start(
    [
      SIMULATOR_CLI,
      '--size',
      'tiny',
      '--port',
      '0',
      '--auth',
      'none',
      '--page-max',
      '5',
      '--total-count',
      'off',
      '--link',
      'off',
      '--latency-ms',
      '30',
      '--fault',
      'status:503,path=users,requests=1',
      '--json',
    ],
    /\}\n/,
  );
  const ready = JSON.parse(sim.output().trim().split('\n').at(-1)!);
  t.teardown(() => void stop(sim));
  const started = Date.now();
  const { records, report } = await readAll(ready.baseUrl, { kind: 'bearer', token: 'unused-by-an-open-server' }, 'users', 100);
  t.equal(records, TINY.users, 'every user despite the 503 on the first request');
  t.equal(report.clampedLimit, 5, 'limit clamped at --page-max');
  t.equal(report.totalCount, undefined, 'no X-Total-Count');
  t.ok(Date.now() - started >= report.requests * 30, `${report.requests} requests took at least 30 ms each`);
});

t.test('--csv serves a OneRoster CSV package', async (t) => {
  const location = path.join(FIXTURES_DIR, 'oneroster-csv', 'clean-full');
  const expected = await OneRosterDataset.fromCsvPackage(location);
  const sim = await start([SIMULATOR_CLI, '--csv', location, '--port', '0', '--auth', 'none', '--json'], /\}\n/);
  t.teardown(() => void stop(sim));
  const ready = JSON.parse(sim.output().trim().split('\n').at(-1)!);
  t.same(ready.counts, expected.counts());
  t.ok(ROSTER_ENTITY_ORDER.some((e) => ready.counts[e] > 0));
  const { records } = await readAll(ready.baseUrl, { kind: 'bearer', token: 'unused-by-an-open-server' }, 'users');
  t.equal(records, expected.counts().users);
  const mixed = spawnSync(process.execPath, [SIMULATOR_CLI, '--csv', location, '--seed', '1'], { encoding: 'utf8' });
  t.equal(mixed.status, 2);
  t.match(mixed.stderr, /--csv serves a package as it is/);
});

t.test('rosterbridge simulate without @rosterbridge/simulators installed exits 1 saying where the simulator lives', async (t) => {
  // An install of the packages without the simulators: every dependency linked, no node_modules/.bin.
  const root = mkdtempSync(path.join(tmpdir(), 'rb-no-simulators-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const modules = path.join(root, 'node_modules');
  mkdirSync(path.join(modules, '@rosterbridge'), { recursive: true });
  for (const entry of readdirSync(path.join(REPO, 'node_modules'))) {
    if (entry === '@rosterbridge' || entry.startsWith('.')) continue;
    symlinkSync(path.join(REPO, 'node_modules', entry), path.join(modules, entry));
  }
  for (const entry of readdirSync(path.join(REPO, 'node_modules/@rosterbridge'))) {
    if (entry !== 'simulators') symlinkSync(path.join(REPO, 'node_modules/@rosterbridge', entry), path.join(modules, '@rosterbridge', entry));
  }
  const cli = path.join(modules, '@rosterbridge/host/dist/cli/main.js');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--preserve-symlinks', '--preserve-symlinks-main', cli, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 20_000,
    });
  const version = run('--version');
  t.equal(version.status, 0, `the CLI itself runs from that install: ${version.stderr}`);
  const r = run('simulate', '--size', 'tiny');
  t.equal(r.status, 1);
  t.match(r.stderr, /the OneRoster simulator ships as @rosterbridge\/simulators \(bin rosterbridge-simulate\), which is not installed here/);
  t.equal(r.stdout, '');
  // The same install with the package and the bin npm links for it: the difference is the tool, not the setup.
  symlinkSync(path.join(REPO, 'node_modules/@rosterbridge/simulators'), path.join(modules, '@rosterbridge/simulators'));
  mkdirSync(path.join(modules, '.bin'));
  symlinkSync('../@rosterbridge/simulators/bin/rosterbridge-simulate.js', path.join(modules, '.bin/rosterbridge-simulate'));
  const withTool = run('simulate', '--help');
  t.equal(withTool.status, 0, withTool.stderr);
  t.match(withTool.stdout, /Starts a ClassLink-like OneRoster 1\.1 REST server/);
});
