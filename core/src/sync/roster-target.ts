import type { Disposable } from '../base/lifecycle';
import type { TenantContext } from '../plugin/plugin-context';
import type { RosterEntity } from '../roster/roster-entity';
import type { RosterIssue } from '../roster/roster-issue';
import type { RosterRecord } from '../roster/roster-record';

/** What happened to one record between the ledger's last snapshot and this pull. */
export type RosterChangeKind = 'created' | 'updated' | 'deleted';

/**
 * One change as a versioned domain event: `roster.<entity>.changed@1` (created or updated, with the
 * record) or `roster.<entity>.deleted@1` (with the last known record).
 */
export interface RosterChangeEvent<E extends RosterEntity = RosterEntity> {
  /** Unique and stable: the same change replayed after a crash has the same id. */
  id: string;
  type: `roster.${E}.changed@1` | `roster.${E}.deleted@1`;
  tenantId: string;
  runId: string;
  /** The source contribution id that produced it. */
  source: string;
  occurredAt: string;
  /** Position in the tenant's change log; targets are applied in this order. */
  seq: number;
  data: { entity: E; kind: RosterChangeKind; sourcedId: string; record: RosterRecord<E> };
}

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
}

/**
 * A target opened for one tenant. `apply` writes one batch of changes into the product's schema in
 * its own transaction and must be idempotent: the engine may deliver a batch again after a crash.
 */
export interface RosterTargetSession extends Disposable {
  /**
   * Applies a batch (in seq order, creations and updates in referential order, deletions in reverse).
   * Throwing fails this target for the run (the others go on); a RosterbridgeError whose details
   * carry `productCode` (`SCHOOL_MANAGER_NO_USERS`) gives the target's and the run's error code.
   */
  apply(batch: readonly RosterChangeEvent[], signal: AbortSignal): Promise<TargetApplyResult>;
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
  open(tenant: TenantContext): Promise<RosterTargetSession>;
}

/** Registers a target implementation under its contribution id; dispose to unregister. */
export type RegisterTarget = (contributionId: string, target: RosterTarget) => Disposable;
