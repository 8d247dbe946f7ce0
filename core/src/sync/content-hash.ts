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

/** Sorted keys, no undefined values, dates as ISO strings; built without intermediate arrays (it runs once per record read). */
function canonicalJson(value: unknown, top = false): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = object[key];
    if (v === undefined || (top && key === 'dateLastModified')) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}
