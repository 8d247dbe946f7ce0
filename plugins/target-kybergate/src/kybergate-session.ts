import { sql, type Kysely, type RawBuilder } from 'kysely';
import type {
  Enrollment,
  Logger,
  Org,
  RosterChange,
  RosterClass,
  RosterEntity,
  RosterIssue,
  RosterTargetSession,
  RosterWrite,
  TargetApplyResult,
  TargetCounts,
  TargetLoader,
  LoadContext,
  ProductTable,
  TenantContext,
  User,
} from '@rosterbridge/core';
import { kybergateIssue, type KybergateIssueCode } from './kybergate-issues';
import { KybergateScope, kybergateRoleOf, userTypeOfEnrollment, type KybergateSettings } from './kybergate-settings';
import type { ClassroomMemberRow, ClassroomRow, DistrictRow, KybergateDatabase, KybergateSourcedTable, SchoolRow, UserAccountRow } from './kybergate-database';
import { type ApplyContext, ProductRowWriter, SkippedRecords, batchTransaction, changesOf, foldChanges, isRosterWrite, upsertRows } from '@rosterbridge/core';

/** The fields of a user account an admin may edit in KyberGate (names of `locally_edited_fields`). */
export const EDITABLE_USER_FIELDS = ['email', 'username', 'first_name', 'last_name', 'role', 'grade', 'school_sourced_ids', 'enabled'] as const;
type EditableUserField = (typeof EDITABLE_USER_FIELDS)[number];

const USER_COLUMNS: readonly (keyof UserAccountRow)[] = [
  'roster_school_sourced_ids',
  'email',
  'email_key',
  'username',
  'first_name',
  'last_name',
  'role',
  'roster_role',
  'grade',
  'school_sourced_ids',
  'enabled',
  'locally_edited_fields',
];
const SCHOOL_COLUMNS: readonly (keyof SchoolRow)[] = ['name', 'identifier', 'district_sourced_id'];
const DISTRICT_COLUMNS: readonly (keyof DistrictRow)[] = ['name', 'identifier'];
const CLASSROOM_COLUMNS: readonly (keyof ClassroomRow)[] = ['name', 'class_code', 'school_sourced_id', 'grades'];
const MEMBER_COLUMNS: readonly (keyof ClassroomMemberRow)[] = ['classroom_sourced_id', 'user_sourced_id', 'school_sourced_id', 'role', 'is_primary'];
const TABLES = ['classroom_member', 'pending_member', 'user_account', 'classroom', 'pending_classroom', 'school', 'district', 'sync_scope'] as const;
const text = (...names: string[]) => names.map((n) => [n, 'text'] as const);
/** The tables a load writes, their columns as COPY sends them. */
const LOAD_TABLES = {
  user_account: {
    name: 'user_account',
    columns: [
      ...text('tenant_id', 'sourced_id'),
      ['roster_school_sourced_ids', 'text[]'],
      ...text('email', 'email_key', 'username', 'first_name', 'last_name', 'role', 'roster_role', 'grade'),
      ['school_sourced_ids', 'text[]'],
      ['enabled', 'boolean'],
      ['locally_edited_fields', 'text[]'],
    ],
  },
  classroom: { name: 'classroom', columns: [...text('tenant_id', 'sourced_id', 'name', 'class_code', 'school_sourced_id'), ['grades', 'text[]']] },
  pending_classroom: {
    name: 'pending_classroom',
    columns: [...text('tenant_id', 'sourced_id', 'name', 'class_code', 'school_sourced_id'), ['grades', 'text[]']],
  },
  classroom_member: {
    name: 'classroom_member',
    columns: [...text('tenant_id', 'sourced_id', 'classroom_sourced_id', 'user_sourced_id', 'school_sourced_id', 'role'), ['is_primary', 'boolean']],
  },
  pending_member: {
    name: 'pending_member',
    columns: [...text('tenant_id', 'sourced_id', 'classroom_sourced_id', 'user_sourced_id', 'school_sourced_id', 'role'), ['is_primary', 'boolean']],
  },
} satisfies Record<string, ProductTable>;
/**
 * What an entity's load writes, and the tables that must hold none of the tenant's rows for it to
 * load: those `apply` would read to follow references (a member waiting for a user or class).
 */
const LOADS: Partial<Record<RosterEntity, readonly KybergateSourcedTable[]>> = {
  classes: ['classroom', 'pending_classroom', 'classroom_member', 'pending_member'],
  users: ['user_account', 'classroom_member', 'pending_member'],
  enrollments: ['classroom_member', 'pending_member'],
};

/** Rows per statement: keeps every insert far below Postgres' 65,535 parameters. */
const CHUNK = 2000;

// A batch is written in the engine's transaction or in one of its own: either way a Kysely bound to its schema.
type Trx = Kysely<KybergateDatabase>;

