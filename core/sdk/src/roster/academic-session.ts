import type { CalendarDate, RosterRecordBase } from './roster-record-base';
import type { SessionType } from './roster-vocabulary';

/** A school year, semester, term or grading period (OneRoster 1.1 `academicSession`). */
export interface AcademicSession extends RosterRecordBase {
  title: string;
  type: SessionType;
  startDate: CalendarDate;
  endDate: CalendarDate;
  /** The enclosing session (a grading period's term, a term's school year). */
  parentSourcedId?: string;
  /** The year in which the school year ends, `YYYY` (2023 for 2022–23). */
  schoolYear: string;
}
