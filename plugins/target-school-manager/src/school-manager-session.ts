import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import {
  RosterbridgeError,
  type ApplyContext,
  changesOf,
  type LoadContext,
  ProductRowWriter,
  type PluginStorage,
  type RosterChangeEvent,
  type RosterDeletion,
  type RosterEntity,
  type RosterIssue,
  type RosterWrite,
  type TargetApplyResult,
  type TargetEntityHooks,
  type TargetCounts,
  type TargetLoader,
  type TenantContext,
  TargetSessionBase,
} from '@rosterbridge/core';
import { importHooks, importTableOf, SIS_IMPORT_TABLES } from './sis-import';
import type { SchoolManagerDatabase, SisUserMatchTable } from './school-manager-database';
import {
  SchoolManagerFailureCodes,
  SchoolManagerIssueCodes,
  schoolManagerIssue,
  schoolManagerPartialCode,
  type SchoolManagerIssueCode,
} from './school-manager-issues';
import { todayIn, withDefaults, type SchoolManagerSettings } from './school-manager-settings';

/** Roster roles School Manager matches as teachers (staff who may run classrooms). */
const STAFF_ROLES = ['teacher', 'administrator', 'aide', 'proctor'];
const PARENT_ROLES = ['parent', 'guardian', 'relative'];

type Counts = Partial<TargetCounts>;

/** Why records the run was given were not taken, in the words of a warning's message. */
const SKIP_REASONS: Partial<Record<SchoolManagerIssueCode, string>> = {
  SCHOOL_MANAGER_SCHOOL_EXCLUDED: 'they belong to excluded schools (or, for users, only to excluded schools)',
  SCHOOL_MANAGER_CLASSROOM_DATA_OFF: 'Sync Classroom Data is off',
  SCHOOL_MANAGER_CLASS_NOT_CURRENT: 'their class is not in a current term, semester or school year (Respect Academic Sessions)',
  SCHOOL_MANAGER_ENROLMENT_NOT_CURRENT: 'the enrolment is not active today (Respect Enrolment Date)',
  SCHOOL_MANAGER_MEMBER_USER_UNMATCHED:
    "their user is not matched to a School Manager user (see the user's issue); each arrives on the first sync after its user is matched",
  SCHOOL_MANAGER_ROLE_NOT_SYNCED: 'School Manager syncs only students and staff into classrooms',
  SCHOOL_MANAGER_PARENT_DATA_OFF: 'Sync Parent Data is off',
  SCHOOL_MANAGER_PARENT_UNLINKED: 'they are parents or guardians of no matched student of an included school',
};

/**
 * One tenant's School Manager integration for one run.
 *
 * `apply` only keeps the SIS import area up to date (its {@link importHooks}, on the folded batch). `finish` then recomputes what School Manager
 * holds from it under the tenant's current settings and today's date — user matches, classrooms,
 * memberships, parents — writing only rows that differ, and reports what changed. That way an
 * edited setting, a new School Manager user or a date passing takes effect on the next sync even
 * when the roster did not change, and an unchanged resync writes nothing.
 *
 * The first sync (or the first after a reset, which clears the last sync date) reports the whole
 * state — every unmatched user, every matched one; later syncs report only what changed.
 */
export class SchoolManagerSession extends TargetSessionBase<SchoolManagerDatabase> {
  protected readonly hooks: TargetEntityHooks<SchoolManagerDatabase>;
  private applied = false;
  /**
   * The runs whose changes this session applied (`import_run` of the rows they wrote): the records
   * `finish` reports. Usually this run alone; a run after one that failed before its cursor's commit
   * is given that run's changes too, and reports them with its own.
   */
  private readonly runIds = new Set<string>();

  private constructor(
    protected readonly db: Kysely<SchoolManagerDatabase>,
    private readonly schema: string,
    private readonly tenant: TenantContext,
    private readonly settings: SchoolManagerSettings,
    private readonly today: string,
    private readonly firstSync: boolean,
  ) {
    super();
    this.hooks = importHooks(tenant.tenantId);
  }

  static async open(storage: PluginStorage<SchoolManagerDatabase>, tenant: TenantContext): Promise<SchoolManagerSession> {
    const settings = withDefaults(await tenant.settings<Partial<SchoolManagerSettings>>());
    const today = settings.today ?? todayIn(tenant.info().timezone);
    const state = await storage.db.selectFrom('sync_state').select('last_sync_at').where('tenant_id', '=', tenant.tenantId).executeTakeFirst();
    return new SchoolManagerSession(storage.db, storage.schema, tenant, settings, today, !state?.last_sync_at);
  }

