import { sql, type Kysely } from 'kysely';
import type {
  AcademicSession,
  ChangeRun,
  Enrollment,
  Org,
  RosterChange,
  RosterClass,
  RosterEntity,
  RosterIssue,
  RosterTargetSession,
  TargetApplyResult,
  TargetCounts,
  TargetLoader,
  LoadContext,
  ProductTable,
  TenantContext,
  User,
} from '@rosterbridge/core';
import {
  type ApplyContext,
  ProductRowWriter,
  batchTransaction,
  changesOf,
  consecutiveRuns,
  relaxedTransaction,
  upsertRows as upsertTableRows,
} from '@rosterbridge/core';
import { gradientIssue } from './gradient-issues';
import { academicYearPausedReason } from './gradient-academic-year';
import type { GradientSettings } from './gradient-settings';
import type { ClassMemberRow, ClassRow, GradientDatabase, GradientSourcedTable, PersonRow, StaffMemberRow, StudentRow } from './gradient-database';

type Outcome = 'created' | 'updated' | 'unchanged';
type Counts = Partial<Record<RosterEntity, TargetCounts>>;
/** A run of writes of one entity (see {@link consecutiveRuns}). */
type WriteRun = Extract<ChangeRun, { deleted: false }>;
/** A load page's rows, table by table, as {@link ProductRowWriter} takes them. */
type PageRows = readonly (readonly [ProductTable, readonly Record<string, unknown>[]])[];

/** Rows per statement: keeps every statement well under Postgres' 65,535 parameters. */
const ROWS_PER_STATEMENT = 500;
/** The tables holding a tenant's rostered data (not the product's own state, `academic_year`). */
const ROSTER_TABLES = [
  'pending_membership',
  'pending_class_term',
  'class_member',
  'class_term',
  'class',
  'student',
  'staff_member',
  'term',
  'organization',
] as const;
type RosterTable = (typeof ROSTER_TABLES)[number];
const text = (...names: string[]) => names.map((n) => [n, 'text'] as const);
const PERSON = text('tenant_id', 'sourced_id', 'role', 'given_name', 'middle_name', 'family_name', 'username', 'email');
/** The tables a load writes, their columns as COPY sends them. */
const LOAD_TABLES = {
  class: {
    name: 'class',
    columns: [
      ...text('tenant_id', 'sourced_id', 'title', 'class_code', 'class_type', 'school_sourced_id', 'location'),
      ['grades', 'text[]'],
      ['subjects', 'text[]'],
      ['periods', 'text[]'],
    ],
  },
  class_term: {
    name: 'class_term',
    columns: text('tenant_id', 'class_sourced_id', 'term_sourced_id'),
    key: ['tenant_id', 'class_sourced_id', 'term_sourced_id'],
  },
  pending_class_term: {
    name: 'pending_class_term',
    columns: text('tenant_id', 'class_sourced_id', 'term_sourced_id'),
    key: ['tenant_id', 'class_sourced_id', 'term_sourced_id'],
  },
  staff_member: { name: 'staff_member', columns: [...PERSON, ['employee_id', 'text'], ['school_sourced_ids', 'text[]'], ['enabled', 'boolean']] },
  student: {
    name: 'student',
    columns: [...PERSON, ['student_number', 'text'], ['school_sourced_ids', 'text[]'], ['enabled', 'boolean'], ['grades', 'text[]']],
  },
  class_member: {
    name: 'class_member',
    columns: [
      ...text('tenant_id', 'sourced_id', 'class_sourced_id', 'person_sourced_id', 'member_kind', 'role'),
      ['is_primary', 'boolean'],
      ['begin_date', 'date'],
      ['end_date', 'date'],
    ],
  },
  pending_membership: {
    name: 'pending_membership',
    columns: [...text('tenant_id', 'sourced_id', 'class_sourced_id', 'person_sourced_id', 'code'), ['record', 'jsonb']],
  },
} satisfies Record<string, ProductTable>;
/**
 * The tables that must hold none of the tenant's rows for an entity to load: those it writes and
 * those `apply` would read or change for it.
 */
const LOADS: Partial<Record<RosterEntity, readonly RosterTable[]>> = {
  classes: ['class', 'class_term', 'pending_class_term'],
  users: ['staff_member', 'student', 'class_member', 'pending_membership'],
  enrollments: ['class_member', 'pending_membership'],
};

/** Sourced ids named in one summary issue, at most. */
const SAMPLE = 10;

/**
 * Gradient opened for one tenant for one run. Each batch is written in one transaction, set-based
 * and idempotent: an upsert changes a row only when a column differs, so a batch applied twice
 * (or a no-change resync) rewrites nothing.
 */
