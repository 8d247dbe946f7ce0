import { execFile } from 'node:child_process';
import { mkdir, rm, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { ONEROSTER_CSV_HEADERS, csvFileName as oneRosterCsvFileName } from '@rosterbridge/oneroster-csv';
import { oneRosterCsvRow, type OneRosterPackageMode } from './oneroster-csv-row';
import type { RosterRecordSource } from './roster-record-source';
import { writeCsvFile } from './write-csv-file';

/** How to write a OneRoster package. */
export interface OneRosterPackageOptions {
  /** `bulk` (default): full snapshots. `delta`: changed rows only, with status and dateLastModified. */
  mode?: OneRosterPackageMode;
  /** The entities to write (default all); the others are marked `absent`. */
  entities?: readonly RosterEntity[];
  /** Also write `<directory>.zip` with the files at its root (needs the `zip` command). */
  zip?: boolean;
  /** `source.systemName` in the manifest. */
  systemName?: string;
  /** `source.systemCode` in the manifest. */
  systemCode?: string;
}

/** What a package writer wrote. */
export interface OneRosterPackageSummary {
  directory: string;
  zipFile?: string;
  mode: OneRosterPackageMode;
  /** Data rows per entity file (0 for a file marked absent and not written). */
  rows: Record<RosterEntity, number>;
  /** The manifest's properties, in file order. */
  manifest: [string, string][];
}

/** Every file a OneRoster 1.1 manifest names, in the specification's order. */
const MANIFEST_FILES = [
  'academicSessions',
  'categories',
  'classes',
  'classResources',
  'courses',
  'courseResources',
  'demographics',
  'enrollments',
  'lineItems',
  'orgs',
  'resources',
  'results',
  'users',
] as const;

// Fixed file times make the zip byte-identical from run to run.
const FIXED_FILE_TIME = new Date(Date.UTC(2020, 0, 1));

/**
 * Writes a OneRoster 1.1 CSV package into `directory` (created if needed): `manifest.csv` and one
 * file per entity with records, each streamed from `source` to disk with back-pressure. Entities
 * without records are marked `absent` and have no file, as the specification asks. Files a previous
 * package left in the directory under OneRoster names are removed first; nothing else is touched.
 *
 * ```ts
 * await writeOneRosterPackage(district, '/tmp/district', { zip: true });
 * await writeOneRosterPackage(changed.delta, '/tmp/delta', { mode: 'delta' });
 * ```
 */
export async function writeOneRosterPackage(
  source: RosterRecordSource,
  directory: string,
  options: OneRosterPackageOptions = {},
): Promise<OneRosterPackageSummary> {
  const mode = options.mode ?? 'bulk';
  const entities = options.entities ?? ROSTER_ENTITY_ORDER;
  const dir = resolve(directory);
  await mkdir(dir, { recursive: true });
  await Promise.all(['manifest', ...MANIFEST_FILES].map((name) => rm(join(dir, `${name}.csv`), { force: true })));

  const rows = Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, 0])) as Record<RosterEntity, number>;
  for (const entity of ROSTER_ENTITY_ORDER) {
    if (!entities.includes(entity)) continue;
    const path = join(dir, oneRosterCsvFileName(entity));
    rows[entity] = await writeCsvFile(path, ONEROSTER_CSV_HEADERS[entity], csvRows(source, entity, mode));
    if (rows[entity] === 0) await rm(path, { force: true });
  }

  const manifest: [string, string][] = [
    ['manifest.version', '1.0'],
    ['oneroster.version', '1.1'],
    ...MANIFEST_FILES.map((name): [string, string] => [`file.${name}`, name in rows && rows[name as RosterEntity] > 0 ? mode : 'absent']),
    ['source.systemName', options.systemName ?? 'Rosterbridge district generator'],
    ['source.systemCode', options.systemCode ?? 'rosterbridge-test-kit'],
  ];
  await writeCsvFile(join(dir, 'manifest.csv'), ['propertyName', 'value'], manifest);

  const summary: OneRosterPackageSummary = { directory: dir, mode, rows, manifest };
  if (options.zip) summary.zipFile = await zipPackage(dir, ['manifest', ...ROSTER_ENTITY_ORDER.filter((e) => rows[e] > 0)]);
  return summary;
}

function* csvRows<E extends RosterEntity>(source: RosterRecordSource, entity: E, mode: OneRosterPackageMode): Generator<string[]> {
  for (const record of source.records(entity)) yield oneRosterCsvRow(entity, record, mode);
}

async function zipPackage(dir: string, names: string[]): Promise<string> {
  const zipFile = `${dir}.zip`;
  const files = names.map((name) => `${name}.csv`);
  await Promise.all(files.map((file) => utimes(join(dir, file), FIXED_FILE_TIME, FIXED_FILE_TIME)));
  await rm(zipFile, { force: true });
  try {
    await promisify(execFile)('zip', ['-X', '-q', '-D', zipFile, ...files], { cwd: dir });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('writing a zip needs the `zip` command on PATH; write the folder only, or install zip', { cause: error });
    }
    throw error;
  }
  return zipFile;
}
