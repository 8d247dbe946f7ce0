import type { GradeLevel } from './grade-level';
import type { RosterRecordBase } from './roster-record-base';
import type { ClassType } from './roster-vocabulary';

/** A class: one section of a course, or a homeroom (OneRoster 1.1 `class`). */
export interface RosterClass extends RosterRecordBase {
  title: string;
  grades: GradeLevel[];
  courseSourcedId: string;
  classCode?: string;
  classType: ClassType;
  location?: string;
  /** The school (org) where the class is taught. */
  schoolSourcedId: string;
  /** The terms (academic sessions) the class runs in; at least one. */
  termSourcedIds: string[];
  subjects: string[];
  subjectCodes: string[];
  /** The periods the class meets in, e.g. `['1', '2']`. */
  periods: string[];
}
