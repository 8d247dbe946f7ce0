import type { Generated, Selectable } from 'kysely';
import type { EnrollmentRole, UserRole } from '@rosterbridge/core';
import type { KybergateRole } from './kybergate-settings';

/*
 * The KyberGate product schema (`plugin_target_kybergate`) as kysely sees it once every migration
 * of {@link migrations} has run: what a select returns (as `pg` parses it), what an insert or an
 * update takes. Migrations do not use these types (they must build the schema as it was at their
 * time); a migration that changes a table changes its interface here too. `text[]` columns are
 * read and written as string arrays (`pg` sends a JS array as a PostgreSQL array).
 */

/** A district the roster sends (KyberGate holds districts and schools, no other orgs). */
export interface DistrictTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  identifier: string | null;
}

/** A school of the tenant's scope. */
export interface SchoolTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  identifier: string | null;
  district_sourced_id: string | null;
}

/** A KyberGate account: a student, staff member or administrator of the roster. */
export interface UserAccountTable {
  tenant_id: string;
  sourced_id: string;
  email: string;
  /** Lower-cased email: KyberGate signs users in by email, so it is unique per tenant. */
  email_key: string;
  username: string | null;
  first_name: string;
  last_name: string;
  /** Checked by the table: one of KyberGate's roles. */
  role: KybergateRole;
  /** The roster's role the account was mapped from. */
  roster_role: UserRole;
  grade: string | null;
  /** The orgs of `roster_school_sourced_ids` KyberGate holds. */
  school_sourced_ids: string[];
  enabled: boolean;
  /** Fields an admin edited in KyberGate (names of EDITABLE_USER_FIELDS); default none. */
  locally_edited_fields: Generated<string[]>;
  /** The user's in-scope orgs as the roster gives them; default none. */
  roster_school_sourced_ids: Generated<string[]>;
}

/** A class whose school KyberGate holds; `pending_classroom` has the same columns. */
export interface ClassroomTable {
  tenant_id: string;
  sourced_id: string;
  name: string;
  class_code: string | null;
  school_sourced_id: string;
  grades: string[];
}

/** An enrollment whose user and class KyberGate holds; `pending_member` has the same columns. */
export interface ClassroomMemberTable {
  tenant_id: string;
  sourced_id: string;
  classroom_sourced_id: string;
  user_sourced_id: string;
  school_sourced_id: string;
  /** The enrollment's role. */
  role: EnrollmentRole;
  is_primary: boolean | null;
}

/** What the tenant's scope (schools, user types) was when its data was imported. */
export interface SyncScopeTable {
  tenant_id: string;
  scope: string;
}

/**
 * The KyberGate schema's tables ({@link migrations}), for the plugin's storage `db` (bound to its
 * schema): `Kysely<KybergateDatabase>`.
 */
export interface KybergateDatabase {
  district: DistrictTable;
  school: SchoolTable;
  user_account: UserAccountTable;
  classroom: ClassroomTable;
  classroom_member: ClassroomMemberTable;
  sync_scope: SyncScopeTable;
  /** Classrooms waiting for their school. */
  pending_classroom: ClassroomTable;
  /** Class members waiting for their user or classroom. */
  pending_member: ClassroomMemberTable;
}

/** The tables keyed by (tenant_id, sourced_id): every one but `sync_scope`. */
export type KybergateSourcedTable = Exclude<keyof KybergateDatabase, 'sync_scope'>;

/** A row of each table, whole, as read back and as the target writes it. */
export type DistrictRow = Selectable<DistrictTable>;
export type SchoolRow = Selectable<SchoolTable>;
export type UserAccountRow = Selectable<UserAccountTable>;
export type ClassroomRow = Selectable<ClassroomTable>;
export type ClassroomMemberRow = Selectable<ClassroomMemberTable>;
