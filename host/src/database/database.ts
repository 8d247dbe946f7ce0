import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { Client, Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { lockDataDir } from './data-dir-lock';
import { RolledBackScope } from './rolled-back';
import {
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  type CopyStream,
  type Disposable,
  type Logger,
  type LoadTransaction,
  type OpenCopy,
  type OpenLoadTransaction,
  RosterbridgeError,
  errorMessage,
  isRosterbridgeError,
} from '@rosterbridge/core';

/**
 * The host's database: kysely over `pg`, against a PostgreSQL server or the embedded PGlite. `db`
 * reaches every schema by `withSchema`: the core schema, whose tables are `CoreDatabase`
 * (the host binds it as `Kysely<CoreDatabase>` where it uses it), each plugin's own schema, typed by
 * the plugin if at all (`PluginStorage`), and the queue's. No one type describes what `db`
 * reaches unbound; `DB` defaults to `any` so that what reads plugin schemas through it (the tests,
 * the plugins' storage) compiles unchanged, until those are typed too.
 */
export interface Database<DB = any> extends Disposable {
  readonly db: Kysely<DB>;
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
   * Opens a binary COPY on a connection of its own (not the pool's: a run holding one for its whole
   * read never starves the pool). PostgreSQL servers only: undefined on the embedded database.
   */
  readonly openCopy?: OpenCopy;
  /**
   * Opens a transaction on a connection of its own for a target's load of one entity, which the
   * engine commits with its record of the load. PostgreSQL servers only: undefined on the embedded
   * database (one connection: a transaction held across a load would stop every other query).
   */
  readonly openLoadTransaction?: OpenLoadTransaction;
  /**
   * Runs `work` with every query of `db` made in it (in its async scope) inside one transaction
   * that is rolled back at its end: a readiness preview. Transactions opened in it are savepoints.
   * On the embedded database it holds the one connection: other queries wait until it ends.
   */
  rolledBack<T>(work: () => Promise<T>): Promise<T>;
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
export async function openDatabase<DB = any>(options: OpenDatabaseOptions): Promise<Database<DB>> {
  return options.url ? openPostgres<DB>(options) : openEmbedded<DB>(options);
}

async function openPostgres<DB>(options: OpenDatabaseOptions): Promise<Database<DB>> {
  const pool = new Pool({ connectionString: options.url, max: options.poolSize, application_name: 'rosterbridge' });
  pool.on('error', (err) => options.logger.error({ err: errorMessage(err) }, 'idle database connection failed'));
  const description = redactUrl(options.url);
  await checkReachable(pool, description);
  const previews = new RolledBackScope(pool);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: previews.routedPool }) });
  return {
    db,
    mode: 'postgres',
    description,
    connectionString: options.url,
    pool,
    ping: () => sql`select 1`.execute(db).then(() => undefined),
    openCopy: (table, columns, copyOptions) => openCopy(options.url, table, columns, copyOptions?.durable ?? true),
    // A load inside a preview goes on the preview's connection, rolled back with it.
    openLoadTransaction: async <DB>() => (previews.active ? previews.loadTransaction<DB>(db as unknown as Kysely<DB>) : openLoadTransaction<DB>(options.url)),
    rolledBack: (work) => previews.run(work),
    async dispose() {
      await db.destroy();
    },
  };
}

async function openEmbedded<DB>(options: OpenDatabaseOptions): Promise<Database<DB>> {
  // PGlite ships as ESM with a CJS build; load lazily so a server deployment never pays for it.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const inMemory = options.dataDir === 'memory://';
  const folder = inMemory ? 'memory://' : path.join(options.dataDir, 'pgdata');
  // Before anything is read: a second host on this folder is refused, naming the holder.
  const lock = inMemory
    ? undefined
    : await lockDataDir(options.dataDir).catch((err: unknown) => {
        if (isRosterbridgeError(err)) throw err;
        throw new RosterbridgeError(
          'CONFIG_INVALID',
          `dataDir (env RB_DATA_DIR): ${options.dataDir} cannot be locked for this host: ${errorMessage(err)}`,
          { key: 'dataDir' },
          { cause: err },
        );
      });
  if (lock?.takenOverFrom)
    options.logger.warn(
      { lockFile: lock.file, pid: lock.takenOverFrom.pid, since: lock.takenOverFrom.startedAt },
      `took over the data dir's lock from pid ${lock.takenOverFrom.pid}, which is no longer running: the last host on ${options.dataDir} did not stop cleanly`,
    );
  let pglite;
  try {
    let creating = false;
    if (!inMemory) {
      await fs.mkdir(folder, { recursive: true });
      // PGlite creates a missing database (initdb) in memory and writes it out whole: an empty folder is a first start.
      creating = !(await fs.stat(path.join(folder, 'PG_VERSION')).then(
        () => true,
        () => false,
      ));
    }
    const started = Date.now();
    if (creating) options.logger.info({ folder }, `creating the embedded database in ${folder} (first start, about 10 s) …`);
    pglite = await PGlite.create(folder);
    if (creating) options.logger.info({ folder, ms: Date.now() - started }, `embedded database created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    await lock?.dispose();
    throw new RosterbridgeError(
      'CONFIG_INVALID',
      `embedded database in ${folder} cannot be opened: ${errorMessage(err)} (key dataDir, env RB_DATA_DIR)`,
      { key: 'dataDir' },
      { cause: err },
    );
  }
  // PGlite is single-connection, and pglite-socket's multiplexer interleaves the extended-protocol
  // messages of concurrent connections (unnamed statements collide), so exactly one connection is
  // served and the pool holds that one: queries queue in the pool, transactions stay whole.
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
  let conn: string;
  let connectionString: string;
  let pool: Pool;
  try {
    await server.start();
    conn = server.getServerConn(); // "127.0.0.1:PORT"
    connectionString = `postgres://postgres@${conn}/postgres?sslmode=disable`;
    pool = new Pool({ connectionString, max: 1 });
    pool.on('error', (err) => options.logger.error({ err: errorMessage(err) }, 'idle embedded database connection failed'));
    await checkReachable(pool, 'embedded database');
  } catch (err) {
    await server.stop().catch(() => undefined);
    await pglite.close().catch(() => undefined);
    await lock?.dispose();
    throw err;
  }
  const previews = new RolledBackScope(pool);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: previews.routedPool }) });
  options.logger.info({ folder, socket: conn }, 'embedded database (PGlite) ready');
  return {
    db,
    mode: 'embedded',
    description: `embedded PGlite in ${folder}`,
    connectionString,
    pool,
    rolledBack: (work) => previews.run(work),
    ping: () => sql`select 1`.execute(db).then(() => undefined),
    async dispose() {
      try {
        await db.destroy();
        await server.stop();
        await pglite.close();
      } finally {
        await lock?.dispose();
      }
    },
  };
}

