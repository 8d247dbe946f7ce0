import { isAscii } from 'node:buffer';
import { setTimeout as delay } from 'node:timers/promises';
import { RosterbridgeError, type ErrorCode, type Logger } from '@rosterbridge/core';
import { Agent } from 'undici';
import { backoffDelay, parseRetryAfter, type BackoffOptions } from './backoff-schedule';
import type { ConcurrencyLimiter } from './concurrency-limiter';
import type { SecretRedactor } from './secret-redactor';

/** Response headers, names in lower case. */
export type OneRosterHeaders = Record<string, string | string[] | undefined>;

/** A response read whole: status, headers and body text. */
export interface OneRosterHttpResponse {
  method: string;
  url: URL;
  status: number;
  headers: OneRosterHeaders;
  text: string;
  /** The attempt that produced this response (1 for the first). */
  attempt: number;
}

/** Something that signs or authorizes each attempt of a request. */
export interface OneRosterRequestAuthorizer {
  /** Gets whatever must be fetched first (an OAuth 2 token); called before waiting for a connection slot. */
  prepare(signal: AbortSignal | undefined): Promise<void>;
  /** The `Authorization` header of one attempt (a fresh OAuth 1.0a nonce and timestamp each time). */
  header(method: string, url: URL): string | undefined;
  /** After a 401: drops a cached token and answers whether a retry with a new one makes sense. */
  renew(): boolean;
}

/** One request to send. */
export interface OneRosterHttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  authorizer?: OneRosterRequestAuthorizer;
  /** Overrides the transport's attempt count (a connection check tries fewer times). */
  maxAttempts?: number;
}

/** How the transport talks to a server. */
export interface OneRosterTransportOptions {
  connectTimeoutMs: number;
  /** Longest wait for the response headers, and longest silence while reading the body. */
  responseTimeoutMs: number;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  backoff: BackoffOptions;
  /** A `Retry-After` longer than this is not waited out: the request fails at once. */
  maxRetryAfterMs: number;
  limiter: ConcurrencyLimiter;
  redactor: SecretRedactor;
  logger: Logger;
  userAgent: string;
}

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Why an attempt got no usable response. */
interface AttemptFailure {
  kind: 'timeout' | 'transient' | 'permanent';
  /** True when the headers had arrived and the body was cut off. */
  duringBody: boolean;
  error: unknown;
}

/**
 * Sends OneRoster HTTP requests with the fault handling real servers need: connect and response
 * timeouts, a bounded number of attempts, exponential backoff with jitter on 429, 5xx, resets and
 * timeouts (honouring `Retry-After`), a per-tenant cap on concurrent requests, and errors with
 * stable codes and no secrets. A response that is not retried (2xx, 4xx) is returned as is for the
 * caller to judge.
 */
export class OneRosterTransport {
  private readonly agent: Agent;

  constructor(private readonly options: OneRosterTransportOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.responseTimeoutMs,
      bodyTimeout: options.responseTimeoutMs,
      connections: options.limiter.limit,
      keepAliveTimeout: 4_000,
    });
  }

  /** Sends `request`, retrying what is worth retrying; throws a coded {@link RosterbridgeError} when it gives up. */
  async send(request: OneRosterHttpRequest): Promise<OneRosterHttpResponse> {
    const { redactor, logger } = this.options;
    const maxAttempts = Math.max(1, request.maxAttempts ?? this.options.maxAttempts);
    const where = `${request.method} ${displayUrl(request.url)}`;
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      throwIfCancelled(request.signal, where);
      await request.authorizer?.prepare(request.signal);
      let response: OneRosterHttpResponse;
      try {
        response = await this.options.limiter.run(() => this.attempt(request, attempt), request.signal);
      } catch (error) {
        if (error instanceof RosterbridgeError) throw error;
        throwIfCancelled(request.signal, where);
        const failure = classifyFailure(error);
        const reason = describeFailure(failure, this.options);
        if (failure.kind === 'permanent' || attempt >= maxAttempts) {
          throw redactor.error(
            failureCode(failure),
            `${where}: ${reason}${attempt > 1 ? ` (gave up after ${attempt} attempts)` : ''}`,
            { url: displayUrl(request.url), attempts: attempt },
            error,
          );
        }
        const wait = backoffDelay(attempt, this.options.backoff);
        logger.warn({ url: displayUrl(request.url), attempt, delayMs: wait, reason: redactor.redact(reason) }, 'OneRoster request failed; retrying');
        await sleep(wait, request.signal, where);
        continue;
      }

      if (response.status === 401 && !renewed && request.authorizer?.renew()) {
        renewed = true;
        attempt--;
        continue;
      }
      if (!RETRYABLE_STATUSES.has(response.status)) return response;

      const code: ErrorCode = response.status === 429 ? 'SOURCE_RATE_LIMITED' : response.status === 408 ? 'SOURCE_TIMEOUT' : 'SOURCE_UNAVAILABLE';
      const retryAfter = parseRetryAfter(response.headers['retry-after']);
      if (attempt >= maxAttempts) {
        throw redactor.error(
          code,
          `${where} answered ${response.status}${statusText(response.status)} ${attempt} times; giving up (try again later or lower the page size)`,
          {
            url: displayUrl(request.url),
            status: response.status,
            attempts: attempt,
          },
        );
      }
      if (retryAfter !== undefined && retryAfter > this.options.maxRetryAfterMs) {
        throw redactor.error(
          code,
          `${where} answered ${response.status}${statusText(response.status)} and asks to retry after ${Math.ceil(retryAfter / 1000)} s, longer than the ${Math.ceil(this.options.maxRetryAfterMs / 1000)} s this client waits`,
          {
            url: displayUrl(request.url),
            status: response.status,
            retryAfterMs: retryAfter,
          },
        );
      }
      const wait = retryAfter ?? backoffDelay(attempt, this.options.backoff);
      logger.warn(
        { url: displayUrl(request.url), status: response.status, attempt, delayMs: wait, retryAfter: retryAfter !== undefined },
        'OneRoster server asked to back off; retrying',
      );
      await sleep(wait, request.signal, where);
    }
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private async attempt(request: OneRosterHttpRequest, attempt: number): Promise<OneRosterHttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.options.userAgent, ...request.headers };
    const authorization = request.authorizer?.header(request.method, request.url);
    if (authorization !== undefined) headers['authorization'] = authorization;
    const {
      statusCode,
      headers: responseHeaders,
      body,
    } = await this.agent.request({
      origin: request.url.origin,
      path: `${request.url.pathname}${request.url.search}`,
      method: request.method,
      headers,
      body: request.body,
      signal: request.signal,
    });
    let bytes: Uint8Array | undefined;
    try {
      bytes = await body.bytes();
    } catch (error) {
      throw Object.assign(new Error(errorText(error)), { code: errorCode(error), duringBody: true });
    }
    // Decoded when first read: a page fetched ahead waits as its bytes, half the size of the text
    // when the text needs two bytes a character.
    let text = '';
    return {
      method: request.method,
      url: request.url,
      status: statusCode,
      headers: responseHeaders,
      get text(): string {
        if (bytes !== undefined) {
          text = decodeBody(bytes);
          bytes = undefined;
        }
        return text;
      },
      attempt,
    };
  }
}

