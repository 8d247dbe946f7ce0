import * as path from 'node:path';
import { ISourceLimits, type PluginContext } from '@rosterbridge/core';
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
        // The host's caps on packages, rows and fields; a host without them leaves the reader's defaults.
        const limits = tenant.scope.tryGet(ISourceLimits);
        return CsvSourceSession.open({ ...settings, location, ...(limits ? { limits } : {}) });
      },
    }),
  );
}