  /**
   * Streams an entity of a back-fill into the SIS import area ({@link TargetLoader}): the rows
   * `apply` would write, by COPY (batched inserts on the embedded database). `finish` then matches
   * and imports from the area as after `apply`. Undefined (fed by `apply`) when the area already
   * holds rows of the tenant for this entity; School Manager's own user accounts are not the
   * roster's and do not count.
   */
  async load<E extends RosterEntity>(entity: E, signal: AbortSignal, context: LoadContext<SchoolManagerDatabase>): Promise<TargetLoader | undefined> {
    signal.throwIfAborted();
    if (!this.settings.bulkLoad) return undefined;
    const t = this.tenant.tenantId;
    const into = importTableOf(entity);
    if (into && (await context.trx.selectFrom(into.table.name).select('tenant_id').where('tenant_id', '=', t).limit(1).executeTakeFirst())) return undefined;
    const writer = new ProductRowWriter(context);
    return {
      write: async (batch) => {
        this.applied = true;
        for (const e of batch) this.runIds.add(e.runId);
        // A page of a load holds changes of its entity only.
        const changes: (RosterWrite<E> | RosterDeletion<E>)[] = changesOf(batch, entity);
        if (into) await writer.write([[into.table, changes.map((e) => into.row(t, e))]]);
      },
      // What reaches School Manager is counted by finish, once the whole roster is in.
      end: async () => {
        await writer.end();
        return { counts: {}, issues: [] };
      },
    };
  }

