import { GRADE_LEVELS, type GradeLevel } from '@rosterbridge/core';
import { apportion } from './apportion';
import { at } from './at';
import { ELEMENTARY_SUBJECTS, SECONDARY_SUBJECTS, type CourseSubject } from './course-subject';
import type { DistrictSize } from './district-size';
import { PLACE_NAMES } from './place-names';
import { schoolBands, type SchoolBand } from './school-band';
import { deriveSeed, SeededRandom } from './seeded-random';

/** One school of a generated district and the index ranges of what belongs to it. */
export interface SchoolPlan {
  index: number;
  name: string;
  place: string;
  band: SchoolBand;
  grades: GradeLevel[];
  studentStart: number;
  studentCount: number;
  /** Index among teachers (not among users). */
  teacherStart: number;
  teacherCount: number;
  /** Index among staff (not among users). */
  staffStart: number;
  staffCount: number;
  courseStart: number;
  courseCount: number;
  classStart: number;
  classCount: number;
  cohortStart: number;
}

/** One course: a subject at one or two grades of a school, with its sections (classes). */
export interface CoursePlan {
  index: number;
  school: number;
  subject: CourseSubject;
  /** 0 for the first course of a subject at a grade, 1 for "… II", and so on. */
  tier: number;
  grades: GradeLevel[];
  classStart: number;
  classCount: number;
}

/** The students of one grade at one school, and the courses whose sections seat them. */
export interface CohortPlan {
  index: number;
  school: number;
  grade: GradeLevel;
  studentStart: number;
  studentCount: number;
  /** Per course taught to this cohort: the classes (sections) that seat its students. */
  courses: { course: number; classes: number[] }[];
}

/** Which academic session(s) a class runs in. */
export enum ClassTerm {
  SchoolYear = 0,
  BothSemesters = 1,
  Fall = 2,
  Spring = 3,
}

// Stream tags keep the derived random streams of different purposes apart.
const STREAM_PLACES = 1;
const STREAM_CLASS_TERM = 2;
const STREAM_MULTI_SCHOOL = 3;
const STREAM_PERMUTATION = 4;

/** Largest student count for which `a * i mod n` stays exact in double precision. */
const MAX_STUDENTS = 90_000_000;

/**
 * The arithmetic skeleton of a generated district: schools and their grade bands, how many students,
 * teachers, staff, courses and classes each school has, which cohort each class seats and which
 * window of that cohort's students, who teaches it, and how guardians pair with students. Everything
 * per student, guardian and enrollment is derived from indices; only per-school, per-course and
 * per-class facts are stored, so a 100,000-student district holds a few megabytes.
 */
export class DistrictLayout {
  /** The schools, elementary first, then middle, then high. */
  readonly schools: SchoolPlan[] = [];
  /** The courses, school by school. */
  readonly courses: CoursePlan[] = [];
  /** The grade cohorts, school by school and grade by grade; students are numbered in this order. */
  readonly cohorts: CohortPlan[] = [];
  /** The district's name, e.g. "Magnolia Unified School District". */
  readonly districtName: string;
  /** The place the district is named after. */
  readonly districtPlace: string;
  /** Head counts, as the size asks. */
  readonly studentCount: number;
  readonly teacherCount: number;
  readonly staffCount: number;
  readonly guardianCount: number;
  /** Staff of the district office (not of any school); they come first among staff. */
  readonly districtStaffCount: number;
  readonly classCount: number;
  readonly enrollmentCount: number;

  // Per class (index = class number): its course, the cohort whose students it seats, its section
  // number within the course, whether it has both of its course's grades, its term, its teachers
  // (teacher numbers; -1 for no co-teacher) and its window of seats in the cohort.
  /** Course of each class. */
  readonly classCourse: Uint32Array;
  readonly classCohort: Uint32Array;
  readonly classSection: Uint32Array;
  readonly classMixedGrades: Uint8Array;
  readonly classTerm: Uint8Array;
  readonly classTeacher: Int32Array;
  readonly classCoTeacher: Int32Array;
  readonly classSeatStart: Uint32Array;
  readonly classSeatCount: Uint32Array;
  /** classEnrollmentStart[c] is the index of the class's first enrollment; one extra entry at the end. */
  readonly classEnrollmentStart: Float64Array;

