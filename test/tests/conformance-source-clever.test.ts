import t from 'tap';
import type { RosterRecordSource } from '@rosterbridge/test-kit';
import { runSourceConformance } from '../kit/src/conformance';
import { CleverReadBack, startCleverSimulator, type CleverSimulatorOptions } from '@rosterbridge/simulators';
import { closedPort } from './oneroster-rest-kit';

const TOKEN = 'clever-conformance-district-token';
const TOKEN_ENV = 'ROSTERBRIDGE_SECRET_CONFORMANCE_CLEVER_TOKEN';
const WRONG_ENV = 'ROSTERBRIDGE_SECRET_CONFORMANCE_CLEVER_WRONG';

/** A Clever simulator serving `roster`, stopped when the test ends; settings reading it in pages of 5. */
async function serving(roster: RosterRecordSource, options: Partial<CleverSimulatorOptions> = {}, tokenEnv = TOKEN_ENV) {
  const sim = await startCleverSimulator({ dataset: roster, tokens: [TOKEN], ...options });
  t.teardown(() => sim.stop());
  return { sim, settings: { baseUrl: sim.origin, token: { env: tokenEnv }, pageSize: 5, connectTimeoutMs: 2000 } };
}

/** What the Clever source reads back of a roster (what Clever cannot express is listed on cleverReadBack). */
const readBacks = new WeakMap<RosterRecordSource, CleverReadBack>();
function readBack(roster: RosterRecordSource): CleverReadBack {
  let known = readBacks.get(roster);
  if (!known) readBacks.set(roster, (known = new CleverReadBack(roster)));
  return known;
}

t.test('the clever source conforms', (t) =>
  runSourceConformance(t, {
    sourceId: 'clever',
    env: { [TOKEN_ENV]: TOKEN, [WRONG_ENV]: 'not-the-district-token' },
    expectRecord: (entity, record, _mode, served) => readBack(served).of(entity, record),
    // Clever derives records from others (a course's grades from its sections, enrollments from
    // sections), so a delta is what changes in what Clever carries: deleted records come at the
    // time of their deletion event.
    expectDelta: (entity, changed) => readBack(changed.base).changesTo(readBack(changed), entity, changed.changedAt),
    serve: async (roster) => (await serving(roster)).settings,
    badCredentials: async (roster) => (await serving(roster, {}, WRONG_ENV)).settings,
    badLocation: async () => {
      const { sim, settings } = await serving({ records: () => [] });
      return [
        { ...settings, baseUrl: `http://127.0.0.1:${await closedPort()}` },
        { ...settings, baseUrl: `${sim.origin}/api/v2/rosters` },
      ];
    },
    serveChange: async (changed) => {
      // Clever's clock: the district as it was, then the change made (every event) at changedAt.
      let clock = changed.base.asOf.getTime();
      const { sim, settings } = await serving(changed.base, { now: () => clock });
      clock = changed.changedAt.getTime();
      const events = sim.changeTo(changed);
      t.ok(events.length > 0, `the change is ${events.length} Clever events`);
      return settings;
    },
    dieMidRead: async (roster) => ({
      'users pages after the first are a proxy error page': (await serving(roster, { faults: [{ kind: 'htmlPage', path: 'users', requests: range(2, 60) }] }))
        .settings,
      'sections pages after the first come without their data': (
        await serving(roster, { faults: [{ kind: 'missingEnvelope', path: 'sections', requests: range(2, 60) }] })
      ).settings,
    }),
    slow: async (roster) => (await serving(roster, { faults: [{ kind: 'slow', delayMs: 30_000 }] })).settings,
  }),
);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
