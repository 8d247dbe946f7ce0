import { isUtf8 } from 'node:buffer';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyBodyParser, FastifyRequest, FastifySchema } from 'fastify';
import { RosterbridgeError } from '@rosterbridge/core';
import { quote } from './api-errors';

/** Longest URL (path and query) the control API reads; its routes need a few hundred characters. */
export const MAX_URL_LENGTH = 2048;

/**
 * Refuses a URL before routing reads it: too long (URL_TOO_LONG), not valid percent-encoded UTF-8,
 * or holding a control character such as NUL (BAD_REQUEST). No id or parameter holds one, and a
 * NUL would otherwise reach the database, which cannot store it.
 */
export function checkUrl(url: string): void {
  if (url.length > MAX_URL_LENGTH)
    throw new RosterbridgeError('URL_TOO_LONG', `the URL is ${url.length} characters long; the control API reads at most ${MAX_URL_LENGTH}`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.replace(/\+/g, ' '));
  } catch {
    throw new RosterbridgeError('BAD_REQUEST', 'the URL is not valid percent-encoded UTF-8 (a % not followed by two hex digits, or bytes that are not UTF-8)');
  }
  if (/[\u0000-\u001f\u007f]/.test(decoded)) throw new RosterbridgeError('BAD_REQUEST', 'the URL holds a control character (such as %00)');
}

/** A string that is not well-formed UTF-16 (a lone surrogate, from a `\ud800` escape) cannot be sent on as UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Parses a JSON body: refuses bytes that are not UTF-8 (which a plain decode would turn into U+FFFD
 * silently), then any string, key or value, holding NUL or a lone surrogate, naming its field.
 * Parsing itself is fastify's (secure-json-parse: `__proto__` and `constructor` keys refused).
 */
export function jsonBodyParser(
  parse: FastifyBodyParser<string>,
): (request: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void) => void {
  return (request, body, done) => {
    if (!isUtf8(body)) return done(new RosterbridgeError('BAD_REQUEST', 'the body is not valid UTF-8'));
    const parsed = (err: Error | null, value?: unknown) => {
      if (err) return done(err);
      const bad = badString(value, []);
      if (bad)
        return done(new RosterbridgeError('BAD_REQUEST', `body field ${quote(bad.field || '(the body)')} ${bad.problem}`, { field: bad.field, in: 'body' }));
      done(null, value);
    };
    // fastify types its parsers as either kind: one that calls `done`, or one that answers by a promise.
    const answer = parse(request, body.toString('utf8'), parsed);
    if (answer instanceof Promise)
      answer.then(
        (value) => parsed(null, value),
        (err: unknown) => parsed(err instanceof Error ? err : new Error(String(err))),
      );
  };
}

function badString(value: unknown, path: string[]): { field: string; problem: string } | undefined {
  const field = () => path.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { field: field(), problem: 'holds a NUL character (\\u0000)' };
    if (LONE_SURROGATE.test(value)) return { field: field(), problem: 'is not valid Unicode (a lone surrogate escape)' };
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = badString(value[i], [...path, String(i)]);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const key = badString(k, path);
      if (key) return { field: [field(), k].filter(Boolean).join('.'), problem: `is a key that ${key.problem}` };
      const bad = badString(v, [...path, k]);
      if (bad) return bad;
    }
  }
  return undefined;
}

/**
 * The schema compiler of every route: no type coercion and no silent removal, so a wrong type or an
 * unknown field is refused naming it. Query strings are text, so their integers and booleans are
 * read first, strictly: digits only (no `1e3`, ` 5`, `0x10`, `5.0`), within the safe integers —
 * ajv's own coercion takes `1e30` and a repeated key as a number.
 */
export function createValidatorCompiler(): (route: { schema: FastifySchema; httpPart?: string }) => ValidateFunction | ((data: unknown) => boolean) {
  const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  addFormats(ajv);
  // A path param that is not of its format names nothing: the route answers 404, not 400.
  const paramsAjv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: false, strict: false, validateFormats: false });
  return ({ schema, httpPart }) => {
    if (httpPart === 'params') return paramsAjv.compile(schema as object);
    const validate = ajv.compile(schema as object);
    if (httpPart !== 'querystring') return validate;
    const properties = ((schema as { properties?: Record<string, { type?: string }> }).properties ?? {}) as Record<string, { type?: string }>;
    const validateQuery = (data: unknown): boolean => {
      if (data && typeof data === 'object') readQueryValues(data as Record<string, unknown>, properties);
      const ok = validate(data) as boolean;
      validateQuery.errors = validate.errors;
      return ok;
    };
    validateQuery.errors = null as ValidateFunction['errors'];
    return validateQuery;
  };
}

function readQueryValues(query: Record<string, unknown>, properties: Record<string, { type?: string }>): void {
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string') continue; // a repeated key is a list: refused as the wrong type
    const type = properties[key]?.type;
    if (type === 'integer' && /^(0|[1-9][0-9]{0,15})$/.test(value) && Number.isSafeInteger(Number(value))) query[key] = Number(value);
    else if (type === 'boolean' && (value === 'true' || value === 'false')) query[key] = value === 'true';
  }
}
