import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';

// Queries of the core schema go through typed kysely databases (EngineDatabase, CoreDatabase), so a
// misspelt table or column, or a value of the wrong type, fails the build instead of the database.
// This keeps it so: no source under these roots says `Kysely<any>` or `Transaction<any>`. Migrations
// are left out (kysely advises them to stay untyped: each builds the schema as it stood at its
// time, not as the current types say), and so are tests and build output. Add a root (a plugin,
// `plugins/target-kybergate`) once its sources are typed.

const REPO = path.resolve(__dirname, '../../..');

/** The folders scanned, from the repository's root. */
const TYPED_KYSELY_ROOTS = ['core/sdk', 'core/engine', 'host', 'plugins', 'adapters'] as const;

/** `Kysely<any>`, `Transaction<any>`, with or without spaces, alone or as the first of several type arguments. */
const UNTYPED = /(?<![\w$])(Kysely|Transaction)\s*<\s*any\s*[,>]/g;

const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'tests', 'test']);

function isScanned(file: string): boolean {
  return file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('-migrations.ts') && !file.endsWith('.test.ts');
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) || entry.name.startsWith('.') ? [] : sources(full);
    return entry.isFile() && isScanned(entry.name) ? [full] : [];
  });
}

/** Each untyped use in `text`, as `<file>:<line>: <the line>`. */
function untypedUses(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (line.match(UNTYPED) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

t.test('the pattern finds what it is meant to, and nothing else', async (t) => {
  t.same(untypedUses('a.ts', 'const db: Kysely<any> = x;'), ['a.ts:1: const db: Kysely<any> = x;']);
  t.same(untypedUses('a.ts', 'function f(trx: Transaction< any >) {}'), ['a.ts:1: function f(trx: Transaction< any >) {}']);
  t.same(untypedUses('a.ts', 'let q: Kysely<any, unknown>;'), ['a.ts:1: let q: Kysely<any, unknown>;']);
  t.same(untypedUses('a.ts', 'ok\nnew Kysely<any>({ dialect })'), ['a.ts:2: new Kysely<any>({ dialect })']);
  t.same(untypedUses('a.ts', 'const db: Kysely<EngineDatabase> = x; type T = Kysely<anything>; MyKysely<any>;'), []);
  t.ok(isScanned('ledger.ts'));
  t.notOk(isScanned('sync-migrations.ts'), 'migrations stay untyped');
  t.notOk(isScanned('ledger.test.ts'));
  t.notOk(isScanned('index.d.ts'));
});

t.test(`no Kysely<any> or Transaction<any> in ${TYPED_KYSELY_ROOTS.join(', ')}`, async (t) => {
  const files = TYPED_KYSELY_ROOTS.flatMap((root) => sources(path.join(REPO, root)));
  const relative = files.map((f) => path.relative(REPO, f).split(path.sep).join('/'));
  // The scan reads what it should: the engine's own tables' users, not their migrations.
  t.ok(relative.includes('core/engine/src/ledger.ts'), 'scans the engine');
  t.ok(relative.includes('host/src/sync/tenant-operations.ts'), 'scans the host');
  t.notOk(relative.includes('core/engine/src/sync-migrations.ts'), 'leaves migrations out');
  t.notOk(
    relative.some((f) => /\/(dist|tests|node_modules)\//.test(f)),
    'leaves build output and tests out',
  );
  const found = files.flatMap((file, i) => untypedUses(relative[i]!, readFileSync(file, 'utf8')));
  t.same(found, [], `type these with the database they query (EngineDatabase, CoreDatabase, a plugin's own):\n${found.join('\n')}`);
});
