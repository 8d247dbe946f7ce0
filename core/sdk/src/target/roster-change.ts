import { ROSTER_ENTITY_ORDER, type RosterEntity } from '../roster/roster-entity';
import type { RosterRecord } from '../roster/roster-record';

/** What happened to one record between the ledger's last snapshot and this pull. */
export type RosterChangeKind = 'created' | 'updated' | 'deleted';

/** The envelope every change has, whatever its entity and kind. */
interface RosterChangeEnvelope {
  /** Unique and stable: the same change replayed after a crash has the same id. */
  id: string;
  tenantId: string;
  runId: string;
  /** The source contribution id that produced it. */
  source: string;
  occurredAt: string;
  /** Position in the tenant's change log; targets are applied in this order. */
  seq: number;
}

/**
 * A record of entity `E` created or updated: `roster.<entity>.changed@<version>`, with the record.
 * The version is the one the target consumes (its manifest's `consumes`); the record is version 1's
 * canonical record, the only version the engine produces (see {@link RosterContracts}).
 */
export interface RosterWrite<E extends RosterEntity = RosterEntity> extends RosterChangeEnvelope {
  type: `roster.${E}.changed@${number}`;
  data: { entity: E; kind: 'created' | 'updated'; sourcedId: string; record: RosterRecord<E> };
}

/** A record of entity `E` deleted: `roster.<entity>.deleted@<version>`, with the last known record. */
export interface RosterDeletion<E extends RosterEntity = RosterEntity> extends RosterChangeEnvelope {
  type: `roster.${E}.deleted@${number}`;
  data: { entity: E; kind: 'deleted'; sourcedId: string; record: RosterRecord<E> };
}

/**
 * One change as a versioned domain event, discriminated by entity and kind: narrowing on
 * `change.data.entity === 'users'` gives `change.data.record: User`, and on `change.data.kind` a
 * write or a deletion, without casts.
 *
 * ```ts
 * for (const change of batch) if (change.data.entity === 'users') emails.push(change.data.record.email);
 * ```
 */
export type RosterChange<E extends RosterEntity = RosterEntity> = E extends RosterEntity ? RosterWrite<E> | RosterDeletion<E> : never;

/** The name targets have always used for a change: {@link RosterChange}. */
export type RosterChangeEvent<E extends RosterEntity = RosterEntity> = RosterChange<E>;

/**
 * Builds a change from its parts, typed by its entity (the engine's envelopes and tests' batches).
 * `version` is the contract version named in `type` (1 unless a target consumes another).
 */
export function rosterChange<E extends RosterEntity>(
  envelope: RosterChangeEnvelope & { data: { entity: E; kind: RosterChangeKind; sourcedId: string; record: RosterRecord<E> } },
  version = 1,
): RosterChange<E> {
  const { entity, kind } = envelope.data;
  const type = `roster.${entity}.${kind === 'deleted' ? 'deleted' : 'changed'}@${version}`;
  return { ...envelope, type } as RosterChange<E>;
}

/**
 * The changes of `entity` among `batch`, typed by it: one narrowing for a list known to hold one
 * entity (a loader's page) or to pick one entity out of a batch, where a cast would hide a mix-up.
 */
export function changesOf<E extends RosterEntity>(batch: readonly RosterChange[], entity: E): RosterChange<E>[] {
  // The filter keeps exactly the changes whose entity is E; TypeScript cannot follow it through a generic.
  return batch.filter((change) => change.data.entity === entity) as RosterChange<E>[];
}

/** Changes of each entity, typed by entity. */
export type ChangesByEntity = { [E in RosterEntity]?: RosterChange<E>[] };

/** A batch folded for a target: the last change of each record, grouped by entity. */
export interface FoldedBatch {
  /**
   * The last change of each (entity, sourcedId) of the batch, per entity in apply (seq) order of
   * those last changes. An entity without changes has no entry.
   */
  readonly byEntity: ChangesByEntity;
  /** The entities with changes, in referential order. */
  readonly entities: readonly RosterEntity[];
  /** True when every change of the batch is a creation (a first sync): rows may be inserted without looking. */
  readonly allNew: boolean;
  /** How many changes were dropped because a later change of the same record followed in the batch. */
  readonly superseded: number;
  /** The entity's last changes (an empty list when it has none). */
  changes<E extends RosterEntity>(entity: E): RosterChange<E>[];
}

/**
 * Folds a batch for a target: keeps the last change of each (entity, sourcedId) in apply order,
 * groups them by entity, and says whether all the batch's changes are creations.
 */
export function foldChanges(batch: readonly RosterChange[]): FoldedBatch {
  const last = new Map<string, RosterChange>();
  let allNew = true;
  for (const change of batch) {
    if (change.data.kind !== 'created') allNew = false;
    const key = `${change.data.entity}\u0000${change.data.sourcedId}`;
    last.delete(key);
    last.set(key, change);
  }
  const byEntity: Record<string, RosterChange[]> = {};
  for (const change of [...last.values()].sort((a, b) => a.seq - b.seq)) (byEntity[change.data.entity] ??= []).push(change);
  const folded = byEntity as ChangesByEntity;
  return {
    byEntity: folded,
    entities: ROSTER_ENTITY_ORDER.filter((e) => folded[e] !== undefined),
    allNew,
    superseded: batch.length - last.size,
    changes: <E extends RosterEntity>(entity: E) => (folded[entity] ?? []) as RosterChange<E>[],
  };
}

/** A run of consecutive changes of one entity and one direction (writes or deletions), each record's last. */
export type ChangeRun<E extends RosterEntity = RosterEntity> = E extends RosterEntity
  ? | { entity: E; deleted: false; changes: RosterWrite<E>[]; superseded: number }
    | { entity: E; deleted: true; changes: RosterDeletion<E>[]; superseded: number }
  : never;

/**
 * Splits a batch into runs of consecutive changes of one entity and one direction, in order, each
 * keeping the last change of every record (and counting those it dropped): for a target that
 * writes in the order of the log rather than entity by entity.
 */
export function consecutiveRuns(batch: readonly RosterChange[]): ChangeRun[] {
  const runs: { entity: RosterEntity; deleted: boolean; byId: Map<string, RosterChange>; superseded: number }[] = [];
  for (const change of batch) {
    const deleted = change.data.kind === 'deleted';
    let run = runs[runs.length - 1];
    if (!run || run.entity !== change.data.entity || run.deleted !== deleted)
      runs.push((run = { entity: change.data.entity, deleted, byId: new Map(), superseded: 0 }));
    if (run.byId.delete(change.data.sourcedId)) run.superseded++;
    run.byId.set(change.data.sourcedId, change);
  }
  return runs.map((r) => ({ entity: r.entity, deleted: r.deleted, changes: [...r.byId.values()], superseded: r.superseded }) as ChangeRun);
}

/** Whether a change is a write (created or updated), narrowing it. */
export function isRosterWrite<E extends RosterEntity>(change: RosterChange<E>): change is Extract<RosterChange<E>, { data: { kind: 'created' | 'updated' } }> {
  return change.data.kind !== 'deleted';
}
