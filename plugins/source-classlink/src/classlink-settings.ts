import { type Logger, type RosterEntity, RosterbridgeError } from '@rosterbridge/core';
import type { OneRosterCredentials, OneRosterSourceOptions } from '@rosterbridge/oneroster-rest';

/** How a tenant authenticates to its roster server, as its settings give it (secrets resolved). */
export type ClassLinkAuthSettings =
  | { mode: 'oauth1'; consumerKey: string; consumerSecret: string; signatureMethod?: 'HMAC-SHA256' | 'HMAC-SHA1' }
  | { mode: 'bearer'; token: string }
  | { mode: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string };

/** A tenant's `classlink` source settings, as the manifest's configuration schema declares them. */
export interface ClassLinkSettings {
  baseUrl: string;
  auth: ClassLinkAuthSettings;
  pageSize?: number;
  concurrency?: number;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  entities?: RosterEntity[];
}

const USER_AGENT = 'rosterbridge-source-classlink/1.0';

/**
 * The OneRoster client settings for a tenant: the same `concurrency` caps the requests in flight
 * and the pages of one collection fetched at once, so a large collection overlaps its pages.
 */
export function oneRosterOptionsOf(settings: ClassLinkSettings, logger: Logger): OneRosterSourceOptions {
  const concurrency = settings.concurrency ?? 4;
  return {
    baseUrl: settings.baseUrl,
    credentials: credentialsOf(settings.auth),
    pageSize: settings.pageSize ?? 1000,
    maxConcurrentRequests: concurrency,
    pagesInFlight: concurrency,
    ...(settings.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: settings.connectTimeoutMs }),
    ...(settings.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: settings.responseTimeoutMs }),
    ...(settings.entities === undefined ? {} : { entities: settings.entities }),
    logger,
    userAgent: USER_AGENT,
  };
}

function credentialsOf(auth: ClassLinkAuthSettings): OneRosterCredentials {
  switch (auth.mode) {
    case 'oauth1':
      return { kind: 'oauth1', consumerKey: auth.consumerKey, consumerSecret: auth.consumerSecret, signatureMethod: auth.signatureMethod ?? 'HMAC-SHA256' };
    case 'bearer':
      return { kind: 'bearer', token: auth.token };
    case 'oauth2':
      return {
        kind: 'oauth2',
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        ...(auth.scope === undefined ? {} : { scope: auth.scope }),
      };
    default:
      // The host validated the settings against the manifest's schema; this is a guard, not a path.
      throw new RosterbridgeError('SETTINGS_INVALID', `auth.mode must be oauth1, bearer or oauth2`, { key: 'auth.mode' });
  }
}
