import type { RosterbridgeError } from '@rosterbridge/core';
import { classifyOneRosterBody, describeOneRosterErrorBody } from './oneroster-response-body';
import type { SecretRedactor } from './secret-redactor';
import { displayUrl, statusText, type OneRosterHttpResponse } from './oneroster-transport';

/** What a response was for, to say in messages. */
export interface OneRosterResponseContext {
  /** The collection or path read, e.g. `users` or `classes/cls-1/students`. */
  path: string;
  /** True for a single record (`/users/{id}`): a 404 means the record, not the service, is missing. */
  single?: boolean;
}

/** A response header's first value. */
export function headerValue(response: OneRosterHttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The coded error for a response that is not a 2xx: 401 bad credentials, 403 forbidden (naming the
 * collection), 404 not found, 3xx a base URL that redirects, other 4xx rejected, 5xx unavailable.
 * The server's own words (`imsx_StatusInfo`, vendor JSON, plain text, an HTML title) are quoted,
 * redacted.
 */
export function oneRosterResponseError(response: OneRosterHttpResponse, context: OneRosterResponseContext, redactor: SecretRedactor): RosterbridgeError {
  const { status } = response;
  const where = `${response.method} ${displayUrl(response.url)}`;
  const said = describeOneRosterErrorBody(response.text, headerValue(response, 'content-type'), redactor.censor);
  const answered = `answered ${status}${statusText(status)}${said ? ` (${said})` : ''}`;
  const details = { url: displayUrl(response.url), status, path: context.path };
  if (status === 401) {
    return redactor.error(
      'SOURCE_BAD_CREDENTIALS',
      `${where} ${answered}: the server refused the credentials; check the key and secret (or token), and that this machine's clock is right`,
      details,
    );
  }
  if (status === 403) {
    return redactor.error(
      'SOURCE_FORBIDDEN',
      `${where} ${answered}: these credentials may not read ${context.path}; ask the district to grant the application access to it`,
      details,
    );
  }
  if (status === 404) {
    const message = context.single
      ? `${where} ${answered}: no such record`
      : `${where} ${answered}: there is no OneRoster collection at this address; check that the base URL ends in /ims/oneroster/v1p1`;
    return redactor.error('SOURCE_NOT_FOUND', message, details);
  }
  if (status >= 300 && status < 400) {
    const location = headerValue(response, 'location');
    return redactor.error(
      'SOURCE_NOT_FOUND',
      `${where} ${answered}: the base URL redirects${location ? ` to ${location}` : ''}; use the final address as the base URL`,
      details,
    );
  }
  if (status >= 500) return redactor.error('SOURCE_UNAVAILABLE', `${where} ${answered}`, details);
  return redactor.error('SOURCE_REQUEST_REJECTED', `${where} ${answered}`, details);
}

/**
 * The records of a 2xx collection response: the array under `envelope`. Anything else is an error,
 * never an empty roster: a body cut short is `SOURCE_TRUNCATED`; an HTML page, text that is not
 * JSON, or JSON without the envelope key (or with something other than a list under it) is
 * `SOURCE_BAD_RESPONSE`.
 */
export function readOneRosterList(response: OneRosterHttpResponse, envelope: string, redactor: SecretRedactor): unknown[] {
  const value = readEnvelopeValue(response, envelope, redactor);
  if (!Array.isArray(value)) {
    throw redactor.error(
      'SOURCE_BAD_RESPONSE',
      `${describeWhere(response)} carries "${envelope}" but not as a list (${typeName(value)}); refusing to read it as a roster`,
      {
        url: displayUrl(response.url),
        envelope,
      },
    );
  }
  return value;
}

/** The record of a 2xx single-item response: the object under `envelope` (e.g. `user`). */
export function readOneRosterItem(response: OneRosterHttpResponse, envelope: string, redactor: SecretRedactor): Record<string, unknown> {
  const value = readEnvelopeValue(response, envelope, redactor);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw redactor.error('SOURCE_BAD_RESPONSE', `${describeWhere(response)} carries "${envelope}" but not as an object (${typeName(value)})`, {
      url: displayUrl(response.url),
      envelope,
    });
  }
  return value as Record<string, unknown>;
}

function readEnvelopeValue(response: OneRosterHttpResponse, envelope: string, redactor: SecretRedactor): unknown {
  const where = describeWhere(response);
  const details = { url: displayUrl(response.url), envelope, status: response.status };
  const body = classifyOneRosterBody(response.text, headerValue(response, 'content-type'), redactor.censor);
  switch (body.kind) {
    case 'truncated':
      throw redactor.error('SOURCE_TRUNCATED', `${where} sent JSON cut short after ${body.length} characters; refusing to read a partial page`, {
        ...details,
        length: body.length,
      });
    case 'html':
      throw redactor.error(
        'SOURCE_BAD_RESPONSE',
        `${where} sent an HTML page${body.title ? ` titled "${body.title}"` : ''} instead of OneRoster JSON; check the base URL (a proxy or login page may be answering)`,
        details,
      );
    case 'empty':
      throw redactor.error('SOURCE_BAD_RESPONSE', `${where} sent an empty body instead of OneRoster JSON`, details);
    case 'other':
      throw redactor.error('SOURCE_BAD_RESPONSE', `${where} sent something that is not JSON: ${body.excerpt}`, details);
    case 'json':
      break;
  }
  const json = body.value;
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !(envelope in json) || (json as Record<string, unknown>)[envelope] == null) {
    const keys = json !== null && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json).slice(0, 5) : [];
    throw redactor.error(
      'SOURCE_BAD_RESPONSE',
      `${where} sent JSON without its "${envelope}" key (${keys.length === 0 ? typeName(json) : `keys: ${keys.join(', ')}`}); refusing to read it as an empty roster`,
      details,
    );
  }
  return (json as Record<string, unknown>)[envelope];
}

function describeWhere(response: OneRosterHttpResponse): string {
  return `${response.method} ${displayUrl(response.url)} (${response.status})`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
