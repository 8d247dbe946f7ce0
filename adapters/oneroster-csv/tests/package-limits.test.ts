import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { isRosterbridgeError, type RosterEntity } from '@rosterbridge/core';
import { ONEROSTER_CSV_HEADERS, openCsvPackage, type CsvPackage, type CsvPackageLimits } from '@rosterbridge/oneroster-csv';
import { countFileBytes } from '../src/package-limits';
import { buildZip, manifestCsv, readEntity, tempDir, writePackage } from './csv-package-kit';

const header = (entity: RosterEntity): string => ONEROSTER_CSV_HEADERS[entity].join(',');

/** What `promise` rejects with (fails the test when it resolves). */
async function refusal(t: Test, promise: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string; details?: Record<string, unknown> };
  }
  t.fail('expected a refusal');
  return { message: '' };
}

/** Opens `location` with `limits` and reads all of `entity`. */
async function read(t: Test, location: string, entity: RosterEntity, limits: CsvPackageLimits, maxIssuesPerCode?: number) {
  const pkg = await openCsvPackage(location, { limits, checkReferences: false });
  t.teardown(() => pkg.dispose());
  return readEntity(pkg, entity, maxIssuesPerCode === undefined ? {} : { maxIssuesPerCode });
}

const orgs = `${header('orgs')}\no1,,,Lincoln,district,,\n`;

