import { RosterbridgeError } from '../errors/rosterbridge-error';
import { type SyncDisposable, toDisposable } from './lifecycle';

/**
 * The shortest secret Rosterbridge accepts, and the length of the pieces it censors: any run of this
 * many characters of a secret (in any of its encodings) is a leak. A shorter secret would make the
 * censor blank out ordinary words.
 */
export const SECRET_MIN_LENGTH = 8;

/** What a censored piece of text is replaced with. */
export const REDACTED = '[REDACTED]';

/** Something that takes secrets out of text and of JSON-like values on their way out. */
export interface Censor {
  /** `text` with every piece of a known secret replaced by {@link REDACTED}. */
  scrub(text: string): string;
  /**
   * A copy of a JSON-like value (strings, arrays, plain objects) with every string value scrubbed.
   * Keys are kept: they are structure (entity names, target ids), and blanking one that happens to
   * share 8 characters with a secret would lose what it keys.
   */
  scrubDeep<T>(value: T): T;
}

/** The censor that knows no secret. */
export const nullCensor: Censor = { scrub: (text) => text, scrubDeep: (value) => value };

const GRAM = SECRET_MIN_LENGTH;
// Multiplier of the rolling hash over UTF-16 code units (the FNV prime: odd, bits spread).
const BASE = 0x01000193;
const BASE_POW = Array.from({ length: GRAM - 1 }).reduce<number>((power) => Math.imul(power, BASE), 1);

/**
 * Remembers secrets and takes every 8-character piece of them out of text: the secret itself and
 * its usual encodings (URL, form and RFC 3986 percent-encoding, JSON escapes, HTML entities, and
 * base64 at each of the three byte alignments, so that the base64 of `id:secret` in an HTTP Basic
 * header is caught without knowing the id). A secret echoed in part, or cut off by a truncation,
 * is caught as long as 8 of its characters are left.
 *
 * Hand-written rather than a string-search library because every pattern has the same length:
 * a multi-pattern Rabin–Karp scan (a rolling hash of each 8-character window, looked up in a map
 * of the secrets' pieces, confirmed with `startsWith`) is one pass over the text that allocates
 * nothing until it finds a piece, and core depends on no package for it. It runs on every log line.
 *
 * ```ts
 * const censor = new SecretCensor();
 * const forget = censor.remember(settings.clientSecret); // throws SECRET_TOO_SHORT under 8 characters
 * censor.scrub(`401: bad secret ${settings.clientSecret.slice(3, 14)}…`); // '401: bad secret [REDACTED]…'
 * forget.dispose();
 * ```
 */
export class SecretCensor implements Censor {
  /** Each secret, with how many holders remembered it. */
  private readonly holders = new Map<string, number>();
  /** The pieces of every secret's encodings by rolling hash, each with how many secrets have it. */
  private readonly pieces = new Map<number, Map<string, number>>();

  /** How many distinct secrets are known. */
  get size(): number {
    return this.holders.size;
  }

  /** Whether `secret` is known. */
  has(secret: string): boolean {
    return this.holders.has(secret);
  }

  /**
   * Starts censoring `secret` (and its encodings) until the returned disposable is disposed; a
   * secret remembered by several holders stays until each has let it go.
   * Throws `SECRET_TOO_SHORT` for a secret of fewer than {@link SECRET_MIN_LENGTH} characters.
   */
  remember(secret: string): SyncDisposable {
    if (secret.length < SECRET_MIN_LENGTH)
      throw new RosterbridgeError(
        'SECRET_TOO_SHORT',
        `a secret of ${secret.length} characters is too short: secrets must have at least ${SECRET_MIN_LENGTH}, so that every piece of them can be kept out of logs and messages`,
        { length: secret.length },
      );
    const holders = this.holders.get(secret) ?? 0;
    this.holders.set(secret, holders + 1);
    if (holders === 0) for (const piece of piecesOf(secret)) this.addPiece(piece, 1);
    return toDisposable(() => this.forget(secret));
  }

  scrub(text: string): string {
    if (this.pieces.size === 0 || text.length < GRAM) return text;
    let hash = 0;
    for (let k = 0; k < GRAM; k++) hash = (Math.imul(hash, BASE) + text.charCodeAt(k)) | 0;
    let out = '';
    let copied = 0;
    let runStart = -1;
    let runEnd = -1;
    for (let i = 0; ; i++) {
      const bucket = this.pieces.get(hash);
      if (bucket !== undefined && startsWithAny(text, i, bucket)) {
        const start = escapeStart(text, i);
        if (runStart < 0 || start > runEnd) {
          if (runStart >= 0) [out, copied] = [out + text.slice(copied, runStart) + REDACTED, runEnd];
          runStart = Math.max(start, copied);
        }
        runEnd = Math.max(runEnd, escapeEnd(text, runStart, i + GRAM));
      }
      if (i + GRAM >= text.length) break;
      hash = (Math.imul((hash - Math.imul(text.charCodeAt(i), BASE_POW)) | 0, BASE) + text.charCodeAt(i + GRAM)) | 0;
    }
    if (runStart < 0) return text;
    return out + text.slice(copied, runStart) + REDACTED + text.slice(runEnd);
  }