export class GradientSession implements RosterTargetSession {
  private readonly tenantId: string;
  /** Users this run did not roster, by role (how many, and the first few ids), for the one summary issue `finish` reports. */
  private readonly notRostered = new Map<string, { count: number; sample: string[] }>();
  /**
   * What this session's batches wrote or removed, so that a later batch's look-ups of them need no
   * query (a first sync's enrollments name users and classes its earlier batches wrote): classes
   * held (true) or removed (false), and users by the one table that holds them (null: neither).
   * Ids not here, rows of earlier runs or of a load, are looked up.
   */
  private readonly known = { class: new Map<string, boolean>(), user: new Map<string, 'staff_member' | 'student' | null>() };

  constructor(
    private readonly db: Kysely<GradientDatabase>,
    private readonly tenant: TenantContext,
    private readonly settings: GradientSettings,
  ) {
    this.tenantId = tenant.tenantId;
  }

  /**
   * A back-fill's classes, users or enrollments, when Gradient holds none of the tenant's rows
   * they would touch: streamed in by COPY (batched inserts on the embedded database), each record
   * judged as {@link apply} judges it: the same rows, pending rows, issues and counts. Orgs and
   * terms are few: apply.
   */
  async load(entity: RosterEntity, signal: AbortSignal, context: LoadContext<GradientDatabase>): Promise<TargetLoader | undefined> {
    signal.throwIfAborted();
    const guarded = LOADS[entity];
    if (!guarded) return undefined;
    const trx = context.trx;
    for (const table of guarded) {
      const any = await trx.selectFrom(table).selectAll().where('tenant_id', '=', this.tenantId).limit(1).executeTakeFirst();
      if (any) return undefined;
    }
    const held = async (table: GradientSourcedTable) => {
      const ids = new Set<string>();
      for (const r of await trx.selectFrom(table).select('sourced_id').where('tenant_id', '=', this.tenantId).execute()) ids.add(r.sourced_id);
      return ids;
    };
    const tally: TargetCounts = { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 };
    const issues: RosterIssue[] = [];
    let page: (batch: readonly RosterChange[]) => PageRows;
    if (entity === 'classes') {
      const classes = this.classPage(tally, issues, await held('term'));
      page = (batch) => classes(changesOf(batch, 'classes'));
    } else if (entity === 'users') {
      const users = this.userPage(tally);
      page = (batch) => users(changesOf(batch, 'users'));
    } else {
      const memberships = this.membershipPage(tally, issues, await held('class'), await held('staff_member'), await held('student'));
      page = (batch) => memberships(changesOf(batch, 'enrollments'));
    }
    const writer = new ProductRowWriter(context);
    return {
      write: async (batch) => writer.write(page(batch)),
      end: async () => {
        await writer.end();
        return { counts: { [entity]: tally }, issues };
      },
    };
  }

  /** How a load turns a page of classes into rows: as {@link upsertClasses}, with the terms held. */
  private classPage(tally: TargetCounts, issues: RosterIssue[], terms: ReadonlySet<string>) {
    return (changes: readonly RosterChange<'classes'>[]) => {
      const classes = changes.map((c) => c.data.record);
      const links: Record<string, unknown>[] = [];
      const waiting: Record<string, unknown>[] = [];
      for (const c of classes) {
        for (const t of new Set(c.termSourcedIds))
          (terms.has(t) ? links : waiting).push({ tenant_id: this.tenantId, class_sourced_id: c.sourcedId, term_sourced_id: t });
        if (!c.termSourcedIds.some((t) => terms.has(t))) issues.push(classWithoutTerm(c));
      }
      tally.created += classes.length;
      return [
        [LOAD_TABLES.class, classes.map((c) => this.classRow(c))],
        [LOAD_TABLES.class_term, links],
        [LOAD_TABLES.pending_class_term, waiting],
      ] as const;
    };
  }

  /** How a load turns a page of users into rows: as {@link upsertUsers}, into an empty product. */
  private userPage(tally: TargetCounts) {
    const staffRoles = new Set<string>(this.settings.staffRoles);
    return (changes: readonly RosterChange<'users'>[]) => {
      const staff: StaffMemberRow[] = [];
      const students: StudentRow[] = [];
      for (const change of changes) {
        const u = change.data.record;
        if (u.role === 'student') students.push(this.studentRow(u));
        else if (staffRoles.has(u.role)) staff.push(this.staffRow(u));
        else {
          this.notRosteredUser(u);
          tally.skipped++;
        }
      }
      tally.created += staff.length + students.length;
      return [
        [LOAD_TABLES.staff_member, staff],
        [LOAD_TABLES.student, students],
      ] as const;
    };
  }

