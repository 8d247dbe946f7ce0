import { sql } from 'kysely';
import type {
  LoadContext,
  RosterChangeEvent,
  RosterDeletion,
  RosterEntity,
  RosterIssue,
  RosterRecord,
  RosterTargetSession,
  RosterWrite,
  TargetApplyResult,
  TargetCounts,
  TargetLoader,
  TenantContext,
} from '@rosterbridge/core';
import {
  type ApplyContext,
  ProductRowWriter,
  ROSTER_ENTITY_ORDER,
  SkippedRecords,
  batchTransaction,
  changesOf,
  consecutiveRuns,
  upsertRows,
} from '@rosterbridge/core';
import type { KamkalimaDatabase, KamkalimaDb, KamkalimaRecordTable } from './kamkalima-database';
import { kamkalimaIssue } from './kamkalima-issues';
import {
  type EntityRules,
  type KamkalimaRow,
  type KamkalimaRules,
  type KamkalimaSkipCode,
  type KnownPlacements,
  type Placement,
  type Verdict,
  anyOf,
  heldRecordRow,
  holdRecords,
  isPlaced,
  isPlacedTable,
  kamkalimaRules,
  knownPlacements,
  placementOf,
} from './kamkalima-rules';
import type { AcademicYear } from './kamkalima-settings';
import { KAMKALIMA_TABLES } from './kamkalima-tables';

/** Entities whose held-back records are judged again at the end of every run, in referential order. */
const HELD_ENTITIES = ['academicSessions', 'courses', 'classes', 'users', 'enrollments'] as const;
const HELD_PAGE = 500;
const WRITE_CHUNK = 2000;

/** Tables cleared by a reset (the teacher-admin accounts are the product's own and stay). */
const SYNCED_TABLES = ['class_membership', 'teacher', 'student', 'administrator', 'classroom', 'course', 'term', 'school', 'held_record'] as const;

/**
 * `arrival`: records the engine sent (counted, issues reported). `retry`: held records judged again,
 * with the code each was held for: what is now taken counts as created; one held for another
 * reason now is reported and counted again (an enrollment whose class came back but whose grade
 * does not fit it); one held for the same reason was reported when it was held.
 */
type Pass = 'arrival' | { retry: ReadonlyMap<string, string> };

const SKIP_REASONS: Record<KamkalimaSkipCode, string> = {
  KAMKALIMA_ORG_NOT_SCHOOL: 'Kamkalima makes schools of orgs of type school only',
  KAMKALIMA_USER_ROLE_NOT_IMPORTED: 'Kamkalima has accounts for teachers, students and administrators only',
  KAMKALIMA_ENROLLMENT_ROLE_NOT_IMPORTED: 'Kamkalima places only teachers and students in classes',
  KAMKALIMA_ENTITY_NOT_IMPORTED: 'Kamkalima does not use this entity',
};

class RunResult implements TargetApplyResult {
  readonly counts: Partial<Record<RosterEntity, TargetCounts>> = {};
  readonly issues: RosterIssue[] = [];
  private readonly skips = new SkippedRecords<KamkalimaSkipCode>(kamkalimaIssue, SKIP_REASONS);
  of(entity: RosterEntity): TargetCounts {
    return (this.counts[entity] ??= { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 });
  }
  /** Records a change elsewhere took out of Kamkalima (a class whose course lost its grade, its memberships): reported and counted like a rejection. */
  demoted(issues: readonly RosterIssue[]): void {
    for (const issue of issues) {
      this.issues.push(issue);
      if (issue.entity) this.of(issue.entity)[issue.severity === 'error' ? 'errors' : 'skipped']++;
    }
  }
  /** A record Kamkalima has no place for: counted as skipped, and named in its reason's one warning. */
  skipped(code: KamkalimaSkipCode, entity: RosterEntity, sourcedId: string): void {
    this.of(entity).skipped++;
    this.skips.add(code, entity, sourcedId);
  }
  /** The result, with one warning per reason records were skipped for (its count is theirs). */
  done(): TargetApplyResult {
    this.issues.push(...this.skips.take());
    return { counts: this.counts, issues: this.issues };
  }
}

