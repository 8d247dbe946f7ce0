import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { openCsvPackage } from '@rosterbridge/oneroster-csv';

/**
 * Reads a whole OneRoster CSV package, as the source plugin does, and prints one JSON line: rows,
 * records, issues, seconds and the process's peak RSS. Run in its own process so the peak belongs
 * to the read alone.
 */
async function main(): Promise<void> {
  const [location, checkReferences] = process.argv.slice(2);
  if (!location) throw new Error('usage: csv-read-worker <package> [checkReferences=true|false]');
  const started = process.hrtime.bigint();
  const pkg = await openCsvPackage(location, { checkReferences: checkReferences !== 'false' });
  let rows = 0;
  let records = 0;
  let issues = 0;
  try {
    for (const entity of ROSTER_ENTITY_ORDER) {
      if (pkg.modeOf(entity) === 'absent') continue;
      const reading = pkg.read(entity, { batchSize: 1000 });
      for await (const batch of reading) {
        records += batch.records.length;
        issues += batch.issues.length;
      }
      rows += reading.tally.rowsRead;
    }
  } finally {
    await pkg.dispose();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ rows, records, issues, seconds, peakRssMB })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