/** Why records of each skip code were left out, as their grouped warning says it. */
const SKIP_REASONS: Partial<Record<KybergateIssueCode, string>> = {
  KYBERGATE_ROLE_NOT_IMPORTED: 'their role (guardian, parent or relative) has no KyberGate account',
  KYBERGATE_USER_TYPE_NOT_SELECTED: "their user type is not among the tenant's userTypes setting",
  KYBERGATE_SCHOOL_NOT_SELECTED: "their school is not among the tenant's schools setting",
  KYBERGATE_ORG_TYPE_NOT_IMPORTED: 'KyberGate imports only districts and schools',
};

/**
 * Counts and issues of one batch, per entity. Records left out by the tenant's scope or by what
 * KyberGate has accounts for are counted as skipped and reported in one warning per reason and
 * entity of the batch, rather than one per record: the warning travels with the batch's counts, so
 * a run resumed by another host after a crash still reports every record it counts as skipped.
 */
class BatchResult {
  readonly counts: Partial<Record<RosterEntity, TargetCounts>> = {};
  readonly issues: RosterIssue[] = [];
  private readonly skips = new SkippedRecords<KybergateIssueCode>(kybergateIssue, SKIP_REASONS);

  add(entity: RosterEntity, key: keyof TargetCounts, n = 1): void {
    if (n === 0) return;
    const c = (this.counts[entity] ??= { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 });
    c[key] += n;
  }

  /** A record KyberGate leaves out: counted as skipped, and named in its reason's one warning. */
  skipped(code: KybergateIssueCode, entity: RosterEntity, sourcedId: string): void {
    this.add(entity, 'skipped');
    this.skips.add(code, entity, sourcedId);
  }

  /** Closes a page of a load: one warning per reason its records were skipped for, as a batch of it would have. */
  closePage(): void {
    this.issues.push(...this.skips.take());
  }

  /** The batch's result, with one warning per reason its records were skipped for (its count is theirs). */
  done(): TargetApplyResult {
    this.issues.push(...this.skips.take());
    return { counts: this.counts, issues: this.issues };
  }
}

/**
 * The sourcedIds a batch made KyberGate take (`gained`) or let go of (`lost`), per kind of record
 * that others point at: what {@link KybergateSession} follows to keep every reference whole.
 */
class HeldChanges {
  readonly gainedOrgs = new Set<string>();
  readonly lostOrgs = new Set<string>();
  readonly gainedClasses = new Set<string>();
  readonly lostClasses = new Set<string>();
  readonly gainedUsers = new Set<string>();
  readonly lostUsers = new Set<string>();
}

/**
 * The KyberGate target opened for one tenant (for one run). Writes the product schema in one
 * transaction per batch, set-based and guarded so that a batch applied again changes no row.
 */
export class KybergateSession implements RosterTargetSession {
  private constructor(
    private readonly tenantId: string,
    private readonly db: Kysely<KybergateDatabase>,
    private readonly scope: KybergateScope,
    private readonly conflictResolution: 'source-wins' | 'local-wins',
    private readonly logger: Logger,
  ) {}

  static async open(tenant: TenantContext, db: Kysely<KybergateDatabase>): Promise<KybergateSession> {
    const settings = await tenant.settings<KybergateSettings>();
    const session = new KybergateSession(tenant.tenantId, db, new KybergateScope(settings), settings.conflictResolution ?? 'source-wins', tenant.logger);
    return session;
  }

  /**
   * A back-fill's classes, users or enrollments, when KyberGate holds none of the tenant's rows
   * they would touch: streamed in by COPY (batched inserts on the embedded database), each record
   * judged as {@link apply} judges it: the same rows, skips, issues and counts. Orgs are few: apply.
   */
  async load(entity: RosterEntity, _signal: AbortSignal, context: LoadContext<KybergateDatabase>): Promise<TargetLoader | undefined> {
    const guarded = LOADS[entity];
    if (!guarded) return undefined;
    const trx = context.trx;
    for (const table of guarded) {
      const any = await trx.selectFrom(table).select('sourced_id').where('tenant_id', '=', this.tenantId).limit(1).executeTakeFirst();
      if (any) return undefined;
    }
    await trx
      .insertInto('sync_scope')
      .values({ tenant_id: this.tenantId, scope: this.scope.fingerprint() })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const held = async (...tables: KybergateSourcedTable[]) => {
      const ids = new Set<string>();
      for (const table of tables)
        for (const r of await trx.selectFrom(table).select('sourced_id').where('tenant_id', '=', this.tenantId).execute()) ids.add(r.sourced_id);
      return ids;
    };
    const writer = new ProductRowWriter(context);
    const result = new BatchResult();
    let page: (batch: readonly RosterChange[]) => readonly (readonly [ProductTable, readonly Record<string, unknown>[]])[];
    if (entity === 'classes') {
      const classes = await this.classPage(result, await held('school'));
      page = (batch) => classes(changesOf(batch, 'classes'));
    } else if (entity === 'users') {
      const users = await this.userPage(result, await held('school', 'district'));
      page = (batch) => users(changesOf(batch, 'users'));
    } else {
      const members = await this.memberPage(result, await held('user_account'), await held('classroom'));
      page = (batch) => members(changesOf(batch, 'enrollments'));
    }
    return {
      write: async (batch) => {
        const rows = page(batch);
        result.closePage();
        await writer.write(rows);
      },
      end: async () => {
        await writer.end();
        return result.done();
      },
    };
  }

