import { createWriteStream } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { isRosterbridgeError } from '@rosterbridge/core';
import { ONEROSTER_CSV_HEADERS, openCsvPackage } from '@rosterbridge/oneroster-csv';
import { manifestCsv, readEntity, where, writePackage } from './csv-package-kit';

const ORGS_HEADER = ONEROSTER_CSV_HEADERS.orgs.join(',');

async function openOrgs(t: Test, orgsCsv: string | Buffer) {
  const pkg = await openCsvPackage(writePackage(t, { 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': orgsCsv }));
  t.teardown(() => pkg.dispose());
  return pkg;
}

t.test('a file with a UTF-8 BOM and CRLF line endings parses, with the right line numbers', async (t) => {
  const pkg = await openOrgs(t, '\uFEFF' + [ORGS_HEADER, 'o1,,,Lincoln High,school,,', 'o2,,,Adams,school,,o9', ''].join('\r\n'));
  t.same(await pkg.check(), [], 'the BOM is not part of the first header column');
  const { records, issues, tally } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => [org.sourcedId, org.name]),
    [
      ['o1', 'Lincoln High'],
      ['o2', 'Adams'],
    ],
    'no BOM in the sourcedId, no CR in the last column',
  );
  t.same(where(issues), ['orgs.csv:3:REFERENCE_UNRESOLVED']);
  t.same([tally.rowsRead, tally.recordsEmitted, tally.complete], [2, 2, true]);
});

t.test('a UTF-16LE file (as some spreadsheets save) reads, with the right line numbers', async (t) => {
  const text = [ORGS_HEADER, 'o1,,,"Lincoln\r\nHigh",school,,', 'o2,,,Adams,skool,,', ''].join('\r\n');
  const pkg = await openOrgs(t, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  const { records, issues } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => [org.sourcedId, org.name]),
    [['o1', 'Lincoln\nHigh']],
  );
  t.same(where(issues), ['orgs.csv:4:BAD_VOCABULARY'], 'o2 starts on line 4, after the two lines of o1');
});

t.test('quoted fields keep embedded commas, line breaks and doubled quotes; lines stay right after them', async (t) => {
  const pkg = await openOrgs(
    t,
    [
      ORGS_HEADER,
      'o1,,,"Lincoln ""Lions"", North\r\nCampus",school,,',
      'o2,,,Adams,skool,,',
      '"o3",,,"Line 1\nLine 2\nLine 3","district",,""',
      'o4,,,Kennedy,schoool,,',
    ].join('\r\n'),
  );
  const { records, issues, tally } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => [org.sourcedId, org.name, org.type]),
    [
      ['o1', 'Lincoln "Lions", North\nCampus', 'school'],
      ['o3', 'Line 1\nLine 2\nLine 3', 'district'],
    ],
  );
  t.same(
    issues.map((issue) => [issue.code, issue.line, issue.column, issue.sourcedId]),
    [
      ['BAD_VOCABULARY', 4, 5, 'o2'],
      ['BAD_VOCABULARY', 8, 5, 'o4'],
    ],
    'o2 starts on line 4 (o1 spans 2–3), o4 on line 8 (o3 spans 5–7)',
  );
  t.same([tally.rowsRead, tally.recordsEmitted, tally.rowsRejected], [4, 2, 2]);
});

t.test('rows of the wrong width are rejected; blank trailing fields are tolerated', async (t) => {
  const pkg = await openOrgs(t, [ORGS_HEADER, 'o1,,,A,school', 'o2,,,B,school,,,', 'o3,,,C,school,,,x', 'o4,,,D,school,,'].join('\n'));
  const { records, issues, tally } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => org.sourcedId),
    ['o2', 'o4'],
  );
  t.same(where(issues), ['orgs.csv:2:CSV_COLUMN_COUNT', 'orgs.csv:4:CSV_COLUMN_COUNT']);
  t.match(issues[0]!.message, /has 5 fields but the header has 7 columns/);
  t.same([tally.rowsRead, tally.rowsRejected, tally.complete], [4, 2, true]);
});

t.test('malformed CSV is reported by line, good rows still come, and the file is not complete', async (t) => {
  const pkg = await openOrgs(t, [ORGS_HEADER, 'o1,,,A,school,,', 'o2,,,B"ad,school,,', 'o3,,,C,school,,', 'o4,,,"D"x,school,,', 'o5,,,E,school,,'].join('\n'));
  const { records, issues, tally } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => org.sourcedId),
    ['o1', 'o3'],
    'rows the parser can still see come through',
  );
  t.same(where(issues).slice(0, 2), ['orgs.csv:3:CSV_MALFORMED_ROW', 'orgs.csv:5:CSV_MALFORMED_ROW']);
  t.match(issues[1]!.message, /rows after line 4 up to here may be lost, so orgs\.csv is not read as complete/);
  t.equal(tally.recordsEmitted + tally.rowsRejected, tally.rowsRead);
  t.equal(tally.complete, false, 'rows swallowed by a stray quote cannot be ruled out');
});

t.test('bytes that are not UTF-8 are reported; the row is kept', async (t) => {
  const latin1 = Buffer.concat([Buffer.from(`${ORGS_HEADER}\no1,,,Ecole `), Buffer.from([0xc9, 0x74, 0xe9]), Buffer.from(',school,,\n')]);
  const pkg = await openOrgs(t, latin1);
  const { records, issues } = await readEntity(pkg, 'orgs');
  t.equal(records.length, 1);
  t.same(
    issues.map((issue) => [issue.code, issue.severity, issue.line, issue.column]),
    [['CSV_ENCODING', 'warning', 2, 4]],
  );
});

