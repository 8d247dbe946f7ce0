import type { Kysely } from 'kysely';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '../roster/roster-entity';
import type { RosterIssue } from '../roster/roster-issue';
import { type FoldedBatch, type RosterChange, type RosterDeletion, type RosterWrite, foldChanges } from './roster-change';
import { type ApplyContext, type RosterTargetSession, type TargetApplyResult, type TargetCounts, batchTransaction } from './roster-target';

/** What an entity hook did: its counts for the entity, and the records it could not take. */
export interface EntityOutcome {
  counts?: Partial<TargetCounts>;
  issues?: RosterIssue[];
}

/** What an entity hook is given besides its changes. */
export interface EntityHookContext<DB = any> {
  /** The batch's transaction (the engine's when it offers one). */
  trx: Kysely<DB>;
  /** The whole folded batch: `allNew`, the other entities' changes. */
  batch: FoldedBatch;
  signal: AbortSignal;
}

/** A target's per-entity hooks: writes in referential order, then deletions in reverse. */
export type TargetEntityHooks<DB = any> = {
  [E in RosterEntity]?: {
    /** The entity's creations and updates (each record's last change), in seq order. */
    write?(changes: RosterWrite<E>[], context: EntityHookContext<DB>): Promise<EntityOutcome | void>;
    /** The entity's deletions (each record's last change), with the last known records. */
    delete?(changes: RosterDeletion<E>[], context: EntityHookContext<DB>): Promise<EntityOutcome | void>;
  };
};

/**
 * A target session with the defaults a product needs least: `apply` folds the batch
 * ({@link foldChanges}) and, in the batch's transaction ({@link batchTransaction}), calls the
 * session's {@link hooks}, typed by entity: writes in referential order, then deletions in reverse.
 * An entity without a hook is not written (and not counted). `reset` is left to the product;
 * `dispose` does nothing; no pause and no `finish` unless a subclass adds them.
 *
 * ```ts
 * class MemoSession extends TargetSessionBase {
 *   protected readonly hooks: TargetEntityHooks = {
 *     users: { write: async (changes, { trx }) => ({ counts: { created: await insertUsers(trx, changes.map((c) => c.data.record)) } }) },
 *   };
 * }
 * ```
 */
export abstract class TargetSessionBase<DB = any> implements RosterTargetSession {
  /** The product's database (the plugin's storage): batches not written in the engine's transaction use it. */
  protected abstract readonly db: Kysely<DB>;
  /** What the session does with each entity's changes. */
  protected abstract readonly hooks: TargetEntityHooks<DB>;

  async apply(batch: readonly RosterChange[], signal: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult> {
    const folded = foldChanges(batch);
    return batchTransaction(this.db, context, (trx) => this.applyFolded(folded, { trx, batch: folded, signal }));
  }

  abstract reset(signal: AbortSignal): Promise<void>;

  dispose(): void | Promise<void> {}

  /** Calls the hooks for a folded batch and sums what they answer. */
  protected async applyFolded(folded: FoldedBatch, context: EntityHookContext<DB>): Promise<TargetApplyResult> {
    const result: TargetApplyResult = { counts: {}, issues: [] };
    const take = (entity: RosterEntity, outcome: EntityOutcome | void) => {
      if (!outcome) return;
      if (outcome.counts) {
        const sum = (result.counts[entity] ??= {});
        for (const [k, n] of Object.entries(outcome.counts) as [keyof TargetCounts, number][]) sum[k] = (sum[k] ?? 0) + n;
      }
      if (outcome.issues) result.issues.push(...outcome.issues);
    };
    for (const entity of ROSTER_ENTITY_ORDER) {
      const writes = folded.changes(entity).filter((c) => c.data.kind !== 'deleted');
      if (writes.length > 0) take(entity, await this.callHook(entity, 'write', writes, context));
    }
    for (const entity of [...ROSTER_ENTITY_ORDER].reverse()) {
      const deletions = folded.changes(entity).filter((c) => c.data.kind === 'deleted');
      if (deletions.length > 0) take(entity, await this.callHook(entity, 'delete', deletions, context));
    }
    return result;
  }

  private callHook(entity: RosterEntity, kind: 'write' | 'delete', changes: RosterChange[], context: EntityHookContext<DB>): Promise<EntityOutcome | void> {
    // The map type ties each entity's hook to its own changes; the lookup by a runtime entity cannot say so.
    const hook = (
      this.hooks[entity] as { [K in 'write' | 'delete']?: (changes: RosterChange[], context: EntityHookContext<DB>) => Promise<EntityOutcome | void> }
    )?.[kind];
    return hook ? hook(changes, context) : Promise.resolve();
  }
}
