import { type Kysely, sql } from 'kysely';
import type { RosterEntity } from '../roster/roster-entity';
import type { RosterRecord } from '../roster/roster-record';
import { contentHash } from './content-hash';
import type { RosterChangeKind } from './roster-target';

/** One staged change, as read back from the change log. */
export interface StagedChange {
  seq: number;
  runId: string;
  entity: RosterEntity;
  sourcedId: string;
  kind: RosterChangeKind;
  record: RosterRecord;
}

/** How one staged batch classified its records (deletions are counted by {@link Ledger.stageDeletions}). */
export interface StageOutcome {
  created: number;
  updated: number;
  unchanged: number;
  /** `tobedeleted` records the ledger never had: nothing to delete. */
  ignored: number;
  /** Records the snapshot already had, sent as current (not `tobedeleted`). */
  known: number;
}

/**
 * Each tenant's last canonical snapshot (a content hash and the record per sourcedId), the change
 * log of staged runs, and every target's cursor into that log. `db` is bound to the core schema.
 *
 * A run stages its changes without touching the snapshot; {@link commit} then moves the snapshot
 * forward in one transaction, and targets are fed from the log by cursor, so a crash at any moment
 * either restages (before commit) or resumes feeding (after).
 */
export class Ledger {
  private readonly db: Kysely<any>;
  private readonly runChange;
  private readonly runSeen;
  private readonly ledgerRecord;
  private readonly targetCursor;

  /** `db` is the host's kysely; `schema` the core schema that holds the ledger's tables. */
  private readonly schemaName: string;

  constructor(db: Kysely<any>, schema: string) {
    this.schemaName = schema;
    this.db = db.withSchema(schema);
    // Raw statements are not rewritten by withSchema: they name their tables in full.
    this.runChange = sql.table(`${schema}.run_change`);
    this.runSeen = sql.table(`${schema}.run_seen`);
    this.ledgerRecord = sql.table(`${schema}.ledger_record`);
    this.targetCursor = sql.table(`${schema}.target_cursor`);
  }

  /**
   * Classifies a batch of one entity against the snapshot and appends its creations and updates to
   * the run's log. `tobedeleted` records are only marked: deletions are staged after every entity
   * was read ({@link stageDeletions}), in reverse referential order. With `trackSeen` (full runs),
   * every sourcedId is remembered so that what the source no longer sends is found too.
   */
  async stage(tenantId: string, runId: string, entity: RosterEntity, records: readonly RosterRecord[], trackSeen: boolean): Promise<StageOutcome> {
    const outcome: StageOutcome = { created: 0, updated: 0, unchanged: 0, ignored: 0, known: 0 };
    if (records.length === 0) return outcome;
    const ids = records.map((r) => r.sourcedId);
    const known = new Map<string, string>();
    const rows = await this.db
      .selectFrom('ledger_record')
      .select(['sourced_id', 'hash'])
      .where('tenant_id', '=', tenantId)
      .where('entity', '=', entity)
      .where('sourced_id', '=', sql<string>`any(${ids}::text[])`)
      .execute();
    for (const row of rows) known.set(row.sourced_id, row.hash);

    const changes: { sourcedId: string; kind: RosterChangeKind; hash: string; record: string }[] = [];
    const seen: string[] = [];
    const seenDeleted: string[] = [];
    for (const record of records) {
      const previous = known.get(record.sourcedId);
      if (record.status === 'tobedeleted') {
        if (previous === undefined) outcome.ignored++;
        else seenDeleted.push(record.sourcedId);
        continue;
      }
      if (trackSeen) seen.push(record.sourcedId);
      if (previous !== undefined) outcome.known++;
      const hash = contentHash(record);
      if (previous === hash) outcome.unchanged++;
      else {
        const kind: RosterChangeKind = previous === undefined ? 'created' : 'updated';
        outcome[kind]++;
        changes.push({ sourcedId: record.sourcedId, kind, hash, record: JSON.stringify(record) });
      }
    }
    if (changes.length > 0) {
      await sql`
        insert into ${this.runChange} (tenant_id, run_id, entity, sourced_id, kind, hash, record)
        select ${tenantId}, ${runId}::uuid, ${entity}, c.sourced_id, c.kind, c.hash, c.record::jsonb
        from unnest(${changes.map((c) => c.sourcedId)}::text[], ${changes.map((c) => c.kind)}::text[],
                    ${changes.map((c) => c.hash)}::text[], ${changes.map((c) => c.record)}::text[])
             as c(sourced_id, kind, hash, record)`.execute(this.db);
    }
    const seenRows = [
      ...(seen.length > 0 ? [{ run_id: runId, entity, deleted: false, sourced_ids: seen }] : []),
      ...(seenDeleted.length > 0 ? [{ run_id: runId, entity, deleted: true, sourced_ids: seenDeleted }] : []),
    ];
    if (seenRows.length > 0) await this.db.insertInto('run_seen').values(seenRows).execute();
    return outcome;
  }

