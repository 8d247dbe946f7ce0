import { rmSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { isRosterbridgeError } from '@rosterbridge/core';
import { CsvIssueCodes, ONEROSTER_CSV_HEADERS, openCsvPackage } from '@rosterbridge/oneroster-csv';
import { manifestCsv, readEntity, where, writePackage } from './csv-package-kit';

const header = (entity: keyof typeof ONEROSTER_CSV_HEADERS, ...extensions: string[]): string => [...ONEROSTER_CSV_HEADERS[entity], ...extensions].join(',');

async function open(t: Test, files: Record<string, string>, options = {}) {
  const pkg = await openCsvPackage(writePackage(t, files), options);
  t.teardown(() => pkg.dispose());
  return pkg;
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

t.test('a package that is not OneRoster 1.1 is refused as a whole', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'bulk' }).replace('oneroster.version,1.1', 'oneroster.version,1.2'),
    'orgs.csv': `${header('orgs')}\no1,,,A,school,,\n`,
  });
  t.same(where(await pkg.check()), ['manifest.csv:3:CSV_UNSUPPORTED_VERSION']);
  t.ok(isRosterbridgeError(await thrown(readEntity(pkg, 'orgs')), 'CSV_UNSUPPORTED_VERSION'));
});

t.test('a manifest without its header, or without oneroster.version, is refused', async (t) => {
  const noHeader = await open(t, { 'manifest.csv': 'file.orgs,bulk\n', 'orgs.csv': `${header('orgs')}\n` });
  t.same(where(await noHeader.check()), ['manifest.csv:1:CSV_MANIFEST_INVALID']);
  t.ok(isRosterbridgeError(await thrown(readEntity(noHeader, 'orgs')), 'CSV_MANIFEST_INVALID'));
  const noVersion = await open(t, { 'manifest.csv': manifestCsv({}).replace('oneroster.version,1.1\n', '') });
  t.match(await noVersion.check(), [{ code: 'CSV_MANIFEST_INVALID', message: /does not give oneroster\.version/ }]);
});

t.test('manifest modes: a bad mode refuses only its file; a case slip is a warning', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'Bulk', users: 'full' }),
    'orgs.csv': `${header('orgs')}\no1,,,A,school,,\n`,
    'users.csv': `${header('users')}\n`,
  });
  t.same(
    (await pkg.check()).map((issue) => [issue.code, issue.severity, issue.entity, issue.line]),
    [
      ['VOCABULARY_CASE', 'warning', 'orgs', 4],
      ['CSV_MANIFEST_INVALID', 'error', 'users', 8],
    ],
  );
  t.equal(pkg.modeOf('orgs'), 'bulk');
  t.equal((await readEntity(pkg, 'orgs')).records.length, 1);
  const error = await thrown(readEntity(pkg, 'users'));
  t.ok(isRosterbridgeError(error, 'CSV_MANIFEST_INVALID'));
  t.match(error, { message: /file\.users is 'full'; it must be bulk, delta or absent/ });
});

t.test('declared files must be there; files not declared are ignored with a warning', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'bulk', users: 'bulk' }, ['file.results,bulk', 'source.systemName,PowerSchool']),
    'orgs.csv': `${header('orgs')}\no1,,,A,school,,\n`,
    'classes.csv': `${header('classes')}\n`,
    'roles.csv': 'sourcedId\n',
    'notes.txt': 'not a csv',
  });
  t.same(
    (await pkg.check()).map((issue) => [issue.code, issue.severity, issue.file]),
    [
      ['CSV_FILE_NOT_SUPPORTED', 'warning', 'manifest.csv'],
      ['CSV_FILE_MISSING', 'error', 'users.csv'],
      ['CSV_FILE_IGNORED', 'warning', 'classes.csv'],
      ['CSV_FILE_IGNORED', 'warning', 'roles.csv'],
    ],
  );
  t.equal(pkg.manifest.sourceSystemName, 'PowerSchool');
  t.ok(isRosterbridgeError(await thrown(readEntity(pkg, 'users')), 'CSV_FILE_MISSING'));
  const classes = await readEntity(pkg, 'classes');
  t.same([classes.records, classes.tally.mode, classes.tally.complete], [[], 'absent', true], 'an absent file yields nothing');
});

