import type { ColumnType, Generated } from 'kysely';
import type { RosterChangeKind, RosterEntity, RosterIssueSeverity, RunPhase, RunStatus, SyncRun } from '@rosterbridge/core';

/*
 * The engine's tables in the core schema as kysely sees them once every migration of
 * {@link syncMigrations} has run: what a select returns (as `pg` parses it), what an insert or an
 * update takes. Migrations do not use these types (they must build the schema as it was at their
 * time); a migration that changes a table changes its interface here too.
 */

/**
 * A `bigint` column: `pg` returns int8 as a string (it may not fit a JS number);
 * written as a number, a string or a bigint.
 */
export type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>;

/**
 * A `bigserial` column, or a `bigint` one with a default: an {@link Int8} that inserts may leave out
 * (kysely's `Generated<Int8>` would not unwrap the inner column type).
 */
export type GeneratedInt8 = ColumnType<string, number | string | bigint | undefined, number | string | bigint>;

/**
 * A `jsonb` column: read back parsed; written as JSON text (the engine stringifies what it stores:
 * `pg` would send a JS array as a PostgreSQL array, not as JSON).
 */
export type Jsonb<T> = ColumnType<T, string, string>;

/** Each version of a tenant's records: the snapshot and the change log in one (see {@link Ledger}). */
export interface LedgerVersionTable {
  seq: GeneratedInt8;
  tenant_id: string;
  run_id: string;
  entity: RosterEntity;
  sourced_id: string;
  kind: RosterChangeKind;
  /** Null for a deletion. */
  hash: string | null;
  /** The record's canonical JSON, as text. */
  record: string;
}

/** Each tenant's watermark, how far its log was pruned, and what its snapshot is the reading of. */
export interface LedgerStateTable {
  tenant_id: string;
  committed_seq: Int8;
  pruned_seq: GeneratedInt8;
  source_fingerprint: string | null;
  /** Records per entity in the snapshot. */
  sizes: ColumnType<Partial<Record<RosterEntity, number>>, string | undefined, string>;
}

/** A nullable `timestamptz` column: read back as a Date; written as a Date or an ISO string. */
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A `timestamptz` column that defaults to `now()`. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A sync run. */
export interface RunTable {
  id: string;
  tenant_id: string;
  source_id: string;
  mode: SyncRun['mode'];
  dry_run: Generated<boolean>;
  preview: Generated<boolean>;
  /** The org sourcedIds a preview is scoped to; null: the whole roster. */
  schools: ColumnType<string[] | null, string | null | undefined, string | null>;
  trigger: string;
  /** The target ids. */
  targets: Jsonb<string[]>;
  status: RunStatus;
  phase: RunPhase;
  reason: string | null;
  error_code: string | null;
  error_message: string | null;
  counts: ColumnType<SyncRun['counts'], string | undefined, string>;
  hold: ColumnType<NonNullable<SyncRun['hold']> | null, string | null, string | null>;
  queued_at: DefaultedTimestamp;
  started_at: NullableTimestamp;
  committed_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  /** The host executing the run, and until when its claim holds without a heartbeat. */
  owner: string | null;
  lease_until: NullableTimestamp;
  job_id: string | null;
  attempt: number | null;
  source_fingerprint: string | null;
}

/** A record-level issue a run stored. */
export interface RunIssueTable {
  run_id: string;
  seq: GeneratedInt8;
  target_id: string | null;
  entity: RosterEntity | null;
  sourced_id: string | null;
  file: string | null;
  line: number | null;
  col: number | null;
  field: string | null;
  code: string;
  severity: RosterIssueSeverity;
  message: string;
}

/** Issues a run counted but did not store, per producer ('' for the source), code and severity. */
export interface RunIssueUnstoredTable {
  run_id: string;
  target_id: string;
  code: string;
  severity: RosterIssueSeverity;
  count: Int8;
}

/** The ids a run saw of an entity, one row per staged batch (unlogged). */
export interface RunSeenTable {
  run_id: string;
  entity: RosterEntity;
  /** Ids the source sent as `tobedeleted`. */
  deleted: boolean;
  sourced_ids: string[];
  /** With `deleted`: the snapshot's record of each id, as JSON text. */
  records: string[] | null;
}

/** What a target did in a run up to its cursor. */
export interface RunTargetProgressTable {
  run_id: string;
  target_id: string;
  entities: Jsonb<SyncRun['counts']['targets'][string]['entities']>;
  error_code: string | null;
  finished: Generated<boolean>;
  figures: Jsonb<Record<string, number>> | null;
  backfill_entity: RosterEntity | 'complete' | null;
  backfill_after: string | null;
}

/** Each target's position in its tenant's log. */
export interface TargetCursorTable {
  tenant_id: string;
  target_id: string;
  last_seq: Int8;
  last_run_id: string | null;
  last_sync_at: NullableTimestamp;
}

/** An operator's pause of a tenant. */
export interface TenantStateTable {
  tenant_id: string;
  paused: boolean;
  changed_by: string;
  reason: string | null;
  changed_at: DefaultedTimestamp;
}

/**
 * The engine's tables ({@link syncMigrations}), for a kysely bound to the core schema:
 * `Kysely<EngineDatabase>`.
 */
export interface EngineDatabase {
  ledger_version: LedgerVersionTable;
  ledger_state: LedgerStateTable;
  run: RunTable;
  run_issue: RunIssueTable;
  run_issue_unstored: RunIssueUnstoredTable;
  run_seen: RunSeenTable;
  run_target_progress: RunTargetProgressTable;
  target_cursor: TargetCursorTable;
  tenant_state: TenantStateTable;
}