  scrubDeep<T>(value: T): T {
    if (this.pieces.size === 0) return value;
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value === null || typeof value !== 'object') return value;
    // Deeper than any output of ours: not walked further, and not let through unread either.
    if (depth > 64) return REDACTED;
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return this.walk(json.call(value), depth + 1);
    if (Array.isArray(value)) return value.map((item) => this.walk(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.walk(item, depth + 1)]));
  }

  private forget(secret: string): void {
    const holders = this.holders.get(secret);
    if (holders === undefined) return;
    if (holders > 1) {
      this.holders.set(secret, holders - 1);
      return;
    }
    this.holders.delete(secret);
    for (const piece of piecesOf(secret)) this.addPiece(piece, -1);
  }

  private addPiece(piece: string, delta: 1 | -1): void {
    const hash = hashOf(piece);
    let bucket = this.pieces.get(hash);
    if (!bucket) this.pieces.set(hash, (bucket = new Map()));
    const count = (bucket.get(piece) ?? 0) + delta;
    if (count > 0) bucket.set(piece, count);
    else {
      bucket.delete(piece);
      if (bucket.size === 0) this.pieces.delete(hash);
    }
  }
}

/**
 * The forms a secret travels in: as it is; URL, form and RFC 3986 percent-encoded (upper- and
 * lower-case hex); JSON-escaped (once and twice, with `\/` and `\u00XX` variants); HTML-escaped;
 * and base64 and base64url, whole and at each byte alignment (the characters that encode only the
 * secret's bytes, whatever surrounds it).
 */
export function secretEncodings(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const url = encodeURIComponent(secret);
  const rfc3986 = url.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const form = new URLSearchParams([['', secret]]).toString().slice(1);
  for (const encoded of [url, rfc3986, form]) {
    forms.add(encoded);
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  }
  const json = JSON.stringify(secret).slice(1, -1);
  forms.add(json);
  forms.add(JSON.stringify(json).slice(1, -1));
  forms.add(json.replace(/\//g, '\\/'));
  forms.add(json.replace(/[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  forms.add(secret.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!));
  const bytes = Buffer.from(secret, 'utf8');
  for (const encoding of ['base64', 'base64url'] as const) {
    forms.add(bytes.toString(encoding));
    for (let offset = 0; offset < 3; offset++) {
      const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding);
      // Characters wholly made of the secret's bits: from the first after the offset's bytes to the
      // last before the bits that follow it.
      forms.add(shifted.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6)));
    }
  }
  return [...forms].filter((f) => f.length >= GRAM);
}

/** Every distinct 8-character piece of every encoding of `secret`. */
function piecesOf(secret: string): Set<string> {
  const pieces = new Set<string>();
  for (const form of secretEncodings(secret)) for (let i = 0; i + GRAM <= form.length; i++) pieces.add(form.slice(i, i + GRAM));
  return pieces;
}

function hashOf(piece: string): number {
  let hash = 0;
  for (let k = 0; k < GRAM; k++) hash = (Math.imul(hash, BASE) + piece.charCodeAt(k)) | 0;
  return hash;
}

function startsWithAny(text: string, at: number, bucket: Map<string, number>): boolean {
  for (const piece of bucket.keys()) if (text.startsWith(piece, at)) return true;
  return false;
}

/**
 * Where a censored run starting at `start` must start so that no escape is cut in two: a run that
 * begins inside `\uXXXX`, or right after the backslashes of `\"`, takes them in (JSON and log lines
 * stay well-formed).
 */
function escapeStart(text: string, start: number): number {
  let s = start;
  for (let k = 2; k <= 5 && s - k >= 0; k++) {
    if (text.charCodeAt(s - k) === 0x5c && text.charCodeAt(s - k + 1) === 0x75) {
      s -= k;
      break;
    }
  }
  while (s > 0 && text.charCodeAt(s - 1) === 0x5c) s--;
  return s;
}

/** Where a censored run ending at `end` must end so that an escape begun inside it is taken in whole. */
function escapeEnd(text: string, start: number, end: number): number {
  let backslashes = 0;
  while (end - backslashes - 1 >= start && text.charCodeAt(end - backslashes - 1) === 0x5c) backslashes++;
  if (backslashes % 2 === 0 || end >= text.length) {
    // An escape `\uXXXX` whose backslash lies inside the run and whose digits run past it.
    for (let k = 1; k <= 5 && end - k - 1 >= start; k++) {
      if (text.charCodeAt(end - k - 1) === 0x5c && text.charCodeAt(end - k) === 0x75 && !escapedBackslash(text, start, end - k - 1))
        return Math.min(text.length, end - k - 1 + 6);
    }
    return end;
  }
  return Math.min(text.length, text.charCodeAt(end) === 0x75 ? end + 5 : end + 1);
}

/** Whether the backslash at `at` is itself escaped (preceded by an odd run of backslashes from `start`). */
function escapedBackslash(text: string, start: number, at: number): boolean {
  let n = 0;
  while (at - n - 1 >= start && text.charCodeAt(at - n - 1) === 0x5c) n++;
  return n % 2 === 1;
}
