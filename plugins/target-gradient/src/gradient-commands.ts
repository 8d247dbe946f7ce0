import type { NotNull } from 'kysely';
import { type CommandResult, type Disposable, type PluginContext, type PluginStorage, commandRefusal } from '@rosterbridge/core';
import { academicYearPausedReason, tenantSchoolYear } from './gradient-academic-year';
import type { GradientDatabase } from './gradient-database';
import type { GradientApi } from './gradient-schedule-api';
import type { GradientSettings } from './gradient-settings';

/** Why Gradient refuses a command, carried as `details.productCode` of a COMMAND_REFUSED answer. */
export const GradientCommandCodes = {
  /** The year asked for is over: starting it would not unpause syncing. */
  GRADIENT_ACADEMIC_YEAR_PAST: 'GRADIENT_ACADEMIC_YEAR_PAST',
  /** The year asked for is after next school year. */
  GRADIENT_ACADEMIC_YEAR_TOO_EARLY: 'GRADIENT_ACADEMIC_YEAR_TOO_EARLY',
} as const;

/** Arguments of `gradient.startAcademicYear` (see the manifest). */
export interface StartAcademicYearArguments {
  /** The school year as OneRoster's `schoolYear` names it: the calendar year it ends in. */
  year?: number;
}

/**
 * Registers Gradient's commands. `gradient.startAcademicYear` does what a Gradient Leader does in
 * Admin Mode: starts the academic year, which unpauses roster syncing (the seed). By default the
 * current school year (today's date, `academicYearStartMonth`); the next one may be started ahead of
 * the roll-over, a past one is refused. Starting a started year changes nothing.
 */
export function registerGradientCommands(context: PluginContext, api: GradientApi): Disposable {
  const storage: PluginStorage<GradientDatabase> = context.storage;
  return context.registerCommand<StartAcademicYearArguments>(
    'gradient.startAcademicYear',
    async (tenantId, args, { tenant, by, signal }): Promise<CommandResult> => {
      const settings = await tenant.settings<GradientSettings>();
      const { today, current } = tenantSchoolYear(tenant, settings);
      const year = args.year ?? current;
      const span = (y: number) => `${y - 1}-${String(y % 100).padStart(2, '0')}`;
      if (year < current)
        throw commandRefusal(
          GradientCommandCodes.GRADIENT_ACADEMIC_YEAR_PAST,
          `academic year ${year} (${span(year)}) is over: today (${today}) is in school year ${current} (${span(current)}), and starting a past year would not unpause roster syncing`,
          { argument: 'year', currentSchoolYear: current },
        );
      if (year > current + 1)
        throw commandRefusal(
          GradientCommandCodes.GRADIENT_ACADEMIC_YEAR_TOO_EARLY,
          `academic year ${year} (${span(year)}) is more than a year ahead: today (${today}) is in school year ${current}; start ${current} or ${current + 1}`,
          { argument: 'year', currentSchoolYear: current },
        );
      signal.throwIfAborted();
      const before = await storage.db
        .selectFrom('academic_year')
        .select('started_at')
        .where('tenant_id', '=', tenantId)
        .where('school_year', '=', String(year))
        .executeTakeFirst();
      await api.startAcademicYear(tenantId, String(year), by);
      // Started now if it was not: the year's row has a start.
      const row = await storage.db
        .selectFrom('academic_year')
        .select(['started_at', 'started_by'])
        .where('tenant_id', '=', tenantId)
        .where('school_year', '=', String(year))
        .where('started_at', 'is not', null)
        .$narrowType<{ started_at: NotNull }>()
        .executeTakeFirstOrThrow();
      const paused = await academicYearPausedReason(storage.db, tenant, settings);
      const startedAt = row.started_at.toISOString();
      const alreadyStarted = Boolean(before?.started_at);
      return {
        summary:
          `Gradient academic year ${year} (${span(year)}) ${alreadyStarted ? 'was already started' : 'started'} (by ${row.started_by ?? 'unknown'} at ${startedAt}); ` +
          (paused ? `roster syncing stays paused: ${paused}` : 'roster syncing is unpaused: the next run applies'),
        schoolYear: year,
        startedAt,
        startedBy: row.started_by,
        alreadyStarted,
        syncing: paused ? 'paused' : 'unpaused',
        ...(paused ? { pausedReason: paused } : {}),
      };
    },
  );
}
