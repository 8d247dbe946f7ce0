import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { CsvPackageSource } from './csv-package-source';

/** Opens a folder holding a OneRoster CSV package (the files at its top level) as a {@link CsvPackageSource}. */
export async function openFolderPackageSource(folder: string): Promise<CsvPackageSource> {
  const entries = await readdir(folder, { withFileTypes: true });
  const fileNames = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
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
      return stream;
    },
    close: async (): Promise<void> => {},
  };
}
