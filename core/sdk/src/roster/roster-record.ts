import type { AcademicSession } from './academic-session';
import type { Course } from './course';
import type { Demographics } from './demographics';
import type { Enrollment } from './enrollment';
import type { Org } from './org';
import type { RosterClass } from './roster-class';
import type { RosterEntity } from './roster-entity';
import type { User } from './user';

/** The canonical record type of each roster entity. */
export interface RosterRecordMap {
  orgs: Org;
  academicSessions: AcademicSession;
  courses: Course;
  classes: RosterClass;
  users: User;
  enrollments: Enrollment;
  demographics: Demographics;
}

/** A canonical record of entity `E`, or of any entity when `E` is left out. */
export type RosterRecord<E extends RosterEntity = RosterEntity> = RosterRecordMap[E];
