import { sql } from 'kysely';
import type { PluginContext, PluginStorage } from '@rosterbridge/core';
import type { GradientDatabase } from './gradient-database';
import { dateIn, type GradientSettings } from './gradient-settings';

/** A term (or school year) Gradient holds, with its dates (`YYYY-MM-DD`). */
export interface GradientTerm {
  sourcedId: string;
  title: string;
  type: string;
  startDate: string;
  endDate: string;
}

/** One class of a person's schedule, with the terms covering the day asked about. */
export interface GradientScheduledClass {
  classSourcedId: string;
  title: string;
  classCode: string | null;
  schoolSourcedId: string;
  periods: string[];
  /** The person's role in the class (`teacher`, `student`…). */
  role: string;
  isPrimary: boolean | null;
  terms: GradientTerm[];
}

/** One person in a class on the day asked about. */
export interface GradientClassMember {
  sourcedId: string;
  kind: 'staff' | 'student';
  role: string;
  isPrimary: boolean | null;
  givenName: string;
  familyName: string;
}

/** Which day: by default today in the tenant's time zone, or the tenant's `today` setting when given. */
export interface GradientDayOption {
  /** `YYYY-MM-DD`. */
  today?: string;
}

/**
 * What the Gradient plugin gives dependents (and tests): the Admin Mode spot check of class
 * schedules for the current term, and the academic year that gates roster syncing.
 *
 * ```ts
 * const gradient = context.getDependencyApi<GradientApi>('target-gradient');
 * const classes = await gradient.classesOfStaffMember('lincoln', 'usr-00000102');
 * ```
 */
export interface GradientApi {
  /** The day the schedule is read on for a tenant (`YYYY-MM-DD`). */
  today(tenantId: string, options?: GradientDayOption): Promise<string>;
  /** Terms (not school years) running on the day. */
  currentTerms(tenantId: string, options?: GradientDayOption): Promise<GradientTerm[]>;
  /** The classes a staff member teaches or assists in during the current term. */
  classesOfStaffMember(tenantId: string, sourcedId: string, options?: GradientDayOption): Promise<GradientScheduledClass[]>;
  /** The classes a student is in during the current term. */
  classesOfStudent(tenantId: string, sourcedId: string, options?: GradientDayOption): Promise<GradientScheduledClass[]>;
  /** Who is in a class during the current term (none when the class does not run then). */
  membersOfClass(tenantId: string, classSourcedId: string, options?: GradientDayOption): Promise<GradientClassMember[]>;
  /** The tenant's latest academic year in Gradient, and when it was started (undefined: never created). */
  academicYear(tenantId: string): Promise<{ schoolYear: string; startedAt: Date | null } | undefined>;
  /** Starts an academic year, as a Gradient Leader does in Admin Mode: it unpauses roster syncing. */
  startAcademicYear(tenantId: string, schoolYear: string, startedBy?: string): Promise<void>;
}

