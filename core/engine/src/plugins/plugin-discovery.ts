import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readManifest, type ManifestResult } from '@rosterbridge/core';

/** A plugin folder found on disk, with its manifest read (or refused) but no code loaded. */
export interface DiscoveredPlugin {
  /** Absolute folder of the plugin. */
  location: string;
  result: ManifestResult;
}

/**
 * Finds plugins in the given directories without loading any plugin code. A directory is either a
 * plugin itself (its package.json has a `rosterbridge` field) or holds plugins one level down.
 * Folders whose package.json is not a plugin are skipped; a package.json that is not JSON is reported.
 */
export async function discoverPlugins(directories: readonly string[]): Promise<DiscoveredPlugin[]> {
  const found: DiscoveredPlugin[] = [];
  for (const directory of directories) {
    const root = path.resolve(directory);
    const own = await readPackage(root);
    if (own && own !== 'absent' && 'plugin' in own) {
      found.push({ location: root, result: own.plugin });
      continue;
    }
    let entries: string[];
    try {
      entries = (await fs.readdir(root, { withFileTypes: true }))
        .filter((e) => e.isDirectory() || e.isSymbolicLink())
        .map((e) => e.name)
        .sort();
    } catch {
      continue;
    }
    for (const entry of entries) {
      const location = path.join(root, entry);
      const pkg = await readPackage(location);
      if (pkg && pkg !== 'absent' && 'plugin' in pkg) found.push({ location, result: pkg.plugin });
    }
  }
  return found;
}

async function readPackage(folder: string): Promise<'absent' | { plugin: ManifestResult } | { notPlugin: true }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(folder, 'package.json'), 'utf8');
  } catch {
    return 'absent';
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { plugin: { ok: false, problems: [{ field: 'package.json', message: `is not valid JSON: ${(err as Error).message}` }] } };
  }
  if (typeof json !== 'object' || json === null || !('rosterbridge' in json)) return { notPlugin: true };
  return { plugin: readManifest(json) };
}
