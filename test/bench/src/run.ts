#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { benchMachine } from './machine';
import * as path from 'node:path';
import { type DistrictSizeName, changeDistrict, fractionForDeltaShare, generateDistrict, writeOneRosterPackage } from '@rosterbridge/district-generator';
import { runRestPullBenchmark } from './rest-pull';
import type { ProductsMeasurement } from './products-worker';
import type { SyncMeasurement } from './sync-worker';

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
  const results = Array.from(
    { length: runs },
    () =>
      JSON.parse(execFileSync(process.execPath, [worker, dir, String(checkReferences)], { encoding: 'utf8' })) as Omit<
        CsvReadFigure,
        'size' | 'checkReferences' | 'rowsPerSecond'
      >,
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
    machine: benchMachine({ loadAverage: false }),
    runsPerFigure: runs,
    figures,
  };
  writeFileSync(path.join(RESULTS, 'csv-read.json'), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Which 1% delta the sync benchmark applies (`BENCH_DELTA`): `records` (the default), a delta whose
 * records are 1% of the district's, cascades and created students included; or `selected`, the
 * generator's fraction 0.01 (1% of each entity's records picked, and what their deletions take
 * with them: about 1.7% of the records).
 */
type DeltaKind = 'records' | 'selected';

/** Generates (once) the bulk package of a size and its 1% delta package (see {@link DeltaKind}). */
async function ensureDeltaPackage(size: DistrictSizeName, kind: DeltaKind): Promise<{ bulk: string; delta: string }> {
  const bulk = await ensurePackage(size);
  const delta = path.join(WORK, kind === 'selected' ? `csv-${size}-seed-7-delta-1pc` : `csv-${size}-seed-7-delta-1pc-of-records`);
  if (!existsSync(path.join(delta, 'manifest.csv'))) {
    const district = generateDistrict({ seed: 7, size });
    const fraction = kind === 'selected' ? 0.01 : fractionForDeltaShare(district, { seed: 8, share: 0.01 });
    process.stderr.write(`generating a 1% delta (${kind}: fraction ${fraction.toFixed(5)}) of the ${size} district into ${delta} …\n`);
    const changed = changeDistrict(district, { seed: 8, fraction });
    await writeOneRosterPackage(changed.delta, delta, { mode: 'delta' });
  }
  return { bulk, delta };
}

/**
 * The sync engine on generated districts of two sizes, ten times apart, from the CSV source into a
 * one-table target on PostgreSQL (RB_BENCH_DATABASE_URL, default the local server), each size in a
 * fresh process and database: the floors (read alone; COPY of the same rows) and a first sync, a
 * no-change resync and a 1% delta ({@link DeltaKind}). Records test/bench-results/sync.json.
 */
