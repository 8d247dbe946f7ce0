import type { Readable } from 'node:stream';

/**
 * Where the files of a OneRoster CSV package come from: a folder or a zip. Files are opened as
 * streams one at a time, on demand; nothing is extracted or read ahead.
 */
export interface CsvPackageSource {
  /** The folder or zip path, for messages. */
  readonly location: string;
  /** The names of the files at the package root, e.g. `users.csv`. */
  readonly fileNames: readonly string[];
  /** Set when a zip keeps its files in one folder rather than at its root: that folder's name. */
  readonly nestedFolder?: string;
  /** Opens a file at the package root as a byte stream. */
  openFile(name: string): Promise<Readable>;
  /** Releases the folder or zip. */
  close(): Promise<void>;
}
