import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import { type Database, SecretCensor, createLogger, openDatabase } from '@rosterbridge/host';

/** A database of a test's own: a fresh PostgreSQL database, or the embedded one. */
export interface TestDatabase {
  /** `database.url` for the host config: a fresh database's URL, or '' for embedded. */
  url: string;
  mode: 'postgres' | 'embedded';
  drop(): Promise<void>;
}

/**
 * With `DATABASE_URL` set (as in CI), creates a fresh database on that server and drops it after;
 * otherwise returns '' so the host runs on the embedded PGlite.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = process.env.DATABASE_URL;
  if (!admin) return { url: '', mode: 'embedded', drop: async () => undefined };
  const name = `rb_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    mode: 'postgres',
    async drop() {
      const c = new Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * The host's database over a fresh {@link createTestDatabase} (in memory when embedded), with a
 * silent logger, for tests of the data layer without a host; `close` disposes and drops it.
 */
export async function openTestDatabase(poolSize = 2): Promise<{ database: Database; close(): Promise<void> }> {
  const testDb = await createTestDatabase();
  const logger = createLogger({ level: 'silent', censor: new SecretCensor(), destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const database = await openDatabase({ url: testDb.url, dataDir: 'memory://', poolSize, logger });
  return {
    database,
    async close() {
      await database.dispose();
      await testDb.drop();
    },
  };
}