  /** How a load turns a page of enrollments into rows: as {@link upsertMemberships}, with the classes and people held. */
  private membershipPage(tally: TargetCounts, issues: RosterIssue[], classIds: ReadonlySet<string>, staff: ReadonlySet<string>, students: ReadonlySet<string>) {
    const staffRoles = new Set<string>(this.settings.staffRoles);
    return (changes: readonly RosterChange<'enrollments'>[]) => {
      const rows: ClassMemberRow[] = [];
      const pending: Record<string, unknown>[] = [];
      for (const change of changes) {
        const e = change.data.record;
        const kind = students.has(e.userSourcedId) ? 'student' : staff.has(e.userSourcedId) ? 'staff' : undefined;
        const refused = membershipRefusal(e, classIds.has(e.classSourcedId), kind, staffRoles);
        if (refused) {
          issues.push(refused);
          tally[refused.severity === 'error' ? 'errors' : 'skipped']++;
          pending.push({
            tenant_id: this.tenantId,
            sourced_id: e.sourcedId,
            class_sourced_id: e.classSourcedId,
            person_sourced_id: e.userSourcedId,
            code: refused.code,
            record: e,
          });
        } else rows.push(this.memberRow(e, kind!));
      }
      tally.created += rows.length;
      return [
        [LOAD_TABLES.class_member, rows],
        [LOAD_TABLES.pending_membership, pending],
      ] as const;
    };
  }

  async pausedReason(): Promise<string | undefined> {
    return academicYearPausedReason(this.db, this.tenant, this.settings);
  }

  async apply(batch: readonly RosterChange[], signal: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult> {
    signal.throwIfAborted();
    const counts: Counts = {};
    const issues: RosterIssue[] = [];
    // Whether every change of the batch is a creation: then rows are written with a plain INSERT first.
    const allNew = batch.every((c) => c.data.kind === 'created');
    return batchTransaction(this.db, context, async (trx) => {
      // In the order of the log: each run of one entity and direction, each record's last change.
      for (const run of consecutiveRuns(batch)) {
        signal.throwIfAborted();
        const tally = (counts[run.entity] ??= { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 });
        // A record changed twice in one batch (a catch-up over several runs) is written once, as last seen.
        tally.updated += run.superseded;
        const memberships = () => (counts.enrollments ??= { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 });
        if (run.deleted)
          tally.deleted += await this.remove(
            trx,
            run.entity,
            run.changes.map((c) => c.data.sourcedId),
            tally,
            memberships,
            issues,
          );
        else await this.upsert(trx, run, allNew, tally, issues, memberships);
      }
      return { counts, issues };
    });
  }

  async finish(): Promise<TargetApplyResult> {
    const issues: RosterIssue[] = [];
    const counts: Counts = {};
    await relaxedTransaction(this.db, (trx) =>
      this.materializePending(trx, (counts.enrollments = { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 })),
    );
    for (const [role, { count, sample }] of this.notRostered) {
      issues.push(
        gradientIssue(
          'GRADIENT_USERS_NOT_ROSTERED',
          `${count} user(s) with role ${role} were not rostered: Gradient takes students and the staff roles ${this.settings.staffRoles.join(', ')}` +
            ` (e.g. ${sample.join(', ')})`,
          { entity: 'users', field: 'role' },
        ),
      );
    }
    // Whole-tenant checks of what Gradient holds now: they describe the product, not this run's changes.
    const missing = await this.db
      .selectFrom('staff_member')
      .select(['sourced_id', 'given_name', 'family_name'])
      .where('tenant_id', '=', this.tenantId)
      .where((eb) => eb.or([eb('email', 'is', null), eb('email', '=', '')]))
      .orderBy('sourced_id')
      .execute();
    for (const s of missing)
      issues.push(
        gradientIssue(
          'GRADIENT_STAFF_EMAIL_MISSING',
          `staff member ${s.given_name} ${s.family_name} has no email: they cannot be sent a Gradient login invite until the SIS gives one`,
          {
            entity: 'users',
            sourcedId: s.sourced_id,
            field: 'email',
          },
        ),
      );
    const shared = await this.db
      .selectFrom('staff_member')
      .select([sql<string>`lower(email)`.as('email'), sql<string[]>`array_agg(sourced_id order by sourced_id)`.as('sourced_ids')])
      .where('tenant_id', '=', this.tenantId)
      .where('email', 'is not', null)
      .where('email', '!=', '')
      .groupBy(sql`lower(email)`)
      .having(sql`count(*)`, '>', 1)
      .orderBy(sql`lower(email)`)
      .execute();
    for (const s of shared)
      for (const sourcedId of s.sourced_ids)
        issues.push(
          gradientIssue(
            'GRADIENT_STAFF_EMAIL_DUPLICATE',
            `staff members ${s.sourced_ids.join(', ')} share the email ${s.email}: only one of them can sign in to Gradient with it`,
            {
              entity: 'users',
              sourcedId,
              field: 'email',
            },
          ),
        );
    return { counts, issues };
  }

  async reset(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await this.db.transaction().execute(async (trx) => {
      for (const table of ROSTER_TABLES) await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).execute();
    });
  }

  dispose(): void {}

  // --- writes ---------------------------------------------------------------------------------

