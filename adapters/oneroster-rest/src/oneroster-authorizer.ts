import { signOAuth1Request } from './oauth1-signature';
import { OAuth2TokenProvider, type OAuth2TokenRequester } from './oauth2-token-provider';
import type { OneRosterCredentials } from './oneroster-credentials';
import type { OneRosterRequestAuthorizer } from './oneroster-transport';
import type { SecretRedactor } from './secret-redactor';

/** An authorizer, and the secrets it holds at the moment (for redaction). */
export interface OneRosterAuthorization extends OneRosterRequestAuthorizer {
  /** Secrets that exist only at run time, such as an OAuth 2 access token. */
  runtimeSecrets(): string[];
}

/**
 * The authorizer for `credentials`: an OAuth 1.0a signature per attempt, a fixed bearer token, or
 * an OAuth 2 client-credentials token fetched with `requestToken` and renewed before expiry (and
 * once more after a 401).
 */
export function createOneRosterAuthorization(
  credentials: OneRosterCredentials,
  requestToken: OAuth2TokenRequester,
  redactor: SecretRedactor,
  now: () => number = Date.now,
): OneRosterAuthorization {
  switch (credentials.kind) {
    case 'oauth1':
      return {
        prepare: async () => undefined,
        header: (method, url) =>
          signOAuth1Request(method, url, credentials, { timestamp: Math.floor(now() / 1000) }).authorization,
        renew: () => false,
        runtimeSecrets: () => [],
      };
    case 'bearer':
      return {
        prepare: async () => undefined,
        header: () => `Bearer ${credentials.token}`,
        renew: () => false,
        runtimeSecrets: () => [],
      };
    case 'oauth2': {
      const provider = new OAuth2TokenProvider(credentials, requestToken, redactor, now);
      // Every token ever issued stays a secret, even after it is renewed.
      const issued = new Set<string>();
      let token: string | undefined;
      return {
        prepare: async (signal) => {
          token = await provider.token(signal);
          issued.add(token);
        },
        header: () => (token === undefined ? undefined : `Bearer ${token}`),
        renew: () => {
          provider.invalidate();
          return true;
        },
        runtimeSecrets: () => [...issued],
      };
    }
  }
}
