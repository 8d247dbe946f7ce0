import { signOAuth1Request } from './oauth1-signature';
import { OAuth2TokenProvider, type OAuth2TokenRequester } from './oauth2-token-provider';
import type { OneRosterCredentials } from './oneroster-credentials';
import type { OneRosterRequestAuthorizer } from './oneroster-transport';
import type { SecretRedactor } from './secret-redactor';

/** An authorizer of the requests of one client. */
export type OneRosterAuthorization = OneRosterRequestAuthorizer;

/**
 * The authorizer for `credentials`: an OAuth 1.0a signature per attempt, a fixed bearer token, or
 * an OAuth 2 client-credentials token fetched with `requestToken` and renewed before expiry (and
 * once more after a 401). Each secret that exists only at run time (an access token) is handed to
 * `onSecret` once, before it is used, to be censored.
 */
export function createOneRosterAuthorization(
  credentials: OneRosterCredentials,
  requestToken: OAuth2TokenRequester,
  redactor: SecretRedactor,
  now: () => number = Date.now,
  onSecret: (secret: string) => void = () => undefined,
): OneRosterAuthorization {
  switch (credentials.kind) {
    case 'oauth1':
      return {
        prepare: async () => undefined,
        header: (method, url) => signOAuth1Request(method, url, credentials, { timestamp: Math.floor(now() / 1000) }).authorization,
        renew: () => false,
      };
    case 'bearer':
      return {
        prepare: async () => undefined,
        header: () => `Bearer ${credentials.token}`,
        renew: () => false,
      };
    case 'oauth2': {
      const provider = new OAuth2TokenProvider(credentials, requestToken, redactor, now);
      // Every token ever issued stays a secret, even after it is renewed.
      const issued = new Set<string>();
      let token: string | undefined;
      return {
        prepare: async (signal) => {
          token = await provider.token(signal);
          if (!issued.has(token)) {
            issued.add(token);
            onSecret(token);
          }
        },
        header: () => (token === undefined ? undefined : `Bearer ${token}`),
        renew: () => {
          provider.invalidate();
          return true;
        },
      };
    }
  }
}