  override async apply(events: readonly RosterChangeEvent[], signal: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult> {
    signal.throwIfAborted();
    this.applied = true;
    for (const e of events) this.runIds.add(e.runId);
    // The hooks count nothing: what reaches School Manager is counted by finish, once the whole roster is in.
    return super.apply(events, signal, context);
  }

  async finish(signal: AbortSignal): Promise<TargetApplyResult> {
    signal.throwIfAborted();
    return this.db.transaction().execute(async (trx) => {
      const issues: RosterIssue[] = [];
      const t = this.tenant.tenantId;
      const products = await trx
        .selectFrom('user_account')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', t)
        .executeTakeFirstOrThrow();
      if (Number(products.n) === 0)
        throw failure(
          SchoolManagerFailureCodes.SCHOOL_MANAGER_NO_USERS,
          `School Manager has no users for ${this.tenant.info().displayName}: nothing can be matched. Create or import the users in School Manager first, with the same email addresses as in the SIS.`,
        );
      // The import area may just have been filled by this run: without fresh statistics the planner
      // takes its tables for empty and joins them by nested loops (minutes on a large district).
      if (this.applied) {
        for (const table of [
          'sis_school',
          'sis_term',
          'sis_class',
          'sis_person',
          'sis_enrollment',
          'sis_user_match',
          'classroom',
          'classroom_member',
          'user_account',
        ] as const)
          await sql`analyze ${this.table(table)}`.execute(trx);
      }
      const excluded = await this.excludedSchools(trx, issues);
      const users = await this.matchUsers(trx, excluded, issues);
      const counts: TargetApplyResult['counts'] = { users };
      if (this.settings.syncClassroomData) {
        const { classes, enrollments } = await this.syncClassrooms(trx, excluded);
        counts.classes = classes;
        counts.enrollments = enrollments;
      }
      const parentsChanged = this.settings.syncParentData ? await this.syncParents(trx, excluded) : false;
      counts.orgs = await this.checkSchools(trx, excluded, issues);
      await this.reportNotTaken(trx, excluded, counts, issues);
      const changed = this.applied || parentsChanged || [users, counts.classes, counts.enrollments].some((c) => c && (c.created || c.updated || c.deleted));
      await this.recordSyncState(trx, this.firstSync || changed);
      // The School Manager code of a partial sync: the run's error code instead of the engine's generic one.
      const productCode = schoolManagerPartialCode(issues);
      return { counts, issues, figures: await this.syncDetails(trx), ...(productCode ? { productCode } : {}) };
    });
  }

  /**
   * The Sync Details School Manager shows after a sync (its admin page), as the tenant stands now
   * (not this run's changes): what {@link recordSyncState} just recorded.
   */
  private async syncDetails(trx: Transaction<SchoolManagerDatabase>): Promise<Record<string, number>> {
    const row = await trx
      .selectFrom('sync_state')
      .select(['matched_students', 'matched_teachers', 'unmatched_users', 'imported_classes', 'imported_parents'])
      .where('tenant_id', '=', this.tenant.tenantId)
      .executeTakeFirst();
    if (!row) return {};
    return {
      matchedStudents: Number(row.matched_students),
      matchedTeachers: Number(row.matched_teachers),
      unmatchedUsers: Number(row.unmatched_users),
      importedClasses: Number(row.imported_classes),
      importedParents: Number(row.imported_parents),
    };
  }

  /** Forgets the last sync date and the SIS import area: the next run is back-filled and reports everything, as a first sync. */
  async reset(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const t = this.tenant.tenantId;
    await this.db.transaction().execute(async (trx) => {
      for (const table of SIS_IMPORT_TABLES) await trx.deleteFrom(table).where('tenant_id', '=', t).execute();
      await trx.updateTable('sync_state').set({ last_sync_at: null }).where('tenant_id', '=', t).execute();
    });
  }

  private table(name: keyof SchoolManagerDatabase): RawBuilder<unknown> {
    return sql.table(`${this.schema}.${name}`) as unknown as RawBuilder<unknown>;
  }

  /** Resolves excludedSchools (sourcedIds or names) to school sourcedIds; warns about names that match nothing. */
  private async excludedSchools(trx: Transaction<SchoolManagerDatabase>, issues: RosterIssue[]): Promise<string[]> {
    const schools = await trx.selectFrom('sis_school').select(['sourced_id', 'name', 'org_type']).where('tenant_id', '=', this.tenant.tenantId).execute();
    const excluded = new Set<string>();
    for (const entry of this.settings.excludedSchools) {
      const key = entry.trim().toLowerCase();
      const hits = schools.filter((s) => s.sourced_id === entry || s.name.trim().toLowerCase() === key);
      if (hits.length === 0)
        issues.push(
          schoolManagerIssue(
            'SCHOOL_MANAGER_EXCLUDED_SCHOOL_UNKNOWN',
            `Excluded school "${entry}" is neither the sourcedId nor the name of a school in the roster; check the integration's excluded schools.`,
            { entity: 'orgs', field: 'excludedSchools' },
          ),
        );
      for (const s of hits) excluded.add(s.sourced_id);
    }
    const schoolIds = schools.filter((s) => s.org_type === 'school').map((s) => s.sourced_id);
    if (schoolIds.length > 0 && schoolIds.every((id) => excluded.has(id)))
      throw failure(
        SchoolManagerFailureCodes.SCHOOL_MANAGER_ALL_SCHOOLS_EXCLUDED,
        `Every school of the roster (${schoolIds.length}) is excluded: there is nothing to sync. Include at least one school.`,
      );
    return [...excluded];
  }

  /** The roster users School Manager should hold a match for, with their match. */
  private desiredMatches(excluded: string[]): RawBuilder<unknown> {
    const t = this.tenant.tenantId;
    return sql`
      with person as (
        select p.sourced_id, p.email, p.import_run, nullif(lower(trim(p.email)), '') as email_key,
               case when p.role = 'student' then 'student' else 'teacher' end as kind,
               ${this.settings.respectEnrolmentDate ? sql`p.role = 'student' and coalesce(en.all_ended, false)` : sql`false`} as has_left
        from ${this.table('sis_person')} p
        ${this.settings.respectEnrolmentDate ? sql`left join (${this.enrolmentsEnded()}) en on en.user_sourced_id = p.sourced_id` : sql``}
        where p.tenant_id = ${t} and p.role in (${sql.join(['student', ...STAFF_ROLES])})
          and exists (select 1 from unnest(p.org_sourced_ids) o(id) where not (o.id = any(${excluded}::text[])))
      ), shared as (
        select email_key from person where email_key is not null and not has_left group by email_key having count(*) > 1
      ), product as (
        select lower(trim(email)) as email_key, min(id) as user_id, count(*) as n
        from ${this.table('user_account')} where tenant_id = ${t} group by 1
      )
      select pe.sourced_id, pe.kind, pe.email, pe.import_run,
             case when pe.has_left then 'left'
                  when pe.email_key is null then 'no_email'
                  when sh.email_key is not null or pr.n > 1 then 'duplicate_email'
                  when pr.user_id is null then 'unmatched'
                  else 'matched' end as status,
             case when not pe.has_left and pe.email_key is not null and sh.email_key is null and pr.n = 1 then pr.user_id end as user_id
      from person pe
      left join shared sh on sh.email_key = pe.email_key
      left join product pr on pr.email_key = pe.email_key`;
  }

  /**
   * Per roster user with enrolments, whether every one has ended before today: a student who has
   * left the school. (A student with no enrolment, or one starting later, has not left.)
   */
  private enrolmentsEnded(): RawBuilder<unknown> {
    return sql`
      select e.user_sourced_id, bool_and(e.end_date is not null and e.end_date < ${this.today}::date) as all_ended
      from ${this.table('sis_enrollment')} e where e.tenant_id = ${this.tenant.tenantId}
      group by e.user_sourced_id`;
  }

  /**
   * Matches roster students and staff to School Manager users by email (case-insensitive). Counts:
   * created = newly matched, updated = matched to another user or as another kind, deleted = match
   * lost, skipped = unmatched (warning), errors = email shared (error), unchanged = still matched
   * (first sync only). Unmatched users are reported when they become so, when this run imported
   * them, and on a first sync;
   * shared emails, which keep the sync partial, on every sync until fixed, in sourcedId order
   * (the same whatever order the import area was written in). Users of excluded schools keep what
   * they had.
   */
  private async matchUsers(trx: Transaction<SchoolManagerDatabase>, excluded: string[], issues: RosterIssue[]): Promise<Counts> {
    const t = this.tenant.tenantId;
    const desired = this.desiredMatches(excluded);
    const match = this.table('sis_user_match');
    const { rows } = await sql<{
      sourced_id: string;
      kind: SisUserMatchTable['kind'];
      status: SisUserMatchTable['status'];
      email: string | null;
      user_id: string | null;
      old_status: SisUserMatchTable['status'] | null;
      old_user_id: string | null;
      old_kind: SisUserMatchTable['kind'] | null;
    }>`
      select d.*, m.status as old_status, m.user_id as old_user_id, m.kind as old_kind
      from (${desired}) d
      left join ${match} m on m.tenant_id = ${t} and m.sourced_id = d.sourced_id
      where ${this.firstSync} or m.sourced_id is null or d.status = 'duplicate_email' or d.import_run = any(${[...this.runIds]}::text[])
         or (m.kind, m.status, m.email, m.user_id) is distinct from (d.kind, d.status, d.email, d.user_id)
      order by d.sourced_id`.execute(trx);
    const counts: Counts = { created: 0, updated: 0, unchanged: 0, deleted: 0, skipped: 0, errors: 0 };
    for (const r of rows) {
      const where = { entity: 'users' as const, sourcedId: r.sourced_id, field: 'email' };
      if (r.status === 'matched') {
        if (r.old_status !== 'matched') counts.created!++;
        else if (r.old_user_id !== r.user_id || r.old_kind !== r.kind) counts.updated!++;
        else counts.unchanged!++;
        continue;
      }
      if (r.old_status === 'matched') counts.deleted!++;
      if (r.status === 'left') {
        counts.skipped!++;
        issues.push(
          schoolManagerIssue(
            'SCHOOL_MANAGER_STUDENT_LEFT',
            "This student's enrolments have all ended, so the student has left the school and is not synced (Respect Enrolment Date is on). Turn the setting off to sync previous students.",
            { entity: 'users', sourcedId: r.sourced_id },
          ),
        );
      } else if (r.status === 'duplicate_email') {
        counts.errors!++;
        issues.push(
          schoolManagerIssue(
            'SCHOOL_MANAGER_DUPLICATE_EMAIL',
            `The ${r.kind} email ${r.email} is shared by several users in the SIS or in School Manager, so this user is not matched. Give each user their own email.`,
            where,
          ),
        );
      } else {
        counts.skipped!++;
        issues.push(
          r.status === 'no_email'
            ? schoolManagerIssue(
                'SCHOOL_MANAGER_USER_NO_EMAIL',
                `This ${r.kind} has no email in the SIS, so cannot be matched to a School Manager user. Add their email in the SIS.`,
                where,
              )
            : schoolManagerIssue(
                'SCHOOL_MANAGER_USER_UNMATCHED',
                `No School Manager user has the email ${r.email} of this ${r.kind}. Make the email in School Manager match the SIS.`,
                where,
              ),
        );
      }
    }
    await sql`
      insert into ${match} (tenant_id, sourced_id, kind, status, email, user_id)
      select ${t}, d.sourced_id, d.kind, d.status, d.email, d.user_id from (${desired}) d
      on conflict (tenant_id, sourced_id) do update
        set kind = excluded.kind, status = excluded.status, email = excluded.email, user_id = excluded.user_id
        where (sis_user_match.kind, sis_user_match.status, sis_user_match.email, sis_user_match.user_id)
          is distinct from (excluded.kind, excluded.status, excluded.email, excluded.user_id)`.execute(trx);
    // Users gone from the roster lose their match (the School Manager user stays).
    const gone = await sql<{ status: SisUserMatchTable['status'] }>`
      delete from ${match} m
      where m.tenant_id = ${t} and not exists (
        select 1 from ${this.table('sis_person')} p
        where p.tenant_id = ${t} and p.sourced_id = m.sourced_id and p.role in (${sql.join(['student', ...STAFF_ROLES])}))
      returning m.status`.execute(trx);
    counts.deleted! += gone.rows.filter((r) => r.status === 'matched').length;
    return counts;
  }

  /** Classes to hold as classrooms: of included schools, and current today when academic sessions are respected. */
  private desiredClassrooms(excluded: string[]): RawBuilder<unknown> {
    const t = this.tenant.tenantId;
    return sql`
      select c.sourced_id, c.title as name, c.class_code, c.school_sourced_id, s.name as school_name
      from ${this.table('sis_class')} c
      left join ${this.table('sis_school')} s on s.tenant_id = c.tenant_id and s.sourced_id = c.school_sourced_id
      where c.tenant_id = ${t} and not (c.school_sourced_id = any(${excluded}::text[]))
        and (not ${this.settings.respectAcademicSessions} or exists (
          select 1 from ${this.table('sis_term')} tm
          where tm.tenant_id = ${t} and tm.sourced_id = any(c.term_sourced_ids)
            and tm.start_date <= ${this.today}::date and ${this.today}::date <= tm.end_date))`;
  }

  /** Memberships of the desired classrooms, of matched users, active today when enrolment dates are respected. */
  private desiredMembers(excluded: string[]): RawBuilder<unknown> {
    const t = this.tenant.tenantId;
    return sql`
      select e.sourced_id as enrollment_sourced_id, e.class_sourced_id as classroom_sourced_id, m.user_id,
             case when e.role = 'student' then 'student' else 'teacher' end as role
      from ${this.table('sis_enrollment')} e
      join (${this.desiredClassrooms(excluded)}) dc on dc.sourced_id = e.class_sourced_id
      join ${this.table('sis_user_match')} m on m.tenant_id = ${t} and m.sourced_id = e.user_sourced_id and m.status = 'matched'
      where e.tenant_id = ${t} and e.role in (${sql.join(['student', ...STAFF_ROLES])})
        and (not ${this.settings.respectEnrolmentDate} or (
          (e.begin_date is null or e.begin_date <= ${this.today}::date) and (e.end_date is null or ${this.today}::date <= e.end_date)))`;
  }

  /**
   * Imports classrooms and their memberships. Classrooms and memberships of excluded schools are left
   * as they are; others no longer wanted (gone from the roster, out of the current session, ended
   * enrolment, user no longer matched) are removed.
   */
  private async syncClassrooms(trx: Transaction<SchoolManagerDatabase>, excluded: string[]): Promise<{ classes: Counts; enrollments: Counts }> {
    const t = this.tenant.tenantId;
    const classroom = this.table('classroom');
    const member = this.table('classroom_member');
    const classrooms = this.desiredClassrooms(excluded);
    const members = this.desiredMembers(excluded);
    const classes = await this.changeCounts(
      trx,
      sql`
      select k.sourced_id is null as is_new,
             (k.name, k.class_code, k.school_sourced_id, k.school_name) is distinct from (d.name, d.class_code, d.school_sourced_id, d.school_name) as differs
      from (${classrooms}) d left join ${classroom} k on k.tenant_id = ${t} and k.sourced_id = d.sourced_id`,
    );
    await sql`
      insert into ${classroom} (tenant_id, sourced_id, name, class_code, school_sourced_id, school_name)
      select ${t}, d.sourced_id, d.name, d.class_code, d.school_sourced_id, d.school_name from (${classrooms}) d
      on conflict (tenant_id, sourced_id) do update
        set name = excluded.name, class_code = excluded.class_code, school_sourced_id = excluded.school_sourced_id, school_name = excluded.school_name
        where (classroom.name, classroom.class_code, classroom.school_sourced_id, classroom.school_name)
          is distinct from (excluded.name, excluded.class_code, excluded.school_sourced_id, excluded.school_name)`.execute(trx);
    // A tenant whose classrooms hold no member yet (a first sync, a reset) takes the desired set as
    // it is: every member is created and none can be gone, so the set is computed once, for one plain
    // INSERT, instead of three times (counts, upsert, removal of the rest: a third of the matching's
    // time on a district of a million enrollments).
    const empty = !(await trx.selectFrom('classroom_member').select('tenant_id').where('tenant_id', '=', t).limit(1).executeTakeFirst());
    let enrollments: Counts;
    if (empty) {
      const inserted = await sql`
        insert into ${member} (tenant_id, enrollment_sourced_id, classroom_sourced_id, user_id, role)
        select ${t}, d.enrollment_sourced_id, d.classroom_sourced_id, d.user_id, d.role from (${members}) d`.execute(trx);
      enrollments = { created: Number(inserted.numAffectedRows ?? 0), updated: 0, unchanged: 0, deleted: 0 };
    } else {
      enrollments = await this.changeCounts(
        trx,
        sql`
      select cm.enrollment_sourced_id is null as is_new,
             (cm.classroom_sourced_id, cm.user_id, cm.role) is distinct from (d.classroom_sourced_id, d.user_id, d.role) as differs
      from (${members}) d left join ${member} cm on cm.tenant_id = ${t} and cm.enrollment_sourced_id = d.enrollment_sourced_id`,
      );
      await sql`
      insert into ${member} (tenant_id, enrollment_sourced_id, classroom_sourced_id, user_id, role)
      select ${t}, d.enrollment_sourced_id, d.classroom_sourced_id, d.user_id, d.role from (${members}) d
      on conflict (tenant_id, enrollment_sourced_id) do update
        set classroom_sourced_id = excluded.classroom_sourced_id, user_id = excluded.user_id, role = excluded.role
        where (classroom_member.classroom_sourced_id, classroom_member.user_id, classroom_member.role)
          is distinct from (excluded.classroom_sourced_id, excluded.user_id, excluded.role)`.execute(trx);
      // The desired set is computed once (materialized), not once per existing row.
      const goneMembers = await sql`
      with d as materialized (${members})
      delete from ${member} cm
      where cm.tenant_id = ${t}
        and not exists (select 1 from d where d.enrollment_sourced_id = cm.enrollment_sourced_id)
        and not exists (select 1 from ${classroom} k where k.tenant_id = ${t} and k.sourced_id = cm.classroom_sourced_id and k.school_sourced_id = any(${excluded}::text[]))`.execute(
        trx,
      );
      enrollments.deleted = Number(goneMembers.numAffectedRows ?? 0);
    }
    const goneClassrooms = await sql`
      with d as materialized (${classrooms})
      delete from ${classroom} k
      where k.tenant_id = ${t} and not (k.school_sourced_id = any(${excluded}::text[]))
        and not exists (select 1 from d where d.sourced_id = k.sourced_id)`.execute(trx);
    classes.deleted = Number(goneClassrooms.numAffectedRows ?? 0);
    return { classes, enrollments };
  }

  /**
   * Imports the parents and guardians of matched students of included schools (both directions of
   * `agents`), with their contact details and relationship. Returns whether anything changed.
   */
  private async syncParents(trx: Transaction<SchoolManagerDatabase>, excluded: string[]): Promise<boolean> {
    const t = this.tenant.tenantId;
    const person = this.table('sis_person');
    const parentRoles = sql.join(PARENT_ROLES);
    const pairs = sql`
      select distinct par.sourced_id as parent_sourced_id, m.user_id as student_user_id, par.role as relationship
      from (
        select p.sourced_id as parent_sourced_id, a.id as student_sourced_id
        from ${person} p cross join lateral unnest(p.agent_sourced_ids) a(id)
        where p.tenant_id = ${t} and p.role in (${parentRoles})
        union
        select a.id, s.sourced_id
        from ${person} s cross join lateral unnest(s.agent_sourced_ids) a(id)
        where s.tenant_id = ${t} and s.role = 'student'
      ) link
      join ${person} par on par.tenant_id = ${t} and par.sourced_id = link.parent_sourced_id and par.role in (${parentRoles})
      join ${person} stu on stu.tenant_id = ${t} and stu.sourced_id = link.student_sourced_id and stu.role = 'student'
      join ${this.table('sis_user_match')} m on m.tenant_id = ${t} and m.sourced_id = stu.sourced_id and m.status = 'matched'
      where exists (select 1 from unnest(stu.org_sourced_ids) o(id) where not (o.id = any(${excluded}::text[])))`;
    const contact = this.table('parent_contact');
    const relation = this.table('parent_student');
    // A tenant with no parent relation yet (a first sync, a reset): the pairs are computed once, for
    // both inserts in one statement, and no relation can be gone.
    const noRelations = !(await trx.selectFrom('parent_student').select('tenant_id').where('tenant_id', '=', t).limit(1).executeTakeFirst());
    if (noRelations) {
      const { rows } = await sql<{ contacts: string; relations: string }>`
      with x as materialized (${pairs}),
      c as (
        insert into ${contact} (tenant_id, sourced_id, given_name, family_name, email, phone, sms)
        select ${t}, p.sourced_id, p.given_name, p.family_name, p.email, p.phone, p.sms
        from ${person} p where p.tenant_id = ${t} and p.sourced_id in (select parent_sourced_id from x)
        on conflict (tenant_id, sourced_id) do update
          set given_name = excluded.given_name, family_name = excluded.family_name, email = excluded.email, phone = excluded.phone, sms = excluded.sms
          where (parent_contact.given_name, parent_contact.family_name, parent_contact.email, parent_contact.phone, parent_contact.sms)
            is distinct from (excluded.given_name, excluded.family_name, excluded.email, excluded.phone, excluded.sms)
        returning 1),
      r as (
        insert into ${relation} (tenant_id, parent_sourced_id, student_user_id, relationship)
        select ${t}, x.parent_sourced_id, x.student_user_id, x.relationship from x
        returning 1)
      select (select count(*) from c) as contacts, (select count(*) from r) as relations`.execute(trx);
      const goneContacts = await sql`
      delete from ${contact} c where c.tenant_id = ${t}
        and not exists (select 1 from ${relation} r where r.tenant_id = ${t} and r.parent_sourced_id = c.sourced_id)`.execute(trx);
      return Number(rows[0]?.contacts ?? 0) > 0 || Number(rows[0]?.relations ?? 0) > 0 || Number(goneContacts.numAffectedRows ?? 0) > 0;
    }
    const upsertedContacts = await sql`
      insert into ${contact} (tenant_id, sourced_id, given_name, family_name, email, phone, sms)
      select ${t}, p.sourced_id, p.given_name, p.family_name, p.email, p.phone, p.sms
      from ${person} p where p.tenant_id = ${t} and p.sourced_id in (select parent_sourced_id from (${pairs}) x)
      on conflict (tenant_id, sourced_id) do update
        set given_name = excluded.given_name, family_name = excluded.family_name, email = excluded.email, phone = excluded.phone, sms = excluded.sms
        where (parent_contact.given_name, parent_contact.family_name, parent_contact.email, parent_contact.phone, parent_contact.sms)
          is distinct from (excluded.given_name, excluded.family_name, excluded.email, excluded.phone, excluded.sms)`.execute(trx);
    const upsertedRelations = await sql`
      insert into ${relation} (tenant_id, parent_sourced_id, student_user_id, relationship)
      select ${t}, x.parent_sourced_id, x.student_user_id, x.relationship from (${pairs}) x
      on conflict (tenant_id, parent_sourced_id, student_user_id) do update set relationship = excluded.relationship
        where parent_student.relationship is distinct from excluded.relationship`.execute(trx);
    const goneRelations = await sql`
      with x as materialized (${pairs})
      delete from ${relation} r where r.tenant_id = ${t}
        and not exists (select 1 from x where x.parent_sourced_id = r.parent_sourced_id and x.student_user_id = r.student_user_id)`.execute(trx);
    const goneContacts = await sql`
      delete from ${contact} c where c.tenant_id = ${t}
        and not exists (select 1 from ${relation} r where r.tenant_id = ${t} and r.parent_sourced_id = c.sourced_id)`.execute(trx);
    return [upsertedContacts, upsertedRelations, goneRelations, goneContacts].some((r) => Number(r.numAffectedRows ?? 0) > 0);
  }

  /** Schools with an incomplete dataset (no students, or no classes when classrooms are synced) make the sync partial. */
  private async checkSchools(trx: Transaction<SchoolManagerDatabase>, excluded: string[], issues: RosterIssue[]): Promise<Counts> {
    const t = this.tenant.tenantId;
    const { rows } = await sql<{ sourced_id: string; name: string; has_students: boolean; has_classes: boolean }>`
      select s.sourced_id, s.name,
             exists (select 1 from ${this.table('sis_person')} p where p.tenant_id = ${t} and p.role = 'student' and s.sourced_id = any(p.org_sourced_ids)) as has_students,
             exists (select 1 from ${this.table('sis_class')} c where c.tenant_id = ${t} and c.school_sourced_id = s.sourced_id) as has_classes
      from ${this.table('sis_school')} s
      where s.tenant_id = ${t} and s.org_type = 'school' and not (s.sourced_id = any(${excluded}::text[]))
      order by s.sourced_id`.execute(trx);
    let errors = 0;
    for (const s of rows) {
      const missing = [!s.has_students && 'students', this.settings.syncClassroomData && !s.has_classes && 'classes'].filter(Boolean);
      if (missing.length === 0) continue;
      errors++;
      issues.push(
        schoolManagerIssue(
          'SCHOOL_MANAGER_SCHOOL_INCOMPLETE',
          `School "${s.name}" has no ${missing.join(' and no ')} in the SIS: its dataset looks incomplete, so it was only partly synced. Complete it in the SIS, or add it to the excluded schools.`,
          { entity: 'orgs', sourcedId: s.sourced_id },
        ),
      );
    }
    return { errors };
  }

  /**
   * Reports the records this run imported (a first sync: every record) that School Manager did not
   * take, beyond the user matches {@link matchUsers} reports: classes and memberships not imported,
   * students and staff only of excluded schools, parents not imported. A membership naming a class
   * or user the roster lacks is an error, one per record; skips are warnings grouped per reason,
   * with examples, counted in `skipped`. A membership skipped for its unmatched user needs no
   * pending store: the import area keeps its enrollment, and the first sync after the user is
   * matched writes it.
   */
  private async reportNotTaken(
    trx: Transaction<SchoolManagerDatabase>,
    excluded: string[],
    counts: TargetApplyResult['counts'],
    issues: RosterIssue[],
  ): Promise<void> {
    if (!this.firstSync && this.runIds.size === 0) return;
    const t = this.tenant.tenantId;
    const fresh = (alias: string) => (this.firstSync ? sql`true` : sql`${sql.ref(`${alias}.import_run`)} = any(${[...this.runIds]}::text[])`);
    const members = sql.join(['student', ...STAFF_ROLES]);
    const classes = sql`
      select c.sourced_id, case
          when not ${this.settings.syncClassroomData} then 'SCHOOL_MANAGER_CLASSROOM_DATA_OFF'
          when c.school_sourced_id = any(${excluded}::text[]) then 'SCHOOL_MANAGER_SCHOOL_EXCLUDED'
          when dc.sourced_id is null then 'SCHOOL_MANAGER_CLASS_NOT_CURRENT' end as reason,
        null::text as detail
      from ${this.table('sis_class')} c
      left join (${this.desiredClassrooms(excluded)}) dc on dc.sourced_id = c.sourced_id
      where c.tenant_id = ${t} and ${fresh('c')}`;
    const enrollments = sql`
      select e.sourced_id, case
          when not (e.role in (${members})) then 'SCHOOL_MANAGER_ROLE_NOT_SYNCED'
          when not ${this.settings.syncClassroomData} then 'SCHOOL_MANAGER_CLASSROOM_DATA_OFF'
          when c.sourced_id is null then 'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN'
          when p.sourced_id is null then 'SCHOOL_MANAGER_MEMBER_USER_UNKNOWN'
          when c.school_sourced_id = any(${excluded}::text[]) then 'SCHOOL_MANAGER_SCHOOL_EXCLUDED'
          when dc.sourced_id is null then 'SCHOOL_MANAGER_CLASS_NOT_CURRENT'
          when ${this.settings.respectEnrolmentDate}
               and not ((e.begin_date is null or e.begin_date <= ${this.today}::date) and (e.end_date is null or ${this.today}::date <= e.end_date))
            then 'SCHOOL_MANAGER_ENROLMENT_NOT_CURRENT'
          when m.status is distinct from 'matched' then 'SCHOOL_MANAGER_MEMBER_USER_UNMATCHED' end as reason,
        case when c.sourced_id is null then e.class_sourced_id else e.user_sourced_id end as detail
      from ${this.table('sis_enrollment')} e
      left join ${this.table('sis_class')} c on c.tenant_id = ${t} and c.sourced_id = e.class_sourced_id
      left join (${this.desiredClassrooms(excluded)}) dc on dc.sourced_id = e.class_sourced_id
      left join ${this.table('sis_person')} p on p.tenant_id = ${t} and p.sourced_id = e.user_sourced_id and p.role in (${members})
      left join ${this.table('sis_user_match')} m on m.tenant_id = ${t} and m.sourced_id = e.user_sourced_id
      where e.tenant_id = ${t} and ${fresh('e')}`;
    const users = sql`
      select p.sourced_id, case
          when p.role in (${sql.join(PARENT_ROLES)}) then case
            when not ${this.settings.syncParentData} then 'SCHOOL_MANAGER_PARENT_DATA_OFF'
            when not exists (select 1 from ${this.table('parent_contact')} pc where pc.tenant_id = ${t} and pc.sourced_id = p.sourced_id) then 'SCHOOL_MANAGER_PARENT_UNLINKED' end
          when p.role in (${members}) then case
            when not exists (select 1 from ${this.table('sis_user_match')} m where m.tenant_id = ${t} and m.sourced_id = p.sourced_id) then 'SCHOOL_MANAGER_SCHOOL_EXCLUDED' end
          else 'SCHOOL_MANAGER_ROLE_NOT_SYNCED' end as reason,
        null::text as detail
      from ${this.table('sis_person')} p
      where p.tenant_id = ${t} and ${fresh('p')}`;
    for (const [entity, query] of [
      ['classes', classes],
      ['enrollments', enrollments],
      ['users', users],
    ] as const) {
      const { rows } = await sql<{ reason: SchoolManagerIssueCode; n: string; examples: string[] }>`
        select q.reason, count(*) as n, (array_agg(q.sourced_id order by q.sourced_id))[1:5] as examples
        from (${query}) q where q.reason is not null group by q.reason order by q.reason`.execute(trx);
      const c = (counts[entity] ??= {});
      for (const { reason, n, examples } of rows) {
        const count = Number(n);
        if (SchoolManagerIssueCodes[reason].severity === 'warning') {
          c.skipped = (c.skipped ?? 0) + count;
          issues.push(
            schoolManagerIssue(
              reason,
              `${count} ${entity} record(s) were skipped: ${SKIP_REASONS[reason]} (e.g. ${examples.join(', ')}${count > examples.length ? ', …' : ''})`,
              { entity },
            ),
          );
          continue;
        }
        c.errors = (c.errors ?? 0) + count;
        const refused = await sql<{
          sourced_id: string;
          detail: string;
        }>`select q.sourced_id, q.detail from (${query}) q where q.reason = ${reason} order by q.sourced_id`.execute(trx);
        for (const r of refused.rows) {
          const what =
            reason === 'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN'
              ? `class ${r.detail}, which is not in the roster`
              : `user ${r.detail}, who is not a student or staff member of the roster`;
          issues.push(
            schoolManagerIssue(
              reason,
              `This enrolment names ${what}, so no membership was imported. Fix the enrolment in the SIS; it is imported with the first sync where both its class and its user are in the roster.`,
              {
                entity,
                sourcedId: r.sourced_id,
                field: reason === 'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN' ? 'classSourcedId' : 'userSourcedId',
              },
            ),
          );
        }
      }
    }
  }

  /** Counts created / updated / unchanged (first sync only) from rows of `is_new`, `differs`. */
  private async changeCounts(trx: Transaction<SchoolManagerDatabase>, query: RawBuilder<unknown>): Promise<Counts> {
    const { rows } = await sql<{ created: string; updated: string; unchanged: string }>`
      select count(*) filter (where q.is_new) as created,
             count(*) filter (where not q.is_new and q.differs) as updated,
             count(*) filter (where not q.is_new and not q.differs) as unchanged
      from (${query}) q`.execute(trx);
    const r = rows[0]!;
    return { created: Number(r.created), updated: Number(r.updated), unchanged: this.firstSync ? Number(r.unchanged) : 0, deleted: 0 };
  }

  /** Keeps the Sync Details figures; the last sync date moves only when the sync changed something (or is a first). */
  private async recordSyncState(trx: Transaction<SchoolManagerDatabase>, touched: boolean): Promise<void> {
    const t = this.tenant.tenantId;
    const state = this.table('sync_state');
    await sql`
      insert into ${state} (tenant_id, last_sync_at, unmatched_users, matched_students, matched_teachers, imported_classes, imported_parents)
      select ${t}, now(),
             count(*) filter (where m.status in ('unmatched', 'no_email', 'duplicate_email')),
             count(*) filter (where m.status = 'matched' and m.kind = 'student'),
             count(*) filter (where m.status = 'matched' and m.kind = 'teacher'),
             (select count(*) from ${this.table('classroom')} where tenant_id = ${t}),
             (select count(*) from ${this.table('parent_contact')} where tenant_id = ${t})
      from ${this.table('sis_user_match')} m where m.tenant_id = ${t}
      on conflict (tenant_id) do update
        set last_sync_at = case when ${touched} or sync_state.last_sync_at is null then excluded.last_sync_at else sync_state.last_sync_at end,
            unmatched_users = excluded.unmatched_users, matched_students = excluded.matched_students, matched_teachers = excluded.matched_teachers,
            imported_classes = excluded.imported_classes, imported_parents = excluded.imported_parents
        where ${touched} or sync_state.last_sync_at is null
           or (sync_state.unmatched_users, sync_state.matched_students, sync_state.matched_teachers, sync_state.imported_classes, sync_state.imported_parents)
              is distinct from (excluded.unmatched_users, excluded.matched_students, excluded.matched_teachers, excluded.imported_classes, excluded.imported_parents)`.execute(
      trx,
    );
  }
}

/** A failed sync: the engine records TARGET_FAILED; School Manager's own code leads the message and is in the details. */
function failure(code: string, message: string): RosterbridgeError {
  return new RosterbridgeError('TARGET_FAILED', `${code}: ${message}`, { productCode: code });
}
