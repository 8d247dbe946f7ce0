import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  AcademicSession,
  Enrollment,
  Org,
  RosterChangeEvent,
  RosterClass,
  RosterEntity,
  RosterIssue,
  RosterTargetSession,
  TargetApplyResult,
  TargetCounts,
  TenantContext,
  User,
} from '@rosterbridge/core';
import { relaxCommit, upsertRows as upsertTableRows } from '@rosterbridge/core';
import { gradientIssue } from './gradient-issues';
import type { GradientSettings } from './gradient-settings';

type Outcome = 'created' | 'updated' | 'unchanged';
type Counts = Partial<Record<RosterEntity, TargetCounts>>;

/** Rows per statement: keeps every statement well under Postgres' 65,535 parameters. */
const ROWS_PER_STATEMENT = 500;
/** The tables holding a tenant's rostered data (not the product's own state, `academic_year`). */
const ROSTER_TABLES = ['class_member', 'class_term', 'class', 'student', 'staff_member', 'term', 'organization'] as const;
/** Sourced ids named in one summary issue, at most. */
const SAMPLE = 10;

/**
 * Gradient opened for one tenant for one run. Each batch is written in one transaction, set-based
 * and idempotent: an upsert changes a row only when a column differs, so a batch applied twice
 * (or a no-change resync) rewrites nothing.
 */
export class GradientSession implements RosterTargetSession {
  private readonly tenantId: string;
  /** Users this run did not roster, by role, for the one summary issue `finish` reports. */
  private readonly notRostered = new Map<string, string[]>();
  /** Every change of the batch being applied is a creation: rows are written with a plain INSERT first. */
  private assumeNew = false;
  /**
   * Ids this session wrote (true) or removed (false), by table, so that a later batch's look-ups of
   * them need no query (a first sync's enrollments name users and classes its earlier batches
   * wrote). Ids not here, rows of earlier runs, are looked up.
   */
  private readonly known = { class: new Map<string, boolean>(), staff_member: new Map<string, boolean>(), student: new Map<string, boolean>() };

  constructor(
    private readonly db: Kysely<any>,
    private readonly tenant: TenantContext,
    private readonly settings: GradientSettings,
  ) {
    this.tenantId = tenant.tenantId;
  }

