import { RosterbridgeError } from '@rosterbridge/core';
import { pipeline, type Readable, Transform } from 'node:stream';
import type { CsvRowLimits } from './csv-tokenizer';

/** The most a package's files may add up to by default, inflated: 8 GiB. */
export const MAX_CSV_PACKAGE_BYTES = 8 * 1024 ** 3;
/** The most one file of a package may hold by default, inflated: 2 GiB. */
export const MAX_CSV_FILE_BYTES = 2 * 1024 ** 3;

/**
 * Caps on what a package may hold, in bytes, so that a small zip cannot make a reader inflate
 * without end, and a row or field cannot fill memory. A package over a cap is refused with
 * `CSV_PACKAGE_TOO_LARGE`; a row or field over its cap is rejected with an issue.
 */
export interface CsvPackageLimits extends CsvRowLimits {
  /** The most all files of a package may add up to, inflated (a zip) or on disk (a folder); default {@link MAX_CSV_PACKAGE_BYTES}. */
  maxPackageBytes?: number;
  /** The most one file may hold, inflated; default {@link MAX_CSV_FILE_BYTES}. */
  maxFileBytes?: number;
}

/** The sizes a package source declares (a zip's directory, a folder's listing), checked against the caps before anything is inflated. */
export function checkDeclaredSizes(location: string, sizes: ReadonlyMap<string, number>, limits: CsvPackageLimits): void {
  const maxFile = limits.maxFileBytes ?? MAX_CSV_FILE_BYTES;
  const maxPackage = limits.maxPackageBytes ?? MAX_CSV_PACKAGE_BYTES;
  let total = 0;
  for (const [file, bytes] of sizes) {
    if (bytes > maxFile) {
      throw new RosterbridgeError(
        'CSV_PACKAGE_TOO_LARGE',
        `${file} in ${location} holds ${bytes} bytes, over the cap of ${maxFile} bytes a file (maxFileBytes); the package is not read`,
        { location, file, bytes, cap: 'maxFileBytes', limit: maxFile },
      );
    }
    total += bytes;
  }
  if (total > maxPackage) {
    throw new RosterbridgeError(
      'CSV_PACKAGE_TOO_LARGE',
      `${location} holds ${total} bytes in its ${sizes.size} files, over the cap of ${maxPackage} bytes a package (maxPackageBytes); the package is not read`,
      { location, bytes: total, cap: 'maxPackageBytes', limit: maxPackage },
    );
  }
}

/**
 * `input` with its bytes counted: past the file cap the stream fails with `CSV_PACKAGE_TOO_LARGE`
 * and `input` is destroyed, so nothing more is inflated. A zip's declared sizes can lie; the bytes
 * that come out cannot.
 */
export function countFileBytes(input: Readable, location: string, file: string, limits: CsvPackageLimits): Readable {
  const maxFile = limits.maxFileBytes ?? MAX_CSV_FILE_BYTES;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes <= maxFile) {
        done(null, chunk);
        return;
      }
      done(
        new RosterbridgeError(
          'CSV_PACKAGE_TOO_LARGE',
          `${file} in ${location} inflates past the cap of ${maxFile} bytes a file (maxFileBytes), more than it declares; reading stopped`,
          { location, file, cap: 'maxFileBytes', limit: maxFile },
        ),
      );
    },
  });
  // An error on either side destroys both; it surfaces on `counter`, which the reader holds.
  pipeline(input, counter, () => undefined);
  return counter;
}
