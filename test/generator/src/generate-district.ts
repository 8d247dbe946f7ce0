import type { DistrictFaultOptions } from './district-fault';
import { resolveDistrictSize, type DistrictSize, type DistrictSizeName } from './district-size';
import { GeneratedDistrict } from './generated-district';
import { normalizeSeed } from './seeded-random';

/** What to generate. Only `seed` is required; the rest have fixed defaults, so output never depends on the clock. */
export interface DistrictGeneratorOptions {
  /** Any integer or string; the same seed (with the same other options) gives the same district. */
  seed: number | string;
  /** A row of the size table or an explicit size. Default `tiny`. */
  size?: DistrictSizeName | DistrictSize;
  /** Multiplies every count of the size (see `scaleDistrictSize`). Default 1. */
  scale?: number;
  /** Data-quality faults to switch on. Default none. */
  faults?: DistrictFaultOptions;
  /** The year the school year ends. Default 2027 (the 2026–27 school year). */
  schoolYear?: number;
  /** The snapshot moment; every dateLastModified is before it. Default August 1st before the school year. */
  asOf?: Date | string;
  /** Whether students get demographics records. Default true. */
  demographics?: boolean;
}

/** The school year a generated district uses unless told otherwise. */
export const DEFAULT_SCHOOL_YEAR = 2027;

/**
 * Generates a district: a deterministic, streamed OneRoster 1.1 roster (orgs, academic sessions,
 * courses, classes, users, enrollments, demographics) with the switched-on faults and a report of
 * the records that carry them.
 *
 * ```ts
 * const district = generateDistrict({ seed: 42, size: 'small', faults: 'all' });
 * district.counts.users;                       // 1568
 * district.faults.duplicateEmails[0].sourcedId; // 'usr-00000413'
 * for (const user of district.records('users')) …
 * ```
 */
export function generateDistrict(options: DistrictGeneratorOptions): GeneratedDistrict {
  const schoolYear = options.schoolYear ?? DEFAULT_SCHOOL_YEAR;
  if (!Number.isSafeInteger(schoolYear) || schoolYear < 1901 || schoolYear > 9999) {
    throw new RangeError(`schoolYear must be a year, got ${schoolYear}`);
  }
  const asOf = options.asOf === undefined ? new Date(Date.UTC(schoolYear - 1, 7, 1)) : new Date(options.asOf);
  if (Number.isNaN(asOf.getTime())) throw new RangeError(`asOf is not a date: ${String(options.asOf)}`);
  return new GeneratedDistrict({
    seed: normalizeSeed(options.seed),
    size: resolveDistrictSize(options.size, options.scale),
    faults: options.faults,
    schoolYear,
    asOf,
    demographics: options.demographics ?? true,
  });
}
