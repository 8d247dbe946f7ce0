import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { sharedFixtures, sharedFixturesDir } from '@rosterbridge/test-kit';

// The suite must pass in a fresh clone with no ../shared beside it: the public corpus there is an
// extra whose tests skip, saying why, where it is absent. This file checks the lookup, that nothing
// else reaches for ../shared, and runs the corpus's quick tests with the corpus hidden.

const REPO = path.resolve(__dirname, '../..');
const NOT_FOUND = '../shared/fixtures not found; set RB_SHARED_FIXTURES';

function tempTree(t: { teardown(fn: () => void): void }, folders: string[]): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-shared-lookup-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const folder of folders) mkdirSync(path.join(root, folder), { recursive: true });
  return root;
}

t.test('RB_SHARED_FIXTURES names the corpus; a value that is not a folder means absent, with the reason', async (t) => {
  const root = tempTree(t, ['corpus/oneroster-csv', 'checkout', 'shared/fixtures']);
  writeFileSync(path.join(root, 'a-file'), 'not a folder');
  const from = path.join(root, 'checkout');

  const named = sharedFixtures({ env: { RB_SHARED_FIXTURES: path.join(root, 'corpus') }, from });
  t.equal(named.dir, path.join(root, 'corpus'));
  t.equal(named.skip, false);
  t.equal(named.path('oneroster-csv', 'x'), path.join(root, 'corpus/oneroster-csv/x'));

  for (const value of ['none', path.join(root, 'missing'), path.join(root, 'a-file')]) {
    const hidden = sharedFixtures({ env: { RB_SHARED_FIXTURES: value }, from });
    t.equal(hidden.dir, undefined, `${value}: absent, although ${root}/shared/fixtures is there`);
    t.equal(hidden.skip, `RB_SHARED_FIXTURES=${value} is not a folder, so the shared fixtures count as absent`);
    t.throws(() => hidden.path('classlink/users.json'), { message: `the shared fixtures are absent: ${hidden.skip}` });
    t.equal(sharedFixturesDir({ env: { RB_SHARED_FIXTURES: value }, from }), undefined, 'sharedFixturesDir answers undefined, never throws');
  }
});

t.test('unset, shared/fixtures beside the checkout or beside one of its parents is found; else absent', async (t) => {
  const root = tempTree(t, ['shared/fixtures', 'checkout', 'work/deeper/checkout', 'elsewhere/checkout']);
  t.equal(sharedFixturesDir({ env: {}, from: path.join(root, 'checkout') }), path.join(root, 'shared/fixtures'), 'beside the checkout');
  t.equal(sharedFixturesDir({ env: {}, from: path.join(root, 'work/deeper/checkout') }), path.join(root, 'shared/fixtures'), 'beside a parent');
  t.equal(sharedFixturesDir({ env: { RB_SHARED_FIXTURES: '' }, from: path.join(root, 'checkout') }), path.join(root, 'shared/fixtures'), 'empty is unset');

  const lone = tempTree(t, ['checkout']);
  const absent = sharedFixtures({ env: {}, from: path.join(lone, 'checkout') });
  t.equal(absent.dir, undefined);
  t.equal(absent.skip, NOT_FOUND);
});

/** Test sources: every tests folder, the test kit and the plugin scaffold's templates. */
function testSources(): string[] {
  const roots = [
    'core/sdk/tests',
    'core/engine/tests',
    'host/tests',
    'test/tests',
    ...['kit', 'generator', 'simulators', 'demo', 'bench'].map((name) => `test/${name}/src`),
    ...['adapters', 'plugins'].flatMap((dir) => readdirSync(path.join(REPO, dir)).map((name) => `${dir}/${name}/tests`)),
  ];
  const files: string[] = ['host/src/cli/new-plugin-command.ts'];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(path.join(REPO, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(file);
      else if (/\.(ts|js|mjs|cjs|json)$/.test(entry.name)) files.push(file);
    }
  };
  for (const root of roots) walk(root);
  return files.sort();
}

t.test('nothing but the lookup names ../shared, and the files that read the corpus are these', async (t) => {
  const sources = testSources();
  t.ok(sources.length > 100, `${sources.length} test sources scanned`);
  const self = 'test/tests/shared-fixtures.test.ts';
  const text = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

  const outside = /\/work\/shared|\.\.\/shared\b|shared\/fixtures/;
  t.same(
    sources.filter((file) => file !== self && outside.test(text(file))),
    ['test/kit/src/shared-fixtures.ts'],
    'only the lookup knows where the corpus may be',
  );

  t.same(
    sources.filter((file) => file !== self && file !== 'test/kit/src/shared-fixtures.ts' && /\b(sharedFixtures|sharedPackage|SHARED)\b/.test(text(file))),
    [
      'adapters/oneroster-csv/tests/clean-fixtures.test.ts',
      'adapters/oneroster-csv/tests/csv-package-kit.ts',
      'adapters/oneroster-csv/tests/error-fixtures.test.ts',
      'adapters/oneroster-csv/tests/zip-package.test.ts',
      'core/sdk/tests/roster-parse-record.test.ts',
      'test/tests/oneroster-rest-full-pull.test.ts',
      'test/tests/source-oneroster-csv.test.ts',
    ],
    'a new file that reads the corpus is added here knowingly: its corpus tests take { skip } and it has tests of its own on test/fixtures',
  );
});

t.test("with the corpus hidden, the quick tests that read it pass, the corpus's skipping with the reason", async (t) => {
  const files = [
    'core/sdk/tests/roster-parse-record.test.ts',
    'adapters/oneroster-csv/tests/clean-fixtures.test.ts',
    'adapters/oneroster-csv/tests/error-fixtures.test.ts',
    'adapters/oneroster-csv/tests/zip-package.test.ts',
  ];
  const run = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tap/dist/esm/run.mjs'), '--reporter=tap', ...files], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', RB_SHARED_FIXTURES: 'none' },
    timeout: 150_000,
  });
  const out = `${run.stdout}${run.stderr}`;
  t.equal(run.status, 0, run.status === 0 ? 'the run passes' : out.slice(-3000));
  const lines = out.split('\n');
  t.same(
    lines.filter((line) => /\bnot ok\b/.test(line)),
    [],
    'no failure',
  );
  const skips = lines.filter((line) => /# SKIP/.test(line) && !/^\s*ok \d+ - \S+\.test\.ts/.test(line));
  const reason = 'RB_SHARED_FIXTURES=none is not a folder, so the shared fixtures count as absent';
  t.equal(skips.length, 14, skips.length === 14 ? "the corpus's 14 tests skip" : `skipped:\n${skips.join('\n')}`);
  t.same(
    skips.filter((line) => !line.endsWith(`# SKIP ${reason}`)),
    [],
    'each saying why',
  );
  t.match(out, /ok \d+ - with-errors: each deliberate error is reported where it is/, 'and our own fixture packages are tested');
  t.match(out, /ok \d+ - ClassLink REST users parse: string booleans/);
});
