import { type Kysely, type Migration, sql } from 'kysely';
import { qualifiedTable } from '@rosterbridge/core';

/**
 * Tables of the sync engine in the core schema: the ledger (each tenant's last snapshot, a content
 * hash per record), runs with their issues, the change log targets are applied from, and one
 * cursor per target.
 */
export const syncMigrations: Record<string, Migration> = {
  '0100_ledger_runs_changes': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('ledger_record')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('record', 'jsonb', (c) => c.notNull())
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('ledger_record_pk', ['tenant_id', 'entity', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('run')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('dry_run', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('targets', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('hold', 'jsonb')
        .addColumn('queued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('started_at', 'timestamptz')
        .addColumn('committed_at', 'timestamptz')
        .addColumn('ended_at', 'timestamptz')
        // The host executing the run, and until when its claim holds without a heartbeat.
        .addColumn('owner', 'text')
        .addColumn('lease_until', 'timestamptz')
        .execute();
      // At most one active run per tenant and source, whatever number of hosts share the database (0104 narrows it to one per tenant).
      await db.schema
        .createIndex('run_one_active')
        .on('run')
        .columns(['tenant_id', 'source_id'])
        .unique()
        .where(sql.ref('status'), 'in', ['queued', 'running', 'held'])
        .execute();
      await db.schema.createIndex('run_tenant_queued').on('run').columns(['tenant_id', 'queued_at']).execute();
      await db.schema
        .createTable('run_issue')
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('seq', 'bigserial', (c) => c.notNull())
        .addColumn('target_id', 'text')
        .addColumn('entity', 'text')
        .addColumn('sourced_id', 'text')
        .addColumn('file', 'text')
        .addColumn('line', 'integer')
        .addColumn('col', 'integer')
        .addColumn('field', 'text')
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_issue_pk', ['run_id', 'seq'])
        .execute();
      await db.schema
        .createTable('run_change')
        .addColumn('seq', 'bigserial', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('hash', 'text')
        .addColumn('record', 'jsonb', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('run_change_tenant_seq').on('run_change').columns(['tenant_id', 'seq']).execute();
      await db.schema.createIndex('run_change_run').on('run_change').columns(['run_id']).execute();
      // Seen ids only live while a full run stages; nothing to recover after a crash (the run restages).
      await db.schema
        .createTable('run_seen')
        .modifyFront(sql`unlogged`)
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        // true: the source sent the record as `tobedeleted`
        .addColumn('deleted', 'boolean', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('run_seen_run').on('run_seen').columns(['run_id', 'entity', 'sourced_id']).execute();
      await db.schema
        .createTable('target_cursor')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('last_run_id', 'uuid')
        .addColumn('last_sync_at', 'timestamptz')
        .addPrimaryKeyConstraint('target_cursor_pk', ['tenant_id', 'target_id'])
        .execute();
    },
  },
  '0101_tenant_state': {
    async up(db: Kysely<any>) {
      // Operator decisions about a tenant that outlive a host: paused (by whom, why).
      await db.schema
        .createTable('tenant_state')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('paused', 'boolean', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '0102_run_jobs': {
    async up(db: Kysely<any>) {
      // A scheduled run's queue job and attempt: a job retried (after a transient failure, a host
      // shutting down, or a job expiring) finds the run it already started instead of starting another.
      await db.schema.alterTable('run').addColumn('job_id', 'text').addColumn('attempt', 'integer').execute();
      await db.schema.createIndex('run_job').on('run').columns(['job_id', 'queued_at']).execute();
    },
  },
  '0103_run_seen_batches': {
    async up(db: Kysely<any>) {
      // The ids a full run saw, one row per staged batch (an array) instead of one row per id: a
      // resync of a million records writes a thousand rows here, not a million.
      await db.schema.dropTable('run_seen').execute();
      await db.schema
        .createTable('run_seen')
        .modifyFront(sql`unlogged`)
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        // true: ids the source sent as `tobedeleted`
        .addColumn('deleted', 'boolean', (c) => c.notNull())
        .addColumn('sourced_ids', sql`text[]`, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('run_seen_run').on('run_seen').columns(['run_id', 'entity']).execute();
    },
  },
  '0104_ledger_versions': {
    async up(db: Kysely<any>) {
      const t = (table: string) => sql.raw(qualifiedTable(db, table));
      // The snapshot and the change log become one table of record versions: a changed record is
      // written once (not once to the log and again to the snapshot at commit), and a commit moves
      // the tenant's watermark instead of copying rows. The snapshot is each key's latest version at
      // or below the watermark, unless that version is a deletion. Records are kept as JSON text:
      // they are only ever stored and read back whole.
      await sql`
        create table ${t('ledger_version')} (
          seq bigserial not null,
          tenant_id text not null,
          run_id uuid not null,
          entity text not null,
          sourced_id text not null,
          kind text not null,
          hash text,
          record text not null
        )`.execute(db);
      await sql`create index ledger_version_key on ${t('ledger_version')} (tenant_id, entity, sourced_id, seq desc)`.execute(db);
      await sql`create index ledger_version_tenant_seq on ${t('ledger_version')} (tenant_id, seq)`.execute(db);
      await sql`
        create table ${t('ledger_state')} (
          tenant_id text primary key,
          committed_seq bigint not null,
          pruned_seq bigint not null default 0
        )`.execute(db);
      // Carry over what an earlier layout holds: the snapshot below every change (seq 0), but for
      // keys whose latest state a committed change still in the log carries; then the change log
      // with its own sequence numbers (targets' cursors point into it).
      await sql`
        insert into ${t('ledger_version')} (seq, tenant_id, run_id, entity, sourced_id, kind, hash, record)
        select 0, l.tenant_id, l.run_id, l.entity, l.sourced_id, 'created', l.hash, l.record::text from ${t('ledger_record')} l
        where not exists (
          select 1 from ${t('run_change')} c join ${t('run')} r on r.id = c.run_id
          where r.committed_at is not null and c.tenant_id = l.tenant_id and c.entity = l.entity and c.sourced_id = l.sourced_id)`.execute(db);
      await sql`
        insert into ${t('ledger_version')} (seq, tenant_id, run_id, entity, sourced_id, kind, hash, record)
        select seq, tenant_id, run_id, entity, sourced_id, kind, hash, record::text from ${t('run_change')}`.execute(db);
      await sql`select setval(pg_get_serial_sequence(${qualifiedTable(db, 'ledger_version')}, 'seq'), greatest((select max(seq) from ${t('run_change')}), 1))`.execute(
        db,
      );
      await sql`
        insert into ${t('ledger_state')} (tenant_id, committed_seq)
        select t.tenant_id, coalesce((select max(c.seq) from ${t('run_change')} c join ${t('run')} r on r.id = c.run_id
                                      where c.tenant_id = t.tenant_id and r.committed_at is not null), 0)
        from (select distinct tenant_id from ${t('ledger_record')} union select distinct tenant_id from ${t('run_change')}) t`.execute(db);
      await db.schema.dropTable('run_change').execute();
      await db.schema.dropTable('ledger_record').execute();
      // One run with uncommitted versions per tenant (a tenant reads one source): the watermark
      // then separates committed versions from the one staging or held run's.
      await db.schema.dropIndex('run_one_active').execute();
      await db.schema
        .createIndex('run_one_active')
        .on('run')
        .column('tenant_id')
        .unique()
        .where(sql.ref('status'), 'in', ['queued', 'running', 'held'])
        .execute();
    },
  },
  '0105_source_fingerprints': {
    async up(db: Kysely<any>) {
      // A full run's source fingerprint (when the source offers one and it held still through the
      // read), and the fingerprint the tenant's snapshot is the reading of: a later run finding the
      // same fingerprint knows nothing changed without looking any record up.
      await db.schema.alterTable('run').addColumn('source_fingerprint', 'text').execute();
      await db.schema.alterTable('ledger_state').addColumn('source_fingerprint', 'text').execute();
      // How many records of each entity the snapshot holds, kept at each commit (holds weigh a run
      // against it; counting a million versions per run costs a second).
      await db.schema
        .alterTable('ledger_state')
        .addColumn('sizes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .execute();
      const t = (table: string) => sql.raw(qualifiedTable(db, table));
      await sql`
        update ${t('ledger_state')} s set sizes = coalesce((
          select jsonb_object_agg(l.entity, l.n) from (
            select v.entity, count(*) as n from (
              select distinct on (entity, sourced_id) entity, kind from ${t('ledger_version')}
              where tenant_id = s.tenant_id and seq <= s.committed_seq order by entity, sourced_id, seq desc) v
            where v.kind <> 'deleted' group by v.entity) l), '{}'::jsonb)`.execute(db);
    },
  },
  '0106_run_seen_records': {
    async up(db: Kysely<any>) {
      // A delta's tombstones keep the snapshot's record of each key they delete, taken by the same
      // look-up that classified their batch: the deletions are then staged from these rows, without
      // looking every key up a second time.
      await db.schema
        .alterTable('run_seen')
        .addColumn('records', sql`text[]`)
        .execute();
      // Kept for a moment, read once: stored as they are, not compressed (compressing a batch's
      // records costs more than writing them).
      await sql`alter table ${sql.raw(qualifiedTable(db, 'run_seen'))} alter column records set storage external`.execute(db);
    },
  },
  '0107_run_target_progress': {
    async up(db: Kysely<any>) {
      // What each target did in a run up to its cursor, written in the transaction that applies the
      // batch and moves the cursor, with the batch's issues: a run resumed after a crash starts its
      // counts from here, and no batch is counted or reported twice. `backfill_*`: how far a
      // back-fill got (the entity, and the last sourcedId applied; null: the entity is to start),
      // so that one cut short resumes. `finished`: the target's `finish` ran and its results are in.
      await db.schema
        .createTable('run_target_progress')
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('entities', 'jsonb', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('finished', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('backfill_entity', 'text')
        .addColumn('backfill_after', 'text')
        .addPrimaryKeyConstraint('run_target_progress_pk', ['run_id', 'target_id'])
        .execute();
      await db.schema.createIndex('run_issue_target').on('run_issue').columns(['run_id', 'target_id']).execute();
    },
  },
  '0108_run_issue_unstored': {
    async up(db: Kysely<any>) {
      // Issues a run counted but did not store (past its cap per code): how many per producer
      // ('' for the source, else the target), code and severity. Written in the transaction that
      // stores the batch's issues, so the stored issues plus these tallies are the run's counts.
      await db.schema
        .createTable('run_issue_unstored')
        .addColumn('run_id', 'uuid', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_issue_unstored_pk', ['run_id', 'target_id', 'code', 'severity'])
        .execute();
    },
  },
  '0109_run_preview': {
    async up(db: Kysely<any>) {
      // A readiness preview (its targets' writes rolled back) and the schools it is scoped to.
      await db.schema
        .alterTable('run')
        .addColumn('preview', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema.alterTable('run').addColumn('schools', 'jsonb').execute();
    },
  },
  '0110_run_target_figures': {
    async up(db: Kysely<any>) {
      // A product's own figures (School Manager's matched students), recorded with its progress.
      await db.schema.alterTable('run_target_progress').addColumn('figures', 'jsonb').execute();
    },
  },
};
