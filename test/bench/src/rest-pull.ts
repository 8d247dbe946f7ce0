import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { benchMachine } from './machine';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import type { RestPullMeasurement } from './rest-pull-worker';

/** The OneRoster simulator's own bin (declared in @rosterbridge/simulators' package.json). */
const SIMULATOR_CLI = path.join(path.dirname(require.resolve('@rosterbridge/simulators/package.json')), 'dist/oneroster/cli.js');
const WORKER = path.join(__dirname, 'rest-pull-worker.js');
const CONSUMER_KEY = 'rest-pull-bench';
const SEED = 7;
const SIZE = 'large';
const PAGE_SIZE = 10_000;
const CONCURRENCY = 4;
/** With latency, also at 2 in flight and page by page: how the wall time follows the requests allowed in flight. */
const LATENCY_CONCURRENCIES = [CONCURRENCY, 2, 1];
const LATENCY_MS = 100;
const GOAL_RECORDS_PER_SECOND = 100_000;
const GOAL_FLOOR_RATIO = 1.3;

/** One figure of the benchmark: the best of its runs by time, the highest peak RSS among them. */
export interface RestPullFigure {
  name: string;
  latencyMs: number;
  /** Requests in flight, and pages of one collection fetched at once. */
  concurrency: number;
  records: number;
  requests: number;
  discardedRequests: number;
  seconds: number;
  /** CPU time of the client process during that pull: how close to CPU-bound it is. */
  cpuSeconds: number;
  recordsPerSecond: number;
  /** (requests × latency) / concurrency: the wall time if latency were the only cost. */
  floorSeconds?: number;
  floorRatio?: number;
  /**
   * The latency alone as the paging rules allow it to overlap: a collection's first page comes
   * back before the pages after it are asked for, so each entity takes 1 + ⌈(requests − 1) /
   * concurrency⌉ round trips, one entity after the other. Informational: above `floorSeconds`.
   */
  roundTripFloorSeconds?: number;
  peakRssMB: number;
  perEntitySeconds: Record<RosterEntity, number>;
}

interface RunningSimulator {
  baseUrl: string;
  counts: Record<RosterEntity, number>;
  stop(): Promise<void>;
}

