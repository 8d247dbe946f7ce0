import { createReadStream, createWriteStream, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ROSTER_ENTITY_ORDER, type SyncRun } from '@rosterbridge/core';
import { Host, loadHostConfig } from '@rosterbridge/host';

/** One sync benchmark measurement of one district size, printed as a JSON line. */
export interface SyncMeasurement {
  records: number;
  deltaRecords: number;
  /** Floor: the source read alone, through the source plugin (seconds). */
  readSeconds: number;
  /** Floor: COPY of the same rows into a table like the target's (seconds). */
  copySeconds: number;
  firstSyncSeconds: number;
  noChangeSeconds: number;
  deltaSeconds: number;
  /** Rows the target wrote in the no-change resync (0 expected). */
  noChangeTargetWrites: number;
  /** Target table rows after each run, and what they should be. */
  targetRows: { afterFirst: number; afterDelta: number; expectedAfterDelta: number };
  statuses: { first: string; noChange: string; delta: string };
  /** Each run's staging (read, classify, log; until its commit) and applying (commit to end), in seconds. */
  phases: Record<'first' | 'noChange' | 'delta', { staging: number; applying: number; hostCpu: number }>;
  peakRssMB: number;
}

const TENANT = 'bench';
const ADMIN_TOKEN = 'bench-admin-token-0123456789';

/**
 * Measures, in this process, on a fresh PostgreSQL database: the source read alone; COPY of the
 * same rows into a table like the target's; then through a host, a first sync, a no-change resync
 * and a delta, with only the one-table target enabled. Args: bulk package, delta package, admin URL.
 */
