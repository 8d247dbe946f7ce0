import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type Disposable, type Logger, RosterbridgeError, errorMessage } from '@rosterbridge/core';

/** The host's database: kysely over `pg`, against a PostgreSQL server or the embedded PGlite. */
export interface Database extends Disposable {
  readonly db: Kysely<any>;
  readonly mode: 'postgres' | 'embedded';
  /** Where it is, for people: a URL without its password, or the embedded folder. */
  readonly description: string;
  /** A connection string clients such as pg-boss can use (embedded: the loopback socket). */
  readonly connectionString: string;
  /** The pool kysely runs on, for clients that bring their own queries (pg-boss). Embedded: one connection. */
  readonly pool: Pool;
  /** One round trip; rejects when the database is unreachable. */
  ping(): Promise<void>;
  /**
   * Writes a whole binary COPY stream into `columns` of the schema-qualified `table`, on a pooled
   * connection of its own, in a transaction whose commit does not wait for the disk (for rows that
   * count only once a later, durable commit says so). PostgreSQL servers only: undefined on the
   * embedded database.
   */
  readonly copyRows?: (table: string, columns: readonly string[], data: Buffer) => Promise<void>;
}

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL URL; empty for the embedded database. */
  url: string;
  /** Folder of the embedded database (ignored with a URL). `memory://` keeps it in memory. */
  dataDir: string;
  poolSize: number;
  logger: Logger;
}

/**
 * Opens the database. With a URL: a pg pool. Without: PGlite (Postgres compiled to WebAssembly) in
 * `<dataDir>/pgdata`, served on a private loopback port by pglite-socket, so the same driver, the
 * same migrations and the same queries run in both modes.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options) : openEmbedded(options);
}

async function openPostgres(options: OpenDatabaseOptions): Promise<Database> {
  const pool = new Pool({ connectionString: options.url, max: options.poolSize, application_name: 'rosterbridge' });
  pool.on('error', (err) => options.logger.error({ err: errorMessage(err) }, 'idle database connection failed'));
  const description = redactUrl(options.url);
  await checkReachable(pool, description);
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    mode: 'postgres',
    description,
    connectionString: options.url,
    pool,
    ping: () => sql`select 1`.execute(db).then(() => undefined),
    async copyRows(table, columns, data) {
      const name = table.split('.').map((part) => `"${part.replace(/"/g, '""')}"`).join('.');
      const list = columns.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ');
      const client = await pool.connect();
      try {
        // Rows written by COPY are staged, not yet committed to anything a reader trusts: their
        // commit need not wait for the disk. The commit that makes them count (the ledger's) does,
        // and flushes these with it (the log is written in order).
        await client.query('begin');
        await client.query('set local synchronous_commit = off');
        await pipeline(Readable.from([data]), client.query(copyFrom(`copy ${name} (${list}) from stdin with (format binary)`)));
        await client.query('commit');
        client.release();
      } catch (err) {
        client.release(err as Error); // a connection left mid-COPY is not reused
        throw err;
      }
    },
    async dispose() {
      await db.destroy();
    },
  };
}

async function openEmbedded(options: OpenDatabaseOptions): Promise<Database> {
  // PGlite ships as ESM with a CJS build; load lazily so a server deployment never pays for it.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const inMemory = options.dataDir === 'memory://';
  const folder = inMemory ? 'memory://' : path.join(options.dataDir, 'pgdata');
  if (!inMemory) await fs.mkdir(folder, { recursive: true });
  let pglite;
  try {
    pglite = await PGlite.create(folder);
  } catch (err) {
    throw new RosterbridgeError('CONFIG_INVALID', `embedded database in ${folder} cannot be opened (is another host using this dataDir?): ${errorMessage(err)}`, { key: 'dataDir' }, { cause: err });
  }
  // PGlite is single-connection, and pglite-socket's multiplexer interleaves the extended-protocol
  // messages of concurrent connections (unnamed statements collide), so exactly one connection is
  // served and the pool holds that one: queries queue in the pool, transactions stay whole.
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:PORT"
  const connectionString = `postgres://postgres@${conn}/postgres?sslmode=disable`;
  const pool = new Pool({ connectionString, max: 1 });
  pool.on('error', (err) => options.logger.error({ err: errorMessage(err) }, 'idle embedded database connection failed'));
  await checkReachable(pool, 'embedded database');
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  options.logger.info({ folder, socket: conn }, 'embedded database (PGlite) ready');
  return {
    db,
    mode: 'embedded',
    description: `embedded PGlite in ${folder}`,
    connectionString,
    pool,
    ping: () => sql`select 1`.execute(db).then(() => undefined),
    async dispose() {
      await db.destroy();
      await server.stop();
      await pglite.close();
    },
  };
}

async function checkReachable(pool: Pool, description: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new RosterbridgeError('CONFIG_INVALID', `database ${description} is unreachable: ${errorMessage(err)} (key database.url, env RB_DATABASE_URL)`, { key: 'database.url' }, { cause: err });
  }
}

/** The URL with any password replaced, for logs and the API. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database URL)';
  }
}