  /** How a load turns a page of classes into rows: as {@link applyClasses}, with the schools held. */
  private async classPage(result: BatchResult, schools: ReadonlySet<string>) {
    return (events: readonly RosterChange<'classes'>[]) => {
      const rows: ClassroomRow[] = [];
      const waiting: ClassroomRow[] = [];
      for (const e of events) {
        if (e.data.kind === 'deleted') continue;
        const candidate = this.classCandidate(e.data.sourcedId, e.data.record);
        if (typeof candidate === 'string') result.skipped(candidate, 'classes', e.data.sourcedId);
        else if (schools.has(candidate.school_sourced_id)) rows.push(candidate);
        else {
          waiting.push(candidate);
          result.issues.push(classSchoolUnknown(candidate));
          result.add('classes', 'errors');
        }
      }
      result.add('classes', 'created', rows.length);
      return [
        [LOAD_TABLES.classroom, rows],
        [LOAD_TABLES.pending_classroom, waiting],
      ] as const;
    };
  }

  /** How a load turns a page of users into rows: as {@link applyUsers}, the first holder of an email keeping it. */
  private async userPage(result: BatchResult, heldOrgs: ReadonlySet<string>) {
    const holders = new Map<string, string>();
    return (events: readonly RosterChange<'users'>[]) => {
      const rows: UserAccountRow[] = [];
      for (const e of events) {
        if (e.data.kind === 'deleted') continue;
        const user: User = e.data.record;
        const candidate = this.userCandidate(e.data.sourcedId, user, heldOrgs);
        if (typeof candidate === 'string') {
          result.skipped(candidate, 'users', e.data.sourcedId);
          continue;
        }
        const row = this.resolveConflict(candidate, undefined);
        const issue = missingFields(row, user, false);
        const holder = holders.get(row.email_key);
        if (issue || holder !== undefined) {
          result.issues.push(issue ?? duplicateEmail(row, holder!, false));
          result.add('users', 'errors');
          continue;
        }
        holders.set(row.email_key, row.sourced_id);
        rows.push(row);
      }
      result.add('users', 'created', rows.length);
      return [[LOAD_TABLES.user_account, rows]] as const;
    };
  }

  /** How a load turns a page of enrollments into rows: as {@link applyEnrollments}, with the users and classes held. */
  private async memberPage(result: BatchResult, users: ReadonlySet<string>, classes: ReadonlySet<string>) {
    return (events: readonly RosterChange<'enrollments'>[]) => {
      const rows: ClassroomMemberRow[] = [];
      const waiting: ClassroomMemberRow[] = [];
      for (const e of events) {
        if (e.data.kind === 'deleted') continue;
        const id = e.data.sourcedId;
        const candidate = this.memberCandidate(id, e.data.record);
        if (typeof candidate === 'string') {
          result.skipped(candidate, 'enrollments', id);
          continue;
        }
        const [user, klass] = [candidate.user_sourced_id, candidate.classroom_sourced_id];
        const missing = missingRefs(user, klass, users, classes);
        if (missing.length === 0) {
          rows.push(candidate);
          continue;
        }
        waiting.push(candidate);
        result.issues.push(memberUnknown(id, user, klass, users.has(user), missing));
        result.add('enrollments', 'errors');
      }
      result.add('enrollments', 'created', rows.length);
      return [
        [LOAD_TABLES.classroom_member, rows],
        [LOAD_TABLES.pending_member, waiting],
      ] as const;
    };
  }