  /** Writes a run's records; `assumeNew`: every change of the batch is a creation. */
  private async upsert(
    trx: Kysely<GradientDatabase>,
    run: WriteRun,
    assumeNew: boolean,
    tally: TargetCounts,
    issues: RosterIssue[],
    memberships: () => TargetCounts,
  ): Promise<void> {
    const count = (outcomes: Map<string, Outcome>) => {
      for (const o of outcomes.values()) tally[o]++;
    };
    switch (run.entity) {
      case 'orgs':
        return count(
          await this.upsertOrganizations(
            trx,
            run.changes.map((c) => c.data.record),
            assumeNew,
          ),
        );
      case 'academicSessions':
        return count(
          await this.upsertTerms(
            trx,
            run.changes.map((c) => c.data.record),
            assumeNew,
            tally,
            issues,
          ),
        );
      case 'classes':
        return count(
          await this.upsertClasses(
            trx,
            run.changes.map((c) => c.data.record),
            assumeNew,
            issues,
          ),
        );
      case 'users':
        return count(
          await this.upsertUsers(
            trx,
            run.changes.map((c) => c.data.record),
            assumeNew,
            tally,
            memberships,
            issues,
          ),
        );
      case 'enrollments':
        return count(
          await this.upsertMemberships(
            trx,
            run.changes.map((c) => c.data.record),
            assumeNew,
            tally,
            issues,
          ),
        );
      default:
        // Not consumed (see the manifest); counted so nothing goes unaccounted.
        tally.skipped += run.changes.length;
    }
  }

  private upsertOrganizations(trx: Kysely<GradientDatabase>, orgs: Org[], assumeNew: boolean): Promise<Map<string, Outcome>> {
    return upsertRows(
      assumeNew,
      trx,
      'organization',
      orgs.map((o) => ({
        tenant_id: this.tenantId,
        sourced_id: o.sourcedId,
        name: o.name,
        org_type: o.type,
        identifier: o.identifier ?? null,
        parent_sourced_id: o.parentSourcedId ?? null,
      })),
    );
  }

  private upsertTerms(
    trx: Kysely<GradientDatabase>,
    sessions: AcademicSession[],
    assumeNew: boolean,
    tally: TargetCounts,
    issues: RosterIssue[],
  ): Promise<Map<string, Outcome>> {
    const taken: AcademicSession[] = [];
    for (const s of sessions) {
      if (s.endDate < s.startDate) {
        tally.errors++;
        issues.push(
          gradientIssue(
            'GRADIENT_TERM_DATES_INVALID',
            `term "${s.title}" ends (${s.endDate}) before it starts (${s.startDate}); fix its dates in the SIS: Gradient schedules classes by term dates`,
            {
              entity: 'academicSessions',
              sourcedId: s.sourcedId,
              field: 'endDate',
            },
          ),
        );
      } else taken.push(s);
    }
    return upsertRows(
      assumeNew,
      trx,
      'term',
      taken.map((s) => ({
        tenant_id: this.tenantId,
        sourced_id: s.sourcedId,
        title: s.title,
        session_type: s.type,
        start_date: s.startDate,
        end_date: s.endDate,
        parent_sourced_id: s.parentSourcedId ?? null,
        school_year: s.schoolYear,
      })),
    );
  }

  private async upsertClasses(trx: Kysely<GradientDatabase>, classes: RosterClass[], assumeNew: boolean, issues: RosterIssue[]): Promise<Map<string, Outcome>> {
    const outcomes = await upsertRows(
      assumeNew,
      trx,
      'class',
      classes.map((c) => this.classRow(c)),
    );
    for (const c of classes) this.known.class.set(c.sourcedId, true);
    // The class's terms: a link to a term Gradient holds is a class_term row, one to a term it
    // lacks waits in pending_class_term until the term arrives. Links no longer named go, new ones
    // come; a class whose links changed is updated.
    const named = classes.flatMap((c) => [...new Set(c.termSourcedIds)].map((t) => [c.sourcedId, t] as const));
    const heldTerms = new Set<string>();
    for (const part of slices([...new Set(named.map(([, t]) => t))]))
      for (const r of await trx.selectFrom('term').select('sourced_id').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute())
        heldTerms.add(r.sourced_id);
    const links = named.filter(([, t]) => heldTerms.has(t));
    const waiting = named.filter(([, t]) => !heldTerms.has(t));
    const relinked = new Set<string>();
    for (const part of slices(classes)) {
      const ids = part.map((c) => c.sourcedId);
      for (const [table, keepAll] of [
        ['class_term', links],
        ['pending_class_term', waiting],
      ] as const) {
        const keep = keepAll.filter(([c]) => ids.includes(c));
        let stale = trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where('class_sourced_id', 'in', ids);
        if (keep.length > 0)
          stale = stale.where(sql<boolean>`(class_sourced_id, term_sourced_id) not in (${sql.join(keep.map(([c, t]) => sql`(${c}, ${t})`))})`);
        for (const r of await stale.returning('class_sourced_id').execute()) if (table === 'class_term') relinked.add(r.class_sourced_id);
      }
    }
    for (const [table, rows] of [
      ['class_term', links],
      ['pending_class_term', waiting],
    ] as const)
      for (const part of slices(rows)) {
        const added = await trx
          .insertInto(table)
          .values(part.map(([c, t]) => ({ tenant_id: this.tenantId, class_sourced_id: c, term_sourced_id: t })))
          .onConflict((oc) => oc.doNothing())
          .returning('class_sourced_id')
          .execute();
        if (table === 'class_term') for (const r of added) relinked.add(r.class_sourced_id);
      }
    for (const id of relinked) if (outcomes.get(id) === 'unchanged') outcomes.set(id, 'updated');
    // A class in no term Gradient holds is kept (it may be given one later) but shows in no schedule.
    for (const c of classes) if (!c.termSourcedIds.some((t) => heldTerms.has(t))) issues.push(classWithoutTerm(c));
    return outcomes;
  }