  /** Per teacher: a bit per grade (position in GRADE_LEVELS) of the classes the teacher teaches. */
  readonly teacherGradeMask: Uint32Array;
  /** Teachers in two schools: teacher index → the second school. */
  readonly teacherSecondSchool = new Map<number, number>();
  /** Students in two schools: student index → the second school. */
  readonly studentSecondSchool = new Map<number, number>();

  // Guardian families: primary guardians partition the students (in permuted order) into families;
  // co-parents join some families.
  /** Guardians who head a family (guardian numbers 0 … primaryGuardianCount - 1). */
  readonly primaryGuardianCount: number;
  /** Guardians who join a family as its second guardian (numbered after the primary ones). */
  readonly coParentCount: number;
  private readonly permutationFactor: number;
  private readonly permutationInverse: number;
  private readonly permutationOffset: number;

  constructor(
    readonly seed: number,
    readonly size: DistrictSize,
  ) {
    validateSize(size);
    const random = new SeededRandom(deriveSeed(seed, STREAM_PLACES));
    const places = shuffled(PLACE_NAMES, random);
    this.districtPlace = at(places, places.length - 1);
    this.districtName = `${this.districtPlace} Unified School District`;

    this.studentCount = size.students;
    this.teacherCount = size.teachers;
    this.staffCount = size.staff;
    this.guardianCount = size.guardians;
    this.classCount = size.classes;
    this.enrollmentCount = size.enrollments;

    // Schools and their bands.
    const bands = schoolBands(size.grades, size.schools);
    const gradeWeights = bands.map((b) => b.grades.length);
    const students = apportion(size.students, gradeWeights, { minimum: size.students >= size.schools ? 1 : 0 });
    const teachers = apportion(size.teachers, students, { minimum: 1 });
    this.districtStaffCount = Math.floor(size.staff * 0.05);
    const staff = apportion(size.staff - this.districtStaffCount, students, { minimum: 1 });
    const cohortCount = gradeWeights.reduce((a, b) => a + b, 0);
    if (size.courses < cohortCount) {
      throw new RangeError(`district size: ${size.courses} courses cannot cover the ${cohortCount} grade cohorts of ${size.schools} schools`);
    }
    const courses = apportion(size.courses, gradeWeights, { minimum: gradeWeights });
    const classes = apportion(size.classes, students, { minimum: courses });

    let studentStart = 0;
    let teacherStart = 0;
    let staffStart = this.districtStaffCount;
    let courseStart = 0;
    let classStart = 0;
    bands.forEach((band, s) => {
      const studentCount = at(students, s);
      const teacherCount = at(teachers, s);
      const staffCount = at(staff, s);
      const courseCount = at(courses, s);
      const classCount = at(classes, s);
      const place = places[s % (places.length - 1)] + (s >= places.length - 1 ? ` ${Math.floor(s / (places.length - 1)) + 1}` : '');
      const school: SchoolPlan = {
        index: s,
        name: `${place} ${schoolSuffix(band.band, band.grades)}`,
        place,
        band: band.band,
        grades: band.grades,
        studentStart,
        studentCount,
        teacherStart,
        teacherCount,
        staffStart,
        staffCount,
        courseStart,
        courseCount,
        classStart,
        classCount,
        cohortStart: this.cohorts.length,
      };
      this.schools.push(school);
      const perGrade = apportion(
        studentCount,
        band.grades.map(() => 1),
      );
      let cohortStudent = studentStart;
      band.grades.forEach((grade, g) => {
        this.cohorts.push({ index: this.cohorts.length, school: s, grade, studentStart: cohortStudent, studentCount: at(perGrade, g), courses: [] });
        cohortStudent += at(perGrade, g);
      });
      studentStart += studentCount;
      teacherStart += teacherCount;
      staffStart += staffCount;
      courseStart += courseCount;
      classStart += classCount;
    });

    // Courses, then classes as sections of courses.
    const C = size.classes;
    this.classCourse = new Uint32Array(C);
    this.classCohort = new Uint32Array(C);
    this.classSection = new Uint32Array(C);
    this.classMixedGrades = new Uint8Array(C);
    this.classTerm = new Uint8Array(C);
    this.classTeacher = new Int32Array(C).fill(-1);
    this.classCoTeacher = new Int32Array(C).fill(-1);
    this.classSeatStart = new Uint32Array(C);
    this.classSeatCount = new Uint32Array(C);
    this.classEnrollmentStart = new Float64Array(C + 1);

    for (const school of this.schools) {
      const g = school.grades.length;
      const localCourses: { subject: CourseSubject; tier: number; grades: GradeLevel[] }[] = [];
      for (let k = 0; k < school.courseCount; k++) {
        const gradeSlot = k % g;
        const level = Math.floor(k / g);
        const grade = at(school.grades, gradeSlot);
        const subjects = isElementary(grade) ? ELEMENTARY_SUBJECTS : SECONDARY_SUBJECTS;
        const subject = at(subjects, level % subjects.length);
        const tier = Math.floor(level / subjects.length);
        // Secondary courses of odd levels span two grades, as electives do.
        const spans = !isElementary(grade) && level % 2 === 1 && gradeSlot + 1 < g && !isElementary(at(school.grades, gradeSlot + 1));
        localCourses.push({ subject, tier, grades: spans ? [grade, at(school.grades, gradeSlot + 1)] : [grade] });
      }
      const sections = apportion(
        school.classCount,
        localCourses.map((c) => c.grades.length),
        { minimum: 1 },
      );
      let classIndex = school.classStart;
      localCourses.forEach((local, k) => {
        const course: CoursePlan = {
          index: school.courseStart + k,
          school: school.index,
          subject: local.subject,
          tier: local.tier,
          grades: local.grades,
          classStart: classIndex,
          classCount: at(sections, k),
        };
        this.courses.push(course);
        for (let section = 0; section < course.classCount; section++, classIndex++) {
          const seatGrade = at(local.grades, section % local.grades.length);
          this.classCourse[classIndex] = course.index;
          this.classCohort[classIndex] = school.cohortStart + school.grades.indexOf(seatGrade);
          this.classSection[classIndex] = section;
          this.classMixedGrades[classIndex] = local.grades.length > 1 && section % 4 === 3 ? 1 : 0;
          this.classTerm[classIndex] = termOf(seed, classIndex, seatGrade);
        }
      });
    }

    // Teachers: round-robin over a school's classes, so each teacher's classes spread over grades.
    for (const school of this.schools) {
      for (let j = 0; j < school.classCount; j++) {
        const c = school.classStart + j;
        this.classTeacher[c] = school.teacherStart + (j % school.teacherCount);
        if (j % 10 === 9 && school.teacherCount > 1) this.classCoTeacher[c] = school.teacherStart + ((j + 1) % school.teacherCount);
      }
    }
    this.pickMultiSchoolUsers();

    this.teacherGradeMask = new Uint32Array(size.teachers);
    for (let c = 0; c < C; c++) {
      const mask = this.classGradeMask(c);
      const teacher = at(this.classTeacher, c);
      const coTeacher = at(this.classCoTeacher, c);
      this.teacherGradeMask[teacher] = at(this.teacherGradeMask, teacher) | mask;
      if (coTeacher >= 0) this.teacherGradeMask[coTeacher] = at(this.teacherGradeMask, coTeacher) | mask;
    }
    for (const school of this.schools) {
      const bandMask = school.grades.reduce((m, g) => m | gradeBit(g), 0);
      for (let t = school.teacherStart; t < school.teacherStart + school.teacherCount; t++) {
        if (this.teacherGradeMask[t] === 0) this.teacherGradeMask[t] = bandMask;
      }
    }

    this.allocateSeats();

    // Guardians: most head a family; about one in five is a co-parent in someone else's family.
    let coParents = Math.floor(size.guardians * 0.2);
    let primary = size.guardians - coParents;
    if (primary > size.students) {
      primary = size.students;
      coParents = size.guardians - primary;
    }
    this.primaryGuardianCount = primary;
    this.coParentCount = coParents;
    const n = Math.max(1, size.students);
    this.permutationFactor = coprimeFactor(n, seed);
    this.permutationInverse = modularInverse(this.permutationFactor, n);
    this.permutationOffset = deriveSeed(seed, STREAM_PERMUTATION) % n;
  }