  /**
   * Appends the deletions of `entity` to the run's log, with the last known record: the records the
   * source marked `tobedeleted` and, after a complete full read (`complete`), every snapshot record
   * the source did not send. Call it per entity in reverse referential order. Returns how many.
   */
  async stageDeletions(tenantId: string, runId: string, entity: RosterEntity, complete: boolean, knownSeen?: number): Promise<number> {
    if (complete && knownSeen !== undefined) {
      // Every snapshot record was sent again as current: nothing is gone, no need to look.
      const [size] = await this.db.selectFrom('ledger_record').select(sql<string>`count(*)`.as('n')).where('tenant_id', '=', tenantId).where('entity', '=', entity).execute();
      if (Number(size?.n ?? 0) === knownSeen) return 0;
    }
    const seen = sql`select unnest(s.sourced_ids) as sourced_id from ${this.runSeen} s where s.run_id = ${runId}::uuid and s.entity = ${entity} and s.deleted = ${!complete}`;
    const result = complete
      ? await sql`
          insert into ${this.runChange} (tenant_id, run_id, entity, sourced_id, kind, hash, record)
          select l.tenant_id, ${runId}::uuid, l.entity, l.sourced_id, 'deleted', null, l.record
          from ${this.ledgerRecord} l
          where l.tenant_id = ${tenantId} and l.entity = ${entity}
            and not exists (select 1 from (${seen}) s where s.sourced_id = l.sourced_id)
          order by l.sourced_id`.execute(this.db)
      : await sql`
          insert into ${this.runChange} (tenant_id, run_id, entity, sourced_id, kind, hash, record)
          select l.tenant_id, ${runId}::uuid, l.entity, l.sourced_id, 'deleted', null, l.record
          from ${this.ledgerRecord} l
          where l.tenant_id = ${tenantId} and l.entity = ${entity}
            and l.sourced_id in (${seen})
          order by l.sourced_id`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  /**
   * Refreshes the planner's statistics of the tables a run just filled. Without them a freshly
   * filled `run_seen` looks empty and the deletion anti-join becomes a nested loop (seconds per
   * thousand records instead of milliseconds).
   */
  async analyze(): Promise<void> {
    await sql`analyze ${this.runSeen}`.execute(this.db);
  }

  /** How many records of each entity the tenant's snapshot holds. */
  async sizes(tenantId: string): Promise<Partial<Record<RosterEntity, number>>> {
    const rows = await this.db
      .selectFrom('ledger_record')
      .select(['entity', sql<string>`count(*)`.as('n')])
      .where('tenant_id', '=', tenantId)
      .groupBy('entity')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.entity, Number(r.n)]));
  }

  /** Forgets what a run staged (a failed, cancelled, rejected or dry run). */
  async discard(runId: string): Promise<void> {
    await this.db.deleteFrom('run_change').where('run_id', '=', runId).execute();
    await this.db.deleteFrom('run_seen').where('run_id', '=', runId).execute();
  }

  /**
   * Moves the snapshot forward by a staged run, in one transaction with `andThen` (the run's phase
   * change), so the snapshot and the run's state never disagree.
   */
  async commit(runId: string, andThen: (trx: Kysely<any>) => Promise<void>): Promise<void> {
    let moved = 0;
    await this.db.transaction().execute(async (trx) => {
      // A run stages each record at most once (a file's sourcedIds are unique, and a run that
      // restages discards what it staged before), so no ordering or de-duplication is needed: a
      // million-row sort spilled to disk was most of a first sync's commit.
      const written = await sql`
        insert into ${this.ledgerRecord} (tenant_id, entity, sourced_id, hash, record, run_id)
        select tenant_id, entity, sourced_id, hash, record, run_id from ${this.runChange}
        where run_id = ${runId}::uuid and kind <> 'deleted'
        on conflict (tenant_id, entity, sourced_id)
        do update set hash = excluded.hash, record = excluded.record, run_id = excluded.run_id, updated_at = now()`.execute(trx);
      const deleted = await sql`
        delete from ${this.ledgerRecord} l using ${this.runChange} c
        where c.run_id = ${runId}::uuid and c.kind = 'deleted'
          and l.tenant_id = c.tenant_id and l.entity = c.entity and l.sourced_id = c.sourced_id`.execute(trx);
      moved = Number(written.numAffectedRows ?? 0) + Number(deleted.numAffectedRows ?? 0);
      await trx.deleteFrom('run_seen').where('run_id', '=', runId).execute();
      await andThen(trx);
    });
    // A snapshot that just grew (a first sync) or shrank a lot would otherwise keep the planner's
    // picture of it from before, and the next run's lookups by sourcedId would scan instead of seek.
    // A change small beside the table (a delta) is left to autovacuum: analyzing costs a second at a
    // million records.
    if (moved >= 10_000) {
      const { rows } = await sql<{ n: number }>`select reltuples::float8 as n from pg_class where oid = ${`${this.schemaName}.ledger_record`}::regclass`.execute(this.db);
      if (moved >= 0.1 * Math.max(0, Number(rows[0]?.n ?? 0))) await sql`analyze ${this.ledgerRecord}`.execute(this.db);
    }
  }

  /**
   * The next changes of the tenant's committed log after `afterSeq`, in order. Only committed runs
   * are read: a staged or held run's changes are not there yet.
   */
  async changesAfter(tenantId: string, afterSeq: number, limit: number): Promise<StagedChange[]> {
    const rows = await this.db
      .selectFrom('run_change as c')
      .innerJoin('run as r', 'r.id', 'c.run_id')
      .select(['c.seq', 'c.run_id', 'c.entity', 'c.sourced_id', 'c.kind', 'c.record'])
      .where('c.tenant_id', '=', tenantId)
      .where('c.seq', '>', String(afterSeq))
      .where('r.committed_at', 'is not', null)
      .orderBy('c.seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      runId: r.run_id,
      entity: r.entity,
      sourcedId: r.sourced_id,
      kind: r.kind,
      record: reviveRecord(typeof r.record === 'string' ? JSON.parse(r.record) : r.record),
    }));
  }

  /** The highest seq of the tenant's committed log (0 when empty). */
  async lastCommittedSeq(tenantId: string): Promise<number> {
    const row = await this.db
      .selectFrom('run_change as c')
      .innerJoin('run as r', 'r.id', 'c.run_id')
      .select(sql<string>`coalesce(max(c.seq), 0)`.as('seq'))
      .where('c.tenant_id', '=', tenantId)
      .where('r.committed_at', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.seq);
  }

  /** A target's position in the tenant's log, or undefined before its first sync (or after a reset). */
  async cursor(tenantId: string, targetId: string): Promise<{ lastSeq: number; lastSyncAt?: string } | undefined> {
    const row = await this.db.selectFrom('target_cursor').selectAll().where('tenant_id', '=', tenantId).where('target_id', '=', targetId).executeTakeFirst();
    return row && { lastSeq: Number(row.last_seq), ...(row.last_sync_at ? { lastSyncAt: new Date(row.last_sync_at).toISOString() } : {}) };
  }

  /** Moves a target's cursor forward (never back). */
  async advanceCursor(tenantId: string, targetId: string, lastSeq: number, runId: string): Promise<void> {
    await sql`
      insert into ${this.targetCursor} as tc (tenant_id, target_id, last_seq, last_run_id, last_sync_at)
      values (${tenantId}, ${targetId}, ${lastSeq}, ${runId}::uuid, now())
      on conflict (tenant_id, target_id) do update
        set last_seq = greatest(tc.last_seq, excluded.last_seq), last_run_id = excluded.last_run_id, last_sync_at = now()`.execute(this.db);
  }

  /** Forgets a target's cursor: its next run starts from the snapshot, as a first run. */
  async resetCursor(tenantId: string, targetId: string): Promise<void> {
    await this.db.deleteFrom('target_cursor').where('tenant_id', '=', tenantId).where('target_id', '=', targetId).execute();
  }

  /** The snapshot of one entity in sourcedId pages, for back-filling a target that has no cursor. */
  async snapshot(tenantId: string, entity: RosterEntity, afterSourcedId: string, limit: number): Promise<RosterRecord[]> {
    const rows = await this.db
      .selectFrom('ledger_record')
      .select('record')
      .where('tenant_id', '=', tenantId)
      .where('entity', '=', entity)
      .where('sourced_id', '>', afterSourcedId)
      .orderBy('sourced_id')
      .limit(limit)
      .execute();
    return rows.map((r) => reviveRecord(typeof r.record === 'string' ? JSON.parse(r.record) : r.record));
  }

  /** Drops change-log rows every target of the tenant has passed. */
  async pruneApplied(tenantId: string, targetIds: readonly string[]): Promise<void> {
    if (targetIds.length === 0) return;
    const row = await this.db
      .selectFrom('target_cursor')
      .select(sql<string>`min(last_seq)`.as('seq'))
      .where('tenant_id', '=', tenantId)
      .where('target_id', 'in', targetIds)
      .executeTakeFirst();
    const cursors = await this.db.selectFrom('target_cursor').select('target_id').where('tenant_id', '=', tenantId).where('target_id', 'in', targetIds).execute();
    if (!row?.seq || cursors.length < targetIds.length) return;
    await this.db.deleteFrom('run_change').where('tenant_id', '=', tenantId).where('seq', '<=', row.seq).execute();
  }
}

/** A record as stored in jsonb, with its instant fields turned back into Dates. */
export function reviveRecord(json: Record<string, unknown>): RosterRecord {
  if (typeof json.dateLastModified === 'string') json.dateLastModified = new Date(json.dateLastModified);
  return json as unknown as RosterRecord;
}