t.test('a large file streams in batches of the requested size and can be cancelled mid-file', async (t) => {
  const rows = 20_000;
  const dir = writePackage(t, { 'manifest.csv': manifestCsv({ enrollments: 'bulk' }) });
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(path.join(dir, 'enrollments.csv'));
    out.on('error', reject).on('finish', resolve);
    out.write(ONEROSTER_CSV_HEADERS.enrollments.join(',') + '\r\n');
    for (let i = 0; i < rows; i++) out.write(`e${i},,,c${i % 40},s1,u${i},student,false,2024-09-01,2025-06-15\r\n`);
    out.end();
  });
  const pkg = await openCsvPackage(dir);
  t.teardown(() => pkg.dispose());
  const all = await readEntity(pkg, 'enrollments', { batchSize: 1000 });
  t.equal(all.batchSizes.length, 20);
  t.ok(all.batchSizes.every((size) => size === 1000));
  t.same([all.tally.rowsRead, all.tally.recordsEmitted, all.tally.complete], [rows, rows, true]);

  const controller = new AbortController();
  const reading = pkg.read('enrollments', { batchSize: 500, signal: controller.signal });
  const seen: number[] = [];
  const error = await (async () => {
    try {
      for await (const batch of reading) {
        seen.push(batch.records.length);
        controller.abort(new Error('operator cancelled the run'));
      }
    } catch (thrown) {
      return thrown;
    }
    return undefined;
  })();
  t.ok(isRosterbridgeError(error, 'CANCELLED'), 'cancelling throws CANCELLED');
  t.same(seen, [500], 'no batch after the abort');
  t.equal(reading.tally.rowsRead, 500, 'the first batch came after reading 500 rows, not the whole file');
  t.equal(reading.tally.complete, false);
});

t.test('an already aborted signal stops the read before it opens anything', async (t) => {
  const pkg = await openOrgs(t, `${ORGS_HEADER}\no1,,,A,school,,\n`);
  const error = await readEntity(pkg, 'orgs', { signal: AbortSignal.abort() }).catch((thrown: unknown) => thrown);
  t.ok(isRosterbridgeError(error, 'CANCELLED'));
});

t.test('a header that differs only in case or blanks is refused with a message that says so', async (t) => {
  const pkg = await openCsvPackage(
    writePackage(t, {
      'manifest.csv': manifestCsv({ orgs: 'bulk', users: 'bulk' }),
      'orgs.csv': 'sourcedId,status,dateLastModified,Name,type,identifier,parentSourcedId\n',
      'users.csv': `${ONEROSTER_CSV_HEADERS.users.join(',').replace('role,', 'role ,')}\n`,
    }),
  );
  t.teardown(() => pkg.dispose());
  const issues = await pkg.check();
  t.same(where(issues), ['orgs.csv:1:CSV_BAD_HEADER', 'users.csv:1:CSV_BAD_HEADER']);
  t.match(issues[0]!.message, /column 4 is "Name", expected 'name' \(headers are case-sensitive\)/);
  t.match(issues[1]!.message, /column 6 is "role ", expected 'role' without surrounding blanks/);
});

t.test('an empty file is refused for want of a header', async (t) => {
  const pkg = await openOrgs(t, '');
  const [issue] = await pkg.check();
  t.match(issue, { code: 'CSV_BAD_HEADER', file: 'orgs.csv', message: /orgs\.csv is empty/ });
  const error = await readEntity(pkg, 'orgs').catch((thrown: unknown) => thrown);
  t.ok(isRosterbridgeError(error, 'CSV_BAD_HEADER'));
});

t.test('a header in the wrong order, or missing a required column, is refused naming the column', async (t) => {
  const pkg = await openCsvPackage(
    writePackage(t, {
      'manifest.csv': manifestCsv({ orgs: 'bulk', courses: 'bulk' }),
      // name and type swapped
      'orgs.csv': 'sourcedId,status,dateLastModified,type,name,identifier,parentSourcedId\nd1,,,district,Lincoln,,\n',
      // the required title column left out
      'courses.csv': `${ONEROSTER_CSV_HEADERS.courses.filter((c) => c !== 'title').join(',')}\n`,
    }),
  );
  t.teardown(() => pkg.dispose());
  const issues = await pkg.check();
  t.same(where(issues).sort(), ['courses.csv:1:CSV_BAD_HEADER', 'orgs.csv:1:CSV_BAD_HEADER']);
  const orgs = issues.find((i) => i.file === 'orgs.csv')!;
  t.match(orgs.message, /column 4 is 'type', expected 'name' \('type' belongs in column 5\)/);
  const courses = issues.find((i) => i.file === 'courses.csv')!;
  const titleColumn = ONEROSTER_CSV_HEADERS.courses.indexOf('title') + 1;
  t.match(courses.message, new RegExp(`column ${titleColumn} is '[^']+', expected 'title'`));
  const error = await readEntity(pkg, 'orgs').catch((thrown: unknown) => thrown);
  t.ok(isRosterbridgeError(error, 'CSV_BAD_HEADER'), 'reading the file is refused, not half-read');
});
