import type { GradeLevel } from './grade-level';
import type { RosterRecordBase } from './roster-record-base';
import type { UserRole } from './roster-vocabulary';

/** One of a user's identifiers in another system, e.g. `{ type: 'LDAP', identifier: '12' }`. */
export interface UserId {
  type: string;
  identifier: string;
}

/** A student, teacher, administrator, parent… (OneRoster 1.1 `user`). */
export interface User extends RosterRecordBase {
  enabledUser: boolean;
  /** The orgs the user belongs to; at least one. */
  orgSourcedIds: string[];
  role: UserRole;
  username: string;
  userIds: UserId[];
  givenName: string;
  familyName: string;
  middleName?: string;
  /** A human-readable identifier, such as a student number. */
  identifier?: string;
  email?: string;
  sms?: string;
  phone?: string;
  /** Related users: a student's parents or guardians, a parent's children. */
  agentSourcedIds: string[];
  grades: GradeLevel[];
  /** A password as the source sends it. A secret: never log it. */
  password?: string;
}