/**
 * The Kamkalima target opened for one tenant. Each batch is written in one transaction; every
 * write is an upsert guarded by `is distinct from`, so a batch delivered twice changes no row.
 */
export class KamkalimaSession implements RosterTargetSession {
  private readonly rules: KamkalimaRules;
  /** Placements of the classrooms, teachers and students this session wrote (see {@link KnownPlacements}). */
  private readonly known: KnownPlacements = knownPlacements();
  /** The distinct placements `known` holds, shared between its entries (see {@link placementOf}). */
  private readonly sharedPlacements = new Map<string, Placement>();
  /** Whether a back-fill may be loaded in bulk ({@link load}); off, it is applied batch by batch. */
  private readonly bulkLoad: boolean;

  constructor(
    private readonly db: KamkalimaDb,
    private readonly tenant: TenantContext,
    year: AcademicYear,
    options: { bulkLoad?: boolean } = {},
  ) {
    this.bulkLoad = options.bulkLoad ?? true;
    this.rules = kamkalimaRules({ tenantId: tenant.tenantId, year, known: this.known });
  }

  async apply(batch: readonly RosterChangeEvent[], _signal?: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult> {
    const result = new RunResult();
    // Every change a creation: rows are written with a plain INSERT first.
    const assumeNew = batch.every((e) => e.data.kind === 'created');
    return batchTransaction(this.db, context, async (trx) => {
      // In the order of the log: runs of one entity and one direction (creations and updates, or
      // deletions), each keeping the last change of every record.
      for (const run of consecutiveRuns(batch)) {
        if (run.deleted) {
          const ids = run.changes.map((c) => c.data.sourcedId);
          await this.remove(trx, run.entity, ids, result);
        } else {
          const records = run.changes.map((c) => c.data.record);
          await this.write(trx, run.entity, records, result, 'arrival', assumeNew);
        }
      }
      return result.done();
    });
  }

  async finish(): Promise<TargetApplyResult> {
    const result = new RunResult();
    const tenantId = this.tenant.tenantId;
    await this.db.transaction().execute(async (trx) => {
      // Records held back earlier are taken as soon as what they depend on is fixed (a class once
      // its course has its grade, an enrollment once its class is in), without waiting for the
      // source to send them again.
      for (const entity of HELD_ENTITIES) {
        let after = '';
        for (;;) {
          const page = await trx
            .selectFrom('held_record')
            .select(['sourced_id', 'code', 'record'])
            .where('tenant_id', '=', tenantId)
            .where('entity', '=', entity)
            .where('sourced_id', '>', after)
            .orderBy('sourced_id')
            .limit(HELD_PAGE)
            .execute();
          if (page.length === 0) break;
          after = page[page.length - 1]!.sourced_id;
          const pass: Pass = { retry: new Map(page.map((r) => [r.sourced_id, r.code])) };
          // A held row's record is typed by its column, a record of any entity: the row's `entity` says which.
          await this.write<RosterEntity>(
            trx,
            entity,
            page.map((r) => r.record),
            result,
            pass,
            false,
          );
        }
      }
      const accounts = await trx
        .insertInto('teacher_admin_account')
        .columns(['tenant_id', 'school_sourced_id', 'username'])
        .expression((eb) =>
          eb
            .selectFrom('school')
            .select(['tenant_id', 'sourced_id', sql<string>`'teacher-admin.' || sourced_id`.as('username')])
            .where('tenant_id', '=', tenantId),
        )
        .onConflict((oc) => oc.columns(['tenant_id', 'school_sourced_id']).doNothing())
        .returning('school_sourced_id')
        .execute();
      if (accounts.length > 0)
        this.tenant.logger.info({ schools: accounts.map((a) => a.school_sourced_id) }, `created ${accounts.length} system teacher-admin account(s)`);
      const unadministered = await trx
        .selectFrom('school as s')
        .select(['s.sourced_id', 's.name'])
        .where('s.tenant_id', '=', tenantId)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('administrator as a')
                .select('a.sourced_id')
                .whereRef('a.tenant_id', '=', 's.tenant_id')
                .where('a.active', '=', true)
                .where(sql<boolean>`s.sourced_id = any(a.school_sourced_ids)`),
            ),
          ),
        )
        .orderBy('s.sourced_id')
        .execute();
      for (const school of unadministered) {
        result.issues.push(
          kamkalimaIssue(
            'KAMKALIMA_SCHOOL_WITHOUT_ADMINISTRATOR',
            `school "${school.name}" has no active user with role administrator: add one to the school in the roster`,
            {
              entity: 'orgs',
              sourcedId: school.sourced_id,
            },
          ),
        );
      }
    });
    return result.done();
  }

  async reset(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const table of SYNCED_TABLES) await trx.deleteFrom(table).where('tenant_id', '=', this.tenant.tenantId).execute();
      for (const known of Object.values(this.known)) known.clear();
      this.sharedPlacements.clear();
    });
  }

  /**
   * Streams an entity of a back-fill into Kamkalima ({@link TargetLoader}): each page is judged by
   * the same rules as `apply` and its rows go by COPY (batched inserts on the embedded database),
   * held records to `held_record`; counts and issues are those `apply` would give page by page.
   * Undefined (fed by `apply`) when Kamkalima already holds rows of the tenant for this entity or a
   * later one, or held records of them: the rules' cascades then have work a load does not do.
   */
  async load(entity: RosterEntity, _signal: AbortSignal, context: LoadContext<KamkalimaDatabase>): Promise<TargetLoader | undefined> {
    if (!this.bulkLoad) return undefined;
    const tenantId = this.tenant.tenantId;
    const trx = context.trx;
    const later = ROSTER_ENTITY_ORDER.slice(ROSTER_ENTITY_ORDER.indexOf(entity));
    const tables = new Set(later.flatMap((e) => this.rulesFor(e)?.tables ?? []));
    for (const table of tables)
      if (await trx.selectFrom(table).select('tenant_id').where('tenant_id', '=', tenantId).limit(1).executeTakeFirst()) return undefined;
    const held = await trx
      .selectFrom('held_record')
      .select('tenant_id')
      .where('tenant_id', '=', tenantId)
      .where('entity', 'in', later)
      .limit(1)
      .executeTakeFirst();
    if (held) return undefined;
    // The system teacher-admin accounts outlive a reset: those an org or user of the load unsets, as apply's cascades would.
    const accounts = await trx
      .selectFrom('teacher_admin_account')
      .select(['school_sourced_id', 'assigned_teacher_sourced_id'])
      .where('tenant_id', '=', tenantId)
      .execute();
    return this.loader(entity, accounts, context);
  }

  private loader<E extends RosterEntity>(
    entity: E,
    accounts: { school_sourced_id: string; assigned_teacher_sourced_id: string | null }[],
    context: LoadContext<KamkalimaDatabase>,
  ): TargetLoader {
    const tenantId = this.tenant.tenantId;
    const rules = this.rulesFor(entity);
    const writer = new ProductRowWriter(context);
    const result = new RunResult();
    const accountSchools = new Set(accounts.map((a) => a.school_sourced_id));
    const assignedTeachers = new Set(accounts.flatMap((a) => (a.assigned_teacher_sourced_id ? [a.assigned_teacher_sourced_id] : [])));
    /** Orgs of the load that are not schools, whose teacher-admin account goes; users not teachers, whose assignment goes. */
    const goneSchools: string[] = [];
    const goneTeachers: string[] = [];
    /** Terms taken from earlier pages: in `apply` they are in the table when a later page names them as parents. */
    const earlierTerms = new Set<string>();
    return {
      write: async (batch) => {
        // A page of a load holds changes of its entity only; as writes or deletions of E, their records are E's.
        const changes: (RosterWrite<E> | RosterDeletion<E>)[] = changesOf(batch, entity);
        const records = changes.map((e) => e.data.record);
        if (!rules) {
          for (const r of records) result.skipped('KAMKALIMA_ENTITY_NOT_IMPORTED', entity, r.sourcedId);
          result.done();
          return;
        }
        const { taken, held } = sortVerdicts(entity, records, await rules.judge(this.db, records), result, 'arrival');
        const byTable = new Map<KamkalimaRecordTable, KamkalimaRow[]>();
        for (const t of taken) {
          const rows = byTable.get(t.table) ?? [];
          if (rows.length === 0) byTable.set(t.table, rows);
          rows.push(t);
        }
        if (entity === 'academicSessions') {
          const parentOf = new Map(changesOf(batch, 'academicSessions').map((c) => [c.data.record.sourcedId, c.data.record.parentSourcedId]));
          for (const t of taken) {
            if (t.table !== 'term') continue;
            const row = t.values;
            const parent = parentOf.get(row.sourced_id);
            if (row.parent_sourced_id === null && parent && earlierTerms.has(parent)) row.parent_sourced_id = parent;
          }
        }
        if (entity === 'orgs' && accountSchools.size > 0) {
          const schools = new Set((byTable.get('school') ?? []).map((r) => r.values.sourced_id));
          for (const r of records) if (accountSchools.has(r.sourcedId) && !schools.has(r.sourcedId)) goneSchools.push(r.sourcedId);
        }
        if (entity === 'users' && assignedTeachers.size > 0) {
          const teachers = new Set((byTable.get('teacher') ?? []).map((r) => r.values.sourced_id));
          for (const r of records) if (assignedTeachers.has(r.sourcedId) && !teachers.has(r.sourcedId)) goneTeachers.push(r.sourcedId);
        }
        const counts = result.of(entity);
        for (const [table, rows] of byTable) {
          await writer.write([[KAMKALIMA_TABLES[table], rows.map((r) => r.values)]]);
          counts.created += rows.length;
          if (table === 'term') for (const r of rows) earlierTerms.add(r.values.sourced_id);
          // Only placements: an id absent from the map is looked up, and a row the load did not write is not there.
          for (const r of rows) if (isPlaced(r)) this.known[r.table].set(r.values.sourced_id, placementOf(r.values, this.sharedPlacements));
        }
        await writer.write([[KAMKALIMA_TABLES.held_record, held.map((h) => heldRecordRow(tenantId, entity, h.record, h.code))]]);
        // The skips of the page, grouped as apply groups those of a batch.
        result.done();
      },
      end: async () => {
        await writer.end();
        // In the load's transaction: they count with the load, or not at all.
        const trx = context.trx;
        if (goneSchools.length > 0)
          await trx.deleteFrom('teacher_admin_account').where('tenant_id', '=', tenantId).where(anyOf('school_sourced_id', goneSchools)).execute();
        if (goneTeachers.length > 0)
          await trx
            .updateTable('teacher_admin_account')
            .set({ assigned_teacher_sourced_id: null, assigned_at: null, assigned_by: null })
            .where('tenant_id', '=', tenantId)
            .where(anyOf('assigned_teacher_sourced_id', goneTeachers))
            .execute();
        return { counts: result.counts, issues: result.issues };
      },
      // The engine rolls the load back: the placements it remembered were never held.
      abort: async () => {
        for (const table of rules?.tables ?? []) if (isPlacedTable(table)) this.known[table].clear();
      },
    };
  }

  dispose(): void {}

  /** The rules of `entity`, judging its records (undefined for an entity Kamkalima does not use). */
  private rulesFor<E extends RosterEntity>(entity: E): EntityRules<E> | undefined {
    return this.rules[entity];
  }

  /** Judges records of one entity and writes each where its verdict sends it. */
  private async write<E extends RosterEntity>(
    trx: KamkalimaDb,
    entity: E,
    records: RosterRecord<E>[],
    result: RunResult,
    pass: Pass,
    assumeNew: boolean,
  ): Promise<void> {
    const rules = this.rulesFor(entity);
    const counts = result.of(entity);
    if (!rules) {
      if (pass === 'arrival') for (const r of records) result.skipped('KAMKALIMA_ENTITY_NOT_IMPORTED', entity, r.sourcedId);
      return;
    }
    const tenantId = this.tenant.tenantId;
    const { taken, released, held } = sortVerdicts(entity, records, await rules.judge(trx, records), result, pass);
    const ids = records.map((r) => r.sourcedId);
    for (const table of rules.tables) {
      const taking = taken.filter((t) => t.table === table);
      const rows = taking.map((t) => t.values);
      const keep = new Set(rows.map((r) => r.sourced_id));
      // A record now held, ignored or moved to another table (a role change) leaves this one.
      const gone = ids.filter((id) => !keep.has(id));
      if (gone.length > 0) await trx.deleteFrom(table).where('tenant_id', '=', tenantId).where(anyOf('sourced_id', gone)).execute();
      const written = await upsert(trx, table, rows, assumeNew);
      if (isPlacedTable(table)) {
        const known = this.known[table];
        for (const id of gone) known.set(id, null);
        for (const t of taking) if (isPlaced(t)) known.set(t.values.sourced_id, placementOf(t.values, this.sharedPlacements));
      }
      if (pass === 'arrival') {
        counts.created += written.created;
        counts.updated += written.updated;
        counts.unchanged += rows.length - written.created - written.updated;
      } else {
        counts.created += written.created;
      }
    }
    if (released.length > 0)
      await trx.deleteFrom('held_record').where('tenant_id', '=', tenantId).where('entity', '=', entity).where(anyOf('sourced_id', released)).execute();
    await holdRecords(trx, tenantId, entity, held);
    if (rules.cascade) result.demoted(await rules.cascade(trx, ids));
  }

  /** Removes deleted records from Kamkalima (and from the held records). */
  private async remove(trx: KamkalimaDb, entity: RosterEntity, ids: string[], result: RunResult): Promise<void> {
    const rules = this.rulesFor(entity);
    const counts = result.of(entity);
    // Deleting a record Kamkalima never held (skipped, held back, or deleted already by a replayed
    // batch) changes nothing.
    if (!rules) {
      counts.unchanged += ids.length;
      return;
    }
    const tenantId = this.tenant.tenantId;
    let removed = 0;
    for (const table of rules.tables) {
      const r = await trx.deleteFrom(table).where('tenant_id', '=', tenantId).where(anyOf('sourced_id', ids)).executeTakeFirst();
      if (isPlacedTable(table)) for (const id of ids) this.known[table].set(id, null);
      removed += Number(r.numDeletedRows);
    }
    await trx.deleteFrom('held_record').where('tenant_id', '=', tenantId).where('entity', '=', entity).where(anyOf('sourced_id', ids)).execute();
    counts.deleted += removed;
    counts.unchanged += ids.length - removed;
    if (rules.cascade) result.demoted(await rules.cascade(trx, ids));
  }
}

