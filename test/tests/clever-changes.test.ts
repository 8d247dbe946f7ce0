import t, { type Test } from 'tap';
import { CleverClient, readCleverChanges, type CleverChanges } from '@rosterbridge/clever';
import { isRosterbridgeError, ROSTER_ENTITY_ORDER, type RosterRecord, type User } from '@rosterbridge/core';
import { changeDistrict, generateDistrict, recordDifferences, type GeneratedDistrict } from '@rosterbridge/test-kit';
import { cleverReadBack, startCleverSimulator, type CleverSimulator } from '@rosterbridge/simulators';

const TOKEN = 'district-token-events';
const DAY = 86_400_000;

/** A simulator serving a tiny district on a clock the test moves. */
async function simulator(t: Test, seed = 4242): Promise<{ district: GeneratedDistrict; sim: CleverSimulator; clock: { now: number } }> {
  const district = generateDistrict({ seed, size: 'tiny' });
  const clock = { now: district.asOf.getTime() };
  const sim = await startCleverSimulator({ dataset: district, tokens: [TOKEN], now: () => clock.now });
  t.teardown(() => sim.stop());
  return { district, sim, clock };
}

function client(t: Test, sim: CleverSimulator, pageSize = 1000): CleverClient {
  const c = new CleverClient({ token: TOKEN, baseUrl: sim.baseUrl, pageSize, backoffBaseMs: 10, backoffMaxMs: 50 });
  t.teardown(() => c.close());
  return c;
}

function count(changes: CleverChanges): number {
  return ROSTER_ENTITY_ORDER.reduce((n, e) => n + changes.records[e].length, 0);
}

t.test('the changes read from events are what changed in what Clever carries, however the context is read, and the same when read again', async (t) => {
  for (const fraction of [0.05, 0.3]) {
    const { district, sim, clock } = await simulator(t);
    const changed = changeDistrict(district, { seed: 9, fraction });
    clock.now = changed.changedAt.getTime();
    const events = sim.changeTo(changed);
    const before = cleverReadBack(district);
    const after = cleverReadBack(changed);
    const c = client(t, sim);
    sim.clearRequests();
    const targeted = await readCleverChanges(c, { since: district.asOf });
    const targetedRequests = sim.requests.length;
    const whole = await readCleverChanges(c, { since: district.asOf, maxTargetedRequests: 0 });
    const again = await readCleverChanges(c, { since: district.asOf });
    t.ok(count(targeted) > 0, `fraction ${fraction}: ${events.length} events, ${count(targeted)} changed records (${targetedRequests} requests)`);
    t.same(targeted.issues, [], 'no issues');
    t.equal(targeted.events.read, events.length, 'every event after since was read');
    for (const entity of ROSTER_ENTITY_ORDER) {
      const expected = before.changesTo(after, entity, changed.changedAt);
      t.same(
        recordDifferences(targeted.records[entity] as RosterRecord[], expected).slice(0, 5),
        [],
        `fraction ${fraction}, ${entity}: the ${expected.length} changes`,
      );
    }
    t.same(whole.records, targeted.records, 'reading the whole district for context gives the same changes');
    t.same(again.records, targeted.records, 'reading the same events again gives the same changes (idempotent)');
  }
});

t.test('only events after since (less the overlap) count; events are paged with starting_after', async (t) => {
  const { district, sim, clock } = await simulator(t);
  const users = [...district.records('users')] as User[];
  const student = sim.resources('users').find((u) => u.id === users.find((x) => x.role === 'student')!.sourcedId)!;
  const teacher = sim.resources('users').find((u) => u.id === users.find((x) => x.role === 'teacher')!.sourcedId)!;

  clock.now = district.asOf.getTime() + DAY;
  sim.upsert('users', { ...student, email: 'earlier@example.org' });
  clock.now = district.asOf.getTime() + 2 * DAY;
  const since = new Date(clock.now);
  clock.now += 60_000;
  sim.upsert('users', { ...teacher, email: 'later@example.org' });
  clock.now += 3_600_000;

  const c = client(t, sim, 1);
  sim.clearRequests();
  const changes = await readCleverChanges(c, { since });
  t.same(
    changes.records.users.map((u) => [u.sourcedId, u.email]),
    [[teacher.id, 'later@example.org']],
    'only the change after since',
  );
  const eventRequests = sim.requests.filter((r) => r.path === 'events');
  t.equal(eventRequests.length, 2, 'one event a page, to the last next link');
  t.ok(eventRequests[1]?.query.starting_after !== undefined, "the second page starts after the first page's event");

  const overlapping = await readCleverChanges(c, { since: new Date(since.getTime() + 10 * 60_000), overlapMs: 15 * 60_000 });
  t.same(
    overlapping.records.users.map((u) => u.sourcedId),
    [teacher.id],
    'an event within the overlap before since is read again',
  );
  const none = await readCleverChanges(c, { since: new Date(clock.now), overlapMs: 0 });
  t.equal(count(none), 0, 'nothing after the last event');
});

