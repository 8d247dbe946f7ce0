import type { ColumnType, Selectable } from 'kysely';
import type { Enrollment, EnrollmentRole, UserRole } from '@rosterbridge/core';

/*
 * Gradient's schema as kysely sees it once every migration of {@link gradientMigrations} has run:
 * what a select returns (as `pg` parses it), what an insert or an update takes. Migrations do not
 * use these types (they must build the schema as it was at their time); a migration that changes a
 * table or a view changes its interface here too. `text[]` columns are read and written as string
 * arrays (`pg` sends a JS array as a PostgreSQL array).
 */

/** A `date` column: `pg` reads it as a Date at local midnight; written as a Date or `YYYY-MM-DD`. */
export type DateColumn = ColumnType<Date, Date | string, Date | string>;

/** A nullable `date` column. */
export type NullableDateColumn = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A nullable `timestamptz` column: read back as a Date; written as a Date or an ISO string. */
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A `jsonb` column: read back parsed; written as JSON text (`pg` would send a JS array as a PostgreSQL array). */
type Jsonb<T> = ColumnType<T, string, string>;

/** A column of a view: read only. */
type ViewColumn<T> = ColumnType<T, never, never>;

/** The product's own state: a Gradient Leader starts the academic year, which unpauses syncing. */
export interface AcademicYearTable {
  tenant_id: string;
  /** The year as OneRoster names it (the calendar year it ends in), as text. */
  school_year: string;
  /** Null: created, not started. */
  started_at: NullableTimestamp;
  started_by: string | null;
}

/** The district and its schools. */
export interface OrganizationTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  org_type: string;
  identifier: string | null;
  parent_sourced_id: string | null;
}

/** A term or school year, with its dates. */
export interface TermTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  session_type: string;
  start_date: DateColumn;
  end_date: DateColumn;
  parent_sourced_id: string | null;
  school_year: string;
}

/** A class (its course is not kept: Gradient holds no courses). */
export interface ClassTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  class_code: string | null;
  class_type: string;
  school_sourced_id: string;
  location: string | null;
  grades: string[];
  subjects: string[];
  periods: string[];
}

/** A term a class runs in; `pending_class_term` has the same columns (a term Gradient lacks). */
export interface ClassTermTable {
  tenant_id: string;
  class_sourced_id: string;
  term_sourced_id: string;
}

/** What staff members and students have in common. */
export interface PersonColumns {
  tenant_id: string;
  sourced_id: string;
  role: UserRole;
  given_name: string;
  middle_name: string | null;
  family_name: string;
  username: string;
  email: string | null;
  school_sourced_ids: string[];
  enabled: boolean;
}

/** A user of one of the tenant's staff roles. */
export interface StaffMemberTable extends PersonColumns {
  employee_id: string | null;
}

/** A student. */
export interface StudentTable extends PersonColumns {
  student_number: string | null;
  grades: string[];
}

/** Which kind of person a class member is (checked by the table). */
export type MemberKind = 'staff' | 'student';

/** A person in a class: an enrollment whose class and person Gradient holds. */
export interface ClassMemberTable {
  tenant_id: string;
  sourced_id: string;
  class_sourced_id: string;
  person_sourced_id: string;
  member_kind: MemberKind;
  /** The enrollment's role. */
  role: EnrollmentRole;
  is_primary: boolean | null;
  begin_date: NullableDateColumn;
  end_date: NullableDateColumn;
}

/** An enrollment Gradient cannot take yet, with why (the code of its issue) and the record itself. */
export interface PendingMembershipTable {
  tenant_id: string;
  sourced_id: string;
  class_sourced_id: string;
  person_sourced_id: string;
  code: string;
  record: Jsonb<Enrollment>;
}

/**
 * The `term_schedule` view (and `current_term_schedule`, its rows of today): one row per term a
 * class runs in and person in the class. `given_name` and `family_name` are the person's, from
 * `staff_member` or `student`: a class member's person is always held (a person who leaves takes
 * their memberships to `pending_membership`).
 */
export interface TermScheduleView {
  tenant_id: ViewColumn<string>;
  term_sourced_id: ViewColumn<string>;
  term_title: ViewColumn<string>;
  term_type: ViewColumn<string>;
  term_start_date: ViewColumn<Date>;
  term_end_date: ViewColumn<Date>;
  class_sourced_id: ViewColumn<string>;
  class_title: ViewColumn<string>;
  class_code: ViewColumn<string | null>;
  school_sourced_id: ViewColumn<string>;
  periods: ViewColumn<string[]>;
  membership_sourced_id: ViewColumn<string>;
  person_sourced_id: ViewColumn<string>;
  member_kind: ViewColumn<MemberKind>;
  role: ViewColumn<EnrollmentRole>;
  is_primary: ViewColumn<boolean | null>;
  member_begin_date: ViewColumn<Date | null>;
  member_end_date: ViewColumn<Date | null>;
  given_name: ViewColumn<string>;
  family_name: ViewColumn<string>;
}

/**
 * Gradient's tables and views ({@link gradientMigrations}), for the plugin's storage `db` (bound
 * to its schema): `Kysely<GradientDatabase>`.
 */
export interface GradientDatabase {
  academic_year: AcademicYearTable;
  organization: OrganizationTable;
  term: TermTable;
  class: ClassTable;
  class_term: ClassTermTable;
  staff_member: StaffMemberTable;
  student: StudentTable;
  class_member: ClassMemberTable;
  pending_membership: PendingMembershipTable;
  /** Class terms waiting for their term. */
  pending_class_term: ClassTermTable;
  term_schedule: TermScheduleView;
  current_term_schedule: TermScheduleView;
}

/** The roster tables keyed by (tenant_id, sourced_id). */
export type GradientSourcedTable = 'organization' | 'term' | 'class' | 'staff_member' | 'student' | 'class_member' | 'pending_membership';

/** Rows whole, as the target writes them. */
export type ClassRow = Selectable<ClassTable>;
export type PersonRow = Selectable<PersonColumns>;
export type StaffMemberRow = Selectable<StaffMemberTable>;
export type StudentRow = Selectable<StudentTable>;
/** A class member as the target writes it: its dates as the roster gives them (`YYYY-MM-DD`). */
export type ClassMemberRow = Omit<Selectable<ClassMemberTable>, 'begin_date' | 'end_date'> & { begin_date: string | null; end_date: string | null };