  /** The number of teacher enrollments of class `c` (its primary teacher and any co-teacher). */
  teacherEnrollmentsOf(c: number): number {
    return at(this.classCoTeacher, c) >= 0 ? 2 : 1;
  }

  /** The course of class `c`. */
  courseOf(c: number): CoursePlan {
    return at(this.courses, at(this.classCourse, c));
  }

  /** The cohort (school and grade) whose students sit in class `c`. */
  cohortOf(c: number): CohortPlan {
    return at(this.cohorts, at(this.classCohort, c));
  }

  /** The grades of class `c`, as a bit mask over GRADE_LEVELS. */
  classGradeMask(c: number): number {
    if (this.classMixedGrades[c]) return this.courseOf(c).grades.reduce((m, g) => m | gradeBit(g), 0);
    return gradeBit(this.cohortOf(c).grade);
  }

  /** The grades of class `c`, in CEDS order. */
  classGrades(c: number): GradeLevel[] {
    return gradesOfMask(this.classGradeMask(c));
  }

  /** The student (index) in seat `k` of class `c`. */
  studentInSeat(c: number, k: number): number {
    const cohort = this.cohortOf(c);
    return cohort.studentStart + ((at(this.classSeatStart, c) + k) % cohort.studentCount);
  }

  /** The class that enrollment `e` belongs to (binary search over the per-class enrollment ranges). */
  classOfEnrollment(e: number): number {
    let lo = 0;
    let hi = this.classCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (at(this.classEnrollmentStart, mid) <= e) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The cohort (school and grade) of student `i`. */
  cohortOfStudent(i: number): CohortPlan {
    let lo = 0;
    let hi = this.cohorts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (at(this.cohorts, mid).studentStart <= i) lo = mid;
      else hi = mid - 1;
    }
    // An empty cohort shares its start with the next one, which the search prefers.
    return at(this.cohorts, lo);
  }