  private classRow(c: RosterClass): ClassRow {
    return {
      tenant_id: this.tenantId,
      sourced_id: c.sourcedId,
      title: c.title,
      class_code: c.classCode ?? null,
      class_type: c.classType,
      school_sourced_id: c.schoolSourcedId,
      location: c.location ?? null,
      grades: c.grades,
      subjects: c.subjects,
      periods: c.periods,
    };
  }

  private personRow(u: User): PersonRow {
    return {
      tenant_id: this.tenantId,
      sourced_id: u.sourcedId,
      role: u.role,
      given_name: u.givenName,
      middle_name: u.middleName ?? null,
      family_name: u.familyName,
      username: u.username,
      email: u.email ?? null,
      school_sourced_ids: u.orgSourcedIds,
      enabled: u.enabledUser,
    };
  }

  private staffRow(u: User): StaffMemberRow {
    return { ...this.personRow(u), employee_id: u.identifier ?? null };
  }

  private studentRow(u: User): StudentRow {
    return { ...this.personRow(u), student_number: u.identifier ?? null, grades: u.grades };
  }

  private memberRow(e: Enrollment, kind: 'staff' | 'student'): ClassMemberRow {
    return {
      tenant_id: this.tenantId,
      sourced_id: e.sourcedId,
      class_sourced_id: e.classSourcedId,
      person_sourced_id: e.userSourcedId,
      member_kind: kind,
      role: e.role,
      is_primary: e.primary ?? null,
      begin_date: e.beginDate ?? null,
      end_date: e.endDate ?? null,
    };
  }

  /** A user this run does not roster, for the one summary issue of `finish`. */
  private notRosteredUser(u: User): void {
    let found = this.notRostered.get(u.role);
    if (!found) this.notRostered.set(u.role, (found = { count: 0, sample: [] }));
    found.count++;
    if (found.sample.length < SAMPLE) found.sample.push(u.sourcedId);
  }

  private async upsertUsers(
    trx: Kysely<GradientDatabase>,
    users: User[],
    assumeNew: boolean,
    tally: TargetCounts,
    memberships: () => TargetCounts,
    issues: RosterIssue[],
  ): Promise<Map<string, Outcome>> {
    const staffRoles = new Set<string>(this.settings.staffRoles);
    const staff: User[] = [];
    const students: User[] = [];
    const others: User[] = [];
    for (const u of users) (u.role === 'student' ? students : staffRoles.has(u.role) ? staff : others).push(u);
    const outcomes = new Map<string, Outcome>([
      ...(await upsertRows(
        assumeNew,
        trx,
        'staff_member',
        staff.map((u) => this.staffRow(u)),
      )),
      ...(await upsertRows(
        assumeNew,
        trx,
        'student',
        students.map((u) => this.studentRow(u)),
      )),
    ]);
    for (const u of staff) this.rememberUser(u.sourcedId, 'staff_member');
    for (const u of students) this.rememberUser(u.sourcedId, 'student');
    for (const u of others) this.rememberUser(u.sourcedId, undefined);
    // A user whose role changed moves between tables (an update); one no longer rostered leaves Gradient.
    const moved = new Set<string>();
    for (const [table, leaving] of [
      ['staff_member', [...students, ...others]],
      ['student', [...staff, ...others]],
    ] as const)
      for (const part of slices(leaving))
        for (const r of await trx
          .deleteFrom(table)
          .where('tenant_id', '=', this.tenantId)
          .where(
            'sourced_id',
            'in',
            part.map((u) => u.sourcedId),
          )
          .returning('sourced_id')
          .execute())
          moved.add(r.sourced_id);
    for (const id of moved) if (outcomes.has(id)) outcomes.set(id, 'updated');
    if (moved.size > 0) {
      // Their memberships follow: the kind changes with the table, and one no longer rostered is in no class.
      for (const [kind, people] of [
        ['staff', staff],
        ['student', students],
      ] as const)
        for (const part of slices(people.filter((u) => moved.has(u.sourcedId)).map((u) => u.sourcedId)))
          await trx
            .updateTable('class_member')
            .set({ member_kind: kind })
            .where('tenant_id', '=', this.tenantId)
            .where('person_sourced_id', 'in', part)
            .execute();
      const left = others.filter((u) => moved.has(u.sourcedId)).map((u) => u.sourcedId);
      this.demoted(await this.demoteMemberships(trx, 'person_sourced_id', left), memberships(), issues);
    }
    for (const u of others) {
      if (moved.has(u.sourcedId)) {
        tally.deleted++;
        continue;
      }
      tally.skipped++;
      this.notRosteredUser(u);
    }
    return outcomes;
  }

