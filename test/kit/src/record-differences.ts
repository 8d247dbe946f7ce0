import type { RosterRecord } from '@rosterbridge/core';

/** JSON with keys sorted at every level: two records are the same iff their canonical JSON is. */
export function canonicalRecordJson(value: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value ?? null))));
}

/**
 * A record's content as a target keeps it, for comparing rows with the source's records: canonical
 * JSON without `status` and `dateLastModified` (which a sync may restate without a change).
 */
export function comparableRecord(record: RosterRecord | Record<string, unknown>): string {
  const { status: _s, dateLastModified: _d, ...rest } = record as unknown as Record<string, unknown>;
  return canonicalRecordJson(rest);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * Compares records read with records expected, by sourcedId and canonical content: the differences
 * (missing, not expected, different, duplicate ids), empty when equal, at most `limit` of them.
 */
export function recordDifferences(actual: readonly RosterRecord[], expected: readonly RosterRecord[], limit = Infinity): string[] {
  const out: string[] = [];
  const byId = new Map(actual.map((record) => [record.sourcedId, record]));
  if (byId.size !== actual.length) out.push(`the read holds ${actual.length - byId.size} duplicate sourcedIds`);
  for (const record of expected) {
    if (out.length >= limit) return out;
    const got = byId.get(record.sourcedId);
    if (!got) out.push(`${record.sourcedId}: missing`);
    else if (canonicalRecordJson(got) !== canonicalRecordJson(record))
      out.push(`${record.sourcedId}: got ${canonicalRecordJson(got)} expected ${canonicalRecordJson(record)}`);
    byId.delete(record.sourcedId);
  }
  for (const id of byId.keys()) {
    if (out.length >= limit) break;
    out.push(`${id}: not expected`);
  }
  return out;
}
