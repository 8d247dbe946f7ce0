import type { PluginContext, PluginStorage } from '@rosterbridge/core';
import { registerSchoolManagerCommands } from './school-manager-commands';
import { schoolManagerMigrations } from './school-manager-migrations';
import type { SchoolManagerDatabase } from './school-manager-database';
import { SchoolManagerSession } from './school-manager-session';

export { SchoolManagerIssueCodes, SchoolManagerFailureCodes, SCHOOL_MANAGER_PARTIAL_CODES, schoolManagerPartialCode } from './school-manager-issues';
export type { SchoolManagerSettings } from './school-manager-settings';
export { SchoolManagerSession } from './school-manager-session';
export { ACCOUNT_LIMITS, SchoolManagerAccountCodes } from './school-manager-accounts';
export type { ImportUsersArguments } from './school-manager-commands';

/** School Manager's schema (`plugin_target_school_manager`). */
export const migrations = schoolManagerMigrations;

/**
 * Registers the `school-manager` target: roster users are matched by email to the users School
 * Manager already has; classrooms, memberships and parents are imported per the tenant's settings.
 * Disabling or removing the target stops syncing and deletes nothing (there is no deactivate clean-up).
 * And the `school-manager.importUsers` command, which loads those users from a CSV of the product's accounts.
 */
export function activate(context: PluginContext): void {
  const storage: PluginStorage<SchoolManagerDatabase> = context.storage;
  context.subscriptions.add(context.registerTarget('school-manager', { open: (tenant) => SchoolManagerSession.open(storage, tenant) }));
  context.subscriptions.add(registerSchoolManagerCommands(context));
}