  async pausedReason(): Promise<string | undefined> {
    // The product's current academic year is its latest; rolling over to a new one pauses syncing until it is started.
    const year = await this.db
      .selectFrom('academic_year')
      .select(['school_year', 'started_at'])
      .where('tenant_id', '=', this.tenantId)
      .orderBy('school_year', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (year?.started_at) return undefined;
    const which = year ? `academic year ${year.school_year}` : 'academic year';
    return `the Gradient ${which} is not started for ${this.tenant.info().displayName}: a Gradient Leader starts it in Admin Mode, which unpauses roster syncing`;
  }

  async apply(batch: readonly RosterChangeEvent[], signal: AbortSignal): Promise<TargetApplyResult> {
    signal.throwIfAborted();
    const counts: Counts = {};
    const issues: RosterIssue[] = [];
    this.assumeNew = batch.every((e) => e.data.kind === 'created');
    await this.db.transaction().execute(async (trx) => {
      await relaxCommit(trx);
      for (const group of groups(batch)) {
        signal.throwIfAborted();
        const tally = (counts[group.entity] ??= { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 });
        // A record changed twice in one batch (a catch-up over several runs) is written once, as last seen.
        tally.updated += group.superseded;
        if (group.deleted) tally.deleted += await this.remove(trx, group.entity, group.events.map((e) => e.data.sourcedId), tally);
        else await this.upsert(trx, group.entity, group.events, tally, issues);
      }
    });
    return { counts, issues };
  }

  async finish(): Promise<TargetApplyResult> {
    const issues: RosterIssue[] = [];
    for (const [role, ids] of this.notRostered) {
      issues.push(
        gradientIssue(
          'GRADIENT_USERS_NOT_ROSTERED',
          `${ids.length} user(s) with role ${role} were not rostered: Gradient takes students and the staff roles ${this.settings.staffRoles.join(', ')}` +
            ` (e.g. ${ids.slice(0, SAMPLE).join(', ')})`,
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
        gradientIssue('GRADIENT_STAFF_EMAIL_MISSING', `staff member ${s.given_name} ${s.family_name} has no email: they cannot be sent a Gradient login invite until the SIS gives one`, {
          entity: 'users',
          sourcedId: s.sourced_id,
          field: 'email',
        }),
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
          gradientIssue('GRADIENT_STAFF_EMAIL_DUPLICATE', `staff members ${s.sourced_ids.join(', ')} share the email ${s.email}: only one of them can sign in to Gradient with it`, {
            entity: 'users',
            sourcedId,
            field: 'email',
          }),
        );
    return { counts: {}, issues };
  }

  async reset(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await this.db.transaction().execute(async (trx) => {
      for (const table of ROSTER_TABLES) await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).execute();
    });
  }

  dispose(): void {}

  // --- writes ---------------------------------------------------------------------------------

  private async upsert(trx: Transaction<any>, entity: RosterEntity, events: RosterChangeEvent[], tally: TargetCounts, issues: RosterIssue[]): Promise<void> {
    const count = (outcomes: Map<string, Outcome>) => {
      for (const o of outcomes.values()) tally[o]++;
    };
    switch (entity) {
      case 'orgs':
        return count(await this.upsertOrganizations(trx, events.map((e) => e.data.record as Org)));
      case 'academicSessions':
        return count(await this.upsertTerms(trx, events.map((e) => e.data.record as AcademicSession), tally, issues));
      case 'classes':
        return count(await this.upsertClasses(trx, events.map((e) => e.data.record as RosterClass), issues));
      case 'users':
        return count(await this.upsertUsers(trx, events.map((e) => e.data.record as User), tally));
      case 'enrollments':
        return count(await this.upsertMemberships(trx, events.map((e) => e.data.record as Enrollment), tally, issues));
      default:
        // Not consumed (see the manifest); counted so nothing goes unaccounted.
        tally.skipped += events.length;
    }
  }

  private upsertOrganizations(trx: Transaction<any>, orgs: Org[]): Promise<Map<string, Outcome>> {
    return upsertRows(this.assumeNew, 
      trx,
      'organization',
      orgs.map((o) => ({ tenant_id: this.tenantId, sourced_id: o.sourcedId, name: o.name, org_type: o.type, identifier: o.identifier ?? null, parent_sourced_id: o.parentSourcedId ?? null })),
    );
  }

  private upsertTerms(trx: Transaction<any>, sessions: AcademicSession[], tally: TargetCounts, issues: RosterIssue[]): Promise<Map<string, Outcome>> {
    const taken: AcademicSession[] = [];
    for (const s of sessions) {
      if (s.endDate < s.startDate) {
        tally.skipped++;
        issues.push(
          gradientIssue('GRADIENT_TERM_DATES_INVALID', `term "${s.title}" ends (${s.endDate}) before it starts (${s.startDate}); fix its dates in the SIS: Gradient schedules classes by term dates`, {
            entity: 'academicSessions',
            sourcedId: s.sourcedId,
            field: 'endDate',
          }),
        );
      } else taken.push(s);
    }
    return upsertRows(this.assumeNew, 
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

  private async upsertClasses(trx: Transaction<any>, classes: RosterClass[], issues: RosterIssue[]): Promise<Map<string, Outcome>> {
    const outcomes = await upsertRows(this.assumeNew, 
      trx,
      'class',
      classes.map((c) => ({
        tenant_id: this.tenantId,
        sourced_id: c.sourcedId,
        title: c.title,
        class_code: c.classCode ?? null,
        class_type: c.classType,
        school_sourced_id: c.schoolSourcedId,
        course_sourced_id: c.courseSourcedId,
        location: c.location ?? null,
        grades: c.grades,
        subjects: c.subjects,
        periods: c.periods,
      })),
    );
    for (const c of classes) this.known.class.set(c.sourcedId, true);
    // The class's terms: links no longer named go, new ones come; a class whose links changed is updated.
    const links = classes.flatMap((c) => [...new Set(c.termSourcedIds)].map((t) => [c.sourcedId, t] as const));
    const relinked = new Set<string>();
    for (const part of slices(classes)) {
      const ids = part.map((c) => c.sourcedId);
      const keep = links.filter(([c]) => ids.includes(c));
      let stale = trx.deleteFrom('class_term').where('tenant_id', '=', this.tenantId).where('class_sourced_id', 'in', ids);
      if (keep.length > 0) stale = stale.where(sql<boolean>`(class_sourced_id, term_sourced_id) not in (${sql.join(keep.map(([c, t]) => sql`(${c}, ${t})`))})`);
      for (const r of await stale.returning('class_sourced_id').execute()) relinked.add(r.class_sourced_id);
    }
    for (const part of slices(links)) {
      const added = await trx
        .insertInto('class_term')
        .values(part.map(([c, t]) => ({ tenant_id: this.tenantId, class_sourced_id: c, term_sourced_id: t })))
        .onConflict((oc) => oc.doNothing())
        .returning('class_sourced_id')
        .execute();
      for (const r of added) relinked.add(r.class_sourced_id);
    }
    for (const id of relinked) if (outcomes.get(id) === 'unchanged') outcomes.set(id, 'updated');
    // A class in no term Gradient holds is kept (it may be given one later) but shows in no schedule.
    const termIds = [...new Set(links.map(([, t]) => t))];
    const known = new Set<string>();
    for (const part of slices(termIds))
      for (const r of await trx.selectFrom('term').select('sourced_id').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute()) known.add(r.sourced_id);
    for (const c of classes)
      if (!c.termSourcedIds.some((t) => known.has(t)))
        issues.push(
          gradientIssue('GRADIENT_CLASS_WITHOUT_TERM', `class "${c.title}" runs in no term Gradient holds (${c.termSourcedIds.join(', ') || 'none given'}): it will show in no schedule`, {
            entity: 'classes',
            sourcedId: c.sourcedId,
            field: 'termSourcedIds',
          }),
        );
    return outcomes;
  }

  private async upsertUsers(trx: Transaction<any>, users: User[], tally: TargetCounts): Promise<Map<string, Outcome>> {
    const staffRoles = new Set<string>(this.settings.staffRoles);
    const staff: User[] = [];
    const students: User[] = [];
    const others: User[] = [];
    for (const u of users) (u.role === 'student' ? students : staffRoles.has(u.role) ? staff : others).push(u);
    const person = (u: User) => ({
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
    });
    const outcomes = new Map<string, Outcome>([
      ...(await upsertRows(this.assumeNew, trx, 'staff_member', staff.map((u) => ({ ...person(u), employee_id: u.identifier ?? null })))),
      ...(await upsertRows(this.assumeNew, trx, 'student', students.map((u) => ({ ...person(u), student_number: u.identifier ?? null, grades: u.grades })))),
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
        for (const r of await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part.map((u) => u.sourcedId)).returning('sourced_id').execute())
          moved.add(r.sourced_id);
    for (const id of moved) if (outcomes.has(id)) outcomes.set(id, 'updated');
    if (moved.size > 0) {
      // Their memberships follow: the kind changes with the table, and one no longer rostered is in no class.
      for (const [kind, people] of [
        ['staff', staff],
        ['student', students],
      ] as const)
        for (const part of slices(people.filter((u) => moved.has(u.sourcedId)).map((u) => u.sourcedId)))
          await trx.updateTable('class_member').set({ member_kind: kind }).where('tenant_id', '=', this.tenantId).where('person_sourced_id', 'in', part).execute();
      for (const part of slices(others.filter((u) => moved.has(u.sourcedId)).map((u) => u.sourcedId)))
        await trx.deleteFrom('class_member').where('tenant_id', '=', this.tenantId).where('person_sourced_id', 'in', part).execute();
    }
    for (const u of others) {
      if (moved.has(u.sourcedId)) tally.deleted++;
      else tally.skipped++;
      const list = this.notRostered.get(u.role) ?? [];
      list.push(u.sourcedId);
      this.notRostered.set(u.role, list);
    }
    return outcomes;
  }

  /** Where a user now is (after this session wrote or removed it): one table, or neither. */
  private rememberUser(id: string, table: 'staff_member' | 'student' | undefined): void {
    this.known.staff_member.set(id, table === 'staff_member');
    this.known.student.set(id, table === 'student');
  }

  /** Which of `ids` the table holds: from what this session wrote, else asked. */
  private async present(trx: Transaction<any>, table: keyof GradientSession['known'], ids: readonly string[]): Promise<Set<string>> {
    const known = this.known[table];
    const found = new Set<string>();
    const ask: string[] = [];
    for (const id of new Set(ids)) {
      const held = known.get(id);
      if (held === undefined) ask.push(id);
      else if (held) found.add(id);
    }
    for (const part of slices(ask))
      for (const r of await trx.selectFrom(table).select('sourced_id').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute()) found.add(r.sourced_id);
    return found;
  }

  private async upsertMemberships(trx: Transaction<any>, enrollments: Enrollment[], tally: TargetCounts, issues: RosterIssue[]): Promise<Map<string, Outcome>> {
    const classIds = await this.present(trx, 'class', enrollments.map((e) => e.classSourcedId));
    const kinds = new Map<string, 'staff' | 'student'>();
    const userIds = enrollments.map((e) => e.userSourcedId);
    for (const id of await this.present(trx, 'staff_member', userIds)) kinds.set(id, 'staff');
    for (const id of await this.present(trx, 'student', userIds)) kinds.set(id, 'student');
    const staffRoles = new Set<string>(this.settings.staffRoles);
    const rows: Record<string, unknown>[] = [];
    const notTaken: string[] = [];
    for (const e of enrollments) {
      const where = { entity: 'enrollments' as const, sourcedId: e.sourcedId };
      const kind = kinds.get(e.userSourcedId);
      if (!classIds.has(e.classSourcedId)) {
        issues.push(gradientIssue('GRADIENT_ENROLLMENT_CLASS_UNKNOWN', `enrollment of ${e.userSourcedId} names class ${e.classSourcedId}, which Gradient does not hold (not sent, or not taken)`, { ...where, field: 'classSourcedId' }));
        tally.skipped++;
      } else if (!kind && e.role !== 'student' && !staffRoles.has(e.role)) {
        issues.push(
          gradientIssue('GRADIENT_ENROLLMENT_NOT_ROSTERED', `enrollment of ${e.userSourcedId} as ${e.role} in class ${e.classSourcedId} was not taken: the tenant's settings do not roster ${e.role}s`, {
            ...where,
            field: 'role',
          }),
        );
        tally.skipped++;
      } else if (!kind) {
        issues.push(gradientIssue('GRADIENT_ENROLLMENT_PERSON_UNKNOWN', `enrollment in class ${e.classSourcedId} names ${e.userSourcedId}, who is not a staff member or student in Gradient (not sent, or not taken)`, { ...where, field: 'userSourcedId' }));
        tally.skipped++;
      } else
        rows.push({
          tenant_id: this.tenantId,
          sourced_id: e.sourcedId,
          class_sourced_id: e.classSourcedId,
          person_sourced_id: e.userSourcedId,
          member_kind: kind,
          role: e.role,
          is_primary: e.primary ?? null,
          begin_date: e.beginDate ?? null,
          end_date: e.endDate ?? null,
        });
      if (!kind || !classIds.has(e.classSourcedId)) notTaken.push(e.sourcedId);
    }
    // An enrollment Gradient held and can take no more (its class or person left) leaves too.
    for (const part of slices(notTaken)) await trx.deleteFrom('class_member').where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).execute();
    return upsertRows(this.assumeNew, trx, 'class_member', rows);
  }

  /** Deletes records of `entity` and what hangs on them; returns how many Gradient held. */
  private async remove(trx: Transaction<any>, entity: RosterEntity, sourcedIds: string[], tally: TargetCounts): Promise<number> {
    const tables: Partial<Record<RosterEntity, readonly string[]>> = {
      orgs: ['organization'],
      academicSessions: ['term'],
      classes: ['class'],
      users: ['staff_member', 'student'],
      enrollments: ['class_member'],
    };
    // What hangs on a record goes with it, even when the source did not send those deletions.
    const dependents: Partial<Record<RosterEntity, readonly [string, string][]>> = {
      academicSessions: [['class_term', 'term_sourced_id']],
      classes: [
        ['class_member', 'class_sourced_id'],
        ['class_term', 'class_sourced_id'],
      ],
      users: [['class_member', 'person_sourced_id']],
    };
    if (entity === 'classes') for (const id of sourcedIds) this.known.class.set(id, false);
    if (entity === 'users') for (const id of sourcedIds) this.rememberUser(id, undefined);
    let deleted = 0;
    for (const part of slices(sourcedIds)) {
      for (const [table, column] of dependents[entity] ?? []) await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where(column, 'in', part).execute();
      for (const table of tables[entity] ?? [])
        deleted += (await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where('sourced_id', 'in', part).returning('sourced_id').execute()).length;
    }
    // A deletion of a record Gradient never held (not taken, or deleted already by a replayed batch) changes nothing.
    tally.unchanged += sourcedIds.length - deleted;
    return deleted;
  }
}

/**
 * Inserts rows, or updates those whose columns differ (`is distinct from`), and tells for each
 * sourcedId whether it was created, updated or already as given.
 */
async function upsertRows(assumeNew: boolean, trx: Transaction<any>, table: string, rows: Record<string, unknown>[]): Promise<Map<string, Outcome>> {
  const written = await upsertTableRows(trx, table, rows, { key: ['tenant_id', 'sourced_id'], outcomeKey: 'sourced_id', assumeNew });
  return written.outcomes ?? new Map();
}

/** Consecutive events of one entity and one direction, the last change of each record only. */
function groups(batch: readonly RosterChangeEvent[]): { entity: RosterEntity; deleted: boolean; events: RosterChangeEvent[]; superseded: number }[] {
  const out: { entity: RosterEntity; deleted: boolean; byId: Map<string, RosterChangeEvent>; superseded: number }[] = [];
  for (const e of batch) {
    const deleted = e.data.kind === 'deleted';
    let last = out[out.length - 1];
    if (!last || last.entity !== e.data.entity || last.deleted !== deleted) out.push((last = { entity: e.data.entity, deleted, byId: new Map(), superseded: 0 }));
    if (last.byId.delete(e.data.sourcedId)) last.superseded++;
    last.byId.set(e.data.sourcedId, e);
  }
  return out.map((g) => ({ entity: g.entity, deleted: g.deleted, events: [...g.byId.values()], superseded: g.superseded }));
}

function slices<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}
