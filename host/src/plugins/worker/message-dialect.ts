import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** Asks the host thread for something and awaits its answer. */
export type AskHost = (op: 'db.acquire' | 'db.query' | 'db.begin' | 'db.commit' | 'db.rollback' | 'db.release', args: unknown[]) => Promise<unknown>;

/**
 * A kysely dialect for a plugin's worker on the embedded database: PGlite serves exactly one
 * connection, held by the host's pool, so the worker cannot open one of its own. Each query is
 * compiled here (SQL and parameters) and sent to the host thread, which runs it on a connection it
 * holds for the worker and answers the rows. Transactions hold that connection until they end; the
 * host rolls back and lets go of what a terminated worker held.
 */
export class MessageDialect implements Dialect {
  constructor(private readonly ask: AskHost) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new MessageDriver(this.ask);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class MessageDriver implements Driver {
  constructor(private readonly ask: AskHost) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const id = (await this.ask('db.acquire', [])) as number;
    return new MessageConnection(id, this.ask);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.ask('db.begin', [(connection as MessageConnection).id, settings.isolationLevel ?? null]);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.ask('db.commit', [(connection as MessageConnection).id]);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.ask('db.rollback', [(connection as MessageConnection).id]);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.ask('db.release', [(connection as MessageConnection).id]);
  }

  async destroy(): Promise<void> {}
}

class MessageConnection implements DatabaseConnection {
  constructor(
    readonly id: number,
    private readonly ask: AskHost,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return (await this.ask('db.query', [this.id, compiledQuery.sql, compiledQuery.parameters])) as QueryResult<R>;
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not available to a plugin worker on the embedded database');
  }
}