/**
 * A body's bytes as text, as undici's `text()` reads them (UTF-8, a leading byte order mark
 * dropped), only cheaper for what nearly every page is, pure ASCII: that is copied byte for byte
 * into a one-byte string instead of going through the UTF-8 decoder, which for a page of several
 * megabytes is a cost per record.
 */
function decodeBody(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isAscii(buffer)) return buffer.toString('latin1');
  const bom = buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf;
  return buffer.toString('utf8', bom ? 3 : 0);
}

/** The URL as it may appear in messages and logs: without any user:password part. */
export function displayUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** ` Too Many Requests` for 429, and so on: the reason phrase, with a leading space. */
export function statusText(status: number): string {
  const phrases: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    408: 'Request Timeout',
    410: 'Gone',
    413: 'Payload Too Large',
    422: 'Unprocessable Entity',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    501: 'Not Implemented',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return phrases[status] === undefined ? '' : ` ${phrases[status]}`;
}

function classifyFailure(error: unknown): AttemptFailure {
  const duringBody = (error as { duringBody?: unknown } | null)?.duringBody === true;
  const codes = errorCodes(error);
  if (codes.some((code) => TIMEOUT_CODES.has(code))) return { kind: 'timeout', duringBody, error };
  if (duringBody || codes.some((code) => TRANSIENT_CODES.has(code))) return { kind: 'transient', duringBody, error };
  return { kind: 'permanent', duringBody, error };
}

function failureCode(failure: AttemptFailure): ErrorCode {
  if (failure.kind === 'timeout') return 'SOURCE_TIMEOUT';
  if (failure.duringBody) return 'SOURCE_TRUNCATED';
  return 'SOURCE_UNREACHABLE';
}

function describeFailure(failure: AttemptFailure, options: OneRosterTransportOptions): string {
  const codes = errorCodes(failure.error);
  if (codes.includes('UND_ERR_CONNECT_TIMEOUT')) return `no connection within ${options.connectTimeoutMs} ms`;
  if (codes.includes('UND_ERR_HEADERS_TIMEOUT')) return `no response within ${options.responseTimeoutMs} ms`;
  if (codes.includes('UND_ERR_BODY_TIMEOUT')) return `the response body stalled for ${options.responseTimeoutMs} ms`;
  if (failure.duringBody) return `the connection broke while the response body was being read (${errorText(failure.error)})`;
  if (codes.includes('ENOTFOUND')) return `the host name does not resolve (${errorText(failure.error)}); check the base URL`;
  if (codes.includes('ECONNREFUSED')) return `the connection was refused (${errorText(failure.error)}); check the base URL and port`;
  if (codes.includes('ECONNRESET') || codes.includes('UND_ERR_SOCKET')) return `the connection was reset (${errorText(failure.error)})`;
  if (codes.some((code) => code.startsWith('CERT_') || code.startsWith('ERR_TLS') || code.includes('SELF_SIGNED') || code.startsWith('UNABLE_TO_'))) {
    return `the TLS handshake failed (${errorText(failure.error)})`;
  }
  return `the request failed (${errorText(failure.error)})`;
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    if (current instanceof AggregateError) for (const inner of current.errors) codes.push(...errorCodes(inner));
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

function errorCode(error: unknown): string | undefined {
  return errorCodes(error)[0];
}

function errorText(error: unknown): string {
  const codes = errorCodes(error);
  const message = error instanceof Error ? error.message : String(error);
  const code = codes[0];
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message || code || 'unknown error';
}

function throwIfCancelled(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new RosterbridgeError('CANCELLED', `${where}: cancelled`);
}

async function sleep(ms: number, signal: AbortSignal | undefined, where: string): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new RosterbridgeError('CANCELLED', `${where}: cancelled`);
  }
}