async function checkReachable(pool: Pool, description: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new RosterbridgeError(
      'CONFIG_INVALID',
      `database ${description} is unreachable: ${errorMessage(err)} (key database.url, env RB_DATABASE_URL)`,
      { key: 'database.url' },
      { cause: err },
    );
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

/** {@link Database.openCopy} on a PostgreSQL server: a client of its own, a transaction, the COPY. */
async function openCopy(url: string, table: string, columns: readonly string[], durable: boolean): Promise<CopyStream> {
  const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
  const name = table.split('.').map(quote).join('.');
  const list = columns.map(quote).join(', ');
  const client = new Client({ connectionString: url, application_name: 'rosterbridge' });
  let failure: Error | undefined;
  // A connection lost mid-COPY surfaces on the stream (and so on the next write or the end).
  client.on('error', (err) => (failure ??= err));
  const close = () => client.end().catch(() => undefined);
  try {
    await client.connect();
    await client.query(durable ? 'begin' : 'begin; set local synchronous_commit = off');
  } catch (err) {
    await close();
    throw err;
  }
  const stream = client.query(copyFrom(`copy ${name} (${list}) from stdin with (format binary)`));
  stream.on('error', (err) => (failure ??= err));
  stream.write(COPY_BINARY_HEADER);
  let done = false;
  return {
    async write(tuples) {
      if (done) throw new Error(`the COPY into ${table} has ended`);
      if (failure) throw failure;
      // Backpressure: wait until the connection drains (rejects if the stream fails meanwhile).
      if (!stream.write(tuples)) await once(stream, 'drain');
    },
    async end() {
      done = true;
      try {
        // A COPY that already failed is not ended but closed (the finally), which rolls it back.
        if (failure) throw failure;
        stream.end(COPY_BINARY_TRAILER);
        await finished(stream);
        const rows = Number((stream as { rowCount?: number }).rowCount ?? 0);
        await client.query('commit');
        return rows;
      } finally {
        await close();
      }
    },
    async abort(reason) {
      if (done) return;
      done = true;
      // CopyFail rolls the COPY back; closing the connection ends the transaction in any case.
      stream.destroy(new Error(reason ?? 'COPY abandoned'));
      await finished(stream).catch(() => undefined);
      await close();
    },
  };
}

/**
 * {@link Database.openLoadTransaction} on a PostgreSQL server: a client of its own in a transaction,
 * kysely over that one client, and binary COPYs sent on it in turn (the client queues its queries,
 * so a COPY runs after the queries sent before it and before those sent after).
 */
async function openLoadTransaction<DB>(url: string): Promise<LoadTransaction<DB>> {
  const client = new Client({ connectionString: url, application_name: 'rosterbridge' });
  let failure: Error | undefined;
  // A connection lost mid-load surfaces on the next query; the server rolls the transaction back.
  client.on('error', (err) => (failure ??= err));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.end().catch(() => undefined);
  };
  try {
    await client.connect();
    await client.query('begin');
  } catch (err) {
    await close();
    throw err;
  }
  // kysely's pool of one: the load's client, never released to anyone else.
  const one = Object.assign(client, { release: () => undefined });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: { connect: async () => one, end: async () => undefined } }) });
  const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
  return {
    db,
    async copy(table, columns, tuples) {
      if (failure) throw failure;
      if (closed) throw new Error(`the load's transaction has ended; no COPY into ${table}`);
      const name = table.split('.').map(quote).join('.');
      const stream = client.query(copyFrom(`copy ${name} (${columns.map(quote).join(', ')}) from stdin with (format binary)`));
      stream.write(COPY_BINARY_HEADER);
      stream.write(tuples);
      stream.end(COPY_BINARY_TRAILER);
      await finished(stream);
      return Number((stream as { rowCount?: number }).rowCount ?? 0);
    },
    async commit() {
      try {
        if (failure) throw failure;
        await client.query('commit');
      } finally {
        await close();
      }
    },
    async rollback() {
      if (closed) return;
      await client.query('rollback').catch(() => undefined);
      await close();
    },
  };
}
