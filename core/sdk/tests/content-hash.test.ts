import { createHash } from 'node:crypto';
import t from 'tap';
import { canonicalRecord, contentHash, type RosterRecord } from '@rosterbridge/core';

const at = new Date('2026-09-01T12:00:00.000Z');
const records: Record<string, RosterRecord> = {
  // dateLastModified between other keys, nested objects and arrays, an undefined field
  user: {
    sourcedId: 'usr-1',
    status: 'active',
    dateLastModified: at,
    username: 'ada',
    givenName: 'Ada',
    familyName: 'Lovelace',
    role: 'student',
    enabledUser: true,
    orgs: [{ type: 'org', sourcedId: 'org-1' }],
    grades: ['09'],
    email: undefined,
    metadata: { 'ext.b': 'two', 'ext.a': 'one', nested: { z: 1, a: [null, 'x'] } },
  } as unknown as RosterRecord,
  // dateLastModified the first key in sorted order
  first: { dateLastModified: at, sourcedId: 'x', status: 'active' } as unknown as RosterRecord,
  // dateLastModified the last one (keys sorting after it are absent)
  last: { beginDate: '2026-08-01', dateLastModified: at } as unknown as RosterRecord,
  // the only key
  only: { dateLastModified: at } as unknown as RosterRecord,
  // none
  none: { sourcedId: 'y', status: 'active', title: 'Algebra "I"\n' } as unknown as RosterRecord,
};

/** The canonical form built another way: JSON.stringify of a copy with every object's keys sorted. */
const sortedCopy = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortedCopy)
    : value && typeof value === 'object' && !(value instanceof Date)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]),
        )
      : value;

t.test('canonicalRecord: the hash of the sorted record without dateLastModified, and the sorted record as JSON', async (t) => {
  for (const [name, record] of Object.entries(records)) {
    const c = canonicalRecord(record);
    const { dateLastModified: _, ...content } = record as unknown as Record<string, unknown>;
    // Stored hashes must not change from one version to the next: sha1, base64url, of this text.
    const expected = createHash('sha1')
      .update(JSON.stringify(sortedCopy(content)))
      .digest('base64url');
    t.equal(c.hash, expected, `${name}: hash`);
    t.equal(contentHash(record), expected, `${name}: contentHash`);
    t.equal(c.json, JSON.stringify(sortedCopy(record)), `${name}: json`);
    t.same(JSON.parse(c.json), JSON.parse(JSON.stringify(record)), `${name}: JSON.parse(json) is the record`);
  }
});

t.test('the hash leaves dateLastModified out and does not depend on key order', async (t) => {
  const user = records.user as unknown as Record<string, unknown>;
  const later = { ...user, dateLastModified: new Date('2027-01-01T00:00:00.000Z') } as unknown as RosterRecord;
  t.equal(canonicalRecord(later).hash, canonicalRecord(records.user!).hash, 'a later dateLastModified: same hash');
  t.not(canonicalRecord(later).json, canonicalRecord(records.user!).json, 'but other JSON');
  const reversed = Object.fromEntries(Object.entries(user).reverse()) as unknown as RosterRecord;
  t.same(canonicalRecord(reversed), canonicalRecord(records.user!), 'keys in another order: same hash and JSON');
  const renamed = { ...user, givenName: 'Augusta' } as unknown as RosterRecord;
  t.not(canonicalRecord(renamed).hash, canonicalRecord(records.user!).hash, 'a changed field: another hash');
});
