/** A tenant's School Manager settings, as validated against the manifest's configuration schema. */
export interface SchoolManagerSettings {
  syncClassroomData: boolean;
  respectEnrolmentDate: boolean;
  respectAcademicSessions: boolean;
  syncParentData: boolean;
  /** School sourcedIds or names (case-insensitive). */
  excludedSchools: string[];
  /** Whether a first sync loads each entity into the import area in bulk (COPY); off, it is applied batch by batch. */
  bulkLoad: boolean;
  /** `YYYY-MM-DD`; absent means the current date in the tenant's time zone. */
  today?: string;
}

/** Fills the defaults the schema gives, for settings read before validation filled them. */
export function withDefaults(settings: Partial<SchoolManagerSettings>): SchoolManagerSettings {
  return {
    syncClassroomData: settings.syncClassroomData ?? true,
    respectEnrolmentDate: settings.respectEnrolmentDate ?? false,
    respectAcademicSessions: settings.respectAcademicSessions ?? false,
    syncParentData: settings.syncParentData ?? false,
    excludedSchools: settings.excludedSchools ?? [],
    bulkLoad: settings.bulkLoad ?? true,
    today: settings.today,
  };
}

/** The calendar date `YYYY-MM-DD` it is now in `timezone`. */
export function todayIn(timezone: string, now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
