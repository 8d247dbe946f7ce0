import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { OneRosterDataset, startOneRosterSimulator, type OneRosterSimulatorOptions } from '@rosterbridge/test-kit';
import { runSourceConformance } from '../kit/src/conformance';
import { afterClassLink, closedPort } from './oneroster-rest-kit';

const KEY = 'conformance-app';
const SECRET = "c0nf!'(secret)*-~";
const auth = (secret: string) => ({ mode: 'oauth1', consumerKey: KEY, consumerSecret: { env: secret } });

/** A simulator serving `dataset`, closed when the test ends; settings reading it in pages of 10. */
async function serving(
  dataset: OneRosterSimulatorOptions['dataset'],
  options: Partial<OneRosterSimulatorOptions> = {},
  secretEnv = 'ROSTERBRIDGE_SECRET_CONFORMANCE_SECRET',
) {
  const sim = await startOneRosterSimulator({ dataset, auth: { oauth1: [{ consumerKey: KEY, consumerSecret: SECRET }] }, ...options });
  t.teardown(() => sim.close());
  return { baseUrl: sim.baseUrl, auth: auth(secretEnv), pageSize: 10, concurrency: 2, connectTimeoutMs: 2000 };
}

t.test('the classlink source conforms', (t) =>
  runSourceConformance(t, {
    sourceId: 'classlink',
    env: { ROSTERBRIDGE_SECRET_CONFORMANCE_SECRET: SECRET, ROSTERBRIDGE_SECRET_CONFORMANCE_WRONG: 'not-the-secret' },
    expectRecord: (entity, record) => afterClassLink(entity, record),
    serve: (roster) => serving(roster),
    badCredentials: (roster) => serving(roster, {}, 'ROSTERBRIDGE_SECRET_CONFORMANCE_WRONG'),
    badLocation: async () => {
      const sim = await serving(ROSTER_EMPTY);
      return [
        { ...sim, baseUrl: `http://127.0.0.1:${await closedPort()}/ims/oneroster/v1p1` },
        { ...sim, baseUrl: `${new URL(sim.baseUrl).origin}/api/v2/rosters` },
      ];
    },
    serveChange: (changed) => {
      // A OneRoster server after the change: updated and created records, deleted ones as tobedeleted, all with later dateLastModified.
      const dataset = OneRosterDataset.from(changed.base);
      for (const entity of ROSTER_ENTITY_ORDER) for (const record of changed.delta.records(entity)) dataset.put(entity, record);
      return serving(dataset);
    },
    dieMidRead: async (roster) => ({
      'users pages after the first are cut-off JSON': await serving(roster, { faults: [{ kind: 'truncatedJson', path: 'users', requests: range(2, 50) }] }),
      'enrollments pages after the first are a proxy error page': await serving(roster, {
        faults: [{ kind: 'htmlPage', path: 'enrollments', requests: range(2, 50) }],
      }),
    }),
    slow: (roster) => serving(roster, { faults: [{ kind: 'slow', delayMs: 30_000 }] }),
  }),
);

const ROSTER_EMPTY = { records: () => [] };
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
