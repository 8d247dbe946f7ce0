import { type Kysely, sql } from 'kysely';
import type { EngineDatabase } from './engine-database';
import {
  canonicalRecord,
  type CanonicalRecord,
  copyTuples,
  type OpenCopy,
  relaxedTransaction,
  type RosterChangeKind,
  type RosterEntity,
  type RosterRecord,
} from '@rosterbridge/core';

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
  /** Records as the snapshot has them, and `tobedeleted` records whose deletion the snapshot already has. */
  unchanged: number;
  /** `tobedeleted` records the ledger never had: nothing to delete (the engine warns of each). */
  ignored: number;
  /** Their sourcedIds. */
  ignoredIds: string[];
  /** The batch's rejected sourcedIds the snapshot holds: each keeps its last synced version. */
  keptIds: string[];
  /** Records the snapshot already had, sent as current (not `tobedeleted`). */
  known: number;
  /** `tobedeleted` records the snapshot has: their deletions are staged by {@link Ledger.stageDeletions}. */
  marked: number;
}

/** How {@link Ledger.prepare} stages a batch. */
export interface PrepareOptions {
  /** The snapshot holds none of the entity (see {@link Ledger.isEmpty}): every record is a creation. */
  snapshotEmpty: boolean;
  /**
   * A full run: every sourcedId is remembered, so that what the source no longer sends is found
   * too. In any run the look-up keeps the snapshot's record of each `tobedeleted` key, for
   * {@link Ledger.stageDeletions} (a delta's deletions, or a full run's whose absences are held).
   */
  trackSeen: boolean;
  /**
   * The sourcedIds of the batch's rejected rows ({@link RosterBatch.rejectedIds}): looked up with
   * the batch, and in a full run remembered as seen, so that a rejected row never becomes a deletion.
   */
  rejectedIds?: readonly string[];
}

/** What {@link Ledger.stageDeletions} needs to know of the entity's read. */
export interface DeletionScope {
  /** A complete full read: every snapshot record the source did not send is gone (unless `unidentified`). */
  complete: boolean;
  /**
   * Rejected rows whose sourcedId could not be read: any record might be one of them, so nothing is
   * deleted for its absence (only what the source marked `tobedeleted`).
   */
  unidentified: number;
  /** How many snapshot records the read sent as current (when it equals the snapshot's size, nothing is gone). */
  knownSeen: number;
  /** The snapshot held none of the entity before the run. */
  snapshotEmpty: boolean;
  /** How many `tobedeleted` records the snapshot has ({@link StageOutcome.marked}); none: nothing to stage (a delta). */
  marked: number;
}

/** A batch ready to stage: see {@link Ledger.prepare}. */
export interface PreparedBatch {
  /** Each record's content hash and the JSON to store (undefined for `tobedeleted` records). */
  canonical: (CanonicalRecord | undefined)[];
  /**
   * The snapshot's hashes of the batch's records and rejected sourcedIds, being looked up (a
   * snapshot that is not empty); null for a key whose latest version is a deletion.
   */
  known?: Promise<Map<string, string | null>>;
  /** With an empty snapshot: the batch's creations, ready to write, and how it classifies. */
  payload?: ChangePayload;
  outcome?: StageOutcome;
}

/** One change to write. */
interface ChangeRow {
  sourcedId: string;
  kind: RosterChangeKind;
  hash: string;
  /** The record's canonical JSON ({@link canonicalRecord}). */
  json: string;
}

/**
 * A batch of changes ready to write: binary COPY tuples when the database takes COPY, else one JSON
 * document (for INSERT … json_to_recordset).
 */
export type ChangePayload = string | Buffer;

/**
 * Where a run's staged versions go: one COPY for the whole run on a PostgreSQL server (opened at
 * the first write, so the database takes rows while the source is read), one INSERT per batch on
 * the embedded database. Close it before deletions are staged; abort it when the read fails.
 */
export interface StagingWriter {
  write(entity: RosterEntity, payload: ChangePayload): Promise<void>;
  /** Commits what was written. */
  close(): Promise<void>;
  /** Drops what was written (when the COPY was still open). Never rejects. */
  abort(reason?: string): Promise<void>;
}

