import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { createTestDatabase } from '@rosterbridge/test-kit';

// `npx rosterbridge` works right after `npm ci`: npm links the committed launcher, which runs the
// built CLI or, in a checkout never built, builds it first. `npm start` starts the host.

const REPO = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(REPO, 'host/bin/rosterbridge.js');

t.test('npm ci linked the launcher as node_modules/.bin/rosterbridge, and it runs the CLI', async (t) => {
  const link = path.join(REPO, 'node_modules/.bin/rosterbridge');
  t.equal(realpathSync(link), realpathSync(LAUNCHER));
  const r = spawnSync(link, ['--version'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

/**
 * A checkout in miniature: the launcher in host/bin, a CLI source that says how it was called, a
 * solution tsconfig, and the repository's node_modules (TypeScript); no dist.
 */
function miniCheckout(t: Test, mainSource: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-launcher-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'host/bin'), { recursive: true });
  mkdirSync(path.join(root, 'host/src/cli'), { recursive: true });
  copyFileSync(LAUNCHER, path.join(root, 'host/bin/rosterbridge.js'));
  writeFileSync(path.join(root, 'host/src/cli/main.ts'), mainSource);
  writeFileSync(
    path.join(root, 'host/tsconfig.json'),
    JSON.stringify({
      compilerOptions: { composite: true, module: 'commonjs', target: 'es2022', rootDir: 'src', outDir: 'dist', types: ['node'] },
      include: ['src'],
    }),
  );
  writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({ files: [], references: [{ path: 'host' }] }));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return root;
}

t.test('in a checkout never built, the launcher builds it once, saying so, then runs the CLI', async (t) => {
  const root = miniCheckout(t, "const argv: string[] = process.argv.slice(2);\nprocess.stdout.write(`cli ran with ${argv.join(' ')}\\n`);\n");
  const first = spawnSync(process.execPath, [path.join(root, 'host/bin/rosterbridge.js'), 'sync', 'lincoln'], { encoding: 'utf8', timeout: 120_000 });
  t.equal(first.status, 0, first.stderr);
  t.match(first.stderr, /^rosterbridge: first use of this checkout: building it once \(npm run build\) …\nrosterbridge: built\n$/);
  t.equal(first.stdout, 'cli ran with sync lincoln\n', "stdout is the CLI's alone");
  t.ok(existsSync(path.join(root, 'host/dist/cli/main.js')), 'built');
  const second = spawnSync(process.execPath, [path.join(root, 'host/bin/rosterbridge.js'), 'runs'], { encoding: 'utf8' });
  t.equal(second.status, 0, second.stderr);
  t.equal(second.stderr, '', 'no build the second time');
  t.equal(second.stdout, 'cli ran with runs\n');
});

t.test('a build that fails: exit 1, naming npm run build; the compiler says why on stderr', async (t) => {
  const root = miniCheckout(t, 'const n: number = "not a number";\nexport { n };\n');
  const r = spawnSync(process.execPath, [path.join(root, 'host/bin/rosterbridge.js'), '--help'], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 1);
  t.match(r.stderr, /TS2322/);
  t.match(r.stderr, /rosterbridge: the build failed \(exit \d+\); run `npm run build` in .* to see why/);
  t.equal(r.stdout, '');
});

t.test('without dist and without sources to build: exit 1 with a clear line', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-launcher-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'host/bin'), { recursive: true });
  copyFileSync(LAUNCHER, path.join(root, 'host/bin/rosterbridge.js'));
  const r = spawnSync(process.execPath, [path.join(root, 'host/bin/rosterbridge.js'), '--help'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /^rosterbridge: .*dist\/cli\/main\.js is missing and this is no checkout to build it in/);
});

t.test('npm start starts the host; it answers /healthz and stops on SIGTERM', async (t) => {
  const database = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rb-npm-start-'));
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RB_')) env[k] = v;
  // In a process group of its own (npm, its shell, the host), to be stopped as one.
  const child = spawn('npm', ['start'], {
    cwd: REPO,
    detached: true,
    env: {
      ...env,
      RB_HTTP_PORT: '0',
      RB_DATA_DIR: dataDir,
      RB_DATABASE_URL: database.url,
      RB_TENANTS_DIR: path.join(dataDir, 'tenants'),
      RB_LOG_LEVEL: 'info',
    },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // 'close': npm, its shell and the host have all let go of the output (npm may end before the host).
  const exit = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let closed = false;
  void exit.then(() => (closed = true));
  t.teardown(() => {
    if (!closed) process.kill(-child.pid!, 'SIGKILL');
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in time:\n${out}`)), 90_000);
    child.stdout.on('data', () => {
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  t.match(out, /^> node host\/bin\/rosterbridge\.js start$/m, 'npm ran the start script');
  const health = await fetch(`${address}/healthz`);
  t.equal(health.status, 200);
  t.match(await health.json(), { status: 'ok' });
  // npm passes the signal on and ends with it; the host stops gracefully.
  process.kill(-child.pid!, 'SIGTERM');
  await exit;
  t.match(out, /"msg":"signal received; stopping"/);
  t.match(out, /"msg":"stopped"/, 'the host stopped gracefully');
});
