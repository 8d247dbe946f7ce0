import { AsyncLocalStorage } from 'node:async_hooks';
import { finished } from 'node:stream/promises';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, type LoadTransaction, RosterbridgeError } from '@rosterbridge/core';

/** What a transaction's begin, commit or rollback answers kysely. */
const DONE: PostgresQueryResult<unknown> = { command: 'SELECT', rowCount: 0, rows: [] };

/**
 * One connection in a transaction that is rolled back at its end (a readiness preview), which every
 * query of the host's kysely made in its async scope goes through ({@link RolledBackScope.run}):
 * the engine's, the targets' own, their loads'. Its users take it one at a time (a lease per query,
 * or per transaction); a transaction opened on it is a savepoint, and so is each query outside one,
 * so that a failed statement undoes itself only, as it would on its own, and never leaves the
 * whole transaction aborted.
 */
class RolledBackConnection {
  private queue: Promise<void> = Promise.resolve();
  private readonly savepoints: string[] = [];
  private named = 0;
  private closed = false;

  constructor(readonly client: PoolClient) {}

  /** Waits for the connection, and holds it until the returned function is called. */
  async acquire(): Promise<() => void> {
    if (this.closed) throw new RosterbridgeError('INTERNAL', 'a query came after the preview it belonged to had ended');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const before = this.queue;
    this.queue = before.then(() => held);
    await before;
    if (this.closed) {
      release();
      throw new RosterbridgeError('INTERNAL', 'a query came after the preview it belonged to had ended');
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  }

  /** A pool client for kysely: the connection, held until kysely releases it. */
  async lease(): Promise<PostgresPoolClient> {
    const release = await this.acquire();
    const client: Pick<PostgresPoolClient, 'release'> & { query(text: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<unknown>> } = {
      query: (text, parameters) => this.query(text, parameters),
      release,
    };
    return client as PostgresPoolClient;
  }

  private async query(text: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<unknown>> {
    const command = text.trim().toLowerCase();
    if (command === 'begin' || command.startsWith('start transaction')) {
      const name = `rb_preview_${++this.named}`;
      await this.client.query(`savepoint ${name}`);
      this.savepoints.push(name);
      return DONE;
    }
    if (command === 'commit') {
      const name = this.savepoints[this.savepoints.length - 1];
      if (name === undefined) throw new RosterbridgeError('INTERNAL', 'commit without a transaction in a preview');
      await this.client.query(`release savepoint ${name}`);
      this.savepoints.pop();
      return DONE;
    }
    if (command === 'rollback') {
      const name = this.savepoints.pop();
      if (name === undefined) throw new RosterbridgeError('INTERNAL', 'rollback without a transaction in a preview');
      await this.client.query(`rollback to savepoint ${name}`);
      await this.client.query(`release savepoint ${name}`);
      return DONE;
    }
    if (this.savepoints.length > 0) return (await this.client.query(text, [...parameters])) as unknown as PostgresQueryResult<unknown>;
    // A statement on its own: it fails alone, as it would in autocommit.
    await this.client.query('savepoint rb_preview_statement');
    try {
      const result = await this.client.query(text, [...parameters]);
      await this.client.query('release savepoint rb_preview_statement');
      return result as unknown as PostgresQueryResult<unknown>;
    } catch (err) {
      await this.client.query('rollback to savepoint rb_preview_statement').catch(() => undefined);
      throw err;
    }
  }

  /** Waits for every lease to end, then refuses new ones. */
  async close(): Promise<void> {
    const release = await this.acquire();
    this.closed = true;
    release();
  }
}

/** Routes the host's kysely into a {@link RolledBackConnection} inside {@link RolledBackScope.run}. */
export class RolledBackScope {
  private readonly storage = new AsyncLocalStorage<RolledBackConnection>();

  constructor(private readonly pool: Pool) {}

  /** The pool kysely runs on: the preview's connection inside a preview's scope, else the host's pool. */
  readonly routedPool: PostgresPool = {
    connect: async () => {
      const preview = this.storage.getStore();
      return preview ? preview.lease() : ((await this.pool.connect()) as unknown as PostgresPoolClient);
    },
    end: () => this.pool.end(),
  };

  /** Whether the caller is inside a preview's scope. */
  get active(): boolean {
    return this.storage.getStore() !== undefined;
  }

  /**
   * Runs `work` with every query of the host's kysely in one transaction on a connection of the
   * pool (on the embedded database, its only one: other queries wait until the preview ends), and
   * rolls it back once `work` has settled and every query it started is done.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active) throw new RosterbridgeError('INTERNAL', 'a preview cannot run inside another');
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const connection = new RolledBackConnection(client);
      try {
        return await this.storage.run(connection, work);
      } finally {
        await connection.close();
        await client.query('rollback').catch((err: Error) => (broken = err));
      }
    } catch (err) {
      broken ??= err instanceof Error && /connection|terminat/i.test(err.message) ? err : undefined;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * A target's load inside a preview: on the preview's connection, without a transaction of its own
   * (the preview's is rolled back whole). A load that fails leaves its rows there until then; its
   * target is dropped from the preview, as from a run.
   */
  loadTransaction<DB>(db: LoadTransaction<DB>['db']): LoadTransaction<DB> {
    const connection = this.storage.getStore();
    if (!connection) throw new RosterbridgeError('INTERNAL', 'a preview load outside a preview');
    const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
    return {
      db,
      async copy(table, columns, tuples) {
        const release = await connection.acquire();
        // A COPY that fails undoes itself only, as a statement of the preview's does.
        await connection.client.query('savepoint rb_preview_copy');
        try {
          const name = table.split('.').map(quote).join('.');
          const stream = connection.client.query(copyFrom(`copy ${name} (${columns.map(quote).join(', ')}) from stdin with (format binary)`));
          stream.write(COPY_BINARY_HEADER);
          stream.write(tuples);
          stream.end(COPY_BINARY_TRAILER);
          await finished(stream);
          await connection.client.query('release savepoint rb_preview_copy');
          return Number((stream as { rowCount?: number }).rowCount ?? 0);
        } catch (err) {
          await connection.client.query('rollback to savepoint rb_preview_copy').catch(() => undefined);
          throw err;
        } finally {
          release();
        }
      },
      commit: async () => undefined,
      rollback: async () => undefined,
    };
  }
}
