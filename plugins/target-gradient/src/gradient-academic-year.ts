import type { Kysely } from 'kysely';
import type { TenantContext } from '@rosterbridge/core';
import type { GradientDatabase } from './gradient-database';
import { currentSchoolYear, dateIn, type GradientSettings } from './gradient-settings';

/** The school year the tenant is in today, named as OneRoster names it (the year it ends in). */
export function tenantSchoolYear(tenant: TenantContext, settings: GradientSettings): { today: string; current: number } {
  const today = settings.today ?? dateIn(tenant.info().timezone);
  return { today, current: currentSchoolYear(today, settings.academicYearStartMonth ?? 7) };
}

/**
 * Why roster syncing is paused for the tenant, or undefined when it is not. The product's current
 * academic year is its latest; rolling over to a new one pauses syncing until it is started. The
 * seed asks for the year started "for the current school year": a latest year older than today's
 * school year (last year's, still started) pauses it too.
 */
export async function academicYearPausedReason(db: Kysely<GradientDatabase>, tenant: TenantContext, settings: GradientSettings): Promise<string | undefined> {
  const year = await db
    .selectFrom('academic_year')
    .select(['school_year', 'started_at'])
    .where('tenant_id', '=', tenant.tenantId)
    .orderBy('school_year', 'desc')
    .limit(1)
    .executeTakeFirst();
  const { current } = tenantSchoolYear(tenant, settings);
  if (year?.started_at && Number(year.school_year) >= current) return undefined;
  const which = !year ? 'academic year' : year.started_at ? `academic year ${current}` : `academic year ${year.school_year}`;
  return (
    `the Gradient ${which} is not started for ${tenant.info().displayName}: a Gradient Leader starts it in Admin Mode, which unpauses roster syncing ` +
    `(or: rosterbridge command gradient.startAcademicYear ${tenant.tenantId})`
  );
}