  /** The school a teacher (index among teachers) belongs to first. */
  schoolOfTeacher(t: number): SchoolPlan {
    return this.schools.find((s) => t >= s.teacherStart && t < s.teacherStart + s.teacherCount)!;
  }

  /** The school of a staff member (index among staff), or undefined for the district office. */
  schoolOfStaff(a: number): SchoolPlan | undefined {
    return this.schools.find((s) => a >= s.staffStart && a < s.staffStart + s.staffCount);
  }

  /** The family (primary guardian number) student `i` belongs to, or -1 when there are no guardians. */
  familyOfStudent(i: number): number {
    if (this.primaryGuardianCount === 0) return -1;
    const q = this.permute(i);
    return Math.ceil(((q + 1) * this.primaryGuardianCount) / this.studentCount) - 1;
  }

  /** The students (indices, ascending) of family `f`. */
  studentsOfFamily(f: number): number[] {
    const start = Math.floor((f * this.studentCount) / this.primaryGuardianCount);
    const end = Math.floor(((f + 1) * this.studentCount) / this.primaryGuardianCount);
    const members: number[] = [];
    for (let q = start; q < end; q++) members.push(this.unpermute(q));
    return members.sort((a, b) => a - b);
  }

  /** The co-parent number of family `f`, or -1 when the family has none. */
  coParentOfFamily(f: number): number {
    if (this.coParentCount === 0) return -1;
    const before = Math.floor((f * this.coParentCount) / this.primaryGuardianCount);
    const after = Math.floor(((f + 1) * this.coParentCount) / this.primaryGuardianCount);
    return after > before ? before : -1;
  }