  /** Where a user now is (after this session wrote or removed it): one table, or neither. */
  private rememberUser(id: string, table: 'staff_member' | 'student' | undefined): void {
    this.known.user.set(id, table ?? null);
  }

  /** Which of `ids` the table holds: from what this session wrote, else asked. */
  private async present(trx: Kysely<GradientDatabase>, table: 'class' | 'staff_member' | 'student', ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const ask: string[] = [];
    for (const id of new Set(ids)) {
      // Undefined: not known to this session; a known user is held by its one table or by neither.
      const user = table === 'class' ? undefined : this.known.user.get(id);
      const held = table === 'class' ? this.known.class.get(id) : user === undefined ? undefined : user === table;
      if (held === undefined) ask.push(id);
      else if (held) found.add(id);
    }
    for (const part of slices(ask))
      for (const r of await trx.selectFrom(table).select('sourced_id').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute())
        found.add(r.sourced_id);
    return found;
  }

  /**
   * Writes the enrollments whose class and person Gradient holds; the others are reported (an
   * error when the class or person is unknown, a warning for a role the settings leave out) and
   * wait in `pending_membership` until both are held. `retry`: pending ones judged again by
   * `finish`, where only what is now taken counts and nothing is reported again.
   */
  private async upsertMemberships(
    trx: Kysely<GradientDatabase>,
    enrollments: Enrollment[],
    assumeNew: boolean,
    tally: TargetCounts,
    issues: RosterIssue[],
    retry = false,
  ): Promise<Map<string, Outcome>> {
    const classIds = await this.present(
      trx,
      'class',
      enrollments.map((e) => e.classSourcedId),
    );
    const kinds = new Map<string, 'staff' | 'student'>();
    const userIds = enrollments.map((e) => e.userSourcedId);
    for (const id of await this.present(trx, 'staff_member', userIds)) kinds.set(id, 'staff');
    for (const id of await this.present(trx, 'student', userIds)) kinds.set(id, 'student');
    const staffRoles = new Set<string>(this.settings.staffRoles);
    const rows: ClassMemberRow[] = [];
    const pending: { enrollment: Enrollment; code: string }[] = [];
    for (const e of enrollments) {
      const kind = kinds.get(e.userSourcedId);
      const refused = membershipRefusal(e, classIds.has(e.classSourcedId), kind, staffRoles);
      if (refused) {
        pending.push({ enrollment: e, code: refused.code });
        if (!retry) {
          issues.push(refused);
          tally[refused.severity === 'error' ? 'errors' : 'skipped']++;
        }
        continue;
      }
      rows.push(this.memberRow(e, kind!));
    }
    // An enrollment Gradient held and can take no more (its class or person left) leaves too.
    for (const part of slices(pending.map((p) => p.enrollment.sourcedId)))
      await trx.deleteFrom('class_member').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute();
    await this.keepPending(trx, pending);
    for (const part of slices(rows.map((r) => r.sourced_id)))
      await trx.deleteFrom('pending_membership').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute();
    return upsertRows(assumeNew, trx, 'class_member', rows);
  }

