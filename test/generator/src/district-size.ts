import type { GradeLevel } from '@rosterbridge/core';
import { cohortCount } from './school-band';

/**
 * How big a generated district is. Every count is exact: the generator produces precisely this many
 * records of each kind (before a delta adds or removes any).
 */
export interface DistrictSize {
  /** School orgs (the district org comes on top). */
  schools: number;
  /** The grades the district teaches, in CEDS order; schools split them into bands. */
  grades: readonly GradeLevel[];
  students: number;
  teachers: number;
  /** Administrators and aides, at the schools and the district office. */
  staff: number;
  /** Guardians, linked to students through `agentSourcedIds` both ways. */
  guardians: number;
  courses: number;
  classes: number;
  /** Teacher and student enrollments together. */
  enrollments: number;
  /** Users who belong to two schools (about half students, half teachers). */
  multiSchoolUsers: number;
  /** How many records each switched-on data-quality fault touches, unless the fault says otherwise. */
  faultCount: number;
}

/** The names of the sizes in {@link DISTRICT_SIZES}. */
export type DistrictSizeName = 'tiny' | 'small' | 'medium' | 'large';

const K_TO_12: readonly GradeLevel[] = ['KG', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];
const SECONDARY: readonly GradeLevel[] = ['06', '07', '08', '09', '10', '11', '12'];

/**
 * The size table. `large` is a big district (about 1.3 million records with demographics); the
 * others scale it down, keeping twelve courses per grade cohort (a grade at a school), of which a
 * student takes about ten, and about fifty seats per class.
 */
export const DISTRICT_SIZES: Readonly<Record<DistrictSizeName, Readonly<DistrictSize>>> = Object.freeze({
  tiny: Object.freeze({
    schools: 2,
    grades: SECONDARY,
    students: 14,
    teachers: 4,
    staff: 3,
    guardians: 7,
    courses: 14,
    classes: 16,
    enrollments: 40,
    multiSchoolUsers: 2,
    faultCount: 1,
  }),
  small: Object.freeze({
    schools: 3,
    grades: K_TO_12,
    students: 1_000,
    teachers: 60,
    staff: 8,
    guardians: 500,
    courses: 156,
    classes: 200,
    enrollments: 10_000,
    multiSchoolUsers: 4,
    faultCount: 3,
  }),
  medium: Object.freeze({
    schools: 5,
    grades: K_TO_12,
    students: 10_000,
    teachers: 600,
    staff: 40,
    guardians: 5_000,
    courses: 300,
    classes: 2_000,
    enrollments: 100_000,
    multiSchoolUsers: 10,
    faultCount: 5,
  }),
  large: Object.freeze({
    schools: 20,
    grades: K_TO_12,
    students: 100_000,
    teachers: 6_000,
    staff: 400,
    guardians: 50_000,
    courses: 1_200,
    classes: 20_000,
    enrollments: 1_000_000,
    multiSchoolUsers: 40,
    faultCount: 10,
  }),
});

/** True when `name` names a row of {@link DISTRICT_SIZES}. */
export function isDistrictSizeName(name: string): name is DistrictSizeName {
  return Object.prototype.hasOwnProperty.call(DISTRICT_SIZES, name);
}

/**
 * Scales every count of a size by `factor` (rounded), keeping at least one school, one student, one
 * teacher and one staff member per school, and one class per course. Courses follow the number of
 * grade cohorts (a grade at a school), so each cohort keeps as many courses to choose from. The
 * grades stay as they are.
 *
 * ```ts
 * scaleDistrictSize(DISTRICT_SIZES.large, 2);   // 40 schools, 200,000 students…
 * ```
 */
export function scaleDistrictSize(size: DistrictSize, factor: number): DistrictSize {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new RangeError(`scale must be a positive number, got ${factor}`);
  if (factor === 1) return { ...size };
  const times = (n: number, min: number): number => Math.max(min, Math.round(n * factor));
  const schools = times(size.schools, 1);
  const cohorts = cohortCount(size.grades, schools);
  const courses = Math.max(cohorts, Math.round((size.courses * cohorts) / cohortCount(size.grades, size.schools)));
  const classes = times(size.classes, courses);
  return {
    schools,
    grades: size.grades,
    students: times(size.students, 1),
    teachers: times(size.teachers, 1),
    staff: times(size.staff, schools),
    guardians: times(size.guardians, 0),
    courses,
    classes,
    enrollments: times(size.enrollments, classes),
    multiSchoolUsers: schools > 1 ? times(size.multiSchoolUsers, 0) : 0,
    faultCount: times(size.faultCount, 1),
  };
}

/**
 * The size a generator option asks for: a name from {@link DISTRICT_SIZES} or an explicit size,
 * optionally scaled.
 */
export function resolveDistrictSize(size: DistrictSizeName | DistrictSize = 'tiny', scale = 1): DistrictSize {
  let base: DistrictSize;
  if (typeof size === 'string') {
    if (!isDistrictSizeName(size)) throw new RangeError(`unknown district size "${size}" (tiny, small, medium, large)`);
    base = DISTRICT_SIZES[size];
  } else {
    base = size;
  }
  return scaleDistrictSize(base, scale);
}