t.test('delta files require status and dateLastModified; tobedeleted comes through', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'delta' }),
    'orgs.csv': [
      header('orgs'),
      'o1,active,2024-09-01T10:00:00Z,A,school,,',
      'o2,tobedeleted,2024-09-01T10:00:00.000Z,B,school,,',
      'o3,,2024-09-01T10:00:00Z,C,school,,',
      'o4,active,,D,school,,',
    ].join('\n'),
  });
  const { records, issues, tally } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => [org.sourcedId, org.status, org.dateLastModified?.toISOString()]),
    [
      ['o1', 'active', '2024-09-01T10:00:00.000Z'],
      ['o2', 'tobedeleted', '2024-09-01T10:00:00.000Z'],
    ],
  );
  t.same(
    issues.map((issue) => [issue.code, issue.line, issue.field, issue.column]),
    [
      ['FIELD_REQUIRED', 4, 'status', 2],
      ['FIELD_REQUIRED', 5, 'dateLastModified', 3],
    ],
  );
  t.same([tally.mode, tally.rowsRejected], ['delta', 2]);
});

t.test('bulk files: status and dateLastModified are expected blank; a file with no rows should be absent', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'bulk', users: 'bulk' }),
    'orgs.csv': [header('orgs'), 'o1,,,A,school,,', 'o2,active,,B,school,,', 'o3,active,,C,school,,'].join('\n'),
    'users.csv': `${header('users')}\n`,
  });
  const orgs = await readEntity(pkg, 'orgs');
  t.equal(orgs.records.length, 3);
  t.same(
    orgs.issues.map((issue) => [issue.code, issue.line, issue.field]),
    [['CSV_BULK_CHANGE_FIELD', 3, 'status']],
  );
  t.match(orgs.issues[0]!.message, /status is filled on 2 rows of orgs\.csv \(first on line 3\)/);
  const users = await readEntity(pkg, 'users');
  t.same(where(users.issues), ['users.csv:undefined:CSV_EMPTY_FILE']);
  t.equal(users.tally.complete, true);
});

t.test('a sourcedId used twice: the later row is rejected', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'bulk' }),
    'orgs.csv': [header('orgs'), 'o1,,,A,school,,', 'o2,,,B,school,,', ' o1 ,,,A again,school,,'].join('\n'),
  });
  const { records, issues } = await readEntity(pkg, 'orgs');
  t.same(
    records.map((org) => org.name),
    ['A', 'B'],
  );
  t.same(
    issues.map((issue) => [issue.code, issue.severity, issue.line, issue.sourcedId]),
    [['DUPLICATE_SOURCED_ID', 'error', 4, 'o1']],
  );
});

t.test('extension columns are kept in metadata, by name', async (t) => {
  const pkg = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'bulk' }),
    'orgs.csv': [header('orgs', 'metadata.ncesId', 'ext_district_code'), 'o1,,,A,school,,,0612345,D-7', 'o2,,,B,school,,,,'].join('\n'),
  });
  const { records, issues } = await readEntity(pkg, 'orgs');
  t.same(issues, []);
  t.same(
    records.map((org) => org.metadata),
    [{ ncesId: '0612345', ext_district_code: 'D-7' }, {}],
  );
});

