import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { CsvPackageSource } from './csv-package-source';
import { checkDeclaredSizes, countFileBytes, type CsvPackageLimits } from './package-limits';

/**
 * Opens a folder holding a OneRoster CSV package (the files at its top level) as a
 * {@link CsvPackageSource}. Files over the caps are refused here, by their size on disk; a file
 * that grows past its cap afterwards fails when read.
 */
export async function openFolderPackageSource(folder: string, limits: CsvPackageLimits = {}): Promise<CsvPackageSource> {
  const entries = await readdir(folder, { withFileTypes: true });
  const fileNames = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  const sizes = new Map<string, number>();
  for (const name of fileNames) sizes.set(name, (await stat(path.join(folder, name))).size);
  checkDeclaredSizes(folder, sizes, limits);
  return {
    location: folder,
    fileNames,
    openFile: async (name: string): Promise<Readable> => {
      const stream = createReadStream(path.join(folder, name));
      // Surface a missing or unreadable file here, not halfway through parsing.
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
      return countFileBytes(stream, folder, name, limits);
    },
    close: async (): Promise<void> => {},
  };
}
