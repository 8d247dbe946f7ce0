import type { GradeLevel } from '@rosterbridge/core';
import { apportion } from './apportion';
import { at } from './at';

/** The kind of school a band of grades makes: elementary, middle, high, or one school for several bands. */
export type SchoolBand = 'elementary' | 'middle' | 'high' | 'combined';

/** A contiguous run of the district's grades taught by one kind of school. */
export interface GradeBand {
  band: SchoolBand;
  grades: GradeLevel[];
  /** How many schools of this band a district has per school of the other bands (3 : 1 : 1). */
  weight: number;
}

const ELEMENTARY = new Set<GradeLevel>(['IT', 'PR', 'PK', 'TK', 'KG', '01', '02', '03', '04', '05']);
const MIDDLE = new Set<GradeLevel>(['06', '07', '08']);

/**
 * Splits the district's grades into school bands (elementary up to 05, middle 06–08, high 09 and
 * above), merging the lowest bands while there are more bands than schools.
 *
 * ```ts
 * gradeBands(['KG', '01', …, '12'], 2);   // [combined KG–08, high 09–12]
 * ```
 */
export function gradeBands(grades: readonly GradeLevel[], schools: number): GradeBand[] {
  const bands: GradeBand[] = [];
  const add = (band: SchoolBand, weight: number, members: GradeLevel[]): void => {
    if (members.length > 0) bands.push({ band, grades: members, weight });
  };
  add(
    'elementary',
    3,
    grades.filter((g) => ELEMENTARY.has(g)),
  );
  add(
    'middle',
    1,
    grades.filter((g) => MIDDLE.has(g)),
  );
  add(
    'high',
    1,
    grades.filter((g) => !ELEMENTARY.has(g) && !MIDDLE.has(g)),
  );
  while (bands.length > Math.max(1, schools)) {
    // Two bands at least: the loop runs while there are more than one.
    const [low, next] = bands.splice(0, 2) as [GradeBand, GradeBand];
    bands.unshift({ band: 'combined', grades: [...low.grades, ...next.grades], weight: low.weight + next.weight });
  }
  return bands;
}

/**
 * The band of each school of a district with `schools` schools, elementary schools first: the
 * bands of {@link gradeBands} shared out 3 : 1 : 1, at least one school each.
 */
export function schoolBands(grades: readonly GradeLevel[], schools: number): GradeBand[] {
  const bands = gradeBands(grades, schools);
  const perBand = apportion(
    schools,
    bands.map((b) => b.weight),
    { minimum: 1 },
  );
  return bands.flatMap((band, i) => Array.from({ length: at(perBand, i) }, () => band));
}

/** How many grade cohorts (a grade at a school) a district with `schools` schools has. */
export function cohortCount(grades: readonly GradeLevel[], schools: number): number {
  return schoolBands(grades, schools).reduce((sum, band) => sum + band.grades.length, 0);
}
