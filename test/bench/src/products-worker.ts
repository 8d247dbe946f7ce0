import { createReadStream, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Host, loadHostConfig } from '@rosterbridge/host';
import { type DistrictSizeName, generateDistrict } from '@rosterbridge/district-generator';
import { seedProductState } from '@rosterbridge/test-kit';

/** The four-product benchmark's figures for one district, printed as a JSON line. */
export interface ProductsMeasurement {
  records: number;
  firstSyncSeconds: number;
  status: string;
  /** Rows the products hold after the sync, per schema. */
  rows: Record<string, number>;
  /** Floor: COPY of the same rows into the same tables (empty copies with the same indexes), in seconds. */
  copySeconds: number;
  perTarget: Record<string, { status: string; created: number; skipped: number; errors: number }>;
  peakRssMB: number;
}

const TENANT = 'bench';
const SCHEMAS = ['plugin_target_kamkalima', 'plugin_target_school_manager', 'plugin_target_kybergate', 'plugin_target_gradient'];

/**
 * A first sync of a generated district into the four products at once, on a fresh PostgreSQL
 * database, then the floor: every product table's rows copied out and COPYed back into an empty
 * table like it (same columns, keys and indexes), timed. Args: package, seed, size, admin URL.
 */
async function main(): Promise<void> {
  const [bulk, seed, size, adminUrl] = process.argv.slice(2);
  if (!bulk || !seed || !size || !adminUrl) throw new Error('usage: products-worker <bulk package> <seed> <size> <postgres admin url>');
  const work = path.join(tmpdir(), `rb-bench-products-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(path.join(work, 'tenants'), { recursive: true });
  const dbName = `rb_bench_products_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  writeFileSync(
    path.join(work, 'tenants', `${TENANT}.json`),
    JSON.stringify({
      displayName: 'Benchmark district',
      timezone: 'America/Chicago',
      region: 'US',
      source: { id: 'oneroster-csv', settings: { location: bulk } },
      targets: [{ id: 'kamkalima' }, { id: 'school-manager', settings: { syncParentData: true } }, { id: 'kybergate' }, { id: 'gradient' }].map((t) => ({
        ...t,
        schedule: 'manual',
      })),
    }),
  );
  const config = loadHostConfig({
    env: {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      database: { url: url.toString(), poolSize: 8 },
      dataDir: path.join(work, 'data'),
      plugins: { dirs: [path.resolve(__dirname, '../../../plugins')] },
      tenants: { dir: path.join(work, 'tenants') },
      log: { level: 'warn' },
      sync: { schedule: { enabled: false }, applyTimeoutMs: 600_000 },
    },
  });
  const host = await Host.start(config, { listen: false, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const pg = new Client({ connectionString: url.toString() });
  await pg.connect();
  try {
    // What the products would already hold: School Manager's users (nine in ten), Gradient's year.
    await seedProductState(host, TENANT, generateDistrict({ seed: Number(seed), size: size as DistrictSizeName }));
    const seededRows = await rowsBySchema(pg);

    const started = process.hrtime.bigint();
    const run = await host.syncs.settled((await host.syncs.trigger(TENANT, { trigger: 'bench' })).id);
    const firstSyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const records = Object.values(run.counts.source).reduce((a, c) => a + (c?.read ?? 0), 0);
    const rows = await rowsBySchema(pg);

    // The floor: the same rows into the same tables. Seeded rows (School Manager's own users,
    // Gradient's academic year) are not the sync's work and are left out of it.
    await pg.query('create schema bench_floor');
    let copySeconds = 0;
    for (const { schema, table } of await tablesOf(pg)) {
      const file = path.join(work, `${schema}.${table}.copy`);
      const seededHere =
        schema === 'plugin_target_school_manager' && table === 'user_account' ? true : schema === 'plugin_target_gradient' && table === 'academic_year';
      if (seededHere) continue;
      await pipeline(pg.query(copyTo(`copy ${schema}."${table}" to stdout`)), createWriteStream(file));
      const floorTable = `bench_floor."${schema}__${table}"`;
      await pg.query(`create table ${floorTable} (like ${schema}."${table}" including all)`);
      const t0 = process.hrtime.bigint();
      await pipeline(createReadStream(file), pg.query(copyFrom(`copy ${floorTable} from stdin`)));
      copySeconds += Number(process.hrtime.bigint() - t0) / 1e9;
      rmSync(file, { force: true });
    }
    const perTarget: ProductsMeasurement['perTarget'] = {};
    for (const [target, entry] of Object.entries(run.counts.targets)) {
      const sum = (k: 'created' | 'skipped' | 'errors') => Object.values(entry.entities).reduce((a, c) => a + (c?.[k] ?? 0), 0);
      perTarget[target] = { status: entry.status, created: sum('created'), skipped: sum('skipped'), errors: sum('errors') };
    }
    const m: ProductsMeasurement = {
      records,
      firstSyncSeconds,
      status: run.status,
      rows: Object.fromEntries(Object.entries(rows).map(([s, n]) => [s, n - (seededRows[s] ?? 0)])),
      copySeconds,
      perTarget,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    process.stdout.write(`${JSON.stringify(m)}\n`);
  } finally {
    await pg.end();
    await host.stop();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(work, { recursive: true, force: true });
  }
}

async function tablesOf(pg: Client): Promise<{ schema: string; table: string }[]> {
  const r = await pg.query<{ schema: string; table: string }>(
    `select table_schema as schema, table_name as table from information_schema.tables where table_schema = any($1) and table_type = 'BASE TABLE' and table_name not like 'schema_migration%' order by 1, 2`,
    [SCHEMAS],
  );
  return r.rows;
}

async function rowsBySchema(pg: Client): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { schema, table } of await tablesOf(pg)) {
    const r = await pg.query<{ n: string }>(`select count(*) as n from ${schema}."${table}"`);
    out[schema] = (out[schema] ?? 0) + Number(r.rows[0]!.n);
  }
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
