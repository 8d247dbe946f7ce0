import { type Censor, nullCensor } from '@rosterbridge/core';

/** What a response body turned out to be. */
export type OneRosterBodyKind =
  /** JSON that parsed. */
  | { kind: 'json'; value: unknown }
  /** JSON cut short: an open object, array or string at the end of the text. */
  | { kind: 'truncated'; length: number }
  /** An HTML page (a proxy's or load balancer's error page, a login page). */
  | { kind: 'html'; title: string | undefined }
  /** Nothing at all. */
  | { kind: 'empty' }
  /** Anything else: plain text, or JSON with a syntax error before its end. */
  | { kind: 'other'; excerpt: string };

const EXCERPT_LENGTH = 200;

/**
 * Classifies a response body without trusting its `Content-Type` (servers send JSON as text/plain
 * and error pages as application/json): parsed JSON, JSON cut short, an HTML page, empty, or other.
 * The excerpts and titles it quotes pass through `censor` before they are cut short, so that a
 * secret echoed after some padding cannot be cut to a piece the censor no longer recognizes.
 */
export function classifyOneRosterBody(text: string, contentType: string | undefined, censor: Censor = nullCensor): OneRosterBodyKind {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'empty' };
  const looksHtml = /^<(?:!doctype\s+html|html|head|body|title|h1|p|div|center)\b/i.test(trimmed);
  if (looksHtml || (/\bhtml\b/i.test(contentType ?? '') && trimmed.startsWith('<'))) {
    return { kind: 'html', title: htmlTitle(trimmed, censor) };
  }
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { kind: 'json', value: JSON.parse(trimmed) };
    } catch {
      if (endsInsideJson(trimmed)) return { kind: 'truncated', length: text.length };
      return { kind: 'other', excerpt: excerpt(trimmed, censor) };
    }
  }
  try {
    // Bare JSON scalars ("null", a string) are JSON too, if useless.
    return { kind: 'json', value: JSON.parse(trimmed) };
  } catch {
    return { kind: 'other', excerpt: excerpt(trimmed, censor) };
  }
}

/**
 * A short description of an error response, read leniently: an `imsx_StatusInfo` (bare, wrapped,
 * or in a `statusInfoSet`), a vendor's JSON (`message`, `error`, `error_description`, `detail`),
 * an HTML page's title, or the start of a plain-text body. Undefined when the body says nothing.
 * What it quotes is censored first, then cut short.
 *
 * ```ts
 * describeOneRosterErrorBody('{"imsx_codeMajor":"failure","imsx_severity":"error","imsx_description":"Invalid signature"}', 'application/json');
 * // 'Invalid signature'
 * ```
 */
export function describeOneRosterErrorBody(text: string, contentType: string | undefined, censor: Censor = nullCensor): string | undefined {
  const body = classifyOneRosterBody(text, contentType, censor);
  switch (body.kind) {
    case 'json':
      return describeJsonError(body.value, censor);
    case 'html':
      return body.title === undefined ? 'an HTML page' : `an HTML page titled "${body.title}"`;
    case 'other':
      return body.excerpt;
    case 'truncated':
      return excerpt(text.trim(), censor);
    default:
      return undefined;
  }
}

function describeJsonError(value: unknown, censor: Censor, depth = 0): string | undefined {
  if (depth > 3 || value === null || typeof value !== 'object')
    return typeof value === 'string' && value.trim() !== '' ? excerpt(value.trim(), censor) : undefined;
  if (Array.isArray(value)) {
    const parts = value.map((item) => describeJsonError(item, censor, depth + 1)).filter((part): part is string => part !== undefined);
    return parts.length === 0 ? undefined : excerpt(parts.join('; '), censor);
  }
  const record = value as Record<string, unknown>;
  const imsx = imsxDescription(record, censor);
  if (imsx !== undefined) return imsx;
  for (const key of ['imsx_StatusInfo', 'imsx_statusInfo', 'statusInfoSet', 'statusInfo', 'errors']) {
    if (key in record) {
      const inner = describeJsonError(record[key], censor, depth + 1);
      if (inner !== undefined) return inner;
    }
  }
  const parts: string[] = [];
  for (const key of ['error', 'message', 'error_description', 'detail', 'description', 'title']) {
    const field = record[key];
    if (typeof field === 'string' && field.trim() !== '' && !parts.includes(field.trim())) parts.push(field.trim());
    else if (field !== null && typeof field === 'object') {
      const inner = describeJsonError(field, censor, depth + 1);
      if (inner !== undefined) parts.push(inner);
    }
  }
  return parts.length === 0 ? undefined : excerpt(parts.join(': '), censor);
}

function imsxDescription(record: Record<string, unknown>, censor: Censor): string | undefined {
  const description = record['imsx_description'];
  const major = record['imsx_codeMajor'];
  if (description === undefined && major === undefined) return undefined;
  const minor = imsxCodeMinor(record['imsx_CodeMinor'] ?? record['imsx_codeMinor']);
  const parts = [typeof description === 'string' && description.trim() !== '' ? description.trim() : undefined, minor].filter(
    (part): part is string => part !== undefined,
  );
  if (parts.length === 0 && typeof major === 'string') parts.push(major);
  return parts.length === 0 ? undefined : excerpt(parts.join(' — '), censor);
}

function imsxCodeMinor(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (value === null || typeof value !== 'object') return undefined;
  const fields = (value as Record<string, unknown>)['imsx_codeMinorField'];
  const list = Array.isArray(fields) ? fields : fields === undefined ? [] : [fields];
  const values = list
    .map((field) => (field !== null && typeof field === 'object' ? (field as Record<string, unknown>)['imsx_codeMinorFieldValue'] : undefined))
    .filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  return values.length === 0 ? undefined : values.join(', ');
}

/** True when the text ends inside an object, an array or a string that were opened properly: JSON cut short. */
function endsInsideJson(text: string): boolean {
  const open: string[] = [];
  let inString = false;
  let escaped = false;
  for (const c of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') open.push('}');
    else if (c === '[') open.push(']');
    else if (c === '}' || c === ']') {
      // A closer that does not match is a syntax error, not a body cut short.
      if (open.pop() !== c) return false;
    }
  }
  return inString || open.length > 0;
}

function htmlTitle(html: string, censor: Censor): string | undefined {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1];
  const text = title
    ?.replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? excerpt(text, censor) : undefined;
}

/** The start of `text` on one line, censored before it is cut (a cut secret could no longer be recognized whole). */
function excerpt(text: string, censor: Censor): string {
  const oneLine = censor.scrub(text).replace(/\s+/g, ' ');
  return oneLine.length > EXCERPT_LENGTH ? `${oneLine.slice(0, EXCERPT_LENGTH - 1)}…` : oneLine;
}
