import { promises as fs } from 'node:fs';
import type { HostConfig } from './host-config';

/** A folder the host config names that the host would read nothing from. */
export interface MissingFolder {
  key: string;
  env: string;
  dir: string;
  /** What is wrong with it and what follows, e.g. "does not exist: no tenant is loaded". */
  problem: string;
}

/**
 * The folders the host reads that are not there: the tenants dir and each plugin dir. Reading a
 * missing folder finds nothing without an error, so a misspelt path would otherwise pass as "no
 * tenants" or "no plugins". `rosterbridge config check` fails on them; `start` warns.
 */
export async function missingFolders(config: HostConfig): Promise<MissingFolder[]> {
  const folders = [
    { key: 'tenants.dir', env: 'RB_TENANTS_DIR', dir: config.tenants.dir, consequence: 'no tenant is loaded' },
    ...config.plugins.dirs.map((dir) => ({ key: 'plugins.dirs', env: 'RB_PLUGIN_DIRS', dir, consequence: 'no plugin is discovered in it' })),
  ];
  const missing: MissingFolder[] = [];
  for (const { key, env, dir, consequence } of folders) {
    const problem = await folderProblem(dir);
    if (problem) missing.push({ key, env, dir, problem: `${problem}: ${consequence}` });
  }
  return missing;
}

async function folderProblem(dir: string): Promise<string | undefined> {
  try {
    return (await fs.stat(dir)).isDirectory() ? undefined : 'is not a folder';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
  }
}

/** One line for a log or the CLI: "tenants.dir (env RB_TENANTS_DIR): folder /srv/rb/tenants does not exist: …". */
export function describeMissingFolder(m: MissingFolder): string {
  return `${m.key} (env ${m.env}): folder ${m.dir} ${m.problem}`;
}
