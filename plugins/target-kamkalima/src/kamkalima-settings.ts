/** A tenant's Kamkalima settings, as the manifest's configuration schema validates them. */
export interface KamkalimaSettings {
  /** The month (1–12) the tenant's academic year starts in. */
  academicYearStartMonth: number;
  /** Today's date (YYYY-MM-DD) instead of the clock's, in the tenant's time zone. */
  today?: string;
  /** Whether a first sync loads each entity in bulk (COPY); off, it is applied batch by batch. Default on. */
  bulkLoad?: boolean;
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

/** The current academic year: its OneRoster `schoolYear` (the year it ends in) and its first and last days. */
export interface AcademicYear {
  schoolYear: number;
  /** `YYYY-MM-DD`, the first day of the start month. */
  startsOn: string;
  /** `YYYY-MM-DD`, the day before the next academic year starts. */
  endsOn: string;
}

/** The academic year `today` lies in, with its dates, for a year starting on the first of `startMonth`. */
export function currentAcademicYear(today: string, startMonth: number): AcademicYear {
  const schoolYear = currentSchoolYear(today, startMonth);
  const firstYear = startMonth > 1 ? schoolYear - 1 : schoolYear;
  const startsOn = `${firstYear}-${String(startMonth).padStart(2, '0')}-01`;
  const next = new Date(Date.UTC(firstYear + 1, startMonth - 1, 1) - 86_400_000);
  return { schoolYear, startsOn, endsOn: next.toISOString().slice(0, 10) };
}

/**
 * Whether a session (its dates, `YYYY-MM-DD`) belongs to `year`: its middle day falls in it. Judged
 * by dates, never by the `schoolYear` label; the middle day tolerates a year that starts a few days
 * before the start month, or a term that ends a few days after the year does.
 */
export function sessionInAcademicYear(session: { startDate: string; endDate: string }, year: AcademicYear): boolean {
  const start = Date.parse(`${session.startDate}T00:00:00Z`);
  const end = Date.parse(`${session.endDate}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) return false;
  const middle = new Date(start + Math.floor((end - start) / 172_800_000) * 86_400_000).toISOString().slice(0, 10);
  return year.startsOn <= middle && middle <= year.endsOn;
}
