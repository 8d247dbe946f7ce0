import { SECRET_MIN_LENGTH } from '@rosterbridge/core';
import type { OneRosterOAuth2Credentials } from './oneroster-credentials';
import { ONEROSTER_ROSTER_READONLY_SCOPE } from './oneroster-credentials';
import { classifyOneRosterBody, describeOneRosterErrorBody } from './oneroster-response-body';
import type { SecretRedactor } from './secret-redactor';
import { displayUrl, statusText, type OneRosterHttpRequest, type OneRosterHttpResponse } from './oneroster-transport';

/** Sends a request without authorization (the token request carries its own). */
export type OAuth2TokenRequester = (request: OneRosterHttpRequest) => Promise<OneRosterHttpResponse>;

/** A token and when it stops being good. */
interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is renewed (some time before it expires). */
  renewAt: number;
}

/** Renew this long before expiry, or at a tenth of the token's life if that is shorter. */
const RENEW_MARGIN_MS = 60_000;
/** The life assumed when the server gives no `expires_in`. */
const DEFAULT_LIFETIME_S = 3600;

/**
 * Fetches OAuth 2.0 client-credentials tokens (HTTP Basic `client_id:client_secret` to the token
 * URL, `grant_type=client_credentials`), caches the token and renews it before it expires. Callers
 * asking at the same time share one token request.
 */
export class OAuth2TokenProvider {
  private cached: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;

  constructor(
    private readonly credentials: OneRosterOAuth2Credentials,
    private readonly send: OAuth2TokenRequester,
    private readonly redactor: SecretRedactor,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token good for a while yet, fetching a new one when none is cached or it is about to expire. */
  async token(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.now() < this.cached.renewAt) return this.cached.accessToken;
    this.pending ??= this.fetchToken(signal).finally(() => {
      this.pending = undefined;
    });
    this.cached = await this.pending;
    return this.cached.accessToken;
  }

  /** Forgets the cached token (after the server refused it). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(signal: AbortSignal | undefined): Promise<CachedToken> {
    const { tokenUrl, clientId, clientSecret } = this.credentials;
    let url: URL;
    try {
      url = new URL(tokenUrl);
    } catch {
      throw this.redactor.error('SOURCE_NOT_FOUND', `the OAuth 2 token URL "${tokenUrl}" is not a URL`);
    }
    const scope = this.credentials.scope ?? ONEROSTER_ROSTER_READONLY_SCOPE;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== '') form.set('scope', scope);
    const requestedAt = this.now();
    const response = await this.send({
      method: 'POST',
      url,
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
      signal,
    });
    const where = `POST ${displayUrl(url)}`;
    if (response.status === 400 || response.status === 401) {
      const said = describeOneRosterErrorBody(response.text, header(response, 'content-type'), this.redactor.censor);
      throw this.redactor.error(
        'SOURCE_BAD_CREDENTIALS',
        `${where} refused the client credentials (${response.status}${statusText(response.status)}${said ? `: ${said}` : ''}); check the client id and secret`,
        { url: displayUrl(url), status: response.status },
      );
    }
    if (response.status === 404) {
      throw this.redactor.error('SOURCE_NOT_FOUND', `${where} answered 404: no OAuth 2 token endpoint there; check the token URL`, {
        url: displayUrl(url),
        status: 404,
      });
    }
    if (response.status < 200 || response.status > 299) {
      const said = describeOneRosterErrorBody(response.text, header(response, 'content-type'), this.redactor.censor);
      throw this.redactor.error('SOURCE_REQUEST_REJECTED', `${where} answered ${response.status}${statusText(response.status)}${said ? `: ${said}` : ''}`, {
        url: displayUrl(url),
        status: response.status,
      });
    }
    const body = classifyOneRosterBody(response.text, header(response, 'content-type'), this.redactor.censor);
    const json = body.kind === 'json' && body.value !== null && typeof body.value === 'object' ? (body.value as Record<string, unknown>) : undefined;
    const accessToken = json?.['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw this.redactor.error('SOURCE_BAD_RESPONSE', `${where} answered ${response.status} without an access_token`, { url: displayUrl(url) });
    }
    if (accessToken.length < SECRET_MIN_LENGTH) {
      // Too short to be censored in logs and messages without blanking ordinary words: refused.
      throw this.redactor.error(
        'SOURCE_BAD_RESPONSE',
        `${where} issued an access_token of ${accessToken.length} characters; tokens shorter than ${SECRET_MIN_LENGTH} cannot be kept out of logs`,
        { url: displayUrl(url) },
      );
    }
    const expiresIn = Number(json?.['expires_in']);
    const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S) * 1000;
    const margin = Math.min(RENEW_MARGIN_MS, lifetimeMs / 10);
    return { accessToken, renewAt: requestedAt + lifetimeMs - margin };
  }
}

function header(response: OneRosterHttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
