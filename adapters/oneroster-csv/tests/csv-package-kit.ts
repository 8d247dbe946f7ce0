// Shared by this package's tests: where the fixtures are, temporary packages, reading a whole entity.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES_DIR, sharedFixtures } from '@rosterbridge/test-kit';
import type { CsvPackage, CsvReadOptions } from '@rosterbridge/oneroster-csv';
import type { RosterEntity, RosterIssue, RosterRecord } from '@rosterbridge/core';

/** The project's own OneRoster CSV packages (`test/fixtures/oneroster-csv`), read in place. */
export const FIXTURES = path.join(FIXTURES_DIR, 'oneroster-csv');

/** The public corpus beside the project, an extra: the tests that read it skip where it is absent. */
export const SHARED = sharedFixtures();

/** A package to run a test on: one of ours, or one of the corpus's, whose test skips without it. */
export interface FixturePackage {
  /** What the test's name says. */
  name: string;
  /** For tap's `skip`. */
  skip: string | false;
  /** The folder; call it inside the test (a corpus package has none when the test skips). */
  folder(): string;
}

/** One of the project's own packages. */
export function ownPackage(name: string): FixturePackage {
  return { name, skip: false, folder: () => path.join(FIXTURES, name) };
}

/** One of the corpus's packages (`oneroster-csv/<name>`). */
export function sharedPackage(name: string): FixturePackage {
  return { name: `${name} (shared corpus)`, skip: SHARED.skip, folder: () => SHARED.path('oneroster-csv', name) };
}

/** A temporary directory removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rosterbridge-csv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a package folder with the given files (name → content) and returns its path. */
export function writePackage(t: { teardown(fn: () => void): void }, files: Record<string, string | Buffer>): string {
  const dir = path.join(tempDir(t), 'package');
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** A manifest.csv declaring the given modes; every other roster file absent. */
export function manifestCsv(modes: Partial<Record<RosterEntity, string>>, extra: string[] = []): string {
  const entities: RosterEntity[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics'];
  const lines = ['propertyName,value', 'manifest.version,1.0', 'oneroster.version,1.1'];
  for (const entity of entities) lines.push(`file.${entity},${modes[entity] ?? 'absent'}`);
  return [...lines, ...extra].join('\n') + '\n';
}

/** Everything one read of `entity` gives. */
export interface EntityReadResult<E extends RosterEntity> {
  records: RosterRecord<E>[];
  issues: RosterIssue[];
  batchSizes: number[];
  tally: ReturnType<CsvPackage['read']>['tally'];
}

/** Reads all of `entity` from `pkg`. */
export async function readEntity<E extends RosterEntity>(pkg: CsvPackage, entity: E, options: CsvReadOptions = {}): Promise<EntityReadResult<E>> {
  const reading = pkg.read(entity, options);
  const records: RosterRecord<E>[] = [];
  const issues: RosterIssue[] = [];
  const batchSizes: number[] = [];
  for await (const batch of reading) {
    records.push(...batch.records);
    issues.push(...batch.issues);
    batchSizes.push(batch.records.length);
  }
  return { records, issues, batchSizes, tally: reading.tally };
}

/**
 * Counts a fixture file's data rows without the reader: its non-blank lines after the header, and
 * the first field of each (the sourcedId, quotes removed). Valid only for files without line breaks
 * inside quoted fields, which is true of every fixture package, ours and the corpus's.
 */
export function dataRowsOf(file: string): { count: number; sourcedIds: string[] } {
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  const rows = lines.slice(1);
  return { count: rows.length, sourcedIds: rows.map((row) => row.split(',')[0]!.replace(/^"|"$/g, '')) };
}

/** Compact view of issues for assertions: `file:line:code`. */
export function where(issues: RosterIssue[]): string[] {
  return issues.map((issue) => `${issue.file}:${issue.line}:${issue.code}`);
}

/** Builds a zip from name → content (the test kit's, shared with the end-to-end tests). */
export { buildZip } from '@rosterbridge/test-kit';
