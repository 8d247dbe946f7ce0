import type { UserRole, EnrollmentRole } from '@rosterbridge/core';

/** The user types a tenant may choose to import (the product's "User Types" option). */
export type KybergateUserType = 'students' | 'teachers' | 'staff' | 'administrators';

/** A KyberGate account's role. */
export type KybergateRole = 'student' | 'staff' | 'admin';

/** Per-tenant settings, as validated against the manifest's configuration schema. */
export interface KybergateSettings {
  /** `all`, or the sourcedIds of the school orgs to sync. */
  schools?: 'all' | string[];
  userTypes?: KybergateUserType[];
  conflictResolution?: 'source-wins' | 'local-wins';
  notifications?: KybergateNotificationSettings;
}

/** Where failure e-mails go out from. */
export interface KybergateNotificationSettings {
  from: string;
  smtp: { host: string; port?: number; secure?: boolean; user?: string; password?: string };
}

const ALL_USER_TYPES: readonly KybergateUserType[] = ['students', 'teachers', 'staff', 'administrators'];

/**
 * What a tenant's settings let into KyberGate: which schools and which user types. Roster roles map
 * to KyberGate roles as the product does (teacher → staff, student → student, administrator →
 * admin; aide and proctor are staff); guardians, parents and relatives have no KyberGate account.
 */
export class KybergateScope {
  private readonly schools: ReadonlySet<string> | undefined;
  private readonly userTypes: ReadonlySet<KybergateUserType>;

  constructor(settings: KybergateSettings) {
    this.schools = settings.schools === undefined || settings.schools === 'all' ? undefined : new Set(settings.schools);
    this.userTypes = new Set(settings.userTypes ?? ALL_USER_TYPES);
  }

  /** Whether every school is synced. */
  get allSchools(): boolean {
    return this.schools === undefined;
  }

  /** Whether the school (org sourcedId) is synced. */
  includesSchool(sourcedId: string): boolean {
    return this.schools === undefined || this.schools.has(sourcedId);
  }

  includesUserType(type: KybergateUserType): boolean {
    return this.userTypes.has(type);
  }

  /** A stable text of the scope, to notice when a tenant changes it. */
  fingerprint(): string {
    return JSON.stringify({ schools: this.schools ? [...this.schools].sort() : 'all', userTypes: ALL_USER_TYPES.filter((t) => this.userTypes.has(t)) });
  }
}

/** The KyberGate role and user type of a roster user role; undefined for roles KyberGate has no account for. */
export function kybergateRoleOf(role: UserRole): { role: KybergateRole; userType: KybergateUserType } | undefined {
  switch (role) {
    case 'student':
      return { role: 'student', userType: 'students' };
    case 'teacher':
      return { role: 'staff', userType: 'teachers' };
    case 'administrator':
      return { role: 'admin', userType: 'administrators' };
    case 'aide':
    case 'proctor':
      return { role: 'staff', userType: 'staff' };
    default:
      return undefined;
  }
}

/** The user type of a class member by its enrollment role. */
export function userTypeOfEnrollment(role: EnrollmentRole): KybergateUserType {
  switch (role) {
    case 'student':
      return 'students';
    case 'teacher':
      return 'teachers';
    case 'administrator':
      return 'administrators';
    default:
      return 'staff';
  }
}
