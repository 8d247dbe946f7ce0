import { setTimeout as delay } from 'node:timers/promises';
import { RosterbridgeError, SecretCensor, errorMessage, nullLogger, type ErrorCode, type Logger } from '@rosterbridge/core';
import { Agent } from 'undici';

/** How a {@link CleverTransport} behaves. Every field has a default. */
export interface CleverTransportOptions {
  /** Attempts per request, the first included. Default 5. */
  maxAttempts?: number;
  /** The first retry waits between half of this and all of it, doubling each retry. Default 500 ms. */
  backoffBaseMs?: number;
  /** No backoff wait exceeds this. Default 30 s. */
  backoffMaxMs?: number;
  /** The longest `Retry-After` (or rate-limit reset) waited out; longer fails at once. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest wait for response headers, and longest silence within a body. Default 60 s. */
  responseTimeoutMs?: number;
  logger?: Logger;
  /** Jitter source; default `Math.random`. */
  random?: () => number;
  /** The clock (epoch ms), for `X-RateLimit-Reset`. */
  now?: () => number;
}

/** A parsed 200 response. */
export interface CleverJsonResponse {
  url: URL;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const CUT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/**
 * Sends GET requests to Clever with a bearer token, on undici: timeouts, retries with exponential
 * backoff and jitter on 5xx, 408, connection failures and cut bodies; 429 waited out by
 * `Retry-After` or `X-RateLimit-Reset`; and a pause before the next request when
 * `X-RateLimit-Remaining` reaches 0. Failures end as {@link RosterbridgeError}s with core's source
 * codes; the token never appears in a message.
 */
export class CleverTransport {
  private readonly agent: Agent;
  private readonly maxAttempts: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Epoch ms before which no request is sent (the rate-limit window is spent). */
  private holdUntil = 0;
  /** Takes the token, and any 8-character piece of it in any encoding, out of what a server sends back. */
  private readonly censor = new SecretCensor();

  constructor(
    private readonly token: string,
    private readonly options: CleverTransportOptions = {},
  ) {
    const responseTimeoutMs = options.responseTimeoutMs ?? 60_000;
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 10_000 },
      headersTimeout: responseTimeoutMs,
      bodyTimeout: responseTimeoutMs,
      keepAliveTimeout: 4_000,
    });
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.logger = options.logger ?? nullLogger;
    this.now = options.now ?? Date.now;
    this.censor.remember(token);
  }

  /** GETs `url` and returns its JSON object; throws a RosterbridgeError for anything else. */
  async getJson(url: URL, signal?: AbortSignal, maxAttempts = this.maxAttempts): Promise<CleverJsonResponse> {
    const where = `GET ${url.origin}${url.pathname}${url.search}`;
    for (let attempt = 1; ; attempt++) {
      throwIfCancelled(signal, where);
      const hold = this.holdUntil - this.now();
      if (hold > 0) {
        this.logger.debug({ url: url.href, delayMs: hold }, 'Clever rate-limit window spent; waiting for its reset');
        await sleep(hold, signal, where);
      }
      let status: number;
      let headers: Record<string, string | string[] | undefined>;
      let text: string;
      try {
        const response = await this.agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: { accept: 'application/json', authorization: `Bearer ${this.token}`, 'user-agent': 'rosterbridge-clever/1.0' },
          signal,
        });
        status = response.statusCode;
        headers = response.headers;
        try {
          text = await response.body.text();
          // A careless gateway may echo the request's headers: an error body is censored (no piece of the
          // token reaches a message); a page of records, which may be large, when it holds the token.
          if (status !== 200 || text.includes(this.token)) text = this.censor.scrub(text);
        } catch (error) {
          throw Object.assign(new Error(errorMessage(error)), { code: codeOf(error) ?? 'UND_ERR_SOCKET', cause: error, duringBody: true });
        }
      } catch (error) {
        throwIfCancelled(signal, where);
        const code = codeOf(error);
        const duringBody = (error as { duringBody?: boolean }).duringBody === true;
        const failure: ErrorCode =
          code !== undefined && TIMEOUT_CODES.has(code)
            ? 'SOURCE_TIMEOUT'
            : duringBody
              ? 'SOURCE_TRUNCATED'
              : code !== undefined && CUT_CODES.has(code)
                ? 'SOURCE_UNAVAILABLE'
                : 'SOURCE_UNREACHABLE';
        const reason = `${errorMessage(error)}${code ? ` (${code})` : ''}`;
        if (attempt >= maxAttempts) {
          throw new RosterbridgeError(
            failure,
            `${where}: ${reason}${attempt > 1 ? ` (gave up after ${attempt} attempts)` : ''}`,
            { url: url.href, attempts: attempt },
            { cause: error },
          );
        }
        const wait = this.backoff(attempt);
        this.logger.warn({ url: url.href, attempt, delayMs: wait, reason }, 'Clever request failed; retrying');
        await sleep(wait, signal, where);
        continue;
      }

      this.noteRateLimit(headers, status);
      if (status === 200) {
        const parsed = parseBody(text);
        if (parsed.ok) return { url, body: parsed.body, headers };
        if (attempt >= maxAttempts || parsed.code !== 'SOURCE_TRUNCATED') {
          throw new RosterbridgeError(parsed.code, `${where}: ${parsed.reason}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`, {
            url: url.href,
            attempts: attempt,
          });
        }
        const wait = this.backoff(attempt);
        this.logger.warn({ url: url.href, attempt, delayMs: wait, reason: parsed.reason }, 'Clever response was cut short; retrying');
        await sleep(wait, signal, where);
        continue;
      }
      if (!RETRYABLE_STATUSES.has(status)) throw statusError(status, where, url, text);

      const code: ErrorCode = status === 429 ? 'SOURCE_RATE_LIMITED' : status === 408 ? 'SOURCE_TIMEOUT' : 'SOURCE_UNAVAILABLE';
      if (attempt >= maxAttempts) {
        throw new RosterbridgeError(code, `${where} answered ${status} ${attempt} times; giving up (try again later)`, {
          url: url.href,
          status,
          attempts: attempt,
        });
      }
      const asked = status === 429 ? this.retryAfter(headers) : parseRetryAfter(headers['retry-after']);
      const limit = this.options.maxRetryAfterMs ?? 120_000;
      if (asked !== undefined && asked > limit) {
        throw new RosterbridgeError(
          code,
          `${where} answered ${status} and asks to wait ${Math.ceil(asked / 1000)} s, longer than the ${Math.ceil(limit / 1000)} s this client waits`,
          {
            url: url.href,
            status,
            retryAfterMs: asked,
          },
        );
      }
      const wait = asked ?? this.backoff(attempt);
      this.logger.warn({ url: url.href, status, attempt, delayMs: wait }, 'Clever asked to back off; retrying');
      await sleep(wait, signal, where);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private backoff(retry: number): number {
    const base = this.options.backoffBaseMs ?? 500;
    const max = this.options.backoffMaxMs ?? 30_000;
    const step = Math.min(max, base * 2 ** Math.max(0, retry - 1));
    return Math.round(step / 2 + (this.options.random ?? Math.random)() * (step / 2));
  }

  /** The wait a 429 asks for: `Retry-After`, else until `X-RateLimit-Reset`; undefined when neither says. */
  private retryAfter(headers: Record<string, string | string[] | undefined>): number | undefined {
    return parseRetryAfter(headers['retry-after'], this.now()) ?? this.untilReset(headers);
  }

  private untilReset(headers: Record<string, string | string[] | undefined>): number | undefined {
    const reset = Number(first(headers['x-ratelimit-reset']));
    if (!Number.isFinite(reset) || reset <= 0) return undefined;
    // Epoch seconds, as Clever sends it; a small number is read as seconds from now.
    const resetMs = reset > 1e9 ? reset * 1000 : this.now() + reset * 1000;
    return Math.max(0, resetMs - this.now());
  }

  /** After any answer: when the window is spent, hold the next request until it resets. */
  private noteRateLimit(headers: Record<string, string | string[] | undefined>, status: number): void {
    if (status === 429) return;
    const remaining = first(headers['x-ratelimit-remaining']);
    if (remaining === undefined || Number(remaining) > 0) return;
    const wait = this.untilReset(headers);
    if (wait === undefined) return;
    this.holdUntil = Math.max(this.holdUntil, this.now() + Math.min(wait, this.options.maxRetryAfterMs ?? 120_000));
  }
}

