import type { Logger } from '@rosterbridge/core';
import type { CleverClientOptions } from '@rosterbridge/clever';

/** A tenant's `clever` source settings, as the manifest's configuration schema declares them (the token resolved). */
export interface CleverSettings {
  token: string;
  baseUrl?: string;
  pageSize?: number;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  maxAttempts?: number;
  eventOverlapSeconds?: number;
}

const API_VERSION = 'v3.0';

/** The Clever client's options for a tenant: v3.0 below `baseUrl` (https://api.clever.com unless set). */
export function cleverClientOptions(settings: CleverSettings, logger: Logger): CleverClientOptions {
  return {
    token: settings.token,
    baseUrl: apiRoot(settings.baseUrl ?? 'https://api.clever.com'),
    pageSize: settings.pageSize ?? 1000,
    ...(settings.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: settings.connectTimeoutMs }),
    ...(settings.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: settings.responseTimeoutMs }),
    ...(settings.maxAttempts === undefined ? {} : { maxAttempts: settings.maxAttempts }),
    logger,
  };
}

/** `https://api.clever.com` → `https://api.clever.com/v3.0`; a URL already ending in `/v3.0` stays. */
export function apiRoot(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return trimmed.endsWith(`/${API_VERSION}`) ? trimmed : `${trimmed}/${API_VERSION}`;
}
