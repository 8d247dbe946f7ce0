import type { UserRole } from '@rosterbridge/core';

/** The user roles Gradient can roster as staff members. */
export const GRADIENT_STAFF_ROLES = ['teacher', 'administrator', 'aide', 'proctor'] as const satisfies readonly UserRole[];

/** A tenant's settings for Gradient (see the manifest's configuration schema). */
export interface GradientSettings {
  /** User roles rostered as staff members; students are always rostered, guardians never. */
  staffRoles: (typeof GRADIENT_STAFF_ROLES)[number][];
  /** Pins "today" (`YYYY-MM-DD`) for the current-term schedule and the school year; by default the tenant's date. */
  today?: string;
  /** The month (1–12) the tenant's school year starts in: which academic year must be started in Gradient. */
  academicYearStartMonth?: number;
}

/** Today's date (`YYYY-MM-DD`) in `timezone`. */
export function dateIn(timezone: string, now: Date = new Date()): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/**
 * The school year `today` lies in, named as OneRoster's `schoolYear` names it (the year it ends
 * in), for a year starting on the first of `startMonth`.
 */
export function currentSchoolYear(today: string, startMonth: number): number {
  const [year, month] = today.split('-').map(Number) as [number, number];
  return startMonth > 1 && month >= startMonth ? year + 1 : year;
}
