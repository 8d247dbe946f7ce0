import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The public corpus kept beside the project (`../shared/fixtures`: OneRoster CSV sets and a
 * ClassLink users page from other projects, whose licences keep them out of the repository). It is
 * an extra: the suite's own fixtures are in `test/fixtures`, and the tests that read the corpus skip,
 * saying why, where it is absent.
 *
 * ```ts
 * const corpus = sharedFixtures();
 * t.test('roster-hub-en reads clean', { skip: corpus.skip }, async (t) => {
 *   const folder = corpus.path('oneroster-csv', 'roster-hub-en');
 * });
 * ```
 */
export interface SharedFixtures {
  /** The corpus folder, or undefined when it is absent. */
  readonly dir: string | undefined;
  /** For tap's `skip` option: false when the corpus is here, else why it is not. */
  readonly skip: string | false;
  /** A path inside the corpus. Throws when it is absent: call it only in a test skipped by `skip`. */
  path(...segments: string[]): string;
}

/** Where to look: the environment, and the folder whose parents may hold `shared/fixtures`. */
export interface SharedFixturesLookup {
  env?: NodeJS.ProcessEnv;
  /** The checkout's root (by default, the one this file is built in). */
  from?: string;
}

/**
 * Finds the corpus. `RB_SHARED_FIXTURES` names its folder; when that is not a folder (e.g.
 * `RB_SHARED_FIXTURES=none`), the corpus is absent, which is how to hide a `../shared` that is there.
 * Unset (or empty), a `shared/fixtures` folder beside the checkout or beside one of its parents is
 * used. Never throws: absent is a value, with the reason.
 */
export function sharedFixtures(lookup: SharedFixturesLookup = {}): SharedFixtures {
  const { dir, reason } = locate(lookup.env ?? process.env, lookup.from ?? path.resolve(__dirname, '../../..'));
  return {
    dir,
    skip: dir === undefined ? reason : false,
    path(...segments: string[]): string {
      if (dir === undefined) throw new Error(`the shared fixtures are absent: ${reason}`);
      return path.join(dir, ...segments);
    },
  };
}

/** The corpus folder, or undefined when it is absent (see {@link sharedFixtures} for the reason). */
export function sharedFixturesDir(lookup: SharedFixturesLookup = {}): string | undefined {
  return sharedFixtures(lookup).dir;
}

function locate(env: NodeJS.ProcessEnv, from: string): { dir: string; reason?: undefined } | { dir?: undefined; reason: string } {
  const fromEnv = env['RB_SHARED_FIXTURES'];
  if (fromEnv) {
    const dir = path.resolve(fromEnv);
    if (isFolder(dir)) return { dir };
    return { reason: `RB_SHARED_FIXTURES=${fromEnv} is not a folder, so the shared fixtures count as absent` };
  }
  for (let dir = path.resolve(from); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const candidate = path.join(path.dirname(dir), 'shared/fixtures');
    if (isFolder(candidate)) return { dir: candidate };
  }
  return { reason: '../shared/fixtures not found; set RB_SHARED_FIXTURES' };
}

function isFolder(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}