const COPY_COLUMNS = ['tenant_id', 'run_id', 'entity', 'sourced_id', 'kind', 'hash', 'record'] as const;
const COPY_KINDS = ['text', 'uuid', 'text', 'text', 'text', 'text', 'text'] as const;

/**
 * Each tenant's canonical snapshot, its change log, and every target's cursor into that log, kept as
 * one table of record versions (`ledger_version`). A run stages a version for every record it
 * creates, changes or deletes; {@link commit} then moves the tenant's watermark past them in one
 * transaction. The snapshot is each key's latest version at or below the watermark (unless that is
 * a deletion); the change log is the versions in `seq` order. So a changed record is written once,
 * and a crash at any moment either restages (before commit) or resumes feeding targets (after).
 *
 * A tenant has at most one run with versions above its watermark (one active run per tenant): the
 * run staging, or held.
 */
export class Ledger {
  private readonly db: Kysely<EngineDatabase>;
  private readonly version;
  private readonly runSeen;
  private readonly state;
  private readonly targetCursor;

  /** The core schema that holds the ledger's tables (and the run store's). */
  readonly schemaName: string;

  private readonly openCopy?: OpenCopy;

  /** `db` is the host's kysely; `schema` the core schema that holds the ledger's tables. */
  constructor(db: Kysely<EngineDatabase>, schema: string, options: { openCopy?: OpenCopy } = {}) {
    this.schemaName = schema;
    this.openCopy = options.openCopy;
    this.db = db.withSchema(schema);
    // Raw statements are not rewritten by withSchema: they name their tables in full.
    this.version = sql.table(`${schema}.ledger_version`);
    this.runSeen = sql.table(`${schema}.run_seen`);
    this.state = sql.table(`${schema}.ledger_state`);
    this.targetCursor = sql.table(`${schema}.target_cursor`);
  }

  /** The tenant's watermark: the highest seq of a committed version (a subquery). */
  private watermark(tenantId: string) {
    return sql<string>`coalesce((select committed_seq from ${this.state} where tenant_id = ${tenantId}), 0)`;
  }

  /**
   * The snapshot's latest versions of one entity (a subquery with `sourced_id`, `kind`, `hash`,
   * `record`), deletions included: callers leave out `kind = 'deleted'`.
   */
  private latest(tenantId: string, entity: RosterEntity, where = sql`true`, limit?: number) {
    // The limit belongs here, not around the subquery: it is what makes the planner walk the key
    // index in order instead of sorting every version (it cannot tell how few rows `seq <=` drops).
    return sql`
      select distinct on (sourced_id) tenant_id, entity, sourced_id, kind, hash, record from ${this.version}
      where tenant_id = ${tenantId} and entity = ${entity} and seq <= ${this.watermark(tenantId)} and ${where}
      order by sourced_id, seq desc${limit === undefined ? sql`` : sql` limit ${limit}`}`;
  }

  /** The source fingerprint the tenant's snapshot is the complete reading of, if any (see {@link commit}). */
  async sourceFingerprint(tenantId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('ledger_state').select('source_fingerprint').where('tenant_id', '=', tenantId).executeTakeFirst();
    return row?.source_fingerprint ?? undefined;
  }

  /** Whether the tenant's snapshot holds no record of `entity` (a first sync of it: nothing to look up). */
  async isEmpty(tenantId: string, entity: RosterEntity): Promise<boolean> {
    // Ordered as the key index is, so that it is walked (a sequential scan would pass every
    // version of the entities before this one first).
    const { rows } =
      await sql`select 1 from ${this.version} where tenant_id = ${tenantId} and entity = ${entity} and seq <= ${this.watermark(tenantId)} order by sourced_id limit 1`.execute(
        this.db,
      );
    return rows.length === 0;
  }

