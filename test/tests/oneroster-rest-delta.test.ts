import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { OneRosterSourceSession } from '@rosterbridge/oneroster-rest';
import { OneRosterDataset, changeDistrict, generateDistrict, startOneRosterSimulator } from '@rosterbridge/test-kit';
import { OAUTH1, afterClassLink, differences, pull } from './oneroster-rest-kit';

t.test('a delta pull with dateLastModified> returns only the changed records', async (t) => {
  const base = generateDistrict({ seed: 99, size: 'small' });
  const changed = changeDistrict(base, { seed: 5, fraction: 0.03 });
  // The server after the changes: the later roster, plus the deleted records it still lists as tobedeleted.
  const dataset = OneRosterDataset.from(changed);
  for (const entity of ROSTER_ENTITY_ORDER) for (const record of changed.delta.records(entity)) dataset.put(entity, record);
  const sim = await startOneRosterSimulator({ dataset, auth: { oauth1: [OAUTH1] }, paging: { maxLimit: 200 } });
  t.teardown(() => sim.close());
  const session = OneRosterSourceSession.open({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 500 });
  t.teardown(() => session.dispose());
  t.equal(session.capabilities.delta, true);

  let changedCount = 0;
  for (const entity of ROSTER_ENTITY_ORDER) {
    const expected = [...changed.delta.records(entity)].map((r) => afterClassLink(entity, r));
    changedCount += expected.length;
    sim.clearRequests();
    const { records, issues } = await pull(session, entity, { mode: 'delta', since: base.asOf });
    t.same(differences(records, expected), [], `${entity}: exactly the ${expected.length} changed records`);
    t.same(
      issues.filter((i) => i.severity === 'error'),
      [],
      `${entity}: no errors`,
    );
    t.equal(sim.requests[0]!.query['filter'], `dateLastModified>'${base.asOf.toISOString()}'`, `${entity}: asked with the delta filter`);
    const deleted = changed.report.entities[entity as RosterEntity].deleted;
    t.same(
      records
        .filter((r) => r.status === 'tobedeleted')
        .map((r) => r.sourcedId)
        .sort(),
      [...deleted].sort(),
      `${entity}: deletions come as tobedeleted`,
    );
  }
  t.ok(changedCount > 100, `the delta is substantial (${changedCount} records)`);
  t.ok(changedCount < dataset.counts().users + dataset.counts().enrollments, 'and far smaller than the roster');

  const full = await pull(session, 'users', { mode: 'full' });
  t.equal(full.records.length, dataset.counts().users, 'a full read still reads everything');
  const noSince = await pull(session, 'orgs', { mode: 'delta' });
  t.equal(noSince.records.length, dataset.counts().orgs, 'a delta read without since reads everything (it deletes nothing)');
});
