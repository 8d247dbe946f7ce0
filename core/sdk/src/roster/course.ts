import type { GradeLevel } from './grade-level';
import type { RosterRecordBase } from './roster-record-base';

/** A course, of which classes are sections (OneRoster 1.1 `course`). */
export interface Course extends RosterRecordBase {
  title: string;
  /** The academic session (a school year) the course belongs to. */
  schoolYearSourcedId?: string;
  courseCode?: string;
  grades: GradeLevel[];
  /** The org (school or district) that offers the course. */
  orgSourcedId: string;
  subjects: string[];
  /** SCED subject codes. */
  subjectCodes: string[];
}