  /** The family co-parent `j` belongs to. */
  familyOfCoParent(j: number): number {
    return Math.ceil(((j + 1) * this.primaryGuardianCount) / this.coParentCount) - 1;
  }

  private permute(i: number): number {
    return (this.permutationFactor * i + this.permutationOffset) % this.studentCount;
  }

  private unpermute(q: number): number {
    const n = this.studentCount;
    return (this.permutationInverse * ((q - this.permutationOffset + n) % n)) % n;
  }

  private pickMultiSchoolUsers(): void {
    if (this.schools.length < 2) return;
    const teachersWanted = Math.min(Math.floor(this.size.multiSchoolUsers / 2), this.size.teachers - this.schools.length);
    const studentsWanted = Math.min(this.size.multiSchoolUsers - Math.max(0, teachersWanted), this.size.students);
    const S = this.schools.length;
    // Itinerant teachers (music, art…): a school's last teachers, co-teaching one class next door.
    for (let m = 0; m < teachersWanted; m++) {
      const school = at(this.schools, m % S);
      const rank = Math.floor(m / S);
      if (rank >= school.teacherCount) continue;
      const teacher = school.teacherStart + school.teacherCount - 1 - rank;
      const other = at(this.schools, (school.index + 1) % S);
      this.teacherSecondSchool.set(teacher, other.index);
      const c = other.classStart + ((rank * 10 + 4) % other.classCount);
      this.classCoTeacher[c] = teacher;
    }
    const random = new SeededRandom(deriveSeed(this.seed, STREAM_MULTI_SCHOOL));
    for (let attempts = 0; this.studentSecondSchool.size < studentsWanted && attempts < studentsWanted * 20; attempts++) {
      const student = random.int(this.size.students);
      if (this.studentSecondSchool.has(student)) continue;
      const school = this.cohortOfStudent(student).school;
      this.studentSecondSchool.set(student, (school + 1 + random.int(S - 1)) % S);
    }
  }

  /**
   * Gives every class a window of seats in its cohort. Each course takes the same share of its
   * cohort, so no student sits in two sections of one course; consecutive courses continue around
   * the cohort where the previous one stopped, so every student gets about the same number of
   * classes. The teacher enrollments come off the total first.
   */
  private allocateSeats(): void {
    const pairs: { cohort: CohortPlan; classes: number[] }[] = [];
    const pairOf = new Map<string, { cohort: CohortPlan; classes: number[] }>();
    for (let c = 0; c < this.classCount; c++) {
      const cohort = this.cohortOf(c);
      const course = at(this.classCourse, c);
      const key = `${cohort.index}:${course}`;
      let pair = pairOf.get(key);
      if (pair === undefined) {
        pair = { cohort, classes: [] };
        pairOf.set(key, pair);
        pairs.push(pair);
        cohort.courses.push({ course, classes: pair.classes });
      }
      pair.classes.push(c);
    }
    let teacherEnrollments = 0;
    for (let c = 0; c < this.classCount; c++) teacherEnrollments += this.teacherEnrollmentsOf(c);
    const seats = this.enrollmentCount - teacherEnrollments;
    const capacity = pairs.reduce((sum, p) => sum + p.cohort.studentCount, 0);
    if (seats < 0 || seats > capacity) {
      throw new RangeError(
        `${this.enrollmentCount} enrollments do not fit: the classes need ${teacherEnrollments} teacher enrollments and ` +
          `the courses seat at most ${capacity} student enrollments (one section of each course per student)`,
      );
    }
    const pairSeats = apportion(
      seats,
      pairs.map((p) => p.cohort.studentCount),
      { maximum: pairs.map((p) => p.cohort.studentCount) },
    );
    const cursor = new Map<number, number>();
    pairs.forEach((pair, p) => {
      const n = pair.cohort.studentCount;
      let start = cursor.get(pair.cohort.index) ?? 0;
      const perClass = apportion(
        at(pairSeats, p),
        pair.classes.map(() => 1),
      );
      pair.classes.forEach((c, k) => {
        this.classSeatStart[c] = n === 0 ? 0 : start % n;
        this.classSeatCount[c] = at(perClass, k);
        start += at(perClass, k);
      });
      cursor.set(pair.cohort.index, n === 0 ? 0 : start % n);
    });
    let e = 0;
    for (let c = 0; c < this.classCount; c++) {
      this.classEnrollmentStart[c] = e;
      e += this.teacherEnrollmentsOf(c) + at(this.classSeatCount, c);
    }
    this.classEnrollmentStart[this.classCount] = e;
  }
}

