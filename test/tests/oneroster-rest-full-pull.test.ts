import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { OneRosterSourceSession } from '@rosterbridge/oneroster-rest';
import { FIXTURES_DIR, OneRosterDataset, generateDistrict, sharedFixtures, startOneRosterSimulator, type SimulatorPagingOptions } from '@rosterbridge/test-kit';
import * as path from 'node:path';
import { OAUTH1, afterClassLink, differences, pull } from './oneroster-rest-kit';

const PAGING_MODES: { name: string; paging: (clamp: number) => SimulatorPagingOptions; totalWrong?: boolean; clamped?: boolean }[] = [
  { name: 'X-Total-Count and Link on', paging: () => ({}) },
  { name: 'X-Total-Count and Link off', paging: () => ({ totalCount: 'absent', link: 'absent' }) },
  { name: 'a silent clamp of limit', paging: (clamp) => ({ maxLimit: clamp }), clamped: true },
  { name: 'X-Total-Count and Link wrong', paging: () => ({ totalCount: 'wrong', link: 'wrong' }), totalWrong: true },
];

const SIZES = [
  { size: 'tiny', pageSize: 6, clamp: 4 },
  { size: 'small', pageSize: 400, clamp: 150 },
] as const;

for (const { size, pageSize, clamp } of SIZES) {
  t.test(`a full pull of a generated ${size} district yields exactly its records`, async (t) => {
    const district = generateDistrict({ seed: 20260817, size });
    const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [OAUTH1] } });
    t.teardown(() => sim.close());

    for (const mode of PAGING_MODES) {
      await t.test(mode.name, async (t) => {
        sim.configure({ paging: mode.paging(clamp) });
        sim.clearRequests();
        const session = OneRosterSourceSession.open({ baseUrl: `${sim.baseUrl}/`, credentials: OAUTH1, pageSize });
        t.teardown(() => session.dispose());

        for (const entity of ROSTER_ENTITY_ORDER) {
          const expected = [...district.records(entity)].map((record) => afterClassLink(entity, record));
          const { records, issues, rowsRead } = await pull(session, entity, { batchSize: 50 });
          t.same(differences(records, expected), [], `${entity}: the same ${expected.length} records, field for field`);
          t.equal(rowsRead, expected.length, `${entity}: every record accounted for`);
          t.same(
            issues.filter((i) => i.severity === 'error'),
            [],
            `${entity}: no errors`,
          );
          const mismatch = issues.filter((i) => i.code === 'REST_TOTAL_MISMATCH');
          t.equal(mismatch.length, mode.totalWrong && expected.length > 0 ? 1 : 0, `${entity}: a total mismatch is reported exactly when the total is wrong`);
        }

        const reports = new Map(session.readReports.map((r) => [r.entity as RosterEntity, r]));
        for (const entity of ROSTER_ENTITY_ORDER) {
          const report = reports.get(entity)!;
          t.equal(report.complete, true, `${entity}: complete only after its empty page`);
          const count = district.counts[entity];
          if (mode.clamped && count > clamp + clamp) t.equal(report.clampedLimit, clamp, `${entity}: the clamp to ${clamp} was seen`);
          if (!mode.clamped) t.equal(report.clampedLimit, undefined, `${entity}: no clamp where there is none`);
        }
        const requests = sim.requests;
        t.ok(
          requests.length > 0 && requests.every((r) => r.query['sort'] === 'sourcedId' && r.query['orderBy'] === 'asc'),
          'every page asks for a stable sort by sourcedId',
        );
        t.ok(requests.length > 0 && requests.every((r) => r.authScheme === 'OAuth' && r.status === 200), 'every request signed and answered');
        const lastPages = requests.filter((r) => r.records === 0);
        t.equal(lastPages.length, ROSTER_ENTITY_ORDER.length, 'each read ended on one empty page');
      });
    }
  });
}

const corpus = sharedFixtures();
const CSV_PACKAGES = [
  { name: 'clean-full', skip: false as const, folder: () => path.join(FIXTURES_DIR, 'oneroster-csv', 'clean-full') },
  { name: 'roster-hub-en (shared corpus)', skip: corpus.skip, folder: () => corpus.path('oneroster-csv', 'roster-hub-en') },
];

for (const pkg of CSV_PACKAGES) {
  t.test(`a dataset read from a OneRoster CSV package (${pkg.name}) comes back the same over REST`, { skip: pkg.skip }, async (t) => {
    const dataset = await OneRosterDataset.fromCsvPackage(pkg.folder());
    t.same(
      dataset.loadIssues.filter((i) => i.severity === 'error'),
      [],
      'the package loads without errors',
    );
    const sim = await startOneRosterSimulator({ dataset, auth: { oauth1: [OAUTH1] }, paging: { maxLimit: 3 } });
    t.teardown(() => sim.close());
    const session = OneRosterSourceSession.open({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 5 });
    t.teardown(() => session.dispose());
    let total = 0;
    for (const entity of ROSTER_ENTITY_ORDER) {
      const expected = dataset.records(entity).map((record) => afterClassLink(entity, record));
      total += expected.length;
      const { records, issues } = await pull(session, entity);
      t.same(differences(records, expected), [], `${entity}: ${expected.length} records round-trip`);
      t.same(
        issues.filter((i) => i.severity === 'error'),
        [],
        `${entity}: no errors`,
      );
    }
    t.ok(total > 10, `the package has records (${total})`);
    t.ok(Object.keys(dataset.records('users')[0]!.metadata).length > 0, 'metadata extension fields are part of what round-trips');
  });
}
