import { createHmac, randomBytes } from 'node:crypto';
import { percentEncode } from './percent-encode';

/** The OAuth 1.0a signature methods OneRoster servers use: ClassLink signs HMAC-SHA256; older clients HMAC-SHA1. */
export type OAuth1SignatureMethod = 'HMAC-SHA256' | 'HMAC-SHA1';

/** A consumer key and secret for two-legged OAuth 1.0a (no token). */
export interface OAuth1Credentials {
  consumerKey: string;
  /** A secret: never logged, never part of an error. */
  consumerSecret: string;
  /** Default `HMAC-SHA256`. */
  signatureMethod?: OAuth1SignatureMethod;
}

/** Fixed inputs for a signature, for tests and for reproducing a published vector. */
export interface OAuth1SigningOptions {
  /** Default: 32 random hex characters. */
  nonce?: string;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
}

/** A signed request: the `Authorization` header value and what went into it. */
export interface OAuth1Signature {
  authorization: string;
  signature: string;
  baseString: string;
  /** The `oauth_*` protocol parameters, signature included. */
  oauthParameters: Record<string, string>;
}

/**
 * The RFC 5849 §3.4.1 signature base string: the method, the base string URI (scheme and host in
 * lower case, default port left out, no query) and the normalized parameters (the query's and the
 * `oauth_*` ones, each name and value percent-encoded, sorted by name then value, joined with `&`),
 * each percent-encoded and joined with `&`.
 *
 * The query is read as `application/x-www-form-urlencoded`, as §3.4.1.3.1 says (a `+` is a space).
 */
export function oauth1BaseString(method: string, url: URL, oauthParameters: Record<string, string>): string {
  const parameters: [string, string][] = [];
  for (const [name, value] of url.searchParams) parameters.push([percentEncode(name), percentEncode(value)]);
  for (const [name, value] of Object.entries(oauthParameters)) {
    if (name === 'oauth_signature' || name === 'realm') continue;
    parameters.push([percentEncode(name), percentEncode(value)]);
  }
  parameters.sort(([aName, aValue], [bName, bValue]) => compare(aName, bName) || compare(aValue, bValue));
  const normalized = parameters.map(([name, value]) => `${name}=${value}`).join('&');
  const baseUri = `${url.protocol.toLowerCase()}//${url.host.toLowerCase()}${url.pathname}`;
  return [method.toUpperCase(), percentEncode(baseUri), percentEncode(normalized)].join('&');
}

/**
 * The HMAC signature of a base string, base64. The key is `percentEncode(consumerSecret) + "&"`
 * followed by the (here always empty) token secret.
 */
export function oauth1HmacSignature(baseString: string, consumerSecret: string, method: OAuth1SignatureMethod): string {
  const algorithm = method === 'HMAC-SHA1' ? 'sha1' : 'sha256';
  return createHmac(algorithm, `${percentEncode(consumerSecret)}&`)
    .update(baseString)
    .digest('base64');
}

/**
 * Signs a request with two-legged OAuth 1.0a and returns its `Authorization` header. The query
 * parameters of `url` are part of the signature, so sign the URL exactly as it is sent.
 *
 * ```ts
 * const { authorization } = signOAuth1Request('GET', new URL('https://x.oneroster.com/ims/oneroster/v1p1/users?limit=100'), {
 *   consumerKey: 'key', consumerSecret: 'secret',
 * });
 * ```
 */
export function signOAuth1Request(method: string, url: URL, credentials: OAuth1Credentials, options: OAuth1SigningOptions = {}): OAuth1Signature {
  const signatureMethod = credentials.signatureMethod ?? 'HMAC-SHA256';
  const oauthParameters: Record<string, string> = {
    oauth_consumer_key: credentials.consumerKey,
    oauth_nonce: options.nonce ?? randomBytes(16).toString('hex'),
    oauth_signature_method: signatureMethod,
    oauth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    oauth_version: '1.0',
  };
  const baseString = oauth1BaseString(method, url, oauthParameters);
  const signature = oauth1HmacSignature(baseString, credentials.consumerSecret, signatureMethod);
  oauthParameters['oauth_signature'] = signature;
  const authorization = `OAuth ${Object.entries(oauthParameters)
    .map(([name, value]) => `${percentEncode(name)}="${percentEncode(value)}"`)
    .join(', ')}`;
  return { authorization, signature, baseString, oauthParameters };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
