import { type Kysely, sql } from 'kysely';
import type { Disposable } from '../base/lifecycle';
import type { TenantContext } from '../plugin/plugin-context';
import type { RosterEntity } from '../roster/roster-entity';
import type { RosterIssue } from '../roster/roster-issue';
import type { RosterChangeEvent } from './roster-change';

/** Per-entity counts a target reports for what it did with a batch. */
export interface TargetCounts {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  deleted: number;
  errors: number;
}

/** What a target answers for one batch: its counts per entity and the records it could not take. */
export interface TargetApplyResult {
  counts: Partial<Record<RosterEntity, Partial<TargetCounts>>>;
  /** Record-level issues with codes: a record skipped by a product rule, a duplicate email… */
  issues: RosterIssue[];
  /**
   * The product's own code for a result with errors (School Manager's `SCHOOL_MANAGER_…`): the
   * run's error code when it ends partial because of this target's errors. Upper snake case.
   */
  productCode?: string;
  /**
   * Figures the product measures, by name (School Manager's `matchedStudents`): what its summary
   * lines name ({@link TargetSummaryLine.figure}). The run keeps the last value of each.
   */
  figures?: Record<string, number>;
}

/**
 * Takes one entity's whole snapshot into a product that holds none of it yet ({@link RosterTargetSession.load}),
 * streaming: pages are handed over as they are read, and written as the product likes (binary COPY
 * through {@link LoadContext.copy}, say) in the load's transaction.
 */
export interface TargetLoader {
  /**
   * Takes a page of creations, in the order of the snapshot, and writes its rows through the load's
   * {@link LoadContext}. It may resolve before they are written (only to hold back the engine while
   * the product catches up): nothing counts until {@link end}.
   */
  write(batch: readonly RosterChangeEvent[]): Promise<void>;
  /**
   * Writes what remains (through the load's context) and answers like `apply`, for the whole
   * entity. It does not commit: the engine commits the load's transaction together with its record
   * of the load (the target's counts, issues and back-fill position), so a crash leaves either
   * both or neither, and a resumed run loads the entity again from nothing.
   */
  end(): Promise<TargetApplyResult>;
  /** Lets go of what the loader holds (a failure, a cancel); the engine rolls the transaction back. Never rejects. */
  abort?(reason?: string): Promise<void>;
}

/**
 * What the engine gives {@link RosterTargetSession.load}: a transaction of the load's own, on a
 * connection of its own, which the engine commits with its record of the load or rolls back.
 */
export interface LoadContext<DB = any> {
  /**
   * The load's transaction, bound to the plugin's schema. Make every query of the load through it:
   * what it reads sees the rows earlier pages sent (a {@link ProductRowWriter} gathers rows before
   * sending them: `flush()` it first); what it writes counts only once the engine commits.
   */
  readonly trx: Kysely<DB>;
  /**
   * Sends rows by binary COPY into `columns` of a table of the plugin's schema (`table` unqualified)
   * in the load's transaction: `tuples` are encoded by {@link encodeProductRows} or
   * {@link copyTuples}, without the format's header and trailer. Resolves with the rows written.
   */
  copy(table: string, columns: readonly string[], tuples: Buffer): Promise<number>;
}

/**
 * A transaction on a connection of its own, opened by the host for one target's load of one entity
 * (PostgreSQL servers; the embedded database has one connection and no loads). The engine hands
 * plugins a {@link LoadContext} over it, records the load in it, and commits or rolls back.
 */
export interface LoadTransaction<DB> {
  /** Kysely over the transaction (not bound to a schema). */
  readonly db: Kysely<DB>;
  /** {@link LoadContext.copy}, with `table` schema-qualified. */
  copy(table: string, columns: readonly string[], tuples: Buffer): Promise<number>;
  /** Commits (durably) and closes the connection. */
  commit(): Promise<void>;
  /** Rolls back and closes the connection. Never rejects. */
  rollback(): Promise<void>;
}

/** Opens a {@link LoadTransaction}. */
export type OpenLoadTransaction = <DB>() => Promise<LoadTransaction<DB>>;

/** What the engine gives {@link RosterTargetSession.apply} besides the batch. */
export interface ApplyContext {
  /**
   * Runs `work` in the engine's transaction for this batch, bound to the plugin's own schema. In the
   * same transaction the engine then records the target's cursor, its counts so far and `work`'s
   * result (its counts and issues), and commits it all at once: a target that writes its batch
   * this way ({@link batchTransaction}) has each batch applied and reported exactly once, whatever
   * crashes. Call it at most once per batch, return from `apply` what `work` returned, and make
   * every query of the batch through `trx` (on the embedded database it holds the only connection).
   * Absent when the engine cannot offer it: then write in a transaction of your own. `DB` is the
   * plugin's own database type (its tables, as its migrations leave them), which the engine cannot
   * know: `trx` is typed as the caller says, as the plugin's storage `db` is.
   */
  transaction?<DB>(work: (trx: Kysely<DB>) => Promise<TargetApplyResult>): Promise<TargetApplyResult>;
}