/**
 * Reads a `Retry-After` header: seconds (`120`, `0.5`) or an HTTP date. Milliseconds to wait, or
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const text = first(value)?.trim();
  if (!text) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function statusError(status: number, where: string, url: URL, text: string): RosterbridgeError {
  const said = serverMessage(text);
  const details = { url: url.href, status };
  const suffix = said ? `: ${said}` : '';
  switch (status) {
    case 401:
      return new RosterbridgeError('SOURCE_BAD_CREDENTIALS', `${where} answered 401: Clever refused the district token${suffix}`, details);
    case 403:
      return new RosterbridgeError('SOURCE_FORBIDDEN', `${where} answered 403: the token may not read this${suffix}`, details);
    case 404:
      return new RosterbridgeError('SOURCE_NOT_FOUND', `${where} answered 404: no Clever API or record here${suffix}`, details);
    default:
      return new RosterbridgeError('SOURCE_REQUEST_REJECTED', `${where} answered ${status}${suffix}`, details);
  }
}

function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const message = body.error ?? body.message;
    if (typeof message === 'string') return message.slice(0, 200);
  } catch {
    /* not JSON */
  }
  return '';
}

type ParsedBody = { ok: true; body: Record<string, unknown> } | { ok: false; code: ErrorCode; reason: string };

function parseBody(text: string): ParsedBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return { ok: false, code: 'SOURCE_TRUNCATED', reason: 'the JSON body ends before it is complete' };
    return { ok: false, code: 'SOURCE_BAD_RESPONSE', reason: `the answer is not JSON (${JSON.stringify(trimmed.slice(0, 60))})` };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, code: 'SOURCE_BAD_RESPONSE', reason: 'the answer is not a JSON object' };
  return { ok: true, body: body as Record<string, unknown> };
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function throwIfCancelled(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new RosterbridgeError('CANCELLED', `${where}: cancelled`);
}

async function sleep(ms: number, signal: AbortSignal | undefined, where: string): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new RosterbridgeError('CANCELLED', `${where}: cancelled while waiting to retry`);
  }
}