  /**
   * The first part of staging a batch, done while the previous batch is still being written: every
   * record's content hash and, when the snapshot is empty (`snapshotEmpty`: every record is a
   * creation), the whole batch as the payload {@link stage} writes; otherwise the look-up of the
   * batch's records in the snapshot is started.
   */
  prepare(tenantId: string, runId: string, entity: RosterEntity, records: readonly RosterRecord[], options: PrepareOptions): PreparedBatch {
    const canonical = records.map((r) => (r.status === 'tobedeleted' ? undefined : canonicalRecord(r)));
    if (!options.snapshotEmpty) {
      // The snapshot's hashes of the batch are asked for now, while the batch before is still
      // being staged: the database looks up two batches at once.
      const known = this.lookUp(tenantId, runId, entity, records, options.rejectedIds ?? []);
      known.catch(() => undefined); // awaited by stage (or by the engine, if the run stops first)
      return { canonical, known };
    }
    const outcome = emptyOutcome();
    const changes: ChangeRow[] = [];
    records.forEach((record, i) => {
      const c = canonical[i];
      if (c === undefined) {
        outcome.ignored++;
        outcome.ignoredIds.push(record.sourcedId);
      } else {
        outcome.created++;
        changes.push({ sourcedId: record.sourcedId, kind: 'created', hash: c.hash, json: c.json });
      }
    });
    return { canonical, ...(changes.length > 0 ? { payload: this.encode(tenantId, runId, entity, changes) } : {}), outcome };
  }

  /**
   * Classifies a batch of one entity against the snapshot and appends its creations and updates to
   * the run's versions. `tobedeleted` records are only counted (and, in a delta, kept by the
   * look-up): deletions are staged after every entity was read ({@link stageDeletions}), in reverse
   * referential order. With `trackSeen` (full runs), every sourcedId is remembered so that what the
   * source no longer sends is found too. `prepared` comes from {@link prepare}; prepared with
   * `snapshotEmpty` (from {@link isEmpty} before the read), the batch is written as it is: nothing
   * is looked up or remembered.
   */
  async stage(
    writer: StagingWriter,
    tenantId: string,
    runId: string,
    entity: RosterEntity,
    records: readonly RosterRecord[],
    trackSeen: boolean,
    prepared?: PreparedBatch,
    rejectedIds: readonly string[] = [],
  ): Promise<StageOutcome> {
    prepared ??= this.prepare(tenantId, runId, entity, records, { snapshotEmpty: false, trackSeen, rejectedIds });
    if (prepared.outcome) {
      if (prepared.payload) await writer.write(entity, prepared.payload);
      return { ...prepared.outcome };
    }
    const outcome = emptyOutcome();
    if (records.length === 0 && rejectedIds.length === 0) return outcome;
    const known = await (prepared.known ?? this.lookUp(tenantId, runId, entity, records, rejectedIds));

    const changes: ChangeRow[] = [];
    // A rejected row is never evidence of a deletion: its record counts as seen (a full read).
    const seen: string[] = trackSeen ? [...rejectedIds] : [];
    for (const id of new Set(rejectedIds)) if (typeof known.get(id) === 'string') outcome.keptIds.push(id);
    records.forEach((record, i) => {
      const found = known.get(record.sourcedId);
      const c = prepared.canonical[i];
      if (c === undefined) {
        // tobedeleted: the look-up kept its record, for a delta's deletions (a full read's end
        // finds it gone unless the entity's absences are held); already deleted: nothing changes.
        if (found === undefined) {
          outcome.ignored++;
          outcome.ignoredIds.push(record.sourcedId);
        } else if (found === null) outcome.unchanged++;
        else outcome.marked++;
        return;
      }
      const previous = found ?? undefined;
      if (trackSeen) seen.push(record.sourcedId);
      if (previous !== undefined) outcome.known++;
      if (previous === c.hash) outcome.unchanged++;
      else {
        const kind: RosterChangeKind = previous === undefined ? 'created' : 'updated';
        outcome[kind]++;
        changes.push({ sourcedId: record.sourcedId, kind, hash: c.hash, json: c.json });
      }
    });
    if (changes.length > 0) await writer.write(entity, this.encode(tenantId, runId, entity, changes));
    // run_seen is unlogged: its commit has nothing to wait for (no transaction needed to relax it).
    if (seen.length > 0) await this.db.insertInto('run_seen').values({ run_id: runId, entity, deleted: false, sourced_ids: seen }).execute();
    return outcome;
  }

