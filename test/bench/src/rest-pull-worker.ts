import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { OneRosterSourceSession } from '@rosterbridge/oneroster-rest';

/** What one pull measured. */
export interface RestPullMeasurement {
  records: number;
  rowsRead: number;
  issues: number;
  errors: number;
  /** Page requests made, predicted ones included, over all entities. */
  requests: number;
  /** Predicted page requests whose page was not used. */
  discardedRequests: number;
  complete: boolean;
  seconds: number;
  /** CPU time of the client process (user and system) during the pull. */
  cpuSeconds: number;
  perEntity: Record<RosterEntity, { records: number; requests: number; seconds: number }>;
  peakRssMB: number;
}

/**
 * Pulls every entity from a OneRoster server, as the classlink source does (one entity after the
 * other, the pages of each overlapping), and prints one JSON line of {@link RestPullMeasurement}.
 * Run in its own process so that the peak RSS belongs to the client alone.
 *
 * Usage: rest-pull-worker <baseUrl> <consumerKey> <pageSize> <concurrency>; the secret in env ROSTERBRIDGE_SECRET_SIM.
 */
async function main(): Promise<void> {
  const [baseUrl, consumerKey, pageSize, concurrency] = process.argv.slice(2);
  const consumerSecret = process.env.ROSTERBRIDGE_SECRET_SIM;
  if (!baseUrl || !consumerKey || !pageSize || !concurrency || !consumerSecret) {
    throw new Error('usage: rest-pull-worker <baseUrl> <consumerKey> <pageSize> <concurrency> (secret in env ROSTERBRIDGE_SECRET_SIM)');
  }
  const session = OneRosterSourceSession.open({
    baseUrl,
    credentials: { kind: 'oauth1', consumerKey, consumerSecret },
    pageSize: Number(pageSize),
    maxConcurrentRequests: Number(concurrency),
    pagesInFlight: Number(concurrency),
  });
  const signal = new AbortController().signal;
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  let records = 0;
  let rowsRead = 0;
  let issues = 0;
  let errors = 0;
  const perEntity = {} as RestPullMeasurement['perEntity'];
  try {
    for (const entity of ROSTER_ENTITY_ORDER) {
      const entityStarted = process.hrtime.bigint();
      let entityRecords = 0;
      for await (const batch of session.read(entity, { mode: 'full', batchSize: 1000, signal })) {
        entityRecords += batch.records.length;
        rowsRead += batch.rowsRead;
        issues += batch.issues.length;
        errors += batch.issues.filter((i) => i.severity === 'error').length;
      }
      records += entityRecords;
      const report = session.readReports.at(-1)!;
      perEntity[entity] = { records: entityRecords, requests: report.requests, seconds: Number(process.hrtime.bigint() - entityStarted) / 1e9 };
    }
  } finally {
    await session.dispose();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  const reports = session.readReports;
  const measurement: RestPullMeasurement = {
    records,
    rowsRead,
    issues,
    errors,
    requests: reports.reduce((sum, r) => sum + r.requests, 0),
    discardedRequests: reports.reduce((sum, r) => sum + r.discardedRequests, 0),
    complete: reports.every((r) => r.complete),
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    perEntity,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