/** Builds the {@link GradientApi} over the plugin's schema. */
export function createGradientApi(context: PluginContext): GradientApi {
  const storage: PluginStorage<GradientDatabase> = context.storage;
  const db = storage.db;
  const today = async (tenantId: string, options: GradientDayOption = {}) => {
    if (options.today) return options.today;
    const tenant = context.forTenant(tenantId);
    const settings = await tenant.settings<GradientSettings>();
    return settings.today ?? dateIn(tenant.info().timezone);
  };
  /** The schedule rows of a tenant on a day: the class runs in a term covering it and the membership spans it. */
  const scheduleOn = (tenantId: string, day: string) =>
    db
      .selectFrom('term_schedule')
      .where('tenant_id', '=', tenantId)
      .where(sql<boolean>`${day}::date between term_start_date and term_end_date`)
      .where(sql<boolean>`(member_begin_date is null or member_begin_date <= ${day}::date)`)
      .where(sql<boolean>`(member_end_date is null or member_end_date >= ${day}::date)`);
  const classesOf = async (tenantId: string, kind: 'staff' | 'student', sourcedId: string, options?: GradientDayOption) => {
    const day = await today(tenantId, options);
    const rows = await scheduleOn(tenantId, day)
      .where('person_sourced_id', '=', sourcedId)
      .where('member_kind', '=', kind)
      .select([
        'class_sourced_id',
        'class_title',
        'class_code',
        'school_sourced_id',
        'periods',
        'role',
        'is_primary',
        'term_sourced_id',
        'term_title',
        'term_type',
        sql<string>`term_start_date::text`.as('term_start'),
        sql<string>`term_end_date::text`.as('term_end'),
      ])
      .orderBy('class_sourced_id')
      .orderBy('term_start_date')
      .execute();
    const byClass = new Map<string, GradientScheduledClass>();
    for (const r of rows) {
      let entry = byClass.get(r.class_sourced_id);
      if (!entry)
        byClass.set(
          r.class_sourced_id,
          (entry = {
            classSourcedId: r.class_sourced_id,
            title: r.class_title,
            classCode: r.class_code,
            schoolSourcedId: r.school_sourced_id,
            periods: r.periods,
            role: r.role,
            isPrimary: r.is_primary,
            terms: [],
          }),
        );
      entry.terms.push({ sourcedId: r.term_sourced_id, title: r.term_title, type: r.term_type, startDate: r.term_start, endDate: r.term_end });
    }
    return [...byClass.values()];
  };
  return {
    today,
    async currentTerms(tenantId, options) {
      const day = await today(tenantId, options);
      const rows = await db
        .selectFrom('term')
        .select(['sourced_id', 'title', 'session_type', sql<string>`start_date::text`.as('start'), sql<string>`end_date::text`.as('end')])
        .where('tenant_id', '=', tenantId)
        .where('session_type', '!=', 'schoolYear')
        .where(sql<boolean>`${day}::date between start_date and end_date`)
        .orderBy('start_date')
        .orderBy('sourced_id')
        .execute();
      return rows.map((r) => ({ sourcedId: r.sourced_id, title: r.title, type: r.session_type, startDate: r.start, endDate: r.end }));
    },
    classesOfStaffMember: (tenantId, sourcedId, options) => classesOf(tenantId, 'staff', sourcedId, options),
    classesOfStudent: (tenantId, sourcedId, options) => classesOf(tenantId, 'student', sourcedId, options),
    async membersOfClass(tenantId, classSourcedId, options) {
      const day = await today(tenantId, options);
      const rows = await scheduleOn(tenantId, day)
        .where('class_sourced_id', '=', classSourcedId)
        .select(['person_sourced_id', 'member_kind', 'role', 'is_primary', 'given_name', 'family_name'])
        .distinct()
        .orderBy('member_kind')
        .orderBy('person_sourced_id')
        .execute();
      return rows.map((r) => ({
        sourcedId: r.person_sourced_id,
        kind: r.member_kind,
        role: r.role,
        isPrimary: r.is_primary,
        givenName: r.given_name,
        familyName: r.family_name,
      }));
    },
    async academicYear(tenantId) {
      const row = await db
        .selectFrom('academic_year')
        .select(['school_year', 'started_at'])
        .where('tenant_id', '=', tenantId)
        .orderBy('school_year', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? { schoolYear: row.school_year, startedAt: row.started_at } : undefined;
    },
    async startAcademicYear(tenantId, schoolYear, startedBy) {
      await db
        .insertInto('academic_year')
        .values({ tenant_id: tenantId, school_year: schoolYear, started_at: sql`now()`, started_by: startedBy ?? null })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'school_year']).doUpdateSet({
            started_at: sql`coalesce(academic_year.started_at, now())`,
            started_by: sql`coalesce(academic_year.started_by, excluded.started_by)`,
          }),
        )
        .execute();
    },
  };
}
