import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { HOST_CLI } from '@rosterbridge/test-kit';

const REPO = path.resolve(__dirname, '../..');

function run(command: string, args: string[], cwd = REPO): { status: number | null; out: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 170_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('rosterbridge new-plugin: a source and a target that build and pass their own tests as generated', async (t) => {
  // Inside the checkout (so @rosterbridge/* and the test kit resolve), outside plugins/ (so no other
  // test's host discovers them) and ignored by git.
  const dir = path.join(REPO, '.data', `scaffold-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  for (const [kind, id] of [['target', 'acme-lms'], ['source', 'acme-sis']] as const) {
    const made = run(process.execPath, [HOST_CLI, 'new-plugin', kind, id, '--dir', dir]);
    t.equal(made.status, 0, made.out);
    const pkg = path.join(dir, `${kind}-${id}`);
    for (const file of ['package.json', 'tsconfig.json', 'src/index.ts', `tests/${kind}-${id}.test.ts`, 'README.md']) t.ok(existsSync(path.join(pkg, file)), `${kind}-${id}/${file}`);
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    t.same(manifest.rosterbridge.activationEvents, [`on${kind === 'source' ? 'Source' : 'Target'}:${id}`]);
  }
  const built = run(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', path.join(dir, 'target-acme-lms'), path.join(dir, 'source-acme-sis')]);
  t.equal(built.status, 0, `tsc -b: ${built.out}`);
  const tested = run(process.execPath, [path.join(REPO, 'node_modules/tap/dist/esm/run.mjs'), path.join(dir, 'target-acme-lms/tests'), path.join(dir, 'source-acme-sis/tests')]);
  t.equal(tested.status, 0, `the generated tests pass:\n${tested.out.slice(-3000)}`);
  t.notMatch(tested.out, /not ok/, 'no failing assertion');
  t.match(tested.out, /a first sync writes every record; a resync writes nothing/);
  t.match(tested.out, /the connection check and a full read of a generated district/);

  const again = run(process.execPath, [HOST_CLI, 'new-plugin', 'target', 'acme-lms', '--dir', dir]);
  t.not(again.status, 0, 'an existing package is not overwritten');
  t.match(again.out, /already exists/);
  const bad = run(process.execPath, [HOST_CLI, 'new-plugin', 'target', 'Acme_LMS', '--dir', dir]);
  t.not(bad.status, 0);
  t.match(bad.out, /kebab-case/);
});
