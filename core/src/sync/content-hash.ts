import { createHash } from 'node:crypto';
import type { RosterRecord } from '../roster/roster-record';

/**
 * A hash of a canonical record's content, independent of key order and of the source that sent it
 * (a record read from CSV and the same record read over REST hash alike). `dateLastModified` is left
 * out: a source touching a record without changing it is not a change.
 */
export function contentHash(record: RosterRecord): string {
  return createHash('sha1').update(canonicalJson(record, true)).digest('base64url');
}

function canonicalJson(value: unknown, top = false): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value as object)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined && !(top && k === 'dateLastModified'))
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
