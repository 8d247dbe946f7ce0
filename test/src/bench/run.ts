#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type DistrictSizeName, generateDistrict, writeOneRosterPackage } from '../generator';
import { runRestPullBenchmark } from './rest-pull';

const REPO = path.resolve(__dirname, '../../..');
const WORK = path.join(REPO, '.data/bench');
const RESULTS = path.join(REPO, 'test/bench-results');

interface CsvReadFigure {
  size: DistrictSizeName;
  checkReferences: boolean;
  rows: number;
  records: number;
  issues: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMB: number;
}

/** Generates (once) the package of a size, outside the measurement. */
async function ensurePackage(size: DistrictSizeName): Promise<string> {
  const dir = path.join(WORK, `csv-${size}-seed-7`);
  if (!existsSync(path.join(dir, 'manifest.csv'))) {
    process.stderr.write(`generating the ${size} district into ${dir} …\n`);
    await writeOneRosterPackage(generateDistrict({ seed: 7, size }), dir);
  }
  return dir;
}

/** Reads the package in a fresh process, best of `runs` by time (peak RSS is the max over runs). */
function measure(dir: string, size: DistrictSizeName, checkReferences: boolean, runs: number): CsvReadFigure {
  const worker = path.join(__dirname, 'csv-read-worker.js');
  const results = Array.from({ length: runs }, () =>
    JSON.parse(execFileSync(process.execPath, [worker, dir, String(checkReferences)], { encoding: 'utf8' })) as Omit<CsvReadFigure, 'size' | 'checkReferences' | 'rowsPerSecond'>,
  );
  const best = results.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return {
    size,
    checkReferences,
    ...best,
    seconds: Number(best.seconds.toFixed(2)),
    rowsPerSecond: Math.round(best.rows / best.seconds),
    peakRssMB: Math.round(Math.max(...results.map((r) => r.peakRssMB))),
  };
}

/**
 * Reads generated OneRoster CSV packages of two sizes, one ten times the other, and records rows per
 * second and peak RSS in test/bench-results/csv-read.json.
 */
async function runCsvReadBenchmark(runs: number): Promise<void> {
  const sizes: DistrictSizeName[] = ['medium', 'large'];
  const figures: CsvReadFigure[] = [];
  for (const size of sizes) {
    const dir = await ensurePackage(size);
    for (const checkReferences of [true, false]) {
      const f = measure(dir, size, checkReferences, runs);
      figures.push(f);
      process.stdout.write(
        `csv-read ${size.padEnd(6)} references ${checkReferences ? 'on ' : 'off'}  ${String(f.rows).padStart(9)} rows  ${f.seconds.toFixed(2).padStart(6)} s  ${String(f.rowsPerSecond).padStart(7)} rows/s  peak RSS ${f.peakRssMB} MB\n`,
      );
    }
  }
  mkdirSync(RESULTS, { recursive: true });
  const record = {
    benchmark: 'csv-read',
    command: 'npm run bench',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    runsPerFigure: runs,
    figures,
  };
  writeFileSync(path.join(RESULTS, 'csv-read.json'), `${JSON.stringify(record, null, 2)}\n`);
}

const BENCHMARKS: Record<string, (runs: number) => Promise<void>> = {
  'csv-read': runCsvReadBenchmark,
  'rest-pull': (runs) => runRestPullBenchmark(RESULTS, runs),
};

/**
 * `npm run bench` runs every benchmark in order; `npm run bench -- rest-pull` (or
 * `BENCH=rest-pull npm run bench`) only the ones named, comma-separated. `BENCH_RUNS` sets the
 * timed runs per figure (default 3).
 */
async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const asked = (process.argv[2] ?? process.env.BENCH ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = asked.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; there are ${Object.keys(BENCHMARKS).join(', ')}`);
  for (const name of asked.length > 0 ? asked : Object.keys(BENCHMARKS)) await BENCHMARKS[name]!(runs);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