/**
 * Sorts records by their verdicts: rows taken (their warnings reported), records held (reported and
 * counted, unless held again for the reason they were held for), and records released from the held
 * ones (taken or skipped; skips reported grouped on arrival).
 */
function sortVerdicts(
  entity: RosterEntity,
  records: readonly RosterRecord[],
  verdicts: readonly Verdict[],
  result: RunResult,
  pass: Pass,
): { taken: KamkalimaRow[]; released: string[]; held: { record: RosterRecord; code: string }[] } {
  const counts = result.of(entity);
  const taken: KamkalimaRow[] = [];
  const released: string[] = [];
  const held: { record: RosterRecord; code: string }[] = [];
  verdicts.forEach((verdict, i) => {
    const record = records[i]!;
    if ('take' in verdict) {
      taken.push(verdict.take);
      released.push(record.sourcedId);
      result.issues.push(...verdict.warnings);
    } else if ('hold' in verdict) {
      held.push({ record, code: verdict.hold.code });
      if (pass === 'arrival' || pass.retry.get(record.sourcedId) !== verdict.hold.code) {
        result.issues.push(verdict.hold);
        counts[verdict.hold.severity === 'error' ? 'errors' : 'skipped']++;
      }
    } else {
      released.push(record.sourcedId);
      if (pass === 'arrival') result.skipped(verdict.skip, entity, record.sourcedId);
    }
  });
  return { taken, released, held };
}

/**
 * Inserts or updates rows keyed by (tenant_id, sourced_id); a row equal to what is stored is not
 * touched. Returns how many rows were inserted and how many updated.
 */
async function upsert(
  trx: KamkalimaDb,
  table: KamkalimaRecordTable,
  rows: readonly Record<string, unknown>[],
  assumeNew: boolean,
): Promise<{ created: number; updated: number }> {
  return upsertRows(trx, table, rows, { key: ['tenant_id', 'sourced_id'], chunk: WRITE_CHUNK, assumeNew });
}
