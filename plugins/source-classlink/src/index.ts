import type { PluginContext } from '@rosterbridge/core';
import { ClassLinkSourceSession } from './classlink-source-session';
import { type ClassLinkSettings, oneRosterOptionsOf } from './classlink-settings';

export { ClassLinkSourceSession } from './classlink-source-session';
export { type ClassLinkAuthSettings, type ClassLinkSettings, oneRosterOptionsOf } from './classlink-settings';

/** Registers the `classlink` source: a OneRoster 1.1 REST session per tenant, over its resolved settings. */
export function activate(context: PluginContext): void {
  context.subscriptions.add(
    context.registerSource('classlink', {
      async open(tenant) {
        const settings = await tenant.settings<ClassLinkSettings>();
        // The host's censor: the client's run-time secrets (an OAuth 2 token) are censored host-wide.
        const options = { ...oneRosterOptionsOf(settings, tenant.logger), censor: tenant.censor };
        tenant.logger.debug(
          { baseUrl: options.baseUrl, auth: settings.auth.mode, pageSize: options.pageSize, concurrency: options.maxConcurrentRequests },
          'opening ClassLink OneRoster session',
        );
        return ClassLinkSourceSession.open(options);
      },
    }),
  );
}