t.test('a zip whose directory declares a file over the file cap is refused at open, naming the file and the cap', async (t) => {
  const zip = path.join(tempDir(t), 'big.zip');
  writeFileSync(zip, buildZip({ 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': orgs + 'o2,,,X,school,,\n'.repeat(200) }));
  const error = await refusal(t, openCsvPackage(zip, { limits: { maxFileBytes: 1000 } }));
  t.equal(error.code, 'CSV_PACKAGE_TOO_LARGE');
  t.match(error.message, /^orgs\.csv in .*big\.zip holds \d+ bytes, over the cap of 1000 bytes a file \(maxFileBytes\); the package is not read$/);
  t.match(error.details, { file: 'orgs.csv', cap: 'maxFileBytes', limit: 1000 });
});

t.test('a zip whose files add up past the package cap is refused at open, naming the cap', async (t) => {
  const zip = path.join(tempDir(t), 'many.zip');
  writeFileSync(zip, buildZip({ 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': orgs, 'junk.txt': 'j'.repeat(5000) }));
  const error = await refusal(t, openCsvPackage(zip, { limits: { maxPackageBytes: 4096 } }));
  t.equal(error.code, 'CSV_PACKAGE_TOO_LARGE');
  t.match(error.message, /many\.zip holds \d+ bytes in its 3 files, over the cap of 4096 bytes a package \(maxPackageBytes\)/);
  t.match(error.details, { cap: 'maxPackageBytes', limit: 4096 });
  const fine = await openCsvPackage(zip, { limits: { maxPackageBytes: 8192 } });
  await fine.dispose();
  t.pass('the same zip under a larger cap opens');
});

t.test('a folder with a file over the file cap is refused at open, by its size on disk', async (t) => {
  const dir = writePackage(t, { 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': orgs + 'o2,,,X,school,,\n'.repeat(200) });
  const error = await refusal(t, openCsvPackage(dir, { limits: { maxFileBytes: 1000 } }));
  t.equal(error.code, 'CSV_PACKAGE_TOO_LARGE');
  t.match(error.message, /^orgs\.csv in .* holds \d+ bytes, over the cap of 1000 bytes a file \(maxFileBytes\)/);
});

t.test('a zip entry that inflates to more than it declares is refused when read, having inflated little', async (t) => {
  const content = orgs + 'o2,,,X,school,,\n'.repeat(100_000);
  // The zip's headers say orgs.csv inflates to 100 bytes.
  const lying = buildZip({ 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': content }, { 'orgs.csv': 100 });
  const zip = path.join(tempDir(t), 'lying.zip');
  writeFileSync(zip, lying);
  const pkg = await openCsvPackage(zip, { limits: { maxFileBytes: 1000 } });
  t.teardown(() => pkg.dispose());
  const error = await refusal(t, readEntity(pkg, 'orgs'));
  t.ok(isRosterbridgeError(error), 'a coded error');
  const got = /orgs\.csv in .*lying\.zip cannot be read: too many bytes in the stream\. expected 100\. got at least (\d+)$/.exec(error.message);
  t.ok(got, error.message);
  t.ok(Number(got?.[1]) < 1024 * 1024, `it stopped within a megabyte of the ${content.length} bytes (${got?.[1]})`);
});

t.test("a file's bytes are counted as they come: past the cap the stream fails and its source is destroyed", async (t) => {
  let produced = 0;
  const source = new Readable({
    read() {
      produced += 1000;
      this.push(Buffer.alloc(1000, 0x61));
    },
  });
  const counted = countFileBytes(source, 'pkg.zip', 'users.csv', { maxFileBytes: 10_500 });
  let received = 0;
  const error = await refusal(
    t,
    (async () => {
      for await (const chunk of counted) received += (chunk as Buffer).length;
    })(),
  );
  t.equal(error.code, 'CSV_PACKAGE_TOO_LARGE');
  t.equal(error.message, 'users.csv in pkg.zip inflates past the cap of 10500 bytes a file (maxFileBytes), more than it declares; reading stopped');
  t.ok(received <= 10_500, `no byte past the cap was passed on (${received})`);
  t.ok(source.destroyed, 'the source stopped');
  t.ok(produced < 100_000, `the source was not read on (${produced} bytes)`);
});

t.test('rows and fields over their caps are rejected with issues naming file, line, column and cap', async (t) => {
  const users = [
    header('users'),
    'u1,,,true,o1,student,ann,,Ann,Lee,,,,,,,,',
    `u2,,,true,o1,student,bob,,${'B'.repeat(300)},Ray,,,,,,,,`,
    `u3,,,true,o1,student,cy,,Cy,Day,,,,,,,,${'p'.repeat(2000)}`,
    'u4,,,true,o1,student,dee,,Dee,Fox,,,,,,,,',
  ].join('\n');
  const dir = writePackage(t, { 'manifest.csv': manifestCsv({ users: 'bulk' }), 'users.csv': `${users}\n` });
  const result = await read(t, dir, 'users', { maxLineBytes: 1000, maxFieldBytes: 200 });
  t.same(
    result.records.map((r) => r.sourcedId),
    ['u1', 'u4'],
    'the rows within the caps are read',
  );
  t.same(
    result.issues.map((i) => [i.code, i.severity, i.file, i.line, i.column, i.field, i.sourcedId]),
    [
      ['CSV_FIELD_TOO_LONG', 'error', 'users.csv', 3, 9, 'givenName', 'u2'],
      ['CSV_ROW_TOO_LONG', 'error', 'users.csv', 4, undefined, undefined, 'u3'],
    ],
  );
  t.equal(
    result.issues[0]!.message,
    'users.csv line 3: field 9 is 300 bytes long, over the cap of 200 bytes a field (maxFieldBytes) (givenName); the row is rejected',
  );
  t.equal(
    result.issues[1]!.message,
    `users.csv line 4 is ${users.split('\n')[3]!.length + 1} bytes long, over the cap of 1000 bytes a row (maxLineBytes); the row is rejected`,
  );
  t.match(result.tally, { rowsRead: 4, recordsEmitted: 2, rowsRejected: 2, complete: true }, 'every row is accounted for, and the file is read whole');
});

t.test('a run of blank lines longer than a row may be ends the file: not read as complete', async (t) => {
  const dir = writePackage(t, { 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': `${orgs}${'\n'.repeat(3000)}o2,,,X,school,,\n` });
  const result = await read(t, dir, 'orgs', { maxLineBytes: 1000 });
  t.same(
    result.records.map((r) => r.sourcedId),
    ['o1'],
  );
  t.same(
    result.issues.map((i) => [i.code, i.line]),
    [['CSV_BLANK_LINES', 3]],
  );
  t.match(
    result.issues[0]!.message,
    /^orgs\.csv from line 3 on, more than 1000 bytes of blank lines \(the cap of a row, maxLineBytes\); the rest of the file is not read$/,
  );
  t.equal(result.tally.complete, false, 'what follows is unknown: nothing may be deleted on it');
});

t.test('maxIssuesPerCode lists the first issues of each code and counts the rest, exactly', async (t) => {
  // 3,000 enrollments: every row lacks its class, school and user (three FIELD_REQUIRED) and has a bad role.
  const rows = Array.from({ length: 3000 }, (_, i) => `e${i},,,,,,wizard,,,`);
  const dir = writePackage(t, { 'manifest.csv': manifestCsv({ enrollments: 'bulk' }), 'enrollments.csv': `${header('enrollments')}\n${rows.join('\n')}\n` });
  const all = await read(t, dir, 'enrollments', {});
  const perCode = (issues: { code: string }[]) => issues.reduce<Record<string, number>>((n, i) => ({ ...n, [i.code]: (n[i.code] ?? 0) + 1 }), {});
  t.same(perCode(all.issues), { FIELD_REQUIRED: 9000, BAD_VOCABULARY: 3000 }, 'uncapped, every issue is listed');
  const pkg = await openCsvPackage(dir, { checkReferences: false });
  t.teardown(() => pkg.dispose());
  const listed: Record<string, number> = {};
  const unlisted: Record<string, number> = {};
  let batches = 0;
  let rejectedIds = 0;
  for await (const batch of pkg.read('enrollments', { maxIssuesPerCode: 10, batchSize: 500 })) {
    batches++;
    rejectedIds += batch.rejectedIds.length;
    for (const issue of batch.issues) listed[issue.code] = (listed[issue.code] ?? 0) + 1;
    for (const tally of batch.unlistedIssues) {
      t.equal(tally.severity, 'error');
      unlisted[tally.code] = (unlisted[tally.code] ?? 0) + tally.count;
    }
  }
  t.same(listed, { FIELD_REQUIRED: 10, BAD_VOCABULARY: 10 }, 'ten of each code listed');
  t.same(unlisted, { FIELD_REQUIRED: 8990, BAD_VOCABULARY: 2990 }, 'the rest counted: listed + counted = every issue');
  t.equal(batches, 6, 'batches are cut by rejected rows when issues no longer fill them');
  t.equal(rejectedIds, 3000, 'every rejected row is named');
});

t.test('a zip of two million bad rows (about 44 KB) is read within seconds with issues capped', async (t) => {
  const rows = 2_000_000;
  const content = `${header('enrollments')}\n${'x,,,,,,,,,\n'.repeat(rows)}`;
  const zip = path.join(tempDir(t), 'hostile.zip');
  writeFileSync(zip, buildZip({ 'manifest.csv': manifestCsv({ enrollments: 'bulk' }), 'enrollments.csv': content }));
  const pkg: CsvPackage = await openCsvPackage(zip);
  t.teardown(() => pkg.dispose());
  const started = Date.now();
  const totals: Record<string, number> = {};
  let listed = 0;
  let batches = 0;
  const reading = pkg.read('enrollments', { maxIssuesPerCode: 1000 });
  for await (const batch of reading) {
    batches++;
    listed += batch.issues.length;
    for (const issue of batch.issues) totals[issue.code] = (totals[issue.code] ?? 0) + 1;
    for (const tally of batch.unlistedIssues) totals[tally.code] = (totals[tally.code] ?? 0) + tally.count;
  }
  const ms = Date.now() - started;
  t.comment(`2,000,000 bad rows from a zip of ${(await import('node:fs')).statSync(zip).size} bytes read in ${ms} ms, ${batches} batches`);
  // Each row lacks class, school, user and role (four FIELD_REQUIRED), and repeats the sourcedId x.
  t.same(totals, { FIELD_REQUIRED: 4 * rows, DUPLICATE_SOURCED_ID: rows - 1 }, 'every issue counted');
  t.equal(listed, 2000, 'a thousand of each code listed');
  t.match(reading.tally, { rowsRead: rows, rowsRejected: rows, complete: true });
  t.ok(ms < 60_000, `read within a minute even on a busy machine (${ms} ms)`);
});
