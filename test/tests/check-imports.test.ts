import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';

const SCRIPT = path.resolve(__dirname, '../../scripts/check-imports.js');

function repo(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-imports-'));
  const all: Record<string, string> = {
    'package.json': JSON.stringify({ workspaces: ['core', 'adapters/*', 'plugins/*', 'host', 'test/*'] }),
    'core/package.json': JSON.stringify({ name: '@rosterbridge/core' }),
    'core/src/index.ts': 'export const x = 1;\n',
    'host/package.json': JSON.stringify({ name: '@rosterbridge/host', dependencies: { '@rosterbridge/core': '1.0.0' } }),
    'host/src/index.ts': "import { x } from '@rosterbridge/core';\n",
    'plugins/source-a/package.json': JSON.stringify({ name: '@rosterbridge/source-a' }),
    'plugins/source-a/src/index.ts': "import { x } from '@rosterbridge/core';\n",
    'plugins/target-b/package.json': JSON.stringify({ name: '@rosterbridge/target-b' }),
    'plugins/target-b/src/index.ts': 'export const y = 2;\n',
    // The test kit and a tool: both may import the host and each other.
    'test/kit/package.json': JSON.stringify({
      name: '@rosterbridge/test-kit',
      dependencies: { '@rosterbridge/host': '1.0.0', '@rosterbridge/simulators': '1.0.0' },
    }),
    'test/kit/src/index.ts': "export * from '@rosterbridge/simulators';\nimport { h } from '@rosterbridge/host';\n",
    'test/simulators/package.json': JSON.stringify({ name: '@rosterbridge/simulators', dependencies: { '@rosterbridge/host': '1.0.0' } }),
    'test/simulators/src/index.ts': "import { h } from '@rosterbridge/host';\nconst cli = require.resolve('@rosterbridge/host/package.json');\n",
    ...files,
  };
  for (const [file, text] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

function check(root: string) {
  const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
  rmSync(root, { recursive: true, force: true });
  return r;
}

t.test('the real repository passes', async (t) => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});

t.test('a clean layout passes', async (t) => {
  const r = check(repo({}));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /import check passed: 6 packages/);
});

t.test('a computed name on the allow-list, and one in a comment, pass', async (t) => {
  const r = check(
    repo({
      'core/src/plugin/plugin-registry.ts': 'export function load(entry: string) {\n  return require(entry);\n}\n',
      'host/src/index.ts':
        "// the host never calls require(name) on a tool\n/** nor require.resolve([a, b].join('/')) */\nimport { x } from '@rosterbridge/core';\n",
    }),
  );
  t.equal(r.status, 0, r.stderr);
});

for (const [name, files, expected] of [
  [
    'a plugin importing another plugin',
    { 'plugins/source-a/src/index.ts': "import { y } from '@rosterbridge/target-b';\n" },
    /plugins\/source-a\/src\/index.ts:1 .*never imports another plugin/,
  ],
  [
    'a plugin importing host',
    { 'plugins/target-b/src/deep/x.ts': "\n\nconst h = require('@rosterbridge/host');\n" },
    /plugins\/target-b\/src\/deep\/x.ts:3 .*nothing imports host/,
  ],
  ['core importing a workspace package', { 'core/src/index.ts': "export * from '@rosterbridge/source-a';\n" }, /core imports no workspace package/],
  ['a relative import into another package', { 'host/src/index.ts': "import '../../core/src/index';\n" }, /must stay inside its package/],
  [
    'a package.json dependency on another plugin',
    { 'plugins/source-a/package.json': JSON.stringify({ name: '@rosterbridge/source-a', dependencies: { '@rosterbridge/target-b': '1.0.0' } }) },
    /package.json dependencies.@rosterbridge\/target-b/,
  ],
  [
    'a plugin reaching another through require.resolve',
    { 'plugins/source-a/src/index.ts': "const where = require.resolve('@rosterbridge/target-b/package.json');\n" },
    /plugins\/source-a\/src\/index.ts:1 imports "@rosterbridge\/target-b\/package.json": a plugin never imports another plugin/,
  ],
  [
    'a plugin reaching another through a template literal without an expression',
    { 'plugins/source-a/src/index.ts': 'const b = require(`@rosterbridge/target-b`);\n' },
    /plugins\/source-a\/src\/index.ts:1 imports "@rosterbridge\/target-b": a plugin never imports another plugin/,
  ],
  [
    'the host reaching a tool through require.resolve',
    { 'host/src/index.ts': "\nconst sim = require.resolve('@rosterbridge/simulators/package.json');\n" },
    /host\/src\/index.ts:2 imports "@rosterbridge\/simulators\/package.json": the host imports neither the test kit nor the tools/,
  ],
  [
    'the host importing the test kit',
    { 'host/src/index.ts': "import type { TestHost } from '@rosterbridge/test-kit';\n" },
    /host\/src\/index.ts:1 imports "@rosterbridge\/test-kit": the host imports neither the test kit nor the tools/,
  ],
  [
    'a package.json of the host depending on a tool',
    { 'host/package.json': JSON.stringify({ name: '@rosterbridge/host', devDependencies: { '@rosterbridge/simulators': '1.0.0' } }) },
    /host\/package.json devDependencies.@rosterbridge\/simulators: the host imports neither/,
  ],
  [
    'a name joined at run time (require.resolve of a .join)',
    { 'host/src/index.ts': "const kit = require.resolve(['@rosterbridge', 'test-kit'].join('/'));\n" },
    /host\/src\/index.ts:1 require\.resolve\(\['@rosterbridge', 'test-kit'\]\.join\('\/'\)\): a module name must be a string literal/,
  ],
  [
    'require of a variable',
    { 'plugins/source-a/src/index.ts': "const name = '@rosterbridge/target-b';\nconst b = require(name);\n" },
    /plugins\/source-a\/src\/index.ts:2 require\(name\): a module name must be a string literal/,
  ],
  [
    'import() of a template literal with an expression',
    { 'plugins/target-b/src/index.ts': 'export async function load(id: string) {\n  return import(`@rosterbridge/source-${id}`);\n}\n' },
    /plugins\/target-b\/src\/index.ts:2 import\(`@rosterbridge\/source-\$\{id\}`\): a module name must be a string literal/,
  ],
  [
    'an allow-listed call in a file the list does not name',
    { 'plugins/target-b/src/index.ts': 'export function load(entry: string) {\n  return require(entry);\n}\n' },
    /plugins\/target-b\/src\/index.ts:2 require\(entry\): a module name must be a string literal/,
  ],
] as const) {
  t.test(`${name} fails the check`, async (t) => {
    const r = check(repo(files as Record<string, string>));
    t.equal(r.status, 1);
    t.match(r.stderr, expected);
  });
}