  async apply(batch: readonly RosterChange[], _signal?: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult> {
    const result = new BatchResult();
    const folded = foldChanges(batch);
    // Whether every change of the batch is a creation: then rows are written with a plain INSERT first.
    const allNew = folded.allNew;
    return batchTransaction(this.db, context, async (trx) => {
      await trx
        .insertInto('sync_scope')
        .values({ tenant_id: this.tenantId, scope: this.scope.fingerprint() })
        .onConflict((oc) => oc.column('tenant_id').doNothing())
        .execute();
      const enrollments = folded.changes('enrollments');
      const held = new HeldChanges();
      // Deletions of members first, so that one whose user or class also goes in this batch counts once, as deleted.
      await this.removeEnrollments(
        trx,
        enrollments.filter((e) => e.data.kind === 'deleted'),
        result,
      );
      await this.applyOrgs(trx, folded.changes('orgs'), result, held, allNew);
      await this.applyClasses(trx, folded.changes('classes'), result, held, allNew);
      await this.applyUsers(trx, folded.changes('users'), result, held, allNew);
      await this.followReferences(
        trx,
        held,
        enrollments.map((e) => e.data.sourcedId),
        result,
        allNew,
      );
      await this.applyEnrollments(trx, enrollments.filter(isRosterWrite), result, allNew);
      return result.done();
    });
  }

  /**
   * Warns when the tenant's scope differs from the one its data was imported with, as stored in
   * `sync_scope` (durable, so a run resumed by another host reports it all the same). Skipped
   * records are reported with their batch, by {@link apply}.
   */
  async finish(): Promise<TargetApplyResult> {
    const issues: RosterIssue[] = [];
    const stored = await this.db.selectFrom('sync_scope').select('scope').where('tenant_id', '=', this.tenantId).executeTakeFirst();
    if (stored && stored.scope !== this.scope.fingerprint()) {
      issues.push(
        kybergateIssue(
          'KYBERGATE_SCOPE_CHANGED',
          `The tenant's KyberGate schools or userTypes changed since its data was first imported (then ${stored.scope}, now ${this.scope.fingerprint()}). ` +
            'Only records that change from now on follow the new setting: reset the kybergate target (POST /tenants/:id/targets/kybergate/reset, then a back-fill) to re-import everything.',
        ),
      );
    }
    return { counts: {}, issues };
  }

  async reset(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const table of TABLES) await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).execute();
    });
    this.logger.info('KyberGate data of the tenant deleted: the next sync imports everything again');
  }

  dispose(): void {}

  private async applyOrgs(trx: Trx, events: RosterChange<'orgs'>[], result: BatchResult, held: HeldChanges, allNew: boolean): Promise<void> {
    const districts: DistrictRow[] = [];
    const schools: SchoolRow[] = [];
    const notDistrict: string[] = [];
    const notSchool: string[] = [];
    const deleted = new Set<string>();
    for (const e of events) {
      const id = e.data.sourcedId;
      if (e.data.kind === 'deleted') {
        deleted.add(id);
        notDistrict.push(id);
        notSchool.push(id);
        continue;
      }
      const org: Org = e.data.record;
      if (org.type === 'district') {
        districts.push({ tenant_id: this.tenantId, sourced_id: id, name: org.name, identifier: org.identifier ?? null });
        notSchool.push(id);
      } else if (org.type === 'school' && this.scope.includesSchool(id)) {
        schools.push({
          tenant_id: this.tenantId,
          sourced_id: id,
          name: org.name,
          identifier: org.identifier ?? null,
          district_sourced_id: org.parentSourcedId ?? null,
        });
        notDistrict.push(id);
      } else {
        result.skipped(org.type === 'school' ? 'KYBERGATE_SCHOOL_NOT_SELECTED' : 'KYBERGATE_ORG_TYPE_NOT_IMPORTED', 'orgs', id);
        notDistrict.push(id);
        notSchool.push(id);
      }
    }
    const removed = new Set([...(await this.remove(trx, 'district', notDistrict)), ...(await this.remove(trx, 'school', notSchool))]);
    const gone = [...deleted].filter((id) => removed.has(id)).length;
    result.add('orgs', 'deleted', gone);
    result.add('orgs', 'unchanged', deleted.size - gone);
    this.count(result, 'orgs', districts.length, await this.upsert(trx, 'district', districts, DISTRICT_COLUMNS, allNew));
    this.count(result, 'orgs', schools.length, await this.upsert(trx, 'school', schools, SCHOOL_COLUMNS, allNew));
    for (const row of [...districts, ...schools]) held.gainedOrgs.add(row.sourced_id);
    for (const id of removed) if (!held.gainedOrgs.has(id)) held.lostOrgs.add(id);
  }

  /**
   * Classes: scope, then the school. A class whose school KyberGate does not hold is not written
   * (an error) and waits in `pending_classroom` until the school arrives.
   */
  private async applyClasses(trx: Trx, events: RosterChange<'classes'>[], result: BatchResult, held: HeldChanges, allNew: boolean): Promise<void> {
    const candidates: ClassroomRow[] = [];
    const removals: string[] = [];
    const deleted = new Set<string>();
    for (const e of events) {
      const id = e.data.sourcedId;
      if (e.data.kind === 'deleted') {
        deleted.add(id);
        removals.push(id);
        continue;
      }
      const candidate = this.classCandidate(id, e.data.record);
      if (typeof candidate === 'string') {
        result.skipped(candidate, 'classes', id);
        removals.push(id);
        continue;
      }
      candidates.push(candidate);
    }
    const schools = await this.heldIds(
      trx,
      'school',
      candidates.map((r) => r.school_sourced_id),
    );
    const rows = candidates.filter((r) => schools.has(r.school_sourced_id));
    const waiting = candidates.filter((r) => !schools.has(r.school_sourced_id));
    for (const r of waiting) {
      result.issues.push(classSchoolUnknown(r));
      result.add('classes', 'errors');
    }
    await this.remove(trx, 'pending_classroom', [...removals, ...rows.map((r) => r.sourced_id)]);
    await this.upsert(trx, 'pending_classroom', waiting, CLASSROOM_COLUMNS, allNew);
    const removed = await this.remove(trx, 'classroom', [...removals, ...waiting.map((r) => r.sourced_id)]);
    this.countRemovals(result, 'classes', deleted, removed);
    this.count(result, 'classes', rows.length, await this.upsert(trx, 'classroom', rows, CLASSROOM_COLUMNS, allNew));
    for (const id of removed) held.lostClasses.add(id);
    for (const r of rows) held.gainedClasses.add(r.sourced_id);
  }

  /** A class's classroom row, or why the tenant's scope leaves it out. */
  private classCandidate(id: string, klass: RosterClass): ClassroomRow | KybergateIssueCode {
    if (!this.scope.includesSchool(klass.schoolSourcedId)) return 'KYBERGATE_SCHOOL_NOT_SELECTED';
    return {
      tenant_id: this.tenantId,
      sourced_id: id,
      name: klass.title,
      class_code: klass.classCode ?? null,
      school_sourced_id: klass.schoolSourcedId,
      grades: klass.grades,
    };
  }

  /** Deleted enrollments: their member goes (counted deleted), and so does a member waiting for its user or class. */
  private async removeEnrollments(trx: Trx, events: RosterChange<'enrollments'>[], result: BatchResult): Promise<void> {
    const ids = events.map((e) => e.data.sourcedId);
    await this.remove(trx, 'pending_member', ids);
    this.countRemovals(result, 'enrollments', new Set(ids), await this.remove(trx, 'classroom_member', ids));
  }

  /**
   * Keeps every reference whole after a batch changed what KyberGate holds: users' school links
   * follow the schools; classrooms of a school that went wait for it again, and those waiting for a
   * school that came are written; members of a user or class that went wait for it (counted as
   * deleted), and those waiting for a user or class that came are written (counted as created).
   * Members whose enrollment is in the batch are left to {@link applyEnrollments}.
   */
  private async followReferences(trx: Trx, held: HeldChanges, batchEnrollments: string[], result: BatchResult, allNew: boolean): Promise<void> {
    const t = this.tenantId;
    if (held.lostOrgs.size + held.gainedOrgs.size > 0) {
      const lost = [...held.lostOrgs];
      const changedOrgs = [...held.lostOrgs, ...held.gainedOrgs];
      const links = sql<string[]>`array(
        select o from unnest(roster_school_sourced_ids) with ordinality x(o, n)
        where (o = any(school_sourced_ids) and not (o = any(${lost}::text[]))) or o = any(${[...held.gainedOrgs]}::text[])
        order by n)`;
      const relinked = await trx
        .updateTable('user_account')
        .set({ school_sourced_ids: links })
        .where('tenant_id', '=', t)
        .where(sql<boolean>`roster_school_sourced_ids && ${changedOrgs}::text[]`)
        .where(sql<boolean>`not ('school_sourced_ids' = any(locally_edited_fields))`)
        .where(sql<boolean>`school_sourced_ids is distinct from ${links}`)
        .executeTakeFirst();
      result.add('users', 'updated', Number(relinked.numUpdatedRows));
    }
    if (held.lostOrgs.size > 0) {
      const parked = await trx.deleteFrom('classroom').where('tenant_id', '=', t).where(anyOf('school_sourced_id', held.lostOrgs)).returningAll().execute();
      await this.upsert(trx, 'pending_classroom', parked, CLASSROOM_COLUMNS, allNew);
      result.add('classes', 'deleted', parked.length);
      for (const r of parked) held.lostClasses.add(r.sourced_id);
    }
    if (held.gainedOrgs.size > 0) {
      const ready = await trx
        .deleteFrom('pending_classroom')
        .where('tenant_id', '=', t)
        .where(anyOf('school_sourced_id', held.gainedOrgs))
        .returningAll()
        .execute();
      this.count(result, 'classes', ready.length, await this.upsert(trx, 'classroom', ready, CLASSROOM_COLUMNS, allNew));
      for (const r of ready) held.gainedClasses.add(r.sourced_id);
    }
    if (held.lostUsers.size + held.lostClasses.size > 0) {
      const parked = await trx
        .deleteFrom('classroom_member')
        .where('tenant_id', '=', t)
        .where((eb) => eb.or([anyOf('user_sourced_id', held.lostUsers), anyOf('classroom_sourced_id', held.lostClasses)]))
        .where(sql<boolean>`not (sourced_id = any(${batchEnrollments}::text[]))`)
        .returningAll()
        .execute();
      await this.upsert(trx, 'pending_member', parked, MEMBER_COLUMNS, allNew);
      result.add('enrollments', 'deleted', parked.length);
    }
    if (held.gainedUsers.size + held.gainedClasses.size > 0) {
      const ready = await trx
        .deleteFrom('pending_member as p')
        .where('p.tenant_id', '=', t)
        .where((eb) => eb.or([anyOf('p.user_sourced_id', held.gainedUsers), anyOf('p.classroom_sourced_id', held.gainedClasses)]))
        .where(sql<boolean>`not (p.sourced_id = any(${batchEnrollments}::text[]))`)
        .where((eb) =>
          eb.exists(eb.selectFrom('user_account as u').select('u.sourced_id').where('u.tenant_id', '=', t).whereRef('u.sourced_id', '=', 'p.user_sourced_id')),
        )
        .where((eb) =>
          eb.exists(
            eb.selectFrom('classroom as k').select('k.sourced_id').where('k.tenant_id', '=', t).whereRef('k.sourced_id', '=', 'p.classroom_sourced_id'),
          ),
        )
        .returningAll()
        .execute();
      this.count(result, 'enrollments', ready.length, await this.upsert(trx, 'classroom_member', ready, MEMBER_COLUMNS, allNew));
    }
  }

  /** Which of `ids` are rows of `table` for the tenant. */
  private async heldIds(trx: Trx, table: KybergateSourcedTable, ids: string[]): Promise<Set<string>> {
    const wanted = [...new Set(ids)];
    const found = new Set<string>();
    for (const part of chunks(wanted)) {
      const rows = await trx.selectFrom(table).select('sourced_id').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute();
      for (const r of rows) found.add(r.sourced_id);
    }
    return found;
  }

  /** An enrollment's member row, or why the tenant's scope leaves it out. */
  private memberCandidate(id: string, enrollment: Enrollment): ClassroomMemberRow | KybergateIssueCode {
    if (!this.scope.includesSchool(enrollment.schoolSourcedId)) return 'KYBERGATE_SCHOOL_NOT_SELECTED';
    if (!this.scope.includesUserType(userTypeOfEnrollment(enrollment.role))) return 'KYBERGATE_USER_TYPE_NOT_SELECTED';
    return {
      tenant_id: this.tenantId,
      sourced_id: id,
      classroom_sourced_id: enrollment.classSourcedId,
      user_sourced_id: enrollment.userSourcedId,
      school_sourced_id: enrollment.schoolSourcedId,
      role: enrollment.role,
      is_primary: enrollment.primary ?? null,
    };
  }

  /**
   * Created and updated enrollments: scope, then what the member points at. A member whose user or
   * class KyberGate does not hold is not written (an error: KyberGate stores no membership that
   * points at nothing) and waits in `pending_member`; {@link followReferences} writes it once both
   * are held, since the roster does not send the enrollment again when only its user is fixed.
   */
  private async applyEnrollments(trx: Trx, events: RosterWrite<'enrollments'>[], result: BatchResult, allNew: boolean): Promise<void> {
    const candidates: ClassroomMemberRow[] = [];
    const outOfScope: string[] = [];
    for (const e of events) {
      const id = e.data.sourcedId;
      const candidate = this.memberCandidate(id, e.data.record);
      if (typeof candidate === 'string') {
        result.skipped(candidate, 'enrollments', id);
        outOfScope.push(id);
        continue;
      }
      candidates.push(candidate);
    }
    const users = await this.heldIds(
      trx,
      'user_account',
      candidates.map((r) => r.user_sourced_id),
    );
    const classes = await this.heldIds(
      trx,
      'classroom',
      candidates.map((r) => r.classroom_sourced_id),
    );
    const rows: ClassroomMemberRow[] = [];
    const waiting: ClassroomMemberRow[] = [];
    for (const r of candidates) {
      const [id, user, klass] = [r.sourced_id, r.user_sourced_id, r.classroom_sourced_id];
      const missing = missingRefs(user, klass, users, classes);
      if (missing.length === 0) {
        rows.push(r);
        continue;
      }
      waiting.push(r);
      result.issues.push(memberUnknown(id, user, klass, users.has(user), missing));
      result.add('enrollments', 'errors');
    }
    await this.remove(trx, 'pending_member', [...outOfScope, ...rows.map((r) => r.sourced_id)]);
    await this.upsert(trx, 'pending_member', waiting, MEMBER_COLUMNS, allNew);
    await this.remove(trx, 'classroom_member', [...outOfScope, ...waiting.map((r) => r.sourced_id)]);
    this.count(result, 'enrollments', rows.length, await this.upsert(trx, 'classroom_member', rows, MEMBER_COLUMNS, allNew));
  }

  /**
   * Users: role mapping and scope, required fields, then email uniqueness. A user whose record is
   * rejected (missing field, duplicate email) keeps the account it had, if any; one left out by
   * scope loses it.
   */
  private async applyUsers(trx: Trx, events: RosterChange<'users'>[], result: BatchResult, held: HeldChanges, allNew: boolean): Promise<void> {
    if (events.length === 0) return;
    const ids = events.map((e) => e.data.sourcedId);
    const existing = new Map<string, UserAccountRow>();
    for (const part of chunks(ids)) {
      const rows = await trx.selectFrom('user_account').selectAll().where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute();
      for (const row of rows) existing.set(row.sourced_id, row);
    }
    const removals: string[] = [];
    const deleted = new Set<string>();
    const wanted: UserAccountRow[] = [];
    const orgIds = events.flatMap((e) => (e.data.kind === 'deleted' ? [] : e.data.record.orgSourcedIds));
    const heldOrgs = new Set([...(await this.heldIds(trx, 'school', orgIds)), ...(await this.heldIds(trx, 'district', orgIds))]);
    for (const e of events) {
      const id = e.data.sourcedId;
      if (e.data.kind === 'deleted') {
        deleted.add(id);
        removals.push(id);
        continue;
      }
      const user: User = e.data.record;
      const candidate = this.userCandidate(id, user, heldOrgs);
      if (typeof candidate === 'string') {
        result.skipped(candidate, 'users', id);
        removals.push(id);
        continue;
      }
      const row = this.resolveConflict(candidate, existing.get(id));
      const missing = missingFields(row, user, existing.has(id));
      if (missing) {
        result.issues.push(missing);
        result.add('users', 'errors');
        continue;
      }
      wanted.push(row);
    }

    // Email uniqueness, in seq order: the first user to hold an email keeps it; a later one is
    // rejected (not merged). Emails given up in this batch are free to be taken in it.
    const holders = new Map<string, string>();
    const keys = [...new Set(wanted.map((r) => r.email_key))];
    for (const part of chunks(keys)) {
      const rows = await trx
        .selectFrom('user_account')
        .select(['sourced_id', 'email_key'])
        .where('tenant_id', '=', this.tenantId)
        .where('email_key', 'in', part)
        .execute();
      for (const r of rows) holders.set(r.email_key, r.sourced_id);
    }
    const release = (id: string) => {
      const old = existing.get(id);
      if (old && holders.get(old.email_key) === id) holders.delete(old.email_key);
    };
    for (const id of removals) release(id);
    for (const row of wanted) if (existing.get(row.sourced_id)?.email_key !== row.email_key) release(row.sourced_id);
    const accepted: UserAccountRow[] = [];
    for (const row of wanted) {
      const holder = holders.get(row.email_key);
      if (holder !== undefined && holder !== row.sourced_id) {
        const old = existing.get(row.sourced_id);
        if (old && !holders.has(old.email_key)) holders.set(old.email_key, row.sourced_id);
        result.issues.push(duplicateEmail(row, holder, !!old));
        result.add('users', 'errors');
        continue;
      }
      holders.set(row.email_key, row.sourced_id);
      accepted.push(row);
    }

    const removed = await this.remove(trx, 'user_account', removals);
    this.countRemovals(result, 'users', deleted, removed);
    this.count(result, 'users', accepted.length, await this.upsert(trx, 'user_account', accepted, USER_COLUMNS, allNew));
    for (const id of removed) held.lostUsers.add(id);
    for (const row of accepted) held.gainedUsers.add(row.sourced_id);
  }

  /** A user's account row (before conflict resolution), or why KyberGate leaves the user out. */
  private userCandidate(id: string, user: User, heldOrgs: ReadonlySet<string>): UserAccountRow | KybergateIssueCode {
    const mapped = kybergateRoleOf(user.role);
    const schools = user.orgSourcedIds.filter((org) => this.scope.includesSchool(org));
    if (!mapped) return 'KYBERGATE_ROLE_NOT_IMPORTED';
    if (!this.scope.includesUserType(mapped.userType)) return 'KYBERGATE_USER_TYPE_NOT_SELECTED';
    if (!this.scope.allSchools && schools.length === 0) return 'KYBERGATE_SCHOOL_NOT_SELECTED';
    return {
      tenant_id: this.tenantId,
      sourced_id: id,
      roster_school_sourced_ids: schools,
      email: (user.email ?? '').trim(),
      email_key: '',
      username: user.username?.trim() || null,
      first_name: user.givenName.trim(),
      last_name: user.familyName.trim(),
      role: mapped.role,
      roster_role: user.role,
      grade: user.grades[0] ?? null,
      school_sourced_ids: schools.filter((org) => heldOrgs.has(org)),
      enabled: user.enabledUser && user.status === 'active',
      locally_edited_fields: [],
    };
  }

  /** The row to write: the roster's values, except fields edited in KyberGate when local wins. */
  private resolveConflict(source: UserAccountRow, current: UserAccountRow | undefined): UserAccountRow {
    const row = { ...source };
    if (current && this.conflictResolution === 'local-wins') {
      const edited = current.locally_edited_fields.filter((f): f is EditableUserField => (EDITABLE_USER_FIELDS as readonly string[]).includes(f));
      for (const field of edited) keepLocal(row, current, field);
      row.locally_edited_fields = current.locally_edited_fields;
    }
    row.email_key = row.email.toLowerCase();
    return row;
  }

  /** Deletes the tenant's rows with these sourcedIds; returns the sourcedIds that were there. */
  private async remove(trx: Trx, table: KybergateSourcedTable, ids: string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const part of chunks(ids)) {
      const rows = await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).returning('sourced_id').execute();
      for (const r of rows) removed.push(r.sourced_id);
    }
    return removed;
  }

  /**
   * Inserts or updates rows; an update happens only where a column differs, so a batch applied
   * again changes nothing. `assumeNew`: every change of the batch is a creation, so rows are written
   * with a plain INSERT first. Returns how many rows were created and updated.
   */
  private async upsert(
    trx: Trx,
    table: KybergateSourcedTable,
    rows: readonly Record<string, unknown>[],
    columns: readonly string[],
    assumeNew: boolean,
  ): Promise<{ created: number; updated: number }> {
    return upsertRows(trx, table, rows, { key: ['tenant_id', 'sourced_id'], columns, assumeNew });
  }

  private count(result: BatchResult, entity: RosterEntity, total: number, written: { created: number; updated: number }): void {
    result.add(entity, 'created', written.created);
    result.add(entity, 'updated', written.updated);
    result.add(entity, 'unchanged', total - written.created - written.updated);
  }

  /** Deletion events count as deleted when a row went, unchanged when there was none. */
  private countRemovals(result: BatchResult, entity: RosterEntity, deleted: Set<string>, removed: string[]): void {
    const gone = removed.filter((id) => deleted.has(id)).length;
    result.add(entity, 'deleted', gone);
    result.add(entity, 'unchanged', deleted.size - gone);
  }
}

