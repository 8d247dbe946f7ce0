import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The public fixtures kept beside the project (`../shared/fixtures`, never copied in). Found from
 * `RB_SHARED_FIXTURES`, else by walking up from the repository for a `shared/fixtures` folder.
 * Throws naming where it looked, so a missing checkout fails loudly rather than testing nothing.
 */
export function sharedFixturesDir(): string {
  const fromEnv = process.env.RB_SHARED_FIXTURES;
  if (fromEnv) return path.resolve(fromEnv);
  const looked: string[] = [];
  let dir = path.resolve(__dirname, '../..');
  for (;;) {
    const candidate = path.join(path.dirname(dir), 'shared/fixtures');
    looked.push(candidate);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
    dir = path.dirname(dir);
  }
  throw new Error(`the shared fixtures are not found (looked in ${looked.join(', ')}); set RB_SHARED_FIXTURES`);
}