  /**
   * The snapshot's hash of each of the records (and rejected sourcedIds) it has, by sourcedId: null
   * for a key whose latest version is a deletion. The snapshot's record of each `tobedeleted` key it
   * holds is kept in `run_seen` by the same statement, for {@link stageDeletions}: the rows are read once.
   */
  private async lookUp(
    tenantId: string,
    runId: string,
    entity: RosterEntity,
    records: readonly RosterRecord[],
    rejectedIds: readonly string[],
  ): Promise<Map<string, string | null>> {
    const ids = records.map((r) => r.sourcedId);
    if (rejectedIds.length > 0) ids.push(...rejectedIds);
    const tombstones = records.filter((r) => r.status === 'tobedeleted').map((r) => r.sourcedId);
    const latest = this.latest(tenantId, entity, sql`sourced_id = any(${ids}::text[])`);
    type Row = { sourced_id: string; hash: string | null; kind: string };
    const { rows } =
      tombstones.length === 0
        ? await sql<Row>`select l.sourced_id, l.hash, l.kind from (${latest}) l`.execute(this.db)
        : // One statement (run_seen is unlogged: its commit waits for nothing).
          await sql<Row>`
            with l as materialized (${latest}),
            kept as (
              insert into ${this.runSeen} (run_id, entity, deleted, sourced_ids, records)
              select ${runId}::uuid, ${entity}, true, array_agg(l.sourced_id order by l.sourced_id), array_agg(l.record order by l.sourced_id)
              from l where l.kind <> 'deleted' and l.sourced_id = any(${tombstones}::text[])
              having count(*) > 0)
            select l.sourced_id, l.hash, l.kind from l`.execute(this.db);
    return new Map(rows.map((row) => [row.sourced_id, row.kind === 'deleted' ? null : row.hash]));
  }

  /**
   * Which of `ids` the snapshot holds ('current') or last saw deleted ('deleted'); the rest it never
   * had (or has forgotten the deletion of). For a read that stages nothing (an unchanged source).
   */
  async states(tenantId: string, entity: RosterEntity, ids: readonly string[]): Promise<Map<string, 'current' | 'deleted'>> {
    if (ids.length === 0) return new Map();
    const { rows } = await sql<{ sourced_id: string; kind: string }>`
      select l.sourced_id, l.kind from (${this.latest(tenantId, entity, sql`sourced_id = any(${[...ids]}::text[])`)}) l`.execute(this.db);
    return new Map(rows.map((r) => [r.sourced_id, r.kind === 'deleted' ? 'deleted' : 'current']));
  }

