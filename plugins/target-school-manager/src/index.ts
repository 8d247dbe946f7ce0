import type { PluginContext } from '@rosterbridge/core';
import { schoolManagerMigrations } from './school-manager-migrations';
import { SchoolManagerSession } from './school-manager-session';

export { SchoolManagerIssueCodes, SchoolManagerFailureCodes, SCHOOL_MANAGER_PARTIAL_CODES, schoolManagerPartialCode } from './school-manager-issues';
export type { SchoolManagerSettings } from './school-manager-settings';

/** School Manager's schema (`plugin_target_school_manager`). */
export const migrations = schoolManagerMigrations;

/**
 * Registers the `school-manager` target: roster users are matched by email to the users School
 * Manager already has; classrooms, memberships and parents are imported per the tenant's settings.
 * Disabling or removing the target stops syncing and deletes nothing (there is no deactivate clean-up).
 */
export function activate(context: PluginContext): void {
  context.subscriptions.add(context.registerTarget('school-manager', { open: (tenant) => SchoolManagerSession.open(context.storage, tenant) }));
}
