import type { UserRole } from '@rosterbridge/core';

/** The user roles Gradient can roster as staff members. */
export const GRADIENT_STAFF_ROLES = ['teacher', 'administrator', 'aide', 'proctor'] as const satisfies readonly UserRole[];

/** A tenant's settings for Gradient (see the manifest's configuration schema). */
export interface GradientSettings {
  /** User roles rostered as staff members; students are always rostered, guardians never. */
  staffRoles: (typeof GRADIENT_STAFF_ROLES)[number][];
  /** Pins "today" (`YYYY-MM-DD`) for the current-term schedule; by default the tenant's date. */
  today?: string;
}

/** Today's date (`YYYY-MM-DD`) in `timezone`. */
export function dateIn(timezone: string, now: Date = new Date()): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
