import type { CalendarDate, RosterRecordBase } from './roster-record-base';
import type { EnrollmentRole } from './roster-vocabulary';

/** A user's membership of a class, with a role (OneRoster 1.1 `enrollment`). */
export interface Enrollment extends RosterRecordBase {
  classSourcedId: string;
  schoolSourcedId: string;
  userSourcedId: string;
  role: EnrollmentRole;
  /** For teachers: whether this is the class's primary teacher. Undefined when not given. */
  primary?: boolean;
  beginDate?: CalendarDate;
  endDate?: CalendarDate;
}
