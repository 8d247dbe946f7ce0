import type { RosterEntity } from '../roster/roster-entity';
import type { TargetCounts } from '../target/roster-target';

/** Where a run stands. */
export type RunStatus = 'queued' | 'running' | 'success' | 'partial' | 'failed' | 'held' | 'cancelled' | 'skipped';

/**
 * How far a run got, for crash recovery: `staging` restages from scratch; `staged` awaits the hold
 * check or an operator; from `applying` on, the ledger is committed and targets catch up by cursor.
 */
export type RunPhase = 'queued' | 'staging' | 'staged' | 'applying' | 'done';

/** Source-side counts of one entity in a run. */
export interface SourceEntityCounts {
  read: number;
  /** Rows the source could not take (each has an error issue); their records keep their last synced version. */
  rejected: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** `tobedeleted` records that were never synced: nothing to delete (each has a warning). */
  skipped: number;
  /** Records a complete read did not send but that were kept, because rejected rows could not be identified (see DELETIONS_HELD). */
  heldBack: number;
}

/** All counts of a run: per entity on the source side, and per target and entity. */
export interface RunCounts {
  source: Partial<Record<RosterEntity, SourceEntityCounts>>;
  targets: Record<
    string,
    {
      status: 'pending' | 'applied' | 'failed' | 'cancelled' | 'skipped';
      errorCode?: string;
      error?: string;
      /** Why a `skipped` target took nothing (its own `pausedReason`). */
      reason?: string;
      entities: Partial<Record<RosterEntity, TargetCounts>>;
      /** The product's figures, as it last reported them ({@link TargetApplyResult.figures}). */
      figures?: Record<string, number>;
    }
  >;
  /**
   * Every issue the run found, stored or not: a run stores the first issues of each code (per
   * source and per target; host config `sync.maxIssuesPerCode`) and counts the rest. The stored
   * issues of a severity (the ISSUES_NOT_STORED summaries among the warnings) plus `notStored` of
   * it make its total, exactly, also after a crash.
   */
  issues: {
    errors: number;
    warnings: number;
    /** Present when some issues were counted but not stored: how many, per severity and per code (each has an ISSUES_NOT_STORED warning). */
    notStored?: { errors: number; warnings: number; byCode: Record<string, number> };
  };
}

/** Why a run was held: which threshold it crossed, with the figures. */
export interface RunHold {
  reason: string;
  thresholds: { maxDeletePercent: number; maxChangePercent: number };
  crossed: { entity: RosterEntity | 'all'; kind: 'delete' | 'change'; count: number; of: number; percent: number }[];
  decidedBy?: string;
  decision?: 'approved' | 'rejected';
}

/** A run as stored and served. */
export interface SyncRun {
  id: string;
  tenantId: string;
  sourceId: string;
  /** `backfill`: no source read; targets are fed from the ledger and the change log only. */
  mode: 'full' | 'delta' | 'backfill';
  dryRun: boolean;
  /**
   * A readiness preview: staged like a real run, then every target's rules run on the changes in a
   * transaction that is rolled back. Its counts and issues are the real ones; nothing is written.
   */
  preview: boolean;
  /** The org sourcedIds (schools) a preview is scoped to: what the targets receive is theirs only. */
  schools?: string[];
  trigger: string;
  targets: string[];
  /** The queue job of a scheduled run, and which attempt of that job the run is (0 first). */
  jobId?: string;
  attempt?: number;
  status: RunStatus;
  phase: RunPhase;
  reason?: string;
  errorCode?: string;
  errorMessage?: string;
  counts: RunCounts;
  hold?: RunHold;
  queuedAt: string;
  startedAt?: string;
  committedAt?: string;
  endedAt?: string;
  durationMs?: number;
}

/** An empty {@link RunCounts}. */
export function emptyRunCounts(targets: readonly string[]): RunCounts {
  return { source: {}, targets: Object.fromEntries(targets.map((t) => [t, { status: 'pending', entities: {} }])), issues: { errors: 0, warnings: 0 } };
}

/** Zeroed target counts. */
export function emptyTargetCounts(): TargetCounts {
  return { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 };
}

/**
 * A run's lifecycle as a domain event, delivered to plugins (`context.onDidRunEvent`): started when
 * a host begins executing it; completed (success, partial, skipped or cancelled), failed or held when
 * it stops. `data` is the run as it then stands, counts and all.
 */
export interface SyncRunEvent {
  /** Unique: `<runId>:<type>`. */
  id: string;
  type: 'sync.run.started' | 'sync.run.completed' | 'sync.run.failed' | 'sync.run.held';
  tenantId: string;
  runId: string;
  /** The source contribution id. */
  source: string;
  occurredAt: string;
  data: SyncRun;
}