t.test('references are checked against bulk files only, and can be switched off', async (t) => {
  const files = {
    'orgs.csv': [header('orgs'), 'sch1,,,School,school,,'].join('\n'),
    'academicSessions.csv': [header('academicSessions'), 'as1,,,Fall,term,2024-08-01,2024-12-20,,2025'].join('\n'),
    'courses.csv': [header('courses'), 'c1,,,,Algebra,,,sch1,,'].join('\n'),
    'classes.csv': [header('classes'), 'k1,,,Algebra 1,,c1,,scheduled,,sch1,as1,,,', 'k2,,,Algebra 2,,c9,,scheduled,,sch1,"as1,as9",,,'].join('\n'),
  };
  const bulk = await open(t, { 'manifest.csv': manifestCsv({ orgs: 'bulk', academicSessions: 'bulk', courses: 'bulk', classes: 'bulk' }), ...files });
  const checked = await readEntity(bulk, 'classes');
  t.equal(checked.records.length, 2, 'records with dangling references are kept');
  t.same(
    checked.issues.map((issue) => [issue.code, issue.severity, issue.line, issue.column, issue.field, issue.sourcedId]),
    [
      ['REFERENCE_UNRESOLVED', 'warning', 3, 6, 'courseSourcedId', 'k2'],
      ['REFERENCE_UNRESOLVED', 'warning', 3, 11, 'termSourcedIds', 'k2'],
    ],
  );

  const delta = await open(t, {
    'manifest.csv': manifestCsv({ orgs: 'bulk', academicSessions: 'bulk', courses: 'delta', classes: 'bulk' }),
    ...files,
    'courses.csv': files['courses.csv'].replace('c1,,,', 'c1,active,2024-09-01T00:00:00Z,'),
  });
  t.same(
    where((await readEntity(delta, 'classes')).issues),
    ['classes.csv:3:REFERENCE_UNRESOLVED'],
    'courses sent as a delta are not a full list: only the term is checked',
  );

  const unchecked = await open(
    t,
    { 'manifest.csv': manifestCsv({ orgs: 'bulk', academicSessions: 'bulk', courses: 'bulk', classes: 'bulk' }), ...files },
    { checkReferences: false },
  );
  t.same((await readEntity(unchecked, 'classes')).issues, []);
});

t.test('a reading is iterated once; batch sizes are validated', async (t) => {
  const pkg = await open(t, { 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': `${header('orgs')}\no1,,,A,school,,\n` });
  const reading = pkg.read('orgs');
  for await (const batch of reading) t.equal(batch.records.length, 1);
  t.throws(() => reading[Symbol.asyncIterator](), TypeError);
  t.throws(() => pkg.read('orgs', { batchSize: 0 }), RangeError);
  t.throws(() => pkg.read('roles' as 'orgs'), TypeError);
});

t.test('every CSV issue code has a severity and a title', async (t) => {
  for (const [code, { severity, title }] of Object.entries(CsvIssueCodes)) {
    t.match(code, /^CSV_[A-Z_]+$/);
    t.ok(severity === 'error' || severity === 'warning', code);
    t.ok(title.length > 10, code);
  }
});

t.test('a fingerprint changes with any byte or with the settings, and a file gone names itself', async (t) => {
  const files = { 'manifest.csv': manifestCsv({ orgs: 'bulk' }), 'orgs.csv': `${header('orgs')}\no1,,,A,school,,\n` };
  const dir = writePackage(t, files);
  const fingerprint = async (location: string, options = {}) => {
    const pkg = await openCsvPackage(location, options);
    try {
      return await pkg.fingerprint();
    } finally {
      await pkg.dispose();
    }
  };
  const first = await fingerprint(dir);
  t.equal(await fingerprint(dir), first, 'the same bytes, the same fingerprint');
  t.not(await fingerprint(writePackage(t, { ...files, 'orgs.csv': `${header('orgs')}\no1,,,B,school,,\n` })), first, 'one byte changed');
  t.not(await fingerprint(dir, { checkReferences: false }), first, 'a setting that shapes the records changed');
  t.not(await fingerprint(dir, { limits: { maxLineBytes: 500 } }), first, 'a cap on rows shapes the records');
  t.not(await fingerprint(dir, { limits: { maxFieldBytes: 50 } }), first, 'so does a cap on fields');
  t.equal(
    await fingerprint(dir, { limits: { maxLineBytes: 1_000_000, maxFieldBytes: 100_000, maxFileBytes: 1000 } }),
    first,
    'the default caps given, and a size cap, change nothing',
  );

  const pkg = await openCsvPackage(dir);
  t.teardown(() => pkg.dispose());
  rmSync(path.join(dir, 'orgs.csv'));
  const error = await thrown(pkg.fingerprint());
  t.ok(isRosterbridgeError(error, 'CSV_PACKAGE_UNREADABLE'), 'a coded error');
  t.match((error as Error).message, /orgs\.csv cannot be read to fingerprint the package/, 'naming the file');
});
