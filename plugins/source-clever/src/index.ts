import type { PluginContext } from '@rosterbridge/core';
import { CleverSourceSession } from './clever-source-session';
import { type CleverSettings, cleverClientOptions } from './clever-settings';

export { CleverSourceSession } from './clever-source-session';
export { type CleverSettings, apiRoot, cleverClientOptions } from './clever-settings';

/** Registers the `clever` source: a Clever API v3.0 session per tenant, over its resolved settings. */
export function activate(context: PluginContext): void {
  context.subscriptions.add(
    context.registerSource('clever', {
      async open(tenant) {
        const settings = await tenant.settings<CleverSettings>();
        const options = cleverClientOptions(settings, tenant.logger);
        tenant.logger.debug({ baseUrl: options.baseUrl, pageSize: options.pageSize }, 'opening Clever session');
        return new CleverSourceSession(options, (settings.eventOverlapSeconds ?? 300) * 1000, tenant.logger);
      },
    }),
  );
}
