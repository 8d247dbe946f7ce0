import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { type ErrorCode, ErrorCodes, isRosterbridgeError } from '@rosterbridge/core';

/** How the control API answers a failure: a status and the envelope `{"error": {code, message, details}}`. */
export interface ApiError {
  status: number;
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
  /** A bug (the detail goes to the log, not to the caller). */
  internal: boolean;
}

/** Fastify's own errors, by their `code`, and ours for each. */
const FRAMEWORK_ERRORS: Record<string, { code: ErrorCode; message: (limit?: number) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: (limit) => `the body is larger than the ${limit ?? 'few'} bytes this route takes` },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: () => 'send the body as application/json (or send none)' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URL_TOO_LONG', message: () => 'a path segment is longer than 100 characters' },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', message: () => 'the path is not valid percent-encoded UTF-8' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'BAD_REQUEST',
    message: () => 'the body is empty but Content-Type says JSON: send a JSON object, or no body and no Content-Type',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', message: () => 'the body is not valid JSON (or has a `__proto__` or `constructor` key)' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', message: () => 'the body is not as long as its Content-Length says' },
};

/** Any other 4xx of the framework or a plugin of it (@fastify/static's 403 on `..`), by status. */
const BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'AUTH_REQUIRED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URL_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

/**
 * Maps any error that reaches the control API to its answer: ours keep their code; the framework's
 * get theirs from the catalogue; a failed schema names the field; anything else is a bug (500).
 */
export function apiErrorOf(err: unknown, bodyLimit?: number): ApiError {
  if (isRosterbridgeError(err)) return { status: err.status, code: err.code, message: err.message, details: err.details, internal: err.code === 'INTERNAL' };
  const e = err as { code?: string; statusCode?: number; validation?: AjvError[]; validationContext?: string; message?: string };
  if (Array.isArray(e.validation)) return answer('BAD_REQUEST', ...validationMessage(e.validationContext ?? 'body', e.validation));
  const framework = e.code ? FRAMEWORK_ERRORS[e.code] : undefined;
  if (framework) return answer(framework.code, framework.message(bodyLimit));
  // secure-json-parse's SyntaxError and other body errors carry a 4xx status of their own.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = BY_STATUS[e.statusCode] ?? 'BAD_REQUEST';
    return answer(code, code === 'BAD_REQUEST' && e.statusCode === 400 ? 'the request is malformed' : ErrorCodes[code].title);
  }
  return { ...answer('INTERNAL', 'internal error; see the host log'), internal: true };
}

function answer(code: ErrorCode, message: string, details: Record<string, unknown> = {}): ApiError {
  return { status: ErrorCodes[code].status, code, message, details, internal: false };
}

/** The parts of an ajv error the messages use. */
interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** The first schema failure as a sentence naming the field, and the field. */
function validationMessage(context: string, errors: AjvError[]): [string, Record<string, unknown>] {
  const e = errors[0]!;
  const where = context === 'querystring' ? 'query parameter' : context === 'params' ? 'path parameter' : context === 'headers' ? 'header' : 'body field';
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const named = (extra?: unknown) => fieldName([...path, ...(extra === undefined ? [] : [String(extra)])]);
  if (e.keyword === 'additionalProperties') {
    const field = named(e.params.additionalProperty);
    return [`unknown ${where} ${quote(field)}`, { field, in: context }];
  }
  if (e.keyword === 'required') {
    const field = named(e.params.missingProperty);
    return [`missing ${where} ${quote(field)}`, { field, in: context }];
  }
  if (path.length === 0) return [`the ${context === 'querystring' ? 'query' : context} ${e.message ?? 'is invalid'}`, { in: context }];
  const field = named();
  const hint = context === 'querystring' && e.keyword === 'type' && e.params.type === 'integer' ? ` written in digits, at most ${Number.MAX_SAFE_INTEGER}` : '';
  return [`${where} ${quote(field)} ${e.message ?? 'is invalid'}${hint}`, { field, in: context }];
}

/** `targets[0]`, `a.b` from path parts; clipped, since the caller chose them. */
function fieldName(parts: string[]): string {
  const name = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return clip(name, 80);
}

/** Quotes text a caller sent, clipped so an answer cannot be made to echo a megabyte. */
export function quote(text: string, max = 80): string {
  return JSON.stringify(clip(text, max));
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The JSON body of an answer. */
export function envelope(error: Pick<ApiError, 'code' | 'message' | 'details'>): {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
} {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

/**
 * Node's `clientError`: a request the HTTP parser refused (headers too large, a bad request line, a
 * timeout) answered in the envelope like every other failure, then the connection closed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket, scrub: (text: string) => string): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ['HEADERS_TOO_LARGE', 'the request line and headers are larger than the server takes']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['REQUEST_TIMEOUT', 'the request was not received in time']
        : ['BAD_REQUEST', `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`];
  const status = ErrorCodes[code].status;
  const body = scrub(JSON.stringify(envelope({ code, message, details: {} })));
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  else socket.destroy();
}
