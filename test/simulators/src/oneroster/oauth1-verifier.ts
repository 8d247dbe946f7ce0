import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeOneRosterQuery } from './oneroster-query';
import { SimulatorRequestError } from './simulator-request-error';

/** A consumer the simulator accepts. */
export interface SimulatorOAuth1Consumer {
  consumerKey: string;
  consumerSecret: string;
}

/** What a request looked like on the wire. */
export interface SignedRequest {
  method: string;
  /** `http` or `https`. */
  scheme: string;
  /** The Host header. */
  host: string;
  /** The request target exactly as sent: path and query, still percent-encoded. */
  rawUrl: string;
  authorization: string | undefined;
}

/**
 * Verifies two-legged OAuth 1.0a signatures (HMAC-SHA256 and HMAC-SHA1) the way a server does,
 * from the request as it arrived — written apart from the client's signer, so that a test of one
 * against the other catches an encoding mistake on either side. Rejects an unknown key, a bad
 * signature, a timestamp outside the clock tolerance, and a nonce seen before.
 */
export class OAuth1Verifier {
  private readonly consumers: Map<string, string>;
  private readonly seenNonces = new Map<string, number>();

  constructor(
    consumers: readonly SimulatorOAuth1Consumer[],
    private readonly clockToleranceSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.consumers = new Map(consumers.map((c) => [c.consumerKey, c.consumerSecret]));
  }

  /** True when the request carries an OAuth 1.0a Authorization header. */
  static applies(authorization: string | undefined): boolean {
    return authorization !== undefined && /^OAuth\s/i.test(authorization);
  }

  /** The consumer key of a valid request; throws a 401 {@link SimulatorRequestError} otherwise. */
  verify(request: SignedRequest): string {
    const params = parseAuthorization(request.authorization ?? '');
    const key = params.get('oauth_consumer_key');
    const method = params.get('oauth_signature_method');
    const timestamp = params.get('oauth_timestamp');
    const nonce = params.get('oauth_nonce');
    const signature = params.get('oauth_signature');
    if (!key || !method || !timestamp || !nonce || !signature) throw unauthorized('the OAuth 1.0a Authorization header lacks a required parameter');
    const version = params.get('oauth_version');
    if (version !== undefined && version !== '1.0') throw unauthorized(`oauth_version "${version}" is not 1.0`);
    const secret = this.consumers.get(key);
    if (secret === undefined) throw unauthorized('unknown consumer key');
    if (method !== 'HMAC-SHA256' && method !== 'HMAC-SHA1') throw unauthorized(`signature method "${method}" is not supported`);
    const nowSeconds = Math.floor(this.now() / 1000);
    if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > this.clockToleranceSeconds) {
      throw unauthorized('oauth_timestamp is outside the allowed clock skew');
    }
    const expected = createHmac(method === 'HMAC-SHA1' ? 'sha1' : 'sha256', `${rfc3986(secret)}&`)
      .update(baseString(request, params))
      .digest();
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized('invalid signature');
    const nonceKey = `${key}\n${timestamp}\n${nonce}`;
    if (this.seenNonces.has(nonceKey)) throw unauthorized('oauth_nonce was used before');
    this.seenNonces.set(nonceKey, Number(timestamp));
    this.forgetOldNonces(nowSeconds);
    return key;
  }

  private forgetOldNonces(nowSeconds: number): void {
    if (this.seenNonces.size < 10_000) return;
    for (const [nonceKey, timestamp] of this.seenNonces) {
      if (Math.abs(nowSeconds - timestamp) > this.clockToleranceSeconds) this.seenNonces.delete(nonceKey);
    }
  }
}

/** RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - . _ ~`. */
function rfc3986(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'))
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

function baseString(request: SignedRequest, oauth: Map<string, string>): string {
  const q = request.rawUrl.indexOf('?');
  const path = q < 0 ? request.rawUrl : request.rawUrl.slice(0, q);
  const query = q < 0 ? '' : request.rawUrl.slice(q + 1);
  const [hostname, port] = splitHost(request.host.toLowerCase());
  const defaultPort = request.scheme === 'https' ? '443' : '80';
  const authority = port === undefined || port === defaultPort ? hostname : `${hostname}:${port}`;
  const pairs = decodeOneRosterQuery(query).map(([n, v]) => [rfc3986(n), rfc3986(v)] as const);
  for (const [name, value] of oauth) {
    if (name === 'oauth_signature' || name === 'realm') continue;
    pairs.push([rfc3986(name), rfc3986(value)]);
  }
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  const normalized = pairs.map(([n, v]) => `${n}=${v}`).join('&');
  return `${request.method.toUpperCase()}&${rfc3986(`${request.scheme}://${authority}${path}`)}&${rfc3986(normalized)}`;
}

function splitHost(host: string): [string, string | undefined] {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return match ? [match[1]!, match[2]] : [host, undefined];
}

function parseAuthorization(header: string): Map<string, string> {
  const params = new Map<string, string>();
  const body = header.replace(/^OAuth\s+/i, '');
  for (const match of body.matchAll(/([A-Za-z0-9_\-.~%]+)\s*=\s*"([^"]*)"/g)) {
    try {
      params.set(decodeURIComponent(match[1]!), decodeURIComponent(match[2]!));
    } catch {
      throw unauthorized('the OAuth 1.0a Authorization header is not percent-encoded correctly');
    }
  }
  return params;
}

function unauthorized(message: string): SimulatorRequestError {
  return new SimulatorRequestError(401, message, 'unauthorisedrequest', { 'www-authenticate': 'OAuth realm="oneroster"' });
}