async function runSyncBenchmark(runs: number): Promise<void> {
  const deltaKind = (process.env.BENCH_DELTA ?? 'records') as DeltaKind;
  if (deltaKind !== 'records' && deltaKind !== 'selected') throw new Error(`BENCH_DELTA is records or selected, not ${deltaKind}`);
  const adminUrl = process.env.RB_BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const worker = path.join(__dirname, 'sync-worker.js');
  // BENCH_TARGET_ISOLATION=worker runs the target in a worker thread (host config plugins.workers);
  // BENCH_SIZES=medium measures only the sizes named. Either records its figures beside sync.json.
  const isolation = process.env.BENCH_TARGET_ISOLATION ?? 'in-process';
  if (isolation !== 'in-process' && isolation !== 'worker') throw new Error(`BENCH_TARGET_ISOLATION is in-process or worker, not ${isolation}`);
  const sizes = (process.env.BENCH_SIZES ?? 'medium,large').split(',').map((s) => s.trim()) as DistrictSizeName[];
  const unknownSize = sizes.find((s) => s !== 'medium' && s !== 'large');
  if (unknownSize) throw new Error(`BENCH_SIZES lists medium and large, not ${unknownSize}`);
  const figures: (SyncMeasurement & { size: DistrictSizeName; ratios: Record<string, number>; goalsMet: Record<string, boolean> })[] = [];
  for (const size of sizes) {
    const { bulk, delta } = await ensureDeltaPackage(size, deltaKind);
    const results = Array.from(
      { length: runs },
      () => JSON.parse(execFileSync(process.execPath, [worker, bulk, delta, adminUrl], { encoding: 'utf8', maxBuffer: 1 << 24 })) as SyncMeasurement,
    );
    // Best run by first-sync time; peak RSS is the highest of all runs.
    const best = results.reduce((a, b) => (b.firstSyncSeconds < a.firstSyncSeconds ? b : a));
    const round = (x: number) => Number(x.toFixed(2));
    const ratios = {
      firstSyncOverReadPlusCopy: round(best.firstSyncSeconds / (best.readSeconds + best.copySeconds)),
      noChangeOverRead: round(best.noChangeSeconds / best.readSeconds),
      deltaOverFirstSync: Number((best.deltaSeconds / best.firstSyncSeconds).toFixed(3)),
    };
    const figure = {
      size,
      ...best,
      readSeconds: round(best.readSeconds),
      copySeconds: round(best.copySeconds),
      firstSyncSeconds: round(best.firstSyncSeconds),
      noChangeSeconds: round(best.noChangeSeconds),
      deltaSeconds: round(best.deltaSeconds),
      peakRssMB: Math.max(...results.map((r) => r.peakRssMB)),
      ratios,
      // Every run's figures, to show how much they move from run to run.
      runs: results.map((r) => ({
        readSeconds: round(r.readSeconds),
        copySeconds: round(r.copySeconds),
        firstSyncSeconds: round(r.firstSyncSeconds),
        firstSyncOverReadPlusCopy: round(r.firstSyncSeconds / (r.readSeconds + r.copySeconds)),
        noChangeOverRead: round(r.noChangeSeconds / r.readSeconds),
        deltaSeconds: round(r.deltaSeconds),
        deltaOverFirstSync: Number((r.deltaSeconds / r.firstSyncSeconds).toFixed(3)),
        peakRssMB: r.peakRssMB,
      })),
      goalsMet: {
        firstSyncWithin3xReadPlusCopy: ratios.firstSyncOverReadPlusCopy <= 3,
        noChangeWithin1_5xRead: ratios.noChangeOverRead <= 1.5,
        noChangeWroteNothing: best.noChangeTargetWrites === 0,
        deltaWithin5PercentOfFirst: ratios.deltaOverFirstSync <= 0.05,
        targetRowsRight: best.targetRows.afterFirst === best.records && best.targetRows.afterDelta === best.targetRows.expectedAfterDelta,
      },
    };
    figures.push(figure);
    process.stdout.write(
      `sync ${size.padEnd(6)} ${best.records} records: read ${figure.readSeconds} s, COPY ${figure.copySeconds} s | first ${figure.firstSyncSeconds} s (×${ratios.firstSyncOverReadPlusCopy} of read+COPY), ` +
        `no-change ${figure.noChangeSeconds} s (×${ratios.noChangeOverRead} of read, ${best.noChangeTargetWrites} target writes), ` +
        `1% delta (${deltaKind}: ${best.deltaRecords} records, ${((100 * best.deltaRecords) / best.records).toFixed(2)}%) ${figure.deltaSeconds} s (${(ratios.deltaOverFirstSync * 100).toFixed(1)}% of first) | peak RSS ${figure.peakRssMB} MB\n` +
        (runs > 1
          ? `  all runs: ${figure.runs.map((r) => `first ×${r.firstSyncOverReadPlusCopy}, delta ${(r.deltaOverFirstSync * 100).toFixed(1)}%`).join('; ')}\n`
          : ''),
    );
  }
  mkdirSync(RESULTS, { recursive: true });
  const variables = [
    ...(deltaKind === 'records' ? [] : ['BENCH_DELTA=selected']),
    ...(isolation === 'worker' ? ['BENCH_TARGET_ISOLATION=worker'] : []),
    ...(process.env.BENCH_TARGET_LOAD === 'off' ? ['BENCH_TARGET_LOAD=off'] : []),
    ...(process.env.BENCH_SIZES ? [`BENCH_SIZES=${sizes.join(',')}`] : []),
  ];
  const record = {
    benchmark: 'sync',
    command: [...variables, 'npm run bench -- sync'].join(' '),
    targetIsolation: isolation,
    targetLoad: process.env.BENCH_TARGET_LOAD === 'off' ? 'off: every batch applied' : 'on: back-fills loaded by COPY (in-process only)',
    date: new Date().toISOString(),
    machine: benchMachine(),
    runsPerFigure: runs,
    delta:
      deltaKind === 'records'
        ? "a delta whose records are 1% of the district's (cascades and created students included)"
        : "the generator's fraction 0.01: 1% of each entity's records picked, with what their deletions take along",
    figures,
    peakRssFlat: { mediumMB: figures[0]?.peakRssMB, largeMB: figures[1]?.peakRssMB },
  };
  // The default delta's figures in sync.json; the heavier one's beside them.
  const file = [
    'sync',
    ...(deltaKind === 'records' ? [] : ['delta-selected']),
    ...(isolation === 'worker' ? ['target-worker'] : []),
    ...(process.env.BENCH_TARGET_LOAD === 'off' ? ['no-load'] : []),
    ...(process.env.BENCH_SIZES ? sizes : []),
  ].join('-');
  writeFileSync(path.join(RESULTS, `${file}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * A first sync of generated districts (medium and large) into the four products at once, on
 * PostgreSQL, beside the floor measured in the same run: COPY of the rows the products then hold
 * into empty tables like theirs. Records test/bench-results/products.json.
 */
async function runProductsBenchmark(runs: number): Promise<void> {
  const adminUrl = process.env.RB_BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const worker = path.join(__dirname, 'products-worker.js');
  const sizes = (process.env.BENCH_SIZES ?? 'medium,large').split(',') as DistrictSizeName[];
  const figures: (ProductsMeasurement & { size: DistrictSizeName; overFloor: number })[] = [];
  for (const size of sizes) {
    const bulk = await ensurePackage(size);
    const results = Array.from(
      { length: runs },
      () => JSON.parse(execFileSync(process.execPath, [worker, bulk, '7', size, adminUrl], { encoding: 'utf8', maxBuffer: 1 << 24 })) as ProductsMeasurement,
    );
    const best = results.reduce((a, b) => (b.firstSyncSeconds < a.firstSyncSeconds ? b : a));
    const figure = {
      size,
      ...best,
      firstSyncSeconds: Number(best.firstSyncSeconds.toFixed(2)),
      copySeconds: Number(best.copySeconds.toFixed(2)),
      peakRssMB: Math.max(...results.map((r) => r.peakRssMB)),
      overFloor: Number((best.firstSyncSeconds / best.copySeconds).toFixed(1)),
    };
    figures.push(figure);
    process.stdout.write(
      `products ${size.padEnd(6)} ${best.records} records → ${Object.values(best.rows).reduce((a, b) => a + b, 0)} product rows: first sync ${figure.firstSyncSeconds} s, ` +
        `COPY floor ${figure.copySeconds} s (×${figure.overFloor}), peak RSS ${figure.peakRssMB} MB, run ${best.status}\n`,
    );
  }
  mkdirSync(RESULTS, { recursive: true });
  const record = {
    benchmark: 'products',
    command: 'npm run bench -- products',
    date: new Date().toISOString(),
    machine: benchMachine(),
    runsPerFigure: runs,
    figures,
  };
  writeFileSync(path.join(RESULTS, 'products.json'), `${JSON.stringify(record, null, 2)}\n`);
}

const BENCHMARKS: Record<string, (runs: number) => Promise<void>> = {
  'csv-read': runCsvReadBenchmark,
  'rest-pull': (runs) => runRestPullBenchmark(RESULTS, runs),
  sync: runSyncBenchmark,
  products: runProductsBenchmark,
};

/**
 * `npm run bench` runs every benchmark in order; `npm run bench -- rest-pull` (or
 * `BENCH=rest-pull npm run bench`) only the ones named, comma-separated. `BENCH_RUNS` sets the
 * timed runs per figure (default 3).
 */
async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const asked = (process.argv[2] ?? process.env.BENCH ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = asked.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; there are ${Object.keys(BENCHMARKS).join(', ')}`);
  for (const name of asked.length > 0 ? asked : Object.keys(BENCHMARKS)) await BENCHMARKS[name]!(runs);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
