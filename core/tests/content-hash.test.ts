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

t.test('canonicalRecord: the same hash as contentHash, and JSON that gives the record back', async (t) => {
  for (const [name, record] of Object.entries(records)) {
    const c = canonicalRecord(record);
    t.equal(c.hash, contentHash(record), `${name}: hash`);
    t.same(JSON.parse(c.json), JSON.parse(JSON.stringify(record)), `${name}: JSON.parse(json) is the record`);
    const keys = Object.keys(JSON.parse(c.json));
    t.same(keys, [...keys].sort(), `${name}: sorted keys`);
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
