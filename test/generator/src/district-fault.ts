import type { GradeLevel } from '@rosterbridge/core';

/**
 * The data-quality faults a generated district can carry, each switched on on its own:
 * - `duplicateEmails`: a student or teacher has another user's email;
 * - `missingEmails`: a student, teacher or staff member has no email;
 * - `studentsWithTwoGrades`: a student has two grades instead of one;
 * - `classesOutsideCourseGrades`: a class's grade is not among its course's grades.
 */
export type DistrictFaultKind = 'duplicateEmails' | 'missingEmails' | 'studentsWithTwoGrades' | 'classesOutsideCourseGrades';

/** Every {@link DistrictFaultKind}, in a fixed order. */
export const DISTRICT_FAULT_KINDS: readonly DistrictFaultKind[] = Object.freeze([
  'duplicateEmails',
  'missingEmails',
  'studentsWithTwoGrades',
  'classesOutsideCourseGrades',
] as const);

/**
 * Which faults to switch on: `true` for the size's `faultCount`, or a number of records. Leaving a
 * fault out (or `false`, or 0) switches it off. `'all'` switches every fault on at the size's count.
 *
 * ```ts
 * generateDistrict({ seed: 42, size: 'small', faults: { duplicateEmails: true, missingEmails: 5 } });
 * ```
 */
export type DistrictFaultOptions = 'all' | Partial<Record<DistrictFaultKind, boolean | number>>;

/** One record that carries a fault, with what is wrong with it. */
export interface DistrictFault {
  kind: DistrictFaultKind;
  entity: 'users' | 'classes';
  sourcedId: string;
  /** For a duplicate email: the user whose email it copies. For a class: its course. */
  relatedSourcedId?: string;
  /** The duplicated email, the student's two grades, or the class's grades against its course's. */
  email?: string;
  grades?: GradeLevel[];
  courseGrades?: GradeLevel[];
}

/** The records carrying each switched-on fault (an empty list for a fault that is off). */
export type DistrictFaultReport = Readonly<Record<DistrictFaultKind, readonly DistrictFault[]>>;

/** Parses a CLI-style fault list: `all`, or `duplicate-emails,missing-emails=5,…` (camelCase accepted too). */
export function parseDistrictFaults(text: string): DistrictFaultOptions {
  if (text.trim() === 'all') return 'all';
  const options: Partial<Record<DistrictFaultKind, boolean | number>> = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', count] = item.split('=');
    const kind = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as DistrictFaultKind;
    if (!DISTRICT_FAULT_KINDS.includes(kind)) {
      throw new RangeError(`unknown fault "${name}" (all, ${DISTRICT_FAULT_KINDS.map(kebab).join(', ')})`);
    }
    if (count !== undefined && !/^\d+$/.test(count)) throw new RangeError(`fault count must be a whole number: "${item}"`);
    options[kind] = count === undefined ? true : Number(count);
  }
  return options;
}

function kebab(kind: string): string {
  return kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