/**
 * Runs a target's writes for one batch: in the engine's transaction when it offers one
 * ({@link ApplyContext.transaction}), else in a transaction of the target's own whose commit does
 * not wait for the disk ({@link relaxedTransaction}). `work` returns the batch's result.
 *
 * ```ts
 * apply(batch, signal, context) {
 *   return batchTransaction(this.db, context, async (trx) => this.write(trx, batch)); // → { counts, issues }
 * }
 * ```
 */
export function batchTransaction<DB>(
  db: Kysely<DB>,
  context: ApplyContext | undefined,
  work: (trx: Kysely<DB>) => Promise<TargetApplyResult>,
): Promise<TargetApplyResult> {
  return context?.transaction ? context.transaction<DB>(work) : relaxedTransaction(db, work);
}

/**
 * A target opened for one tenant. `apply` writes one batch of changes into the product's schema and
 * must be idempotent: a target that does not write through the engine's transaction
 * ({@link ApplyContext}) may be delivered a batch again after a crash. Its own transaction's commit
 * need not wait for the disk ({@link relaxCommit}): the engine records the target's cursor after the
 * batch with a durable commit on the same database, which makes the batch durable too (PostgreSQL
 * writes its log in order); until then, a lost batch is delivered again.
 */
export interface RosterTargetSession extends Disposable {
  /**
   * Applies a batch (in seq order, creations and updates in referential order, deletions in reverse).
   * Throwing fails this target for the run (the others go on); a RosterbridgeError whose details
   * carry `productCode` (`SCHOOL_MANAGER_NO_USERS`) gives the target's and the run's error code.
   */
  apply(batch: readonly RosterChangeEvent[], signal: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult>;
  /**
   * Optional, for speed: when the engine back-fills the target (it has no cursor: a first sync, a
   * reset, a newly enabled target) on a PostgreSQL server, it asks, entity by entity in referential
   * order, for a loader to stream the entity's snapshot into ({@link TargetLoader}), giving the
   * load's own transaction ({@link LoadContext}). Answer undefined to be fed by `apply` as usual:
   * say, when the product already holds some of the tenant's records of the entity, or cannot
   * bulk-load. Never asked on the embedded database (its batches are applied, all creations).
   */
  load?(entity: RosterEntity, signal: AbortSignal, context: LoadContext): Promise<TargetLoader | undefined>;
  /** Clears what the product keeps for the tenant's sync state, so the next run behaves as the first. */
  reset(signal: AbortSignal): Promise<void>;
  /**
   * Why the product takes no changes for this tenant now (say, its academic year is not started in
   * the product), or undefined when it does. Asked before each run applies: a paused target is
   * `skipped` with this reason, nothing is sent to it and its cursor stays, so it catches up on the
   * first run after it answers undefined. A run whose targets are all paused ends `skipped`.
   */
  pausedReason?(signal: AbortSignal): Promise<string | undefined>;
  /**
   * Called once a run has applied every batch to this target (also when there was nothing to apply),
   * for checks over the tenant's whole data in the product (say, a school left without an
   * administrator) and work done once per run. Its counts and issues are the run's like apply's.
   */
  finish?(signal: AbortSignal): Promise<TargetApplyResult | undefined>;
}

/**
 * What a target plugin registers for each target it contributes.
 *
 * ```ts
 * context.subscriptions.add(context.registerTarget('kybergate', { open: async (tenant) => new KybergateSession(tenant, context.storage) }));
 * ```
 */
export interface RosterTarget {
  open(tenant: TenantContext, options?: RosterTargetOpenOptions): Promise<RosterTargetSession>;
}

/** How a target session is opened for a run. */
export interface RosterTargetOpenOptions {
  /**
   * The run is a readiness preview: every write the session makes through the host's database is
   * rolled back at the run's end. A session makes no effect outside the database in a preview (no
   * e-mail, no call to the product's service): what it would do counts, nothing happens.
   */
  readonly preview?: boolean;
}

/** Registers a target implementation under its contribution id; dispose to unregister. */
export type RegisterTarget = (contributionId: string, target: RosterTarget) => Disposable;

/**
 * Lets the transaction `trx` commit without waiting for the disk (`set local synchronous_commit =
 * off`). Call it first thing in a target's `apply` or `finish` transaction: the engine's durable
 * commit that follows on the same database (the target's cursor, the run's counts) makes the
 * transaction durable too, as PostgreSQL writes its log in order; until then a lost batch is
 * delivered again. Not for writes that must outlast a crash of the database on their own.
 */
export async function relaxCommit<DB>(trx: Kysely<DB>): Promise<void> {
  await sql`set local synchronous_commit = off`.execute(trx);
}

/** Runs `work` in a transaction of `db` whose commit does not wait for the disk ({@link relaxCommit}). */
export function relaxedTransaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await relaxCommit(trx);
    return work(trx);
  });
}
