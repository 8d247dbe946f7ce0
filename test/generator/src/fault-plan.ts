import { GRADE_LEVELS, type GradeLevel } from '@rosterbridge/core';
import { DISTRICT_FAULT_KINDS, type DistrictFaultKind, type DistrictFaultOptions } from './district-fault';
import type { DistrictLayout } from './district-layout';
import { at } from './at';
import { deriveSeed, SeededRandom } from './seeded-random';

const STREAM_FAULTS = 20;
// Each fault draws its users from its own residue class (index mod 4), so switching one fault on
// or off never moves another fault to different users.
const POOL_DUPLICATE = 0;
const POOL_DUPLICATE_TARGET = 1;
const POOL_MISSING = 2;
const POOL_TWO_GRADES = 3;

/**
 * Which records carry which switched-on fault, chosen deterministically from the seed. Users are
 * numbered as the generator numbers them: students, then teachers, then staff, then guardians.
 */
export class FaultPlan {
  /** How many records each fault asked for (0 when off). */
  readonly requested: Readonly<Record<DistrictFaultKind, number>>;
  /** Users whose email copies another user's: user → the user copied. */
  readonly duplicateOf = new Map<number, number>();
  /** Users (students, teachers, staff) without an email. */
  readonly missingEmail = new Set<number>();
  /** Students with a second grade: student → that grade. */
  readonly secondGrade = new Map<number, GradeLevel>();
  /** Classes whose grades lie outside their course's: class → its grades. */
  readonly classGrades = new Map<number, GradeLevel[]>();
  private readonly involved = new Set<number>();

  constructor(seed: number, layout: DistrictLayout, options: DistrictFaultOptions | undefined) {
    const count = (kind: DistrictFaultKind): number => {
      const wanted = options === 'all' ? true : options?.[kind];
      if (wanted === true) return layout.size.faultCount;
      if (typeof wanted === 'number') {
        if (!Number.isSafeInteger(wanted) || wanted < 0) throw new RangeError(`fault ${kind}: count must be a whole number`);
        return wanted;
      }
      return 0;
    };
    this.requested = Object.fromEntries(DISTRICT_FAULT_KINDS.map((k) => [k, count(k)])) as Record<DistrictFaultKind, number>;
    const N = layout.studentCount;
    const people = N + layout.teacherCount;
    const withStaff = people + layout.staffCount;
    const excluded = (u: number): boolean => u < N && layout.studentSecondSchool.has(u);

    const dupRandom = this.random(seed, 'duplicateEmails');
    const sources = this.pick(dupRandom, this.requested.duplicateEmails, POOL_DUPLICATE, people, excluded);
    const targets = this.pick(dupRandom, sources.length, POOL_DUPLICATE_TARGET, people, excluded);
    // Fewer targets than sources (a small district): only as many duplicates as there are targets.
    sources.slice(0, targets.length).forEach((u, i) => this.duplicateOf.set(u, at(targets, i)));

    for (const u of this.pick(this.random(seed, 'missingEmails'), this.requested.missingEmails, POOL_MISSING, withStaff, excluded)) {
      this.missingEmail.add(u);
    }
    for (const i of this.pick(this.random(seed, 'studentsWithTwoGrades'), this.requested.studentsWithTwoGrades, POOL_TWO_GRADES, N, excluded)) {
      this.secondGrade.set(i, neighbourGrade(layout.size.grades, layout.cohortOfStudent(i).grade));
    }

    const classRandom = this.random(seed, 'classesOutsideCourseGrades');
    const classesWanted = Math.min(this.requested.classesOutsideCourseGrades, layout.classCount);
    for (let attempts = 0; this.classGrades.size < classesWanted && attempts < classesWanted * 50; attempts++) {
      const c = classRandom.int(layout.classCount);
      if (this.classGrades.has(c)) continue;
      const courseGrades = layout.courseOf(c).grades;
      this.classGrades.set(c, [outsideGrade(layout.size.grades, courseGrades)]);
    }
    for (const [u, v] of this.duplicateOf) this.involved.add(u).add(v);
    for (const u of this.missingEmail) this.involved.add(u);
    for (const u of this.secondGrade.keys()) this.involved.add(u);
  }

  /** True when user `u` carries a fault or is the user a duplicate email copies. */
  involves(u: number): boolean {
    return this.involved.has(u);
  }

  private random(seed: number, kind: DistrictFaultKind): SeededRandom {
    return new SeededRandom(deriveSeed(seed, STREAM_FAULTS, DISTRICT_FAULT_KINDS.indexOf(kind)));
  }

  /** Up to `wanted` distinct indices below `limit` that are ≡ `pool` (mod 4). */
  private pick(random: SeededRandom, wanted: number, pool: number, limit: number, excluded: (u: number) => boolean): number[] {
    const slots = Math.ceil((limit - pool) / 4);
    const chosen = new Set<number>();
    for (let attempts = 0; chosen.size < wanted && slots > 0 && attempts < wanted * 50; attempts++) {
      const u = pool + 4 * random.int(slots);
      if (u < limit && !excluded(u)) chosen.add(u);
    }
    return [...chosen];
  }
}

/** A grade next to `grade`: the district's next grade, else its previous one, else a CEDS neighbour. */
function neighbourGrade(grades: readonly GradeLevel[], grade: GradeLevel): GradeLevel {
  const i = grades.indexOf(grade);
  if (i + 1 < grades.length) return at(grades, i + 1);
  if (i > 0) return at(grades, i - 1);
  const j = GRADE_LEVELS.indexOf(grade);
  return at(GRADE_LEVELS, j + 1 < GRADE_LEVELS.length ? j + 1 : j - 1);
}

/** A grade just outside a course's grades: above its highest if the district has one, else below. */
function outsideGrade(grades: readonly GradeLevel[], courseGrades: readonly GradeLevel[]): GradeLevel {
  const order = (g: GradeLevel): number => GRADE_LEVELS.indexOf(g);
  const highest = courseGrades.reduce((a, b) => (order(b) > order(a) ? b : a));
  const lowest = courseGrades.reduce((a, b) => (order(b) < order(a) ? b : a));
  const above = grades.find((g) => order(g) > order(highest));
  if (above) return above;
  const below = [...grades].reverse().find((g) => order(g) < order(lowest));
  if (below) return below;
  return at(GRADE_LEVELS, order(highest) + 1 < GRADE_LEVELS.length ? order(highest) + 1 : order(lowest) - 1);
}