async function main(): Promise<void> {
  const [bulk, delta, adminUrl] = process.argv.slice(2);
  if (!bulk || !delta || !adminUrl) throw new Error('usage: sync-worker <bulk package> <delta package> <postgres admin url>');
  const work = path.join(tmpdir(), `rb-bench-sync-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(path.join(work, 'tenants'), { recursive: true });
  const dbName = `rb_bench_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  // The tenant reads `package`, a symlink switched from the bulk to the delta package.
  const packageLink = path.join(work, 'package');
  symlinkSync(bulk, packageLink);
  writeFileSync(
    path.join(work, 'tenants', `${TENANT}.json`),
    JSON.stringify({
      displayName: 'Benchmark district',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: '../package' } },
      targets: [{ id: 'table', schedule: 'manual' }],
    }),
  );
  const config = loadHostConfig({
    env: {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      database: { url: url.toString(), poolSize: 4 },
      dataDir: path.join(work, 'data'),
      plugins: {
        dirs: [path.resolve(__dirname, '../../../plugins'), path.resolve(__dirname, '../../fixtures/plugins/bench')],
        // BENCH_TARGET_ISOLATION=worker: the target in a worker thread, to measure what one costs.
        workers: process.env.BENCH_TARGET_ISOLATION === 'worker' ? ['target-table'] : [],
      },
      tenants: { dir: path.join(work, 'tenants') },
      api: { tokens: [{ name: 'bench', token: ADMIN_TOKEN, role: 'admin' }] },
      log: { level: 'warn' },
      sync: { schedule: { enabled: false } },
    },
  });
  const host = await Host.start(config, { listen: false, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
  try {
    // Floor 1: the source read alone, through the same plugin session the engine reads from, and
    // the COPY text of its rows written aside (not timed).
    const copyFile = path.join(work, 'rows.copy');
    const rowsOut = createWriteStream(copyFile);
    let records = 0;
    const readStarted = process.hrtime.bigint();
    const session = await host.sourceSessions.open(TENANT);
    try {
      const signal = new AbortController().signal;
      for (const entity of ROSTER_ENTITY_ORDER) {
        for await (const batch of session.read(entity, { mode: 'full', batchSize: config.sync.batchSize, signal })) records += batch.records.length;
      }
    } finally {
      await session.dispose();
    }
    const readSeconds = seconds(readStarted);
    const again = await host.sourceSessions.open(TENANT);
    try {
      const signal = new AbortController().signal;
      for (const entity of ROSTER_ENTITY_ORDER) {
        for await (const batch of again.read(entity, { mode: 'full', batchSize: config.sync.batchSize, signal })) {
          let chunk = '';
          for (const r of batch.records) chunk += `${TENANT}\t${entity}\t${copyText(r.sourcedId)}\t${copyText(JSON.stringify(r))}\n`;
          if (!rowsOut.write(chunk)) await new Promise<void>((resolve) => rowsOut.once('drain', () => resolve()));
        }
      }
    } finally {
      await again.dispose();
      await new Promise<void>((resolve, reject) => rowsOut.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }

    // Floor 2: COPY the same rows into a table like the target's (same columns, same primary key).
    const pg = new Client({ connectionString: url.toString() });
    await pg.connect();
    await pg.query(`create schema bench_floor`);
    await pg.query(
      `create table bench_floor.record (tenant_id text not null, entity text not null, sourced_id text not null, record jsonb not null, primary key (tenant_id, entity, sourced_id))`,
    );
    const copyStarted = process.hrtime.bigint();
    await pipeline(createReadStream(copyFile), pg.query(copyFrom(`copy bench_floor.record (tenant_id, entity, sourced_id, record) from stdin`)));
    const copySeconds = seconds(copyStarted);
    await pg.query(`drop schema bench_floor cascade`);
    rmSync(copyFile, { force: true });

    const sync = async (mode: 'full' | 'delta'): Promise<{ run: SyncRun; seconds: number; cpuSeconds: number }> => {
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      const queued = await host.syncs.trigger(TENANT, { mode, trigger: 'bench' });
      const run = await host.syncs.settled(queued.id);
      const used = process.cpuUsage(cpu);
      return { run, seconds: seconds(started), cpuSeconds: (used.user + used.system) / 1e6 };
    };
    const targetRows = async () => Number((await pg.query(`select count(*) as n from plugin_target_table.record`)).rows[0].n);
    // Rows written since a transaction id: inserted or updated rows carry a newer xmin (deleted rows
    // show in the row count). The database is fresh, so xids have not wrapped.
    const txid = async () => Number((await pg.query(`select txid_current() % 4294967296 as x`)).rows[0].x);
    const writtenSince = async (xid: number) =>
      Number((await pg.query(`select count(*) as n from plugin_target_table.record where xmin::text::bigint >= $1`, [xid])).rows[0].n);

    const first = await sync('full');
    const afterFirst = await targetRows();
    const before = await txid();
    const noChange = await sync('full');
    const noChangeTargetWrites = (await writtenSince(before)) + Math.abs((await targetRows()) - afterFirst);

    unlinkSync(packageLink);
    symlinkSync(delta, packageLink);
    // RB_BENCH_PROFILE_DELTA=<file> writes a CPU profile of the host during the delta run.
    const profiler = process.env.RB_BENCH_PROFILE_DELTA ? await startProfiler() : undefined;
    const deltaRun = await sync('delta');
    if (profiler) writeFileSync(process.env.RB_BENCH_PROFILE_DELTA!, JSON.stringify(await profiler.stop()));
    const afterDelta = await targetRows();
    const deltaCounts = Object.values(deltaRun.run.counts.source).reduce((a, c) => a + (c?.read ?? 0), 0);
    const deletedByDelta = Object.values(deltaRun.run.counts.source).reduce((a, c) => a + (c?.deleted ?? 0), 0);
    const createdByDelta = Object.values(deltaRun.run.counts.source).reduce((a, c) => a + (c?.created ?? 0), 0);
    await pg.end();

    const m: SyncMeasurement = {
      records,
      deltaRecords: deltaCounts,
      readSeconds,
      copySeconds,
      firstSyncSeconds: first.seconds,
      noChangeSeconds: noChange.seconds,
      deltaSeconds: deltaRun.seconds,
      noChangeTargetWrites,
      targetRows: { afterFirst, afterDelta, expectedAfterDelta: afterFirst + createdByDelta - deletedByDelta },
      statuses: { first: first.run.status, noChange: noChange.run.status, delta: deltaRun.run.status },
      phases: {
        first: { ...phases(first.run), hostCpu: first.cpuSeconds },
        noChange: { ...phases(noChange.run), hostCpu: noChange.cpuSeconds },
        delta: { ...phases(deltaRun.run), hostCpu: deltaRun.cpuSeconds },
      },
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    process.stdout.write(`${JSON.stringify(m)}\n`);
  } finally {
    await host.stop();
    // RB_BENCH_KEEP_DB=1 keeps the database, to look at its plans afterwards.
    if (process.env.RB_BENCH_KEEP_DB === '1') process.stderr.write(`kept database ${dbName}\n`);
    else await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The inspector's CPU profiler, started; `stop` resolves with the profile (a .cpuprofile document). */
async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

function phases(run: SyncRun): { staging: number; applying: number } {
  const at = (iso?: string) => (iso ? Date.parse(iso) : NaN);
  return { staging: (at(run.committedAt) - at(run.startedAt)) / 1000, applying: (at(run.endedAt) - at(run.committedAt)) / 1000 };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