/** The layout of core/: the plugin SDK (@rosterbridge/core) apart from the engine (@rosterbridge/engine). */
const split: Record<string, string> = {
  'package.json': JSON.stringify({ workspaces: ['core/*', 'adapters/*', 'plugins/*', 'host', 'test'] }),
  'core/sdk/package.json': JSON.stringify({ name: '@rosterbridge/core' }),
  'core/sdk/src/index.ts': 'export const x = 1;\n',
  'core/engine/package.json': JSON.stringify({ name: '@rosterbridge/engine', dependencies: { '@rosterbridge/core': '1.0.0' } }),
  'core/engine/src/index.ts': "import { x } from '@rosterbridge/core';\nexport const engine = x;\n",
  'host/package.json': JSON.stringify({ name: '@rosterbridge/host', dependencies: { '@rosterbridge/core': '1.0.0', '@rosterbridge/engine': '1.0.0' } }),
  'host/src/index.ts': "import { x } from '@rosterbridge/core';\nimport { engine } from '@rosterbridge/engine';\n",
  'adapters/csv/package.json': JSON.stringify({ name: '@rosterbridge/csv' }),
  'adapters/csv/src/index.ts': "import { x } from '@rosterbridge/core';\n",
};

t.test('the SDK apart from the engine, the host importing both, passes', async (t) => {
  const r = check(repo(split));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /import check passed: 6 packages/);
});

for (const [name, files, expected] of [
  [
    'a plugin importing the engine',
    { 'plugins/target-b/src/index.ts': "import { engine } from '@rosterbridge/engine';\n" },
    /plugins\/target-b\/src\/index.ts:1 imports "@rosterbridge\/engine": a plugin does not import the engine/,
  ],
  [
    'a plugin depending on the engine in its package.json',
    { 'plugins/source-a/package.json': JSON.stringify({ name: '@rosterbridge/source-a', devDependencies: { '@rosterbridge/engine': '1.0.0' } }) },
    /plugins\/source-a\/package.json devDependencies.@rosterbridge\/engine: a plugin does not import the engine/,
  ],
  [
    'an adapter importing the engine',
    { 'adapters/csv/src/index.ts': "const e = require('@rosterbridge/engine');\n" },
    /adapters\/csv\/src\/index.ts:1 .*an adapter does not import the engine/,
  ],
  [
    'the SDK importing the engine',
    { 'core/sdk/src/index.ts': "export * from '@rosterbridge/engine';\n" },
    /core\/sdk\/src\/index.ts:1 .*core imports no workspace package/,
  ],
  [
    'the engine importing the host',
    { 'core/engine/src/index.ts': "import '@rosterbridge/host';\n" },
    /core\/engine\/src\/index.ts:1 .*the engine imports only the SDK/,
  ],
] as const) {
  t.test(`${name} fails the check`, async (t) => {
    const r = check(repo({ ...split, ...(files as Record<string, string>) }));
    t.equal(r.status, 1);
    t.match(r.stderr, expected);
  });
}