  /** Saves enrollments Gradient cannot take yet (password-free records), replacing an older copy only when it differs. */
  private async keepPending(trx: Kysely<GradientDatabase>, pending: readonly { enrollment: Enrollment; code: string }[]): Promise<void> {
    for (const part of slices(pending))
      await trx
        .insertInto('pending_membership')
        .values(
          part.map(({ enrollment: e, code }) => ({
            tenant_id: this.tenantId,
            sourced_id: e.sourcedId,
            class_sourced_id: e.classSourcedId,
            person_sourced_id: e.userSourcedId,
            code,
            record: JSON.stringify(e),
          })),
        )
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'sourced_id'])
            .doUpdateSet({
              class_sourced_id: sql.ref('excluded.class_sourced_id'),
              person_sourced_id: sql.ref('excluded.person_sourced_id'),
              code: sql.ref('excluded.code'),
              record: sql.ref('excluded.record'),
            })
            .where(sql.raw<boolean>('(pending_membership.code, pending_membership.record) is distinct from (excluded.code, excluded.record)')),
        )
        .execute();
  }

  /**
   * Moves the memberships of people or classes that left Gradient to `pending_membership` (they
   * come back with them: the ledger will not send the enrollment again), each with an error.
   */
  private async demoteMemberships(
    trx: Kysely<GradientDatabase>,
    column: 'person_sourced_id' | 'class_sourced_id',
    ids: readonly string[],
  ): Promise<RosterIssue[]> {
    const issues: RosterIssue[] = [];
    for (const part of slices(ids)) {
      const rows = await trx.deleteFrom('class_member').where('tenant_id', '=', this.tenantId).where(column, 'in', part).returningAll().execute();
      const pending = rows.map((m) => {
        const enrollment: Enrollment = {
          sourcedId: m.sourced_id,
          status: 'active',
          dateLastModified: undefined,
          metadata: {},
          classSourcedId: m.class_sourced_id,
          userSourcedId: m.person_sourced_id,
          schoolSourcedId: '',
          role: m.role,
          primary: m.is_primary ?? undefined,
          beginDate: dateText(m.begin_date),
          endDate: dateText(m.end_date),
        };
        const issue =
          column === 'class_sourced_id'
            ? gradientIssue(
                'GRADIENT_ENROLLMENT_CLASS_UNKNOWN',
                `class ${m.class_sourced_id} left Gradient, so ${m.person_sourced_id}'s membership in it was taken out; it returns with the class`,
                { entity: 'enrollments', sourcedId: m.sourced_id, field: 'classSourcedId' },
              )
            : gradientIssue(
                'GRADIENT_ENROLLMENT_PERSON_UNKNOWN',
                `${m.person_sourced_id} left Gradient, so their membership in class ${m.class_sourced_id} was taken out; it returns with them`,
                { entity: 'enrollments', sourcedId: m.sourced_id, field: 'userSourcedId' },
              );
        issues.push(issue);
        return { enrollment, code: issue.code };
      });
      await this.keepPending(trx, pending);
    }
    return issues;
  }

  /** Reports memberships taken out by a change elsewhere, counted like rejections. */
  private demoted(found: readonly RosterIssue[], tally: TargetCounts, issues: RosterIssue[]): void {
    for (const issue of found) {
      issues.push(issue);
      tally[issue.severity === 'error' ? 'errors' : 'skipped']++;
    }
  }

  /** Takes the pending enrollments whose class and person Gradient now holds, and the class terms it now holds. */
  private async materializePending(trx: Kysely<GradientDatabase>, tally: TargetCounts): Promise<void> {
    await trx
      .insertInto('class_term')
      .columns(['tenant_id', 'class_sourced_id', 'term_sourced_id'])
      .expression(
        trx
          .selectFrom('pending_class_term as p')
          .innerJoin('term as t', (j) => j.onRef('t.tenant_id', '=', 'p.tenant_id').onRef('t.sourced_id', '=', 'p.term_sourced_id'))
          .innerJoin('class as c', (j) => j.onRef('c.tenant_id', '=', 'p.tenant_id').onRef('c.sourced_id', '=', 'p.class_sourced_id'))
          .select(['p.tenant_id', 'p.class_sourced_id', 'p.term_sourced_id'])
          .where('p.tenant_id', '=', this.tenantId),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    await trx
      .deleteFrom('pending_class_term as p')
      .where('p.tenant_id', '=', this.tenantId)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('class_term as ct')
            .select('ct.class_sourced_id')
            .whereRef('ct.tenant_id', '=', 'p.tenant_id')
            .whereRef('ct.class_sourced_id', '=', 'p.class_sourced_id')
            .whereRef('ct.term_sourced_id', '=', 'p.term_sourced_id'),
        ),
      )
      .execute();
    let after = '';
    for (;;) {
      const page = await trx
        .selectFrom('pending_membership as p')
        .select(['p.sourced_id', 'p.record'])
        .where('p.tenant_id', '=', this.tenantId)
        .where('p.sourced_id', '>', after)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('class as c').select('c.sourced_id').whereRef('c.tenant_id', '=', 'p.tenant_id').whereRef('c.sourced_id', '=', 'p.class_sourced_id'),
          ),
        )
        .where(({ or, exists, selectFrom }) =>
          or([
            exists(
              selectFrom('staff_member as s')
                .select('s.sourced_id')
                .whereRef('s.tenant_id', '=', 'p.tenant_id')
                .whereRef('s.sourced_id', '=', 'p.person_sourced_id'),
            ),
            exists(
              selectFrom('student as s')
                .select('s.sourced_id')
                .whereRef('s.tenant_id', '=', 'p.tenant_id')
                .whereRef('s.sourced_id', '=', 'p.person_sourced_id'),
            ),
          ]),
        )
        .orderBy('p.sourced_id')
        .limit(ROWS_PER_STATEMENT)
        .execute();
      if (page.length === 0) return;
      after = page[page.length - 1]!.sourced_id;
      const outcomes = await this.upsertMemberships(
        trx,
        page.map((r) => r.record),
        false, // not a batch's creations: the upsert that looks first
        tally,
        [],
        true,
      );
      for (const o of outcomes.values()) if (o === 'created') tally.created++;
    }
  }

  /** Deletes records of `entity` and what hangs on them; returns how many Gradient held. */
  private async remove(
    trx: Kysely<GradientDatabase>,
    entity: RosterEntity,
    sourcedIds: string[],
    tally: TargetCounts,
    memberships: () => TargetCounts,
    issues: RosterIssue[],
  ): Promise<number> {
    const tables: Partial<Record<RosterEntity, readonly GradientSourcedTable[]>> = {
      orgs: ['organization'],
      academicSessions: ['term'],
      classes: ['class'],
      users: ['staff_member', 'student'],
      enrollments: ['class_member', 'pending_membership'],
    };
    if (entity === 'classes') for (const id of sourcedIds) this.known.class.set(id, false);
    if (entity === 'users') for (const id of sourcedIds) this.rememberUser(id, undefined);
    let deleted = 0;
    for (const part of slices(sourcedIds)) {
      // What hangs on a record goes with it, even when the source did not send those deletions;
      // what would come back with it (memberships, class terms) waits as pending.
      if (entity === 'users' || entity === 'classes')
        this.demoted(await this.demoteMemberships(trx, entity === 'users' ? 'person_sourced_id' : 'class_sourced_id', part), memberships(), issues);
      if (entity === 'classes') {
        await trx.deleteFrom('class_term').where('tenant_id', '=', this.tenantId).where('class_sourced_id', 'in', part).execute();
        await trx.deleteFrom('pending_class_term').where('tenant_id', '=', this.tenantId).where('class_sourced_id', 'in', part).execute();
      }
      if (entity === 'academicSessions') {
        const unlinked = await trx
          .deleteFrom('class_term')
          .where('tenant_id', '=', this.tenantId)
          .where('term_sourced_id', 'in', part)
          .returningAll()
          .execute();
        if (unlinked.length > 0)
          await trx
            .insertInto('pending_class_term')
            .values(unlinked)
            .onConflict((oc) => oc.doNothing())
            .execute();
      }
      for (const table of tables[entity] ?? []) {
        const gone = (await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).returning('sourced_id').execute())
          .length;
        if (table !== 'pending_membership') deleted += gone;
      }
    }
    // A deletion of a record Gradient never held (not taken, or deleted already by a replayed batch) changes nothing.
    tally.unchanged += sourcedIds.length - deleted;
    return deleted;
  }
}

