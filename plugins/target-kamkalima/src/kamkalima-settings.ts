/** A tenant's Kamkalima settings, as the manifest's configuration schema validates them. */
export interface KamkalimaSettings {
  /** The month (1–12) the tenant's academic year starts in. */
  academicYearStartMonth: number;
  /** Today's date (YYYY-MM-DD) instead of the clock's, in the tenant's time zone. */
  today?: string;
}

/** Today's date, `YYYY-MM-DD`, in `timezone`. */
export function todayIn(timezone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/**
 * The academic year `today` lies in, named as OneRoster's `schoolYear` names it: the year it ends
 * in (2027 for 2026–27, with a year starting in August).
 */
export function currentSchoolYear(today: string, startMonth: number): number {
  const [year, month] = today.split('-').map(Number) as [number, number];
  return startMonth > 1 && month >= startMonth ? year + 1 : year;
}
