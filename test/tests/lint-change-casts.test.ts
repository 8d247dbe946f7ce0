import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The lint rule against casting roster changes in targets (scripts/eslint-change-casts.mjs): it
// catches a cast of a change and of a record, leaves narrowing alone, and the repository's config
// applies it to target sources except the sessions that still cast.

const ROOT = path.resolve(__dirname, '../..');

async function rule(): Promise<{ changeCastRule: Linter.RuleEntry }> {
  // The very module eslint.config.mjs imports (an ES module; Node 20.19 requires it as one).
  return (await import(path.join(ROOT, 'scripts/eslint-change-casts.mjs'))) as { changeCastRule: Linter.RuleEntry };
}

t.test('the rule catches casts of a change and of its record, and not narrowing', async (t) => {
  const { changeCastRule } = await rule();
  const linter = new Linter({ configType: 'flat' });
  const lint = (code: string) =>
    linter
      .verify(
        code,
        [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser }, rules: { 'no-restricted-syntax': changeCastRule } }],
        'target.ts',
      )
      .map((m) => `${m.line}: ${m.message}`);
  t.match(lint(`const orgs = byEntity.get('orgs') as RosterChangeEvent<'orgs'>[];`), [/^1: Do not cast a roster change/]);
  t.match(lint(`const one = batch[0] as RosterChange<'users'>;`), [/^1: Do not cast a roster change/]);
  t.match(lint(`const all = batch as readonly RosterChangeEvent[];`), [/^1: Do not cast a roster change/]);
  t.match(lint(`const org = e.data.record as Org;`), [/^1: Do not cast a change's record/]);
  t.match(lint(`rows.push(row((change.data.record as User).email));`), [/^1: Do not cast a change's record/]);
  t.same(
    lint(
      [
        `for (const change of batch) {`,
        `  if (change.data.entity === 'users') emails.push(change.data.record.email);`,
        `}`,
        `const settings = raw as Settings;`,
        `const n = (x as unknown as number) + 1;`,
        `const held = rows.map((h) => h.record as Enrollment);`,
      ].join('\n'),
    ),
    [],
    "narrowing, and casts of anything else (a database row's record column), pass",
  );
});

t.test("the repository's config applies it to target sources, except the sessions that still cast", async (t) => {
  const { changeCastRule } = await rule();
  const eslint = new ESLint({ cwd: ROOT });
  const rulesOf = async (file: string) => ((await eslint.calculateConfigForFile(path.join(ROOT, file))) as { rules?: Record<string, unknown> }).rules ?? {};
  const applied = (await rulesOf('plugins/target-kybergate/src/failure-notifier.ts'))['no-restricted-syntax'];
  t.same(applied, [2, ...(changeCastRule as unknown[]).slice(1)], 'a target source has the rule, as an error');
  // Every target session is under the rule: none casts a change or its record.
  const sessions = readdirSync(path.join(ROOT, 'plugins'))
    .filter((plugin) => plugin.startsWith('target-'))
    .flatMap((plugin) =>
      readdirSync(path.join(ROOT, 'plugins', plugin, 'src'))
        .filter((file) => file.endsWith('-session.ts'))
        .map((file) => `plugins/${plugin}/src/${file}`),
    );
  t.ok(sessions.length >= 4, `the four products' sessions are found (${sessions.length})`);
  for (const session of sessions) t.same((await rulesOf(session))['no-restricted-syntax'], applied, `${session} is under the rule`);
  t.equal((await rulesOf('plugins/source-clever/src/index.ts'))['no-restricted-syntax'], undefined, 'sources are not concerned');
});
