import type { PluginContext, PluginStorage } from '@rosterbridge/core';
import { registerKamkalimaCommands } from './kamkalima-commands';
import type { KamkalimaDatabase } from './kamkalima-database';
import { kamkalimaMigrations } from './kamkalima-migrations';
import { KamkalimaSession } from './kamkalima-session';
import { type KamkalimaSettings, currentAcademicYear, todayIn } from './kamkalima-settings';

export { KamkalimaIssueCodes, type KamkalimaIssueCode } from './kamkalima-issues';
export { KamkalimaSession } from './kamkalima-session';
export { type AcademicYear, type KamkalimaSettings, currentAcademicYear, currentSchoolYear, sessionInAcademicYear } from './kamkalima-settings';
export { gradesIncompatible } from './kamkalima-rules';
export { KamkalimaCommandCodes, type AssignTeacherAdminArguments } from './kamkalima-commands';

/** Migrations of the `plugin_target_kamkalima` schema. */
export const migrations = kamkalimaMigrations;

/** Registers the `kamkalima` target and the `kamkalima.assignTeacherAdmin` command. */
export function activate(context: PluginContext): void {
  const storage: PluginStorage<KamkalimaDatabase> = context.storage;
  context.subscriptions.add(
    context.registerTarget('kamkalima', {
      async open(tenant) {
        const settings = await tenant.settings<KamkalimaSettings>();
        const today = settings.today ?? todayIn(tenant.info().timezone);
        const year = currentAcademicYear(today, settings.academicYearStartMonth);
        tenant.logger.debug({ today, year }, 'opening Kamkalima target');
        return new KamkalimaSession(storage.db, tenant, year, {
          bulkLoad: settings.bulkLoad ?? true,
        });
      },
    }),
  );
  context.subscriptions.add(registerKamkalimaCommands(context));
}
