import type { ColumnType, Kysely } from 'kysely';
import type { AcademicSession, GradeLevel, RosterEntity, RosterRecord } from '@rosterbridge/core';

/*
 * The Kamkalima tables (the `plugin_target_kamkalima` schema) as kysely sees them once every
 * migration of {@link kamkalimaMigrations} has run: what a select returns (as `pg` parses it), what
 * an insert or an update takes. Migrations do not use these types (they must build the schema as it
 * was at their time); a migration that changes a table changes its interface here too.
 */

/** A `date` column: `pg` reads it as a Date (midnight, local time); written as an ISO date string or a Date. */
type DateColumn = ColumnType<Date, Date | string, Date | string>;

/** A nullable `timestamptz` column: read back as a Date; written as a Date or an ISO string. */
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A `timestamptz` column that defaults to `now()`. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/**
 * A `jsonb` column: read back parsed; written as JSON text (`pg` would send a JS array as a
 * PostgreSQL array, not as JSON).
 */
type Jsonb<T> = ColumnType<T, string, string>;

/** An org of type school. */
export interface SchoolTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  identifier: string | null;
}

/** An academic session of the current academic year. */
export interface TermTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  kind: AcademicSession['type'];
  /** The academic year's school year (the year it ends in). */
  school_year: number;
  starts_on: DateColumn;
  ends_on: DateColumn;
  /** Null when the parent is not a Kamkalima term. */
  parent_sourced_id: string | null;
}

export interface CourseTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  code: string | null;
  /** Null when the course's org is not a Kamkalima school. */
  school_sourced_id: string | null;
  /** Sorted in grade order, never empty. */
  grades: GradeLevel[];
}

/** A class (Kamkalima's classroom). */
export interface ClassroomTable {
  tenant_id: string;
  sourced_id: string;
  title: string;
  code: string | null;
  course_sourced_id: string;
  school_sourced_id: string;
  /** Sorted, never empty, within the course's grades. */
  grades: GradeLevel[];
  /** The class's terms of the current academic year (at least one). */
  term_sourced_ids: string[];
}

/** The columns teachers, students and administrators share. */
interface PersonColumns {
  tenant_id: string;
  sourced_id: string;
  username: string;
  given_name: string;
  family_name: string;
  email: string | null;
  active: boolean;
}

export interface TeacherTable extends PersonColumns {
  /** The user's first Kamkalima school. */
  school_sourced_id: string;
  /** Sorted; may be empty. */
  grades: GradeLevel[];
}

export interface StudentTable extends PersonColumns {
  /** The user's first Kamkalima school. */
  school_sourced_id: string;
  /** A student's one grade. */
  grade: GradeLevel;
}

export interface AdministratorTable extends PersonColumns {
  /** Every Kamkalima school of the user (at least one). */
  school_sourced_ids: string[];
}

/** A teacher's or student's enrollment in a classroom. */
export interface ClassMembershipTable {
  tenant_id: string;
  sourced_id: string;
  classroom_sourced_id: string;
  member_sourced_id: string;
  role: 'teacher' | 'student';
  is_primary: boolean | null;
}

/** The system teacher-admin account of each school, and the teacher it is assigned to. */
export interface TeacherAdminAccountTable {
  tenant_id: string;
  school_sourced_id: string;
  username: string;
  assigned_teacher_sourced_id: string | null;
  created_at: DefaultedTimestamp;
  assigned_at: NullableTimestamp;
  /** Who assigned it (the command's caller). */
  assigned_by: string | null;
}

/** A roster record a product rule held back, with the code of the issue that holds it. */
export interface HeldRecordTable {
  tenant_id: string;
  entity: RosterEntity;
  sourced_id: string;
  code: string;
  /** The record as the engine sent it, its password left out. */
  record: Jsonb<RosterRecord>;
}

/** The Kamkalima schema's tables. */
export interface KamkalimaDatabase {
  school: SchoolTable;
  term: TermTable;
  course: CourseTable;
  classroom: ClassroomTable;
  teacher: TeacherTable;
  student: StudentTable;
  administrator: AdministratorTable;
  class_membership: ClassMembershipTable;
  teacher_admin_account: TeacherAdminAccountTable;
  held_record: HeldRecordTable;
}

/** The tables a synced record may live in (each keyed by tenant and sourcedId); the teacher-admin accounts are the product's own. */
export type KamkalimaRecordTable = Exclude<keyof KamkalimaDatabase, 'teacher_admin_account' | 'held_record'>;

/** A kysely instance or transaction bound to the Kamkalima schema. */
export type KamkalimaDb = Kysely<KamkalimaDatabase>;
