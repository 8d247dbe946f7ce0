#!/usr/bin/env node
import { join } from 'node:path';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { changeDistrict, type ChangedDistrict } from './changed-district';
import { DISTRICT_FAULT_KINDS, parseDistrictFaults, type DistrictFaultOptions } from './district-fault';
import type { DistrictSizeName } from './district-size';
import { generateDistrict } from './generate-district';
import type { GeneratedDistrict } from './generated-district';
import { csvFileName as oneRosterCsvFileName } from '@rosterbridge/oneroster-csv';
import { writeOneRosterPackage, type OneRosterPackageSummary } from './write-oneroster-package';

const USAGE = `Generates a OneRoster 1.1 CSV district.

Usage:
  npx rosterbridge-generate --seed <n> --size <tiny|small|medium|large> --out <dir> [options]

Options:
  --seed <n|text>          seed of the district (or, with --delta-from-seed, of the changes)
  --size <name>            tiny, small, medium or large (default tiny)
  --scale <factor>         multiply every count of the size (default 1)
  --out <dir>              output folder
  --faults <list>          all, or e.g. duplicate-emails,missing-emails=5,students-with-two-grades,classes-outside-course-grades
  --no-demographics        leave demographics.csv out
  --school-year <yyyy>     the year the school year ends (default 2027)
  --zip                    also write <folder>.zip next to each folder (needs the zip command)
  --delta-from-seed <n>    write a delta: the earlier district has this seed; the changes use --seed
  --fraction <f>           share of records the delta updates or deletes (default 0.01)
  --no-changed-bulk        with a delta, skip the full bulk package of the changed district

Without --delta-from-seed the bulk package goes into <dir>. With it, <dir>/bulk holds the earlier
district, <dir>/delta the delta package and <dir>/changed-bulk the full later district.
`;

interface CliArguments {
  seed?: string;
  size: string;
  scale: number;
  out?: string;
  faults?: DistrictFaultOptions;
  demographics: boolean;
  schoolYear?: number;
  zip: boolean;
  deltaFromSeed?: string;
  fraction: number;
  changedBulk: boolean;
}

function parseArguments(argv: string[]): CliArguments | 'help' {
  const args: CliArguments = { size: 'tiny', scale: 1, demographics: true, zip: false, fraction: 0.01, changedBulk: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    const number = (text: string): number => {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new UsageError(`${flag} needs a number, got "${text}"`);
      return n;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--seed':
        args.seed = value();
        break;
      case '--size':
        args.size = value();
        break;
      case '--scale':
        args.scale = number(value());
        break;
      case '--out':
        args.out = value();
        break;
      case '--faults':
        args.faults = parseDistrictFaults(value());
        break;
      case '--no-demographics':
        args.demographics = false;
        break;
      case '--school-year':
        args.schoolYear = number(value());
        break;
      case '--zip':
        args.zip = true;
        break;
      case '--delta-from-seed':
        args.deltaFromSeed = value();
        break;
      case '--fraction':
        args.fraction = number(value());
        break;
      case '--no-changed-bulk':
        args.changedBulk = false;
        break;
      default:
        throw new UsageError(`unknown option "${flag}"`);
    }
  }
  if (args.seed === undefined) throw new UsageError('--seed is required');
  if (args.out === undefined) throw new UsageError('--out is required');
  return args;
}

class UsageError extends Error {}

const seedOf = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);

function printSummary(label: string, summary: OneRosterPackageSummary): void {
  console.log(`${label}: ${summary.directory}${summary.zipFile ? ` (+ ${summary.zipFile})` : ''}`);
  for (const entity of ROSTER_ENTITY_ORDER) {
    const rows = summary.rows[entity];
    console.log(`  ${oneRosterCsvFileName(entity).padEnd(22)} ${rows > 0 ? String(rows).padStart(9) : '   absent'}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let args: CliArguments | 'help';
  try {
    args = parseArguments(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError) {
      console.error(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  const started = Date.now();
  let district: GeneratedDistrict;
  let changed: ChangedDistrict | undefined;
  try {
    district = generateDistrict({
      seed: seedOf(args.deltaFromSeed ?? args.seed!),
      size: args.size as DistrictSizeName,
      scale: args.scale,
      faults: args.faults,
      demographics: args.demographics,
      schoolYear: args.schoolYear,
    });
    if (args.deltaFromSeed !== undefined) changed = changeDistrict(district, { seed: seedOf(args.seed!), fraction: args.fraction });
  } catch (error) {
    if (error instanceof RangeError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const packageOptions = { zip: args.zip };
  if (changed === undefined) {
    printSummary('bulk', await writeOneRosterPackage(district, args.out!, packageOptions));
  } else {
    printSummary('bulk (earlier district)', await writeOneRosterPackage(district, join(args.out!, 'bulk'), packageOptions));
    printSummary('delta', await writeOneRosterPackage(changed.delta, join(args.out!, 'delta'), { ...packageOptions, mode: 'delta' }));
    if (args.changedBulk) {
      printSummary('bulk (changed district)', await writeOneRosterPackage(changed, join(args.out!, 'changed-bulk'), packageOptions));
    }
    const report = changed.report;
    console.log(
      `changes: ${report.selected} of ${report.baseRecords} records selected (fraction ${report.fraction}), ` +
        `${report.cascaded.updated} updated and ${report.cascaded.deleted} deleted with them`,
    );
    for (const entity of ROSTER_ENTITY_ORDER) {
      const c = report.entities[entity];
      console.log(
        `  ${entity.padEnd(18)} updated ${String(c.updated.length).padStart(7)}  deleted ${String(c.deleted.length).padStart(7)}  created ${String(c.created.length).padStart(5)}`,
      );
    }
  }
  const faults = DISTRICT_FAULT_KINDS.filter((k) => district.faults[k].length > 0);
  if (faults.length > 0) console.log(`faults: ${faults.map((k) => `${k} ${district.faults[k].length}`).join(', ')}`);
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? `error: ${error.message}` : error);
    process.exitCode = 1;
  },
);
