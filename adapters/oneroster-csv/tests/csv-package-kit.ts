// Shared by this package's tests: where the fixtures are, temporary packages, reading a whole entity.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedFixturesDir } from '@rosterbridge/test-kit';
import type { CsvPackage, CsvReadOptions } from '@rosterbridge/oneroster-csv';
import type { RosterEntity, RosterIssue, RosterRecord } from '@rosterbridge/core';

/** The shared OneRoster CSV fixtures, read in place. */
export const FIXTURES = path.join(sharedFixturesDir(), 'oneroster-csv');

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
 * inside quoted fields, which is true of every shared fixture.
 */
export function dataRowsOf(file: string): { count: number; sourcedIds: string[] } {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((line) => line.trim() !== '');
  const rows = lines.slice(1);
  return { count: rows.length, sourcedIds: rows.map((row) => row.split(',')[0]!.replace(/^"|"$/g, '')) };
}

/** Compact view of issues for assertions: `file:line:code`. */
export function where(issues: RosterIssue[]): string[] {
  return issues.map((issue) => `${issue.file}:${issue.line}:${issue.code}`);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Builds a zip (deflated entries, UTF-8 names) from name → content, independently of the `zip`
 * command, so zip reading is tested on any machine.
 */
export function buildZip(files: Record<string, string | Buffer>): Buffer {
  const { deflateRawSync } = require('node:zlib') as typeof import('node:zlib');
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
