import type { PluginContext, PluginStorage } from '@rosterbridge/core';
import { registerGradientCommands } from './gradient-commands';
import type { GradientDatabase } from './gradient-database';
import { gradientMigrations } from './gradient-migrations';
import { createGradientApi, type GradientApi } from './gradient-schedule-api';
import { GradientSession } from './gradient-session';
import type { GradientSettings } from './gradient-settings';

export type { GradientApi, GradientClassMember, GradientDayOption, GradientScheduledClass, GradientTerm } from './gradient-schedule-api';
export { GradientIssueCodes } from './gradient-issues';
export { GradientSession } from './gradient-session';
export { GradientCommandCodes, type StartAcademicYearArguments } from './gradient-commands';
export type { GradientSettings } from './gradient-settings';
export type { GradientDatabase } from './gradient-database';

/** Gradient's schema: see {@link gradientMigrations}. */
export const migrations = gradientMigrations;

/**
 * Registers the `gradient` target and the `gradient.startAcademicYear` command, and returns the
 * {@link GradientApi}: the current-term schedule spot check and the academic year that gates roster
 * syncing.
 */
export function activate(context: PluginContext): GradientApi {
  const storage: PluginStorage<GradientDatabase> = context.storage;
  context.subscriptions.add(
    context.registerTarget('gradient', {
      async open(tenant) {
        return new GradientSession(storage.db, tenant, await tenant.settings<GradientSettings>());
      },
    }),
  );
  const api = createGradientApi(context);
  context.subscriptions.add(registerGradientCommands(context, api));
  return api;
}