  /**
   * How many snapshot records of `entity` a complete full read did not send (neither as a record
   * nor as a rejected row): the deletions held back when its absences cannot be trusted.
   */
  async countUnseen(tenantId: string, runId: string, entity: RosterEntity): Promise<number> {
    const seen = sql`select unnest(s.sourced_ids) as sourced_id from ${this.runSeen} s where s.run_id = ${runId}::uuid and s.entity = ${entity} and not s.deleted`;
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from (${this.latest(tenantId, entity)}) l
      where l.kind <> 'deleted' and not exists (select 1 from (${seen}) s where s.sourced_id = l.sourced_id)`.execute(this.db);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Runs staging writes in a transaction whose commit does not wait for the disk: what a run stages
   * counts only once {@link commit} (durable) moves the watermark, and that commit flushes the log
   * up to itself, these writes included. Waiting for the disk at each batch would also wait for the
   * log the run's COPY has written meanwhile.
   */
  private relaxed<T>(write: (trx: Kysely<EngineDatabase>) => Promise<T>): Promise<T> {
    return relaxedTransaction(this.db, write);
  }

  private encode(tenantId: string, runId: string, entity: RosterEntity, changes: readonly ChangeRow[]): ChangePayload {
    // The records go as they are, already JSON (an array of objects for json_to_recordset).
    if (!this.openCopy)
      return `[${changes.map((c) => `{"sourcedId":${JSON.stringify(c.sourcedId)},"kind":"${c.kind}","hash":"${c.hash}","record":${c.json}}`).join(',')}]`;
    return copyTuples(
      COPY_KINDS,
      changes.map((c) => [tenantId, runId, entity, c.sourcedId, c.kind, c.hash, c.json]),
    );
  }

  /**
   * Where the run's staged versions go ({@link StagingWriter}): on a PostgreSQL server, one COPY
   * whose commit does not wait for the disk (the versions count only once {@link commit}, durable,
   * moves the watermark past them, and that flushes them too); on the embedded database, an INSERT
   * of a JSON document per batch.
   */
  beginStaging(tenantId: string, runId: string): StagingWriter {
    const openCopy = this.openCopy;
    if (!openCopy) {
      return {
        write: async (entity, payload) => {
          await this.relaxed((trx) =>
            sql`
            insert into ${this.version} (tenant_id, run_id, entity, sourced_id, kind, hash, record)
            select ${tenantId}, ${runId}::uuid, ${entity}, c."sourcedId", c.kind, c.hash, c.record::text
            from json_to_recordset(${payload as string}::json) as c("sourcedId" text, kind text, hash text, record json)`.execute(trx),
          );
        },
        close: async () => undefined,
        abort: async () => undefined,
      };
    }
    let copy: ReturnType<OpenCopy> | undefined;
    return {
      write: async (_entity, payload) => {
        copy ??= openCopy(`${this.schemaName}.ledger_version`, COPY_COLUMNS, { durable: false });
        await (await copy).write(payload as Buffer);
      },
      close: async () => {
        if (copy) await (await copy).end();
      },
      abort: async (reason) => {
        const opened = copy && (await copy.catch(() => undefined));
        await opened?.abort(reason);
      },
    };
  }

  /**
   * Appends the deletions of `entity` to the run's versions, with the last known record: after a
   * complete full read, every snapshot record the source did not send (as current); after a delta,
   * the records the source marked `tobedeleted`, as the look-up kept them. Call it per entity in
   * reverse referential order ({@link DeletionScope}). Returns how many.
   */
  async stageDeletions(tenantId: string, runId: string, entity: RosterEntity, scope: DeletionScope): Promise<number> {
    const { knownSeen, snapshotEmpty, marked } = scope;
    if (snapshotEmpty) return 0;
    // A read with unidentified rejected rows deletes only what the source marked `tobedeleted`.
    const complete = scope.complete && scope.unidentified === 0;
    if (!complete) {
      if (marked === 0) return 0;
      // Each key once (a package may mark one twice), in key order as the full path stages them.
      const result = await this.relaxed((trx) =>
        sql`
        insert into ${this.version} (tenant_id, run_id, entity, sourced_id, kind, hash, record)
        select ${tenantId}, ${runId}::uuid, ${entity}, t.sourced_id, 'deleted', null, t.record from (
          select distinct on (u.sourced_id) u.sourced_id, u.record
          from ${this.runSeen} s cross join lateral unnest(s.sourced_ids, s.records) as u(sourced_id, record)
          where s.run_id = ${runId}::uuid and s.entity = ${entity} and s.deleted
          order by u.sourced_id) t
        order by t.sourced_id`.execute(trx),
      );
      return Number(result.numAffectedRows ?? 0);
    }
    // Every snapshot record was sent again as current: nothing is gone, no need to look.
    const { rows } = await sql<{ n: string }>`select count(*) as n from (${this.latest(tenantId, entity)}) l where l.kind <> 'deleted'`.execute(this.db);
    if (Number(rows[0]?.n ?? 0) === knownSeen) return 0;
    const seen = sql`select unnest(s.sourced_ids) as sourced_id from ${this.runSeen} s where s.run_id = ${runId}::uuid and s.entity = ${entity} and not s.deleted`;
    const result = await this.relaxed((trx) =>
      sql`
      insert into ${this.version} (tenant_id, run_id, entity, sourced_id, kind, hash, record)
      select l.tenant_id, ${runId}::uuid, l.entity, l.sourced_id, 'deleted', null, l.record
      from (${this.latest(tenantId, entity)}) l
      where l.kind <> 'deleted' and not exists (select 1 from (${seen}) s where s.sourced_id = l.sourced_id)
      order by l.sourced_id`.execute(trx),
    );
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

  /**
   * Refreshes the planner's statistics of the tables of `schema` (a target's, as a run fills it)
   * that have rows (8 pages or more) but were never analyzed, or were analyzed under 100,000 rows and
   * have since grown fourfold. A column never analyzed gets the planner's default selectivity
   * (`tenant_id = $1` matches 0.5% of the rows, it believes), so a look-up of a batch's keys is
   * planned as a scan of the tenant's rows filtered by the keys. Once analyzed, the planner scales
   * a table's row count by its current size, so growth alone is left to autovacuum. Sizes are read
   * off the files, not the cumulative statistics, which reach other sessions up to seconds late.
   * Returns the tables analyzed.
   */
  async analyzeGrown(schema: string): Promise<string[]> {
    const { rows } = await sql<{ name: string }>`
      select q.name from (
        select c.relname as name, c.reltuples, c.relpages, pg_relation_size(c.oid) / current_setting('block_size')::int as pages
        from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
        where ns.nspname = ${schema} and c.relkind = 'r') q
      where q.pages >= 8 and (q.reltuples < 0 or (q.reltuples < 100000 and q.pages >= 4 * q.relpages))
      order by q.name`.execute(this.db);
    if (rows.length > 0) await sql`analyze ${sql.join(rows.map((r) => sql.table(`${schema}.${r.name}`)))}`.execute(this.db);
    return rows.map((r) => r.name);
  }

  /** How many records of each entity the tenant's snapshot holds (kept by {@link commit}). */
  async sizes(tenantId: string): Promise<Partial<Record<RosterEntity, number>>> {
    const row = await this.db.selectFrom('ledger_state').select('sizes').where('tenant_id', '=', tenantId).executeTakeFirst();
    const sizes = (typeof row?.sizes === 'string' ? JSON.parse(row.sizes) : (row?.sizes ?? {})) as Partial<Record<RosterEntity, number>>;
    return Object.fromEntries(Object.entries(sizes).filter(([, n]) => (n ?? 0) > 0));
  }

  /** Forgets what a run staged (a failed, cancelled, rejected, dry or preview run), in `trx` if given; a committed run's versions stay. */
  async discard(runId: string, trx?: Kysely<EngineDatabase>): Promise<void> {
    // `trx` is bound to the core schema, as this.db is.
    const db = trx ?? this.db;
    const tenant = await db.selectFrom('run').select('tenant_id').where('id', '=', runId).executeTakeFirst();
    if (tenant) {
      await sql`delete from ${this.version} where tenant_id = ${tenant.tenant_id} and seq > ${this.watermark(tenant.tenant_id)} and run_id = ${runId}::uuid`.execute(
        db,
      );
    }
    await db.deleteFrom('run_seen').where('run_id', '=', runId).execute();
  }

  /**
   * Moves the tenant's snapshot forward by a staged run, in one transaction with `andThen` (the
   * run's phase change), so the snapshot and the run's state never disagree: the watermark moves
   * past the run's versions.
   */
  async commit(
    runId: string,
    changes: Partial<Record<RosterEntity, { created: number; updated: number; deleted: number }>>,
    andThen: (trx: Kysely<EngineDatabase>) => Promise<void>,
  ): Promise<void> {
    const run = await this.db.selectFrom('run').select('tenant_id').where('id', '=', runId).executeTakeFirstOrThrow();
    const tenantId: string = run.tenant_id;
    let moved = 0;
    await this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ from_seq: string; to_seq: string }>`
        select ${this.watermark(tenantId)} as from_seq,
               coalesce((select max(seq) from ${this.version} where tenant_id = ${tenantId}), 0) as to_seq`.execute(trx);
      const from = Number(rows[0]!.from_seq);
      const to = Math.max(from, Number(rows[0]!.to_seq));
      // The snapshot is now the reading of the run's source fingerprint (none for a delta, a source
      // without fingerprints, or one that changed during the read).
      const fingerprint = sql`(select source_fingerprint from ${sql.table(`${this.schemaName}.run`)} where id = ${runId}::uuid)`;
      // Each entity's size moves by what the run created and deleted (each key is staged at most
      // once per run: a creation is a key the snapshot lacked, a deletion one it had).
      const state = await trx.selectFrom('ledger_state').select('sizes').where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
      const sizes = (typeof state?.sizes === 'string' ? JSON.parse(state.sizes) : (state?.sizes ?? {})) as Record<string, number>;
      for (const [entity, c] of Object.entries(changes)) {
        if (c && c.created - c.deleted !== 0) sizes[entity] = (sizes[entity] ?? 0) + c.created - c.deleted;
        moved += c ? c.created + c.updated + c.deleted : 0;
      }
      await sql`
        insert into ${this.state} (tenant_id, committed_seq, source_fingerprint, sizes) values (${tenantId}, ${to}, ${fingerprint}, ${JSON.stringify(sizes)}::jsonb)
        on conflict (tenant_id) do update
          set committed_seq = greatest(${this.state}.committed_seq, excluded.committed_seq), source_fingerprint = excluded.source_fingerprint,
              sizes = excluded.sizes`.execute(trx);
      await trx.deleteFrom('run_seen').where('run_id', '=', runId).execute();
      await andThen(trx);
    });
    // A snapshot that just grew (a first sync) or changed a lot would otherwise keep the planner's
    // picture of it from before, and the next run's lookups by sourcedId would scan instead of seek.
    // A change small beside the table (a delta) is left to autovacuum: analyzing costs a second at a
    // million records.
    if (moved >= 10_000) {
      const { rows } = await sql<{
        n: number;
      }>`select reltuples::float8 as n from pg_class where oid = ${`${this.schemaName}.ledger_version`}::regclass`.execute(this.db);
      if (moved >= 0.1 * Math.max(0, Number(rows[0]?.n ?? 0))) await sql`analyze ${this.version}`.execute(this.db);
    }
  }

  /** The next committed changes of the tenant's log after `afterSeq`, in order. */
  async changesAfter(tenantId: string, afterSeq: number, limit: number): Promise<StagedChange[]> {
    const { rows } = await sql<{ seq: string; run_id: string; entity: RosterEntity; sourced_id: string; kind: RosterChangeKind; record: string }>`
      select seq, run_id, entity, sourced_id, kind, record from ${this.version}
      where tenant_id = ${tenantId} and seq > ${afterSeq} and seq <= ${this.watermark(tenantId)}
      order by seq limit ${limit}`.execute(this.db);
    return rows.map((r) => ({
      seq: Number(r.seq),
      runId: r.run_id,
      entity: r.entity,
      sourcedId: r.sourced_id,
      kind: r.kind,
      record: reviveRecord(JSON.parse(r.record)),
    }));
  }

  /** The highest seq of the tenant's committed log (0 when empty). */
  async lastCommittedSeq(tenantId: string): Promise<number> {
    const { rows } = await sql<{ seq: string }>`select ${this.watermark(tenantId)} as seq`.execute(this.db);
    return Number(rows[0]?.seq ?? 0);
  }

  /** A target's position in the tenant's log, or undefined before its first sync (or after a reset). */
  async cursor(tenantId: string, targetId: string): Promise<{ lastSeq: number; lastSyncAt?: string } | undefined> {
    const row = await this.db.selectFrom('target_cursor').selectAll().where('tenant_id', '=', tenantId).where('target_id', '=', targetId).executeTakeFirst();
    return row && { lastSeq: Number(row.last_seq), ...(row.last_sync_at ? { lastSyncAt: new Date(row.last_sync_at).toISOString() } : {}) };
  }

  /** Moves a target's cursor forward (never back); see {@link withCursor} to do it with other writes. */
  async advanceCursor(tenantId: string, targetId: string, lastSeq: number, runId: string): Promise<void> {
    await this.withCursor(tenantId, targetId, lastSeq, runId, async () => undefined);
  }

  /**
   * Runs `work` (a target's batch and the run's record of it) in one transaction that then moves the
   * target's cursor to `lastSeq`: all of it commits, or none. `trx` is bound to the core schema
   * (`trx.withSchema(other)` reaches another). Its commit does not wait for the disk: a crash of the
   * database may lose it whole (the batch is then delivered again), and the run's end, durable,
   * flushes it (PostgreSQL writes its log in order).
   */
  async withCursor<T>(tenantId: string, targetId: string, lastSeq: number, runId: string, work: (trx: Kysely<EngineDatabase>) => Promise<T>): Promise<T> {
    return relaxedTransaction(this.db, async (trx) => {
      const result = await work(trx);
      await sql`
        insert into ${this.targetCursor} as tc (tenant_id, target_id, last_seq, last_run_id, last_sync_at)
        values (${tenantId}, ${targetId}, ${lastSeq}, ${runId}::uuid, now())
        on conflict (tenant_id, target_id) do update
          set last_seq = greatest(tc.last_seq, excluded.last_seq), last_run_id = excluded.last_run_id, last_sync_at = now()`.execute(trx);
      return result;
    });
  }

  /** The highest seq the tenant's log was pruned to: a cursor below it has missed deletions. */
  async prunedSeq(tenantId: string): Promise<number> {
    const row = await this.db.selectFrom('ledger_state').select('pruned_seq').where('tenant_id', '=', tenantId).executeTakeFirst();
    return Number(row?.pruned_seq ?? 0);
  }

  /** Forgets a target's cursor: its next run starts from the snapshot, as a first run. */
  async resetCursor(tenantId: string, targetId: string): Promise<void> {
    await this.db.deleteFrom('target_cursor').where('tenant_id', '=', tenantId).where('target_id', '=', targetId).execute();
  }

  /**
   * The snapshot of one entity in sourcedId pages, for back-filling a target that has no cursor:
   * up to `limit` records after `afterSourcedId`, and the key to continue after (undefined at the end).
   */
  async snapshot(tenantId: string, entity: RosterEntity, afterSourcedId: string, limit: number): Promise<{ records: RosterRecord[]; next?: string }> {
    // Only the columns a page needs: a back-fill reads every record of the tenant this way.
    const { rows } = await sql<{ sourced_id: string; kind: string; record: string }>`
      select l.sourced_id, l.kind, l.record from (${this.latest(tenantId, entity, sql`sourced_id > ${afterSourcedId}`, limit)}) l`.execute(this.db);
    const records = rows.filter((r) => r.kind !== 'deleted').map((r) => reviveRecord(JSON.parse(r.record)));
    return { records, ...(rows.length === limit ? { next: rows[rows.length - 1]!.sourced_id } : {}) };
  }

  /**
   * Drops versions that every target of the tenant with a cursor has passed, enabled or not, and
   * that the snapshot no longer needs: versions superseded by a later one, and deletions. A disabled
   * target keeps its cursor, so the deletions it has not seen stay in the log until it is enabled
   * again (and converges) or reset (which drops its cursor).
   */
  async pruneApplied(tenantId: string): Promise<void> {
    const cursors = await this.db.selectFrom('target_cursor').select('last_seq').where('tenant_id', '=', tenantId).execute();
    if (cursors.length === 0) return;
    const upTo = Math.min(...cursors.map((c) => Number(c.last_seq)));
    const state = await this.db.selectFrom('ledger_state').select(['pruned_seq', 'committed_seq']).where('tenant_id', '=', tenantId).executeTakeFirst();
    if (!state) return;
    const from = Number(state.pruned_seq);
    const to = Math.min(upTo, Number(state.committed_seq));
    if (to <= from) return;
    await this.db.transaction().execute(async (trx) => {
      // Only an update or a deletion can have an older version to supersede: a creation is of a key
      // the snapshot lacked, whose older versions (up to a deletion) that deletion supersedes.
      await sql`
        delete from ${this.version} v using ${this.version} n
        where n.tenant_id = ${tenantId} and n.seq > ${from} and n.seq <= ${to} and n.kind <> 'created'
          and v.tenant_id = n.tenant_id and v.entity = n.entity and v.sourced_id = n.sourced_id and v.seq < n.seq`.execute(trx);
      await sql`delete from ${this.version} where tenant_id = ${tenantId} and seq > ${from} and seq <= ${to} and kind = 'deleted'`.execute(trx);
      await trx
        .updateTable('ledger_state')
        .set({ pruned_seq: sql`greatest(pruned_seq, ${to})` })
        .where('tenant_id', '=', tenantId)
        .execute();
    });
  }
}

/** A record as stored (JSON), with its instant fields turned back into Dates. */
export function reviveRecord(json: Record<string, unknown>): RosterRecord {
  if (typeof json.dateLastModified === 'string') json.dateLastModified = new Date(json.dateLastModified);
  return json as unknown as RosterRecord;
}

function emptyOutcome(): StageOutcome {
  return { created: 0, updated: 0, unchanged: 0, ignored: 0, ignoredIds: [], keptIds: [], known: 0, marked: 0 };
}
