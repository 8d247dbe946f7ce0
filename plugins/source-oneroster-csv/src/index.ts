import * as path from 'node:path';
import type { PluginContext } from '@rosterbridge/core';
import { CsvSourceSession, type CsvSourceSettings } from './csv-source-session';

export { CsvSourceSession, type CsvSourceSettings } from './csv-source-session';

/** Registers the `oneroster-csv` source. */
export function activate(context: PluginContext): void {
  context.subscriptions.add(
    context.registerSource('oneroster-csv', {
      async open(tenant) {
        const settings = await tenant.settings<CsvSourceSettings>();
        const location = path.resolve(tenant.configDir, settings.location);
        tenant.logger.debug({ location }, 'opening OneRoster CSV package');
        return CsvSourceSession.open({ ...settings, location });
      },
    }),
  );
}
