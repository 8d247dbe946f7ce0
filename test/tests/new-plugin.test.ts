import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { HOST_CLI } from '@rosterbridge/test-kit';

const REPO = path.resolve(__dirname, '../..');

/** Runs a command as a fresh clone would, without the public corpus beside the checkout (`RB_SHARED_FIXTURES=none`). */
function run(command: string, args: string[], cwd = REPO): { status: number | null; out: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', RB_SHARED_FIXTURES: 'none' }, timeout: 170_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('rosterbridge new-plugin: a source and a target that build and pass their own tests as generated, with no corpus beside the checkout', async (t) => {
  // Inside the checkout (so @rosterbridge/* and the test kit resolve), outside plugins/ (so no other
  // test's host discovers them) and ignored by git.
  const dir = path.join(REPO, '.data', `scaffold-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  for (const [kind, id] of [
    ['target', 'acme-lms'],
    ['source', 'acme-sis'],
  ] as const) {
    const made = run(process.execPath, [HOST_CLI, 'new-plugin', kind, id, '--dir', dir]);
    t.equal(made.status, 0, made.out);
    const pkg = path.join(dir, `${kind}-${id}`);
    for (const file of ['package.json', 'tsconfig.json', 'src/index.ts', `tests/${kind}-${id}.test.ts`, 'README.md'])
      t.ok(existsSync(path.join(pkg, file)), `${kind}-${id}/${file}`);
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    t.same(manifest.rosterbridge.activationEvents, [`on${kind === 'source' ? 'Source' : 'Target'}:${id}`]);
    const contracts = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics'].map((e) => `roster.${e}@1`);
    if (kind === 'source') t.same(manifest.rosterbridge.contributes.sources[0].produces, contracts, 'a source declares the contracts it produces');
    else t.same(manifest.rosterbridge.contributes.targets[0].consumes, contracts, 'a target those it consumes');
  }
  const built = run(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', path.join(dir, 'target-acme-lms'), path.join(dir, 'source-acme-sis')]);
  t.equal(built.status, 0, `tsc -b: ${built.out}`);
  const tested = run(process.execPath, [
    path.join(REPO, 'node_modules/tap/dist/esm/run.mjs'),
    path.join(dir, 'target-acme-lms/tests'),
    path.join(dir, 'source-acme-sis/tests'),
  ]);
  t.equal(tested.status, 0, `the generated tests pass:\n${tested.out.slice(-3000)}`);
  // The generated target has no known gap.
  const lines = tested.out.split('\n');
  t.same(
    lines.filter((l) => /\bnot ok\b/.test(l)),
    [],
    'no failing assertion',
  );
  t.match(tested.out, /target-acme-lms conforms/);
  t.match(tested.out, /no row points at a row the product lacks/, 'the target conformance kit ran to its last check');
  t.match(tested.out, /source-acme-sis conforms/);
  // What does not apply to the skeleton (it takes no credentials, declares no delta) is reported as skipped, saying so.
  const notApplicable = /takes no credentials|does not declare supportsDelta/;
  t.same(
    lines.filter((l) => /\btodo\b|\bskip\b/i.test(l) && !/^# \{ total/.test(l) && !notApplicable.test(l)),
    [],
    'the conformance kits run with no gap left as todo or skip',
  );
  t.match(tested.out, /abort while the source is slow to answer/, 'the slow-source check ran');

  const again = run(process.execPath, [HOST_CLI, 'new-plugin', 'target', 'acme-lms', '--dir', dir]);
  t.not(again.status, 0, 'an existing package is not overwritten');
  t.match(again.out, /already exists/);
  const bad = run(process.execPath, [HOST_CLI, 'new-plugin', 'target', 'Acme_LMS', '--dir', dir]);
  t.not(bad.status, 0);
  t.match(bad.out, /kebab-case/);
});

t.test("rosterbridge new-plugin in a checkout's plugins/: joins the solution build and the lockfile, so npm ci accepts it", async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-scaffold-root-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'plugins'));
  writeFileSync(path.join(root, 'tsconfig.base.json'), '{}\n');
  writeFileSync(
    path.join(root, 'tsconfig.json'),
    JSON.stringify({ files: [], references: [{ path: 'core' }, { path: 'plugins/target-zeta' }, { path: 'host' }] }),
  );
  const lock = {
    name: 'rosterbridge',
    lockfileVersion: 3,
    packages: {
      '': { name: 'rosterbridge', workspaces: ['core', 'plugins/*', 'host'] },
      'node_modules/@rosterbridge/core': { resolved: 'core', link: true },
      'node_modules/@rosterbridge/target-zeta': { resolved: 'plugins/target-zeta', link: true },
      'node_modules/kysely': { version: '0.28.18' },
      'plugins/target-zeta': { name: '@rosterbridge/target-zeta', version: '1.0.0' },
    },
  };
  writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const made = run(process.execPath, [HOST_CLI, 'new-plugin', 'source', 'acme-sis', '--dir', path.join(root, 'plugins')]);
  t.equal(made.status, 0, made.out);
  const tsconfig = JSON.parse(readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
  t.same(
    tsconfig.references.map((r: { path: string }) => r.path),
    ['core', 'plugins/target-zeta', 'plugins/source-acme-sis', 'host'],
    'a reference before the host',
  );
  const written = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  t.same(
    Object.keys(written.packages),
    [
      '',
      'node_modules/@rosterbridge/core',
      'node_modules/@rosterbridge/source-acme-sis',
      'node_modules/@rosterbridge/target-zeta',
      'node_modules/kysely',
      'plugins/source-acme-sis',
      'plugins/target-zeta',
    ],
    "the package and its link, in npm's order",
  );
  t.same(written.packages['plugins/source-acme-sis'], {
    name: '@rosterbridge/source-acme-sis',
    version: '0.1.0',
    dependencies: { '@rosterbridge/core': '1.0.0' },
    devDependencies: { '@rosterbridge/test-kit': '1.0.0' },
    engines: { rosterbridge: '^1.0.0' },
  });
  t.same(written.packages['node_modules/@rosterbridge/source-acme-sis'], { resolved: 'plugins/source-acme-sis', link: true });
});