/** Starts the simulator's CLI in its own process, serving the large district, and waits for its address. */
async function startSimulator(secret: string, latencyMs: number): Promise<RunningSimulator> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--max-old-space-size=8192',
      SIMULATOR_CLI,
      '--seed',
      String(SEED),
      '--size',
      SIZE,
      '--port',
      '0',
      '--key',
      CONSUMER_KEY,
      '--latency-ms',
      String(latencyMs),
      '--json',
    ],
    { env: { ...process.env, ROSTERBRIDGE_SECRET_SIM: secret }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ baseUrl: string; counts: Record<RosterEntity, number> }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)));
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before it was ready`)));
  });
  return {
    ...ready,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One pull in a fresh worker process. */
async function pull(baseUrl: string, secret: string, concurrency: number): Promise<RestPullMeasurement> {
  const { stdout } = await promisify(execFile)(process.execPath, [WORKER, baseUrl, CONSUMER_KEY, String(PAGE_SIZE), String(concurrency)], {
    env: { ...process.env, ROSTERBRIDGE_SECRET_SIM: secret },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as RestPullMeasurement;
}

/** Runs `runs` timed pulls, after an untimed one when `warmUp` (a new simulator renders each record on its first request). */
async function measure(
  name: string,
  sim: RunningSimulator,
  secret: string,
  latencyMs: number,
  concurrency: number,
  runs: number,
  warmUp: boolean,
): Promise<RestPullFigure> {
  const expected = ROSTER_ENTITY_ORDER.reduce((sum, entity) => sum + sim.counts[entity], 0);
  const check = (m: RestPullMeasurement): RestPullMeasurement => {
    if (!m.complete || m.records !== expected || m.rowsRead !== expected || m.errors > 0) {
      throw new Error(
        `${name}: the pull read ${m.records} records of ${expected} (rows ${m.rowsRead}, errors ${m.errors}, complete ${m.complete}); a figure over a wrong pull means nothing`,
      );
    }
    return m;
  };
  if (warmUp) check(await pull(sim.baseUrl, secret, concurrency));
  const results: RestPullMeasurement[] = [];
  for (let i = 0; i < runs; i++) results.push(check(await pull(sim.baseUrl, secret, concurrency)));
  const best = results.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const floorSeconds = latencyMs > 0 ? (best.requests * latencyMs) / 1000 / concurrency : undefined;
  const roundTrips = ROSTER_ENTITY_ORDER.reduce((sum, e) => sum + 1 + Math.ceil((best.perEntity[e].requests - 1) / concurrency), 0);
  return {
    name,
    latencyMs,
    concurrency,
    records: best.records,
    requests: best.requests,
    discardedRequests: best.discardedRequests,
    seconds: Number(best.seconds.toFixed(2)),
    cpuSeconds: Number(best.cpuSeconds.toFixed(2)),
    recordsPerSecond: Math.round(best.records / best.seconds),
    ...(floorSeconds === undefined
      ? {}
      : {
          floorSeconds: Number(floorSeconds.toFixed(2)),
          floorRatio: Number((best.seconds / floorSeconds).toFixed(2)),
          roundTripFloorSeconds: Number(((roundTrips * latencyMs) / 1000).toFixed(2)),
        }),
    peakRssMB: Math.round(Math.max(...results.map((r) => r.peakRssMB))),
    perEntitySeconds: Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, Number(best.perEntity[e].seconds.toFixed(2))])) as Record<RosterEntity, number>,
  };
}

function print(f: RestPullFigure): void {
  const floor =
    f.floorSeconds === undefined ? '' : `  floor ${f.floorSeconds.toFixed(2)} s (×${f.floorRatio}; round trips alone ${f.roundTripFloorSeconds?.toFixed(2)} s)`;
  process.stdout.write(
    `rest-pull ${f.name.padEnd(24)} ${String(f.records).padStart(9)} records  ${String(f.requests).padStart(4)} requests  ${f.seconds.toFixed(2).padStart(6)} s (client CPU ${f.cpuSeconds.toFixed(2)} s)  ${String(f.recordsPerSecond).padStart(7)} records/s${floor}  peak RSS ${f.peakRssMB} MB\n`,
  );
}

/**
 * A full pull of the large generated district from the OneRoster simulator on loopback, page size
 * 10,000, through the OneRoster REST client as the classlink source configures it. The simulator
 * runs in its own process; each pull runs in a fresh worker process so that its peak RSS is the
 * client's alone.
 *
 * - no latency, 4 pages in flight: records per second (goal ≥ 100,000);
 * - 100 ms added to every response, 4 pages in flight, 2 in flight and page by page: wall time
 *   against the floor (requests × 100 ms) / requests in flight (goal within 1.3×).
 *
 * Records the figures in test/bench-results/rest-pull.json.
 */
export async function runRestPullBenchmark(resultsDir: string, runs: number): Promise<void> {
  const secret = randomBytes(24).toString('base64url');
  const figures: RestPullFigure[] = [];
  let counts: Record<RosterEntity, number> | undefined;
  for (const latencyMs of [0, LATENCY_MS]) {
    process.stderr.write(`starting the simulator: ${SIZE} district, seed ${SEED}, ${latencyMs} ms per response …\n`);
    const sim = await startSimulator(secret, latencyMs);
    counts = sim.counts;
    try {
      // The first pull from a new simulator renders every record (it caches them): untimed.
      const cases =
        latencyMs === 0
          ? [{ name: 'no latency', concurrency: CONCURRENCY, runs, warmUp: true }]
          : LATENCY_CONCURRENCIES.map((concurrency, i) => ({
              name: `${latencyMs} ms, ${concurrency === 1 ? 'page by page' : `${concurrency} in flight`}`,
              concurrency,
              runs,
              warmUp: i === 0,
            }));
      for (const c of cases) {
        const figure = await measure(c.name, sim, secret, latencyMs, c.concurrency, c.runs, c.warmUp);
        figures.push(figure);
        print(figure);
      }
    } finally {
      await sim.stop();
    }
  }
  const [fast, ...withLatency] = figures as [RestPullFigure, ...RestPullFigure[]];
  const overlapped = withLatency.find((f) => f.concurrency === CONCURRENCY)!;
  const twoInFlight = withLatency.find((f) => f.concurrency === 2)!;
  const sequential = withLatency.find((f) => f.concurrency === 1)!;
  const floorGoal = (f: RestPullFigure) => ({
    concurrency: f.concurrency,
    seconds: f.seconds,
    floorSeconds: f.floorSeconds,
    measured: f.floorRatio,
    met: (f.floorRatio ?? Infinity) <= GOAL_FLOOR_RATIO,
  });
  mkdirSync(resultsDir, { recursive: true });
  const record = {
    benchmark: 'rest-pull',
    command: 'npm run bench -- rest-pull   (or BENCH=rest-pull npm run bench; plain npm run bench runs it after csv-read)',
    date: new Date().toISOString(),
    machine: benchMachine(),
    district: { seed: SEED, size: SIZE, counts },
    pageSize: PAGE_SIZE,
    runsPerFigure: runs,
    figures,
    goals: {
      recordsPerSecond: { goal: GOAL_RECORDS_PER_SECOND, measured: fast.recordsPerSecond, met: fast.recordsPerSecond >= GOAL_RECORDS_PER_SECOND },
      // At 4 in flight (measured, met), and at every concurrency measured (byConcurrency).
      latencyFloorRatio: {
        goal: GOAL_FLOOR_RATIO,
        measured: overlapped.floorRatio,
        met: (overlapped.floorRatio ?? Infinity) <= GOAL_FLOOR_RATIO,
        byConcurrency: withLatency.map(floorGoal),
      },
      // The wall time added by the latency, against the no-latency pull; requests × latency is what it would be without any overlap.
      latencyPaidSeconds: {
        overlapped: Number((overlapped.seconds - fast.seconds).toFixed(2)),
        twoInFlight: Number((twoInFlight.seconds - fast.seconds).toFixed(2)),
        pageByPage: Number((sequential.seconds - fast.seconds).toFixed(2)),
        pageByPageLatencySeconds: Number(((sequential.requests * LATENCY_MS) / 1000).toFixed(2)),
      },
    },
  };
  writeFileSync(path.join(resultsDir, 'rest-pull.json'), `${JSON.stringify(record, null, 2)}\n`);
}
