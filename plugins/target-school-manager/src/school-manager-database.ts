import type { ColumnType, Generated } from 'kysely';
import type { AcademicSession, Enrollment, Org, User } from '@rosterbridge/core';

/*
 * School Manager's tables (the `plugin_target_school_manager` schema) as kysely sees them once
 * every migration of {@link schoolManagerMigrations} has run: what a select returns (as `pg` parses
 * it), what an insert or an update takes. Migrations do not use these types (they must build the
 * schema as it was at their time); a migration that changes a table changes its interface here too.
 */

/** A `date` column: `pg` reads it as a Date (midnight, local time); written as an ISO date string or a Date. */
type DateColumn = ColumnType<Date, Date | string, Date | string>;

/** A nullable `date` column. */
type NullableDate = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A nullable `timestamptz` column: read back as a Date; written as a Date or an ISO string. */
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A `timestamptz` column that defaults to `now()`. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A user School Manager already has (created in the product or by `school-manager.importUsers`, never by the sync). */
export interface UserAccountTable {
  tenant_id: string;
  id: string;
  email: string;
  display_name: string | null;
  created_at: DefaultedTimestamp;
}

/** An org of the roster, as the SIS import area keeps it. */
export interface SisSchoolTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  org_type: Org['type'];
  parent_sourced_id: string | null;
}

/** An academic session of the roster. */
export interface SisTermTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  session_type: AcademicSession['type'];
  start_date: DateColumn;
  end_date: DateColumn;
}

/** A class of the roster. */
export interface SisClassTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  class_code: string | null;
  school_sourced_id: string;
  term_sourced_ids: string[];
  /** The run that last imported the row (null: imported before runs were kept). */
  import_run: string | null;
}

/** A user of the roster, of any role. */
export interface SisPersonTable {
  tenant_id: string;
  sourced_id: string;
  role: User['role'];
  email: string | null;
  given_name: string;
  family_name: string;
  phone: string | null;
  sms: string | null;
  org_sourced_ids: string[];
  agent_sourced_ids: string[];
  /** The run that last imported the row (null: imported before runs were kept). */
  import_run: string | null;
}

/** An enrollment of the roster. */
export interface SisEnrollmentTable {
  tenant_id: string;
  sourced_id: string;
  class_sourced_id: string;
  user_sourced_id: string;
  role: Enrollment['role'];
  begin_date: NullableDate;
  end_date: NullableDate;
  /** The run that last imported the row (null: imported before runs were kept). */
  import_run: string | null;
}

/** Which School Manager user a roster student or staff member is, if any, and why not. */
export interface SisUserMatchTable {
  tenant_id: string;
  sourced_id: string;
  kind: 'student' | 'teacher';
  /** `left`: a student whose enrolments have all ended (Respect Enrolment Date). */
  status: 'matched' | 'unmatched' | 'no_email' | 'duplicate_email' | 'left';
  email: string | null;
  /** The School Manager user, when matched. */
  user_id: string | null;
}

/** A class imported as a School Manager classroom. */
export interface ClassroomTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  class_code: string | null;
  school_sourced_id: string;
  school_name: string | null;
}

/** A matched user's membership of a classroom, by the enrollment it comes from. */
export interface ClassroomMemberTable {
  tenant_id: string;
  enrollment_sourced_id: string;
  classroom_sourced_id: string;
  user_id: string;
  role: 'student' | 'teacher';
}

/** A parent or guardian of a matched student. */
export interface ParentContactTable {
  tenant_id: string;
  sourced_id: string;
  given_name: string;
  family_name: string;
  email: string | null;
  phone: string | null;
  sms: string | null;
}

/** Which matched student a parent contact is the parent, guardian or relative of. */
export interface ParentStudentTable {
  tenant_id: string;
  parent_sourced_id: string;
  student_user_id: string;
  relationship: 'parent' | 'guardian' | 'relative';
}

/** Each tenant's last sync date and the Sync Details figures. */
export interface SyncStateTable {
  tenant_id: string;
  /** Null before the first sync, and after a reset. */
  last_sync_at: NullableTimestamp;
  unmatched_users: Generated<number>;
  matched_students: Generated<number>;
  matched_teachers: Generated<number>;
  imported_classes: Generated<number>;
  imported_parents: Generated<number>;
}

/** School Manager's schema's tables. */
export interface SchoolManagerDatabase {
  user_account: UserAccountTable;
  sis_school: SisSchoolTable;
  sis_term: SisTermTable;
  sis_class: SisClassTable;
  sis_person: SisPersonTable;
  sis_enrollment: SisEnrollmentTable;
  sis_user_match: SisUserMatchTable;
  classroom: ClassroomTable;
  classroom_member: ClassroomMemberTable;
  parent_contact: ParentContactTable;
  parent_student: ParentStudentTable;
  sync_state: SyncStateTable;
}

/** The tables of the SIS import area (what the integration last received from the SIS, keyed by tenant and sourcedId). */
export type SisImportTable = 'sis_school' | 'sis_term' | 'sis_class' | 'sis_person' | 'sis_enrollment';
