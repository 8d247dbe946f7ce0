import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { OneRosterClient, OneRosterSourceSession, type OneRosterClientOptions } from '@rosterbridge/oneroster-rest';
import { generateDistrict, startOneRosterSimulator, type SimulatorPagingOptions } from '@rosterbridge/test-kit';
import { FAST_RETRIES, OAUTH1, afterClassLink, differences, pull } from './oneroster-rest-kit';

// The pages of one collection requested several at a time (pagesInFlight), over HTTP: the same
// records as page by page under every paging behaviour, overlapping, and still safe under faults.

const PAGING_MODES: { name: string; paging: SimulatorPagingOptions; totalWrong?: boolean; clamp?: number }[] = [
  { name: 'X-Total-Count and Link on', paging: {} },
  { name: 'X-Total-Count and Link off', paging: { totalCount: 'absent', link: 'absent' } },
  { name: 'a silent clamp of limit', paging: { maxLimit: 70 }, clamp: 70 },
  { name: 'X-Total-Count and Link wrong', paging: { totalCount: 'wrong', link: 'wrong' }, totalWrong: true },
  { name: 'a total too high', paging: { totalCount: 'wrong', totalCountSkew: 7 }, totalWrong: true },
];

t.test('four pages in flight read exactly the district under every paging behaviour', async (t) => {
  const district = generateDistrict({ seed: 20260818, size: 'small' });
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [OAUTH1] }, latencyMs: 5 });
  t.teardown(() => sim.close());
  for (const mode of PAGING_MODES) {
    await t.test(mode.name, async (t) => {
      sim.configure({ paging: mode.paging });
      sim.clearRequests();
      const session = OneRosterSourceSession.open({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 200, maxConcurrentRequests: 4, pagesInFlight: 4 });
      t.teardown(() => session.dispose());
      for (const entity of ROSTER_ENTITY_ORDER) {
        const expected = [...district.records(entity)].map((record) => afterClassLink(entity, record));
        const { records, issues, rowsRead } = await pull(session, entity, { batchSize: 64 });
        t.same(differences(records, expected), [], `${entity}: the same ${expected.length} records`);
        t.equal(rowsRead, expected.length, `${entity}: every record accounted for`);
        t.same(
          issues.filter((i) => i.severity === 'error'),
          [],
          `${entity}: no errors`,
        );
        t.equal(
          issues.filter((i) => i.code === 'REST_TOTAL_MISMATCH').length,
          mode.totalWrong ? 1 : 0,
          `${entity}: a total mismatch exactly when the total is wrong`,
        );
        t.equal(issues.filter((i) => i.code === 'REST_DUPLICATE_RECORD').length, 0, `${entity}: nothing read twice`);
      }
      for (const report of session.readReports) {
        t.equal(report.complete, true, `${report.entity}: complete`);
        if (mode.clamp !== undefined && district.counts[report.entity] > 2 * mode.clamp)
          t.equal(report.clampedLimit, mode.clamp, `${report.entity}: the clamp was seen`);
        if (mode.clamp === undefined) t.equal(report.clampedLimit, undefined, `${report.entity}: no clamp where there is none`);
        if (mode.paging.totalCount === undefined) t.equal(report.discardedRequests, 0, `${report.entity}: with a right total no request is wasted`);
      }
      t.ok(sim.peakConcurrency > 1 && sim.peakConcurrency <= 4, `pages overlapped within the limit (peak ${sim.peakConcurrency})`);
    });
  }
});

t.test('pages in flight hide the latency of a collection', async (t) => {
  const district = generateDistrict({ seed: 5, size: 'small' });
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [OAUTH1] }, latencyMs: 40 });
  t.teardown(() => sim.close());
  const timed = async (pagesInFlight: number) => {
    const client = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 100, maxConcurrentRequests: 4, pagesInFlight });
    t.teardown(() => client.dispose());
    sim.clearRequests();
    const started = Date.now();
    let records = 0;
    for await (const batch of client.read('users')) records += batch.records.length;
    return { ms: Date.now() - started, records, requests: sim.requests.length };
  };
  const pageByPage = await timed(1);
  const overlapped = await timed(4);
  t.equal(overlapped.records, district.counts.users);
  t.equal(overlapped.requests, pageByPage.requests, 'the same requests, with a right total');
  t.ok(pageByPage.ms >= pageByPage.requests * 40, `page by page pays every latency (${pageByPage.ms} ms for ${pageByPage.requests} requests)`);
  t.ok(overlapped.ms < pageByPage.ms * 0.6, `four in flight take ${overlapped.ms} ms, against ${pageByPage.ms} ms page by page`);
});

t.test('with pages in flight, faults are retried, surfaced when a used page fails, and a cancel stops everything', async (t) => {
  const district = generateDistrict({ seed: 7, size: 'tiny' });
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [OAUTH1] } });
  t.teardown(() => sim.close());
  const client = (options: Partial<OneRosterClientOptions> = {}) => {
    const c = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 4, pagesInFlight: 4, ...FAST_RETRIES, ...options });
    t.teardown(() => c.dispose());
    return c;
  };

  sim.configure({
    faults: [
      { kind: 'status', status: 503, rate: 0.25 },
      { kind: 'reset', rate: 0.1 },
      { kind: 'status', status: 429, retryAfter: 0, rate: 0.1 },
    ],
  });
  const session = new OneRosterSourceSession(client({ maxAttempts: 10 }));
  for (const entity of ROSTER_ENTITY_ORDER) {
    const expected = [...district.records(entity)].map((r) => afterClassLink(entity, r));
    const { records } = await pull(session, entity);
    t.same(differences(records, expected), [], `${entity}: whole despite faults`);
  }
  t.ok(sim.faultCounts().length > 0 && sim.faultCounts().every((n) => n > 0), `every fault fired (${sim.faultCounts().join(', ')})`);

  // Every users page after the first is truncated: one of them is used, so the read fails.
  sim.configure({ faults: [{ kind: 'truncatedJson', path: 'users', requests: [2, 3, 4, 5, 6, 7, 8, 9] }] });
  const reading = client().read('users');
  await t.rejects(
    (async () => {
      for await (const _ of reading);
    })(),
    { code: 'SOURCE_TRUNCATED' },
  );
  t.equal(reading.report.complete, false);

  sim.configure({ faults: [{ kind: 'slow', delayMs: 5000, path: 'users' }] });
  const controller = new AbortController();
  const slow = client().read('users', { signal: controller.signal });
  const started = Date.now();
  setTimeout(() => controller.abort(), 150);
  await t.rejects(
    (async () => {
      for await (const _ of slow);
    })(),
    { code: 'CANCELLED' },
  );
  t.ok(Date.now() - started < 2000, 'cancelled at once, not after the slow pages');
  t.equal(slow.report.complete, false);
  sim.configure({ faults: [] });
});