/** Gives `row` the value `current` has for a field edited in KyberGate. */
function keepLocal<F extends EditableUserField>(row: UserAccountRow, current: UserAccountRow, field: F): void {
  row[field] = current[field];
}

/** `column = any(ids)`, as one array parameter. */
function anyOf(column: string, ids: Iterable<string>): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} = any(${[...ids]}::text[])`;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function describe(user: User): string {
  const name = `${user.givenName} ${user.familyName}`.trim();
  return `${name || 'no name'}, ${user.role}`;
}

/** A class whose school KyberGate lacks (its issue). */
function classSchoolUnknown(r: ClassroomRow): RosterIssue {
  return kybergateIssue(
    'KYBERGATE_CLASS_SCHOOL_UNKNOWN',
    `Class ${r.sourced_id} ("${r.name}") belongs to school ${r.school_sourced_id}, which KyberGate does not hold (not a school of the roster, or deleted). ` +
      'The class is not written; KyberGate keeps it aside and adds it, with its members, as soon as it holds the school.',
    { entity: 'classes', sourcedId: r.sourced_id, field: 'schoolSourcedId' },
  );
}

/** What of a member's user and class KyberGate lacks (empty: both held). */
function missingRefs(user: string, klass: string, users: ReadonlySet<string>, classes: ReadonlySet<string>): string[] {
  return [!users.has(user) && `user ${user}`, !classes.has(klass) && `class ${klass}`].filter((m): m is string => !!m);
}

/** A member whose user or class KyberGate lacks (its issue). */
function memberUnknown(id: string, user: string, klass: string, userHeld: boolean, missing: string[]): RosterIssue {
  return kybergateIssue(
    userHeld ? 'KYBERGATE_MEMBER_CLASS_UNKNOWN' : 'KYBERGATE_MEMBER_USER_UNKNOWN',
    `Enrollment ${id} puts user ${user} in class ${klass}, but KyberGate holds no ${missing.join(' and no ')} ` +
      `(${userHeld ? "the class is not in the roster, was left out by the tenant's schools, or waits for its school" : "the user was rejected (see its issue), left out by the tenant's schools or userTypes, deleted, or is not in the roster"}). ` +
      'The membership is not written; KyberGate keeps it aside and adds it as soon as it holds both.',
    { entity: 'enrollments', sourcedId: id, field: userHeld ? 'classSourcedId' : 'userSourcedId' },
  );
}

/** A user without a field KyberGate requires (its issue), or undefined. */
function missingFields(row: UserAccountRow, user: User, held: boolean): RosterIssue | undefined {
  const missing = (['email', 'first_name', 'last_name'] as const).filter((f) => row[f] === '');
  if (missing.length === 0) return undefined;
  const fields = missing.map((f) => ({ email: 'email', first_name: 'givenName', last_name: 'familyName' })[f]);
  return kybergateIssue(
    'KYBERGATE_MISSING_FIELD',
    `User ${row.sourced_id} (${describe(user)}) has no ${fields.join(' and no ')}, which KyberGate requires to create an account. ` +
      `Fill it in the SIS; the user is imported with the next sync that carries the change.${held ? ' KyberGate keeps the account as last imported.' : ''}`,
    { entity: 'users', sourcedId: row.sourced_id, field: fields[0] },
  );
}

/** A user whose email another user holds (its issue). */
function duplicateEmail(row: UserAccountRow, holder: string, held: boolean): RosterIssue {
  return kybergateIssue(
    'KYBERGATE_DUPLICATE_EMAIL',
    `User ${row.sourced_id} (${row.first_name} ${row.last_name}) has the email ${row.email}, which user ${holder} already has in KyberGate; ` +
      `users sign in by email, so it was not imported (nor merged). Give each user their own email in the SIS.${held ? ' KyberGate keeps the account as last imported.' : ''}`,
    { entity: 'users', sourcedId: row.sourced_id, field: 'email' },
  );
}
