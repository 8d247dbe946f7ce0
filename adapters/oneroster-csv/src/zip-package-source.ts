import type { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import type { CsvPackageSource } from './csv-package-source';
import { checkDeclaredSizes, countFileBytes, type CsvPackageLimits } from './package-limits';

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (error, zip) => {
      if (error) reject(error);
      else resolve(zip);
    });
  });
}

function listEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** The folder the package lives in: the root, or the one folder holding manifest.csv when the root has none. */
function packageFolder(names: Iterable<string>): string {
  const manifests = [...names].filter((name) => name.endsWith('manifest.csv') && !name.startsWith('__MACOSX/'));
  if (manifests.includes('manifest.csv')) return '';
  const nested = manifests.filter((name) => /^[^/]+\/manifest\.csv$/.test(name));
  return nested.length === 1 ? nested[0]!.slice(0, -'manifest.csv'.length) : '';
}

/**
 * Opens a zip holding a OneRoster CSV package as a {@link CsvPackageSource}. Only the zip's
 * directory is read up front; each file is inflated as a stream when opened. A zip made by
 * compressing a folder (files under `folder/`) is read from that folder.
 *
 * The sizes the directory declares are checked against the caps before anything is inflated, and
 * each file's bytes are counted as they are inflated: yauzl fails an entry that inflates to more
 * than it declares, and the count fails one past the file cap whatever it declares.
 */
export async function openZipPackageSource(file: string, limits: CsvPackageLimits = {}): Promise<CsvPackageSource> {
  const zip = await openZip(file);
  try {
    const entries = await listEntries(zip);
    checkDeclaredSizes(file, new Map([...entries].map(([name, entry]) => [name, entry.uncompressedSize])), limits);
    const folder = packageFolder(entries.keys());
    const atRoot = new Map<string, yauzl.Entry>();
    for (const [name, entry] of entries) {
      const relative = name.slice(folder.length);
      if (name.startsWith(folder) && !relative.includes('/')) atRoot.set(relative, entry);
    }
    return {
      location: file,
      fileNames: [...atRoot.keys()],
      ...(folder === '' ? {} : { nestedFolder: folder.slice(0, -1) }),
      openFile: (name: string): Promise<Readable> =>
        new Promise((resolve, reject) => {
          const entry = atRoot.get(name);
          if (!entry) {
            reject(new Error(`${name} is not in ${file}`));
            return;
          }
          zip.openReadStream(entry, (error, stream) => {
            if (error) reject(error);
            else resolve(countFileBytes(stream, file, name, limits));
          });
        }),
      close: async (): Promise<void> => zip.close(),
    };
  } catch (error) {
    zip.close();
    throw error;
  }
}