/** A date column's value as `YYYY-MM-DD` (pg gives a Date at local midnight), or undefined. */
function dateText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return `${value.getFullYear()}-${String(value.getMonth() + 1).padStart(2, '0')}-${String(value.getDate()).padStart(2, '0')}`;
  return String(value).slice(0, 10);
}

/**
 * Inserts rows, or updates those whose columns differ (`is distinct from`), and tells for each
 * sourcedId whether it was created, updated or already as given.
 */
async function upsertRows(
  assumeNew: boolean,
  trx: Kysely<GradientDatabase>,
  table: GradientSourcedTable,
  rows: readonly Record<string, unknown>[],
): Promise<Map<string, Outcome>> {
  const written = await upsertTableRows(trx, table, rows, { key: ['tenant_id', 'sourced_id'], outcomeKey: 'sourced_id', assumeNew });
  return written.outcomes ?? new Map();
}

function slices<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

/** A class in no term Gradient holds (its issue). */
function classWithoutTerm(c: RosterClass): RosterIssue {
  return gradientIssue(
    'GRADIENT_CLASS_WITHOUT_TERM',
    `class "${c.title}" runs in no term Gradient holds (${c.termSourcedIds.join(', ') || 'none given'}): it will show in no schedule`,
    { entity: 'classes', sourcedId: c.sourcedId, field: 'termSourcedIds' },
  );
}

/** Why Gradient cannot take an enrollment (its issue), given whether it holds the class and as what it holds the person; undefined: taken. */
function membershipRefusal(e: Enrollment, classHeld: boolean, kind: 'staff' | 'student' | undefined, staffRoles: ReadonlySet<string>): RosterIssue | undefined {
  const where = { entity: 'enrollments' as const, sourcedId: e.sourcedId };
  if (!classHeld)
    return gradientIssue(
      'GRADIENT_ENROLLMENT_CLASS_UNKNOWN',
      `enrollment of ${e.userSourcedId} names class ${e.classSourcedId}, which Gradient does not hold (not sent, or not taken); it is taken once the class is`,
      { ...where, field: 'classSourcedId' },
    );
  if (!kind && e.role !== 'student' && !staffRoles.has(e.role))
    return gradientIssue(
      'GRADIENT_ENROLLMENT_NOT_ROSTERED',
      `enrollment of ${e.userSourcedId} as ${e.role} in class ${e.classSourcedId} was not taken: the tenant's settings do not roster ${e.role}s`,
      { ...where, field: 'role' },
    );
  if (!kind)
    return gradientIssue(
      'GRADIENT_ENROLLMENT_PERSON_UNKNOWN',
      `enrollment in class ${e.classSourcedId} names ${e.userSourcedId}, who is not a staff member or student in Gradient (not sent, or not taken); it is taken once they are`,
      { ...where, field: 'userSourcedId' },
    );
  return undefined;
}
