import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { RosterRecord } from './roster-record';

/**
 * A hash of a canonical record's content, independent of key order and of the source that sent it
 * (a record read from CSV and the same record read over REST hash alike). `dateLastModified` is left
 * out: a source touching a record without changing it is not a change.
 */
export function contentHash(record: RosterRecord): string {
  return canonicalRecord(record).hash;
}

/** A record's {@link contentHash} and its canonical JSON, `dateLastModified` included: what the ledger stores. */
export interface CanonicalRecord {
  hash: string;
  /** Sorted keys, no undefined values, dates as ISO strings: `JSON.parse` gives the record back (dates as strings). */
  json: string;
}

/**
 * The record's content hash and its JSON, from one walk over it: the pieces of the hash's canonical
 * text are shared by the JSON, which also has `dateLastModified`. It saves stringifying every record
 * a second time to store it.
 */
export function canonicalRecord(record: RosterRecord): CanonicalRecord {
  const object = record as unknown as Record<string, unknown>;
  let text = '{';
  let json = '{';
  for (const [key, prefix] of plan(Object.keys(object))) {
    const v = object[key];
    if (v === undefined) continue;
    const piece = `${prefix}${canonicalJson(v)}`;
    if (key !== 'dateLastModified') text += text.length === 1 ? piece : `,${piece}`;
    json += json.length === 1 ? piece : `,${piece}`;
  }
  const hashed = `${text}}`;
  return { hash: oneShot ? oneShot('sha1', hashed, 'base64url') : createHash('sha1').update(hashed).digest('base64url'), json: `${json}}` };
}

/** `crypto.hash` (Node ≥ 20.12): the same digest without a Hash object per record, about twice as fast. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

/** Sorted keys, no undefined values, dates as ISO strings; built without intermediate arrays (it runs once per record read). */
function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const [key, prefix] of plan(Object.keys(object))) {
    const v = object[key];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${prefix}${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * An object's keys in sorted order, each with its JSON prefix (`"key":`), remembered per key list:
 * records of one entity share a handful of shapes, so each is sorted once, not once per record.
 * The last few shapes are compared key by key first (no string built: this runs for every object
 * of every record read); others are found by their joined keys.
 */
function plan(keys: string[]): readonly (readonly [string, string])[] {
  for (let i = 0; i < recent.length; i++) {
    const entry = recent[i]!;
    if (sameKeys(entry.keys, keys)) return entry.plan;
  }
  const signature = keys.join('\u0000');
  let found = plans.get(signature);
  if (!found) {
    found = [...keys].sort().map((k) => [k, `${JSON.stringify(k)}:`] as const);
    // Metadata with ever new keys must not grow this without bound.
    if (plans.size < 4096) plans.set(signature, found);
  }
  recent[next] = { keys, plan: found };
  next = (next + 1) % RECENT;
  return found;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The shapes {@link plan} compares first, round robin. */
const RECENT = 8;
const recent: { keys: readonly string[]; plan: readonly (readonly [string, string])[] }[] = [];
let next = 0;

const plans = new Map<string, readonly (readonly [string, string])[]>();