t.test('several events on one object come to its last state; created and deleted within the window is nothing', async (t) => {
  const { district, sim, clock } = await simulator(t);
  const since = new Date(district.asOf.getTime() + DAY);
  clock.now = since.getTime() + DAY;
  const template = sim.resources('users').find((u) => (u.roles as Record<string, unknown>).teacher)!;
  const user = sim.resources('users').find((u) => u.id !== template.id && (u.roles as Record<string, unknown>).teacher)!;
  sim.upsert('users', { ...user, email: 'first@example.org' });
  sim.upsert('users', { ...user, email: 'second@example.org' });
  sim.upsert('users', { ...template, id: 'usr-short-lived', email: 'short@example.org' });
  sim.remove('users', 'usr-short-lived');
  const term = sim.resources('terms')[0]!;
  sim.remove('terms', term.id);
  sim.upsert('terms', { ...term, name: 'Renamed term' });
  sim.remove('users', template.id);

  const changes = await readCleverChanges(client(t, sim), { since });
  t.same(
    changes.records.users.map((u) => [u.sourcedId, u.status, u.email]),
    [
      [template.id, 'tobedeleted', template.email],
      [user.id, 'active', 'second@example.org'],
    ],
    'the last state of each user; the short-lived one not at all',
  );
  t.same(
    changes.records.academicSessions.map((s) => [s.sourcedId, s.status, s.title]),
    [[term.id, 'active', 'Renamed term']],
    'deleted then created again: the last state',
  );
  const deleted = changes.records.users.find((u) => u.status === 'tobedeleted')!;
  t.equal(deleted.dateLastModified?.toISOString(), new Date(clock.now).toISOString(), 'a deletion carries the time of its event');
  const enrollments = changes.records.enrollments.filter((e) => e.userSourcedId === template.id);
  t.same(enrollments, [], 'a user deleted alone leaves its sections (and their enrollments) to their own events');
});

t.test('a since older than the 30 days of events Clever keeps is refused: a full sync must catch up', async (t) => {
  const { district, sim, clock } = await simulator(t);
  clock.now = district.asOf.getTime() + 31 * DAY;
  try {
    await readCleverChanges(client(t, sim), { since: district.asOf });
    t.fail('resolved');
  } catch (error) {
    t.ok(isRosterbridgeError(error, 'SOURCE_MODE_MISMATCH'), String(error));
    t.match((error as Error).message, /30 days of events Clever keeps.*run a full sync/);
  }
  const recent = await readCleverChanges(client(t, sim), { since: new Date(clock.now - 29 * DAY) });
  t.equal(count(recent), 0, "within 30 days (by Clever's clock): read");
});

t.test('events of resources with no canonical records are reported, not applied', async (t) => {
  const { district, sim, clock } = await simulator(t);
  clock.now = district.asOf.getTime() + DAY;
  // A resource type the adapter does not know, recorded the way the simulator records any event.
  (sim.events as unknown as object[]).push({
    id: 'evt-99999999',
    type: 'resources.created',
    created: new Date(clock.now).toISOString(),
    data: { object: { id: 'res-1' } },
  });
  const changes = await readCleverChanges(client(t, sim), { since: district.asOf });
  t.equal(count(changes), 0);
  t.match(changes.issues, [{ code: 'CLEVER_NOT_MAPPED', severity: 'warning', message: /resources\.created/ }]);
});