/** The bit of a grade in a grade mask. */
export function gradeBit(grade: GradeLevel): number {
  return 1 << GRADE_LEVELS.indexOf(grade);
}

/** The grades of a grade mask, in CEDS order. */
export function gradesOfMask(mask: number): GradeLevel[] {
  return GRADE_LEVELS.filter((_, i) => (mask & (1 << i)) !== 0);
}

/** True for grades taught in elementary schools (up to 05). */
export function isElementary(grade: GradeLevel): boolean {
  return GRADE_LEVELS.indexOf(grade) <= GRADE_LEVELS.indexOf('05');
}

function schoolSuffix(band: SchoolBand, grades: GradeLevel[]): string {
  switch (band) {
    case 'elementary':
      return 'Elementary School';
    case 'middle':
      return 'Middle School';
    case 'high':
      return 'High School';
    case 'combined':
      return `${label(at(grades, 0))}–${label(at(grades, grades.length - 1))} Academy`;
  }
}

function label(grade: GradeLevel): string {
  return /^\d+$/.test(grade) ? String(Number(grade)) : grade === 'KG' ? 'K' : grade;
}

function termOf(seed: number, c: number, grade: GradeLevel): ClassTerm {
  if (isElementary(grade)) return ClassTerm.SchoolYear;
  const roll = deriveSeed(seed, STREAM_CLASS_TERM, c) % 10;
  return roll < 6 ? ClassTerm.BothSemesters : roll < 8 ? ClassTerm.Fall : ClassTerm.Spring;
}

function validateSize(size: DistrictSize): void {
  const whole = (name: keyof DistrictSize, min: number): void => {
    const value = size[name] as number;
    if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`district size: ${name} must be an integer ≥ ${min}, got ${value}`);
  };
  whole('schools', 1);
  whole('students', 1);
  whole('teachers', size.schools);
  whole('staff', size.schools);
  whole('guardians', 0);
  whole('courses', 1);
  whole('classes', size.courses);
  whole('enrollments', 0);
  whole('multiSchoolUsers', 0);
  whole('faultCount', 0);
  if (size.grades.length === 0) throw new RangeError('district size: grades must not be empty');
  for (const grade of size.grades) {
    if (!GRADE_LEVELS.includes(grade)) throw new RangeError(`district size: "${grade}" is not a CEDS grade`);
  }
  if (size.students > MAX_STUDENTS) throw new RangeError(`district size: at most ${MAX_STUDENTS} students`);
  if (size.guardians > 2 * size.students) throw new RangeError('district size: at most two guardians per student');
}

function shuffled<T>(list: readonly T[], random: SeededRandom): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [copy[i], copy[j]] = [at(copy, j), at(copy, i)];
  }
  return copy;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function coprimeFactor(n: number, seed: number): number {
  if (n <= 2) return 1;
  let a = Math.floor(n * 0.6180339887) + (deriveSeed(seed, STREAM_PERMUTATION, 1) % 97);
  a = (a % (n - 1)) + 1;
  while (gcd(a, n) !== 1) a = (a % (n - 1)) + 1;
  return a;
}

function modularInverse(a: number, n: number): number {
  if (n === 1) return 0;
  let [oldR, r] = [a, n];
  let [oldS, s] = [1, 0];
  while (r !== 0) {
    const q = Math.floor(oldR / r);
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % n) + n) % n;
}
