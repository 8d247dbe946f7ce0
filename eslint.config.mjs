// npm run lint: typescript-eslint's recommended rules over sources and tests, and three type-aware
// rules for the bugs async code hides: a promise nobody awaits or catches (no-floating-promises),
// a promise handed where a callback's result is ignored (no-misused-promises), an await of what is
// not a promise (await-thenable). Types come from tsconfig.typecheck.json (sources and tests in one
// program). Layout is Prettier's (npm run format), not the linter's.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { changeCastRule } from './scripts/eslint-change-casts.mjs';

export default defineConfig(
  { ignores: ['**/node_modules/', '**/dist/', 'test/fixtures/', 'test/bench-results/', '.data/', '.tap/', 'coverage/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { project: './tsconfig.typecheck.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tap queues a subtest that is not awaited (`t.test(…)` at a file's top level): that promise is safe.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Off: plugins' schemas are untyped by design (`Kysely<any>`, as the scaffold generates), and
      // tests build deliberately malformed input; 157 findings, none a bug.
      '@typescript-eslint/no-explicit-any': 'off',
      // `_`-named bindings are deliberate: a key left out of a rest copy, a callback's unused argument.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A `let` read in a closure before its one assignment (two services that need each other) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Off: the CSV reader, the HTTP checks and their tests look for control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  // Targets narrow roster changes by entity instead of casting them (scripts/eslint-change-casts.mjs);
  // every target source is under the rule, its sessions included.
  {
    files: ['plugins/target-*/src/**/*.ts'],
    rules: { 'no-restricted-syntax': changeCastRule },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);
