import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { csvLine, generateDistrict, oneRosterCsvRow, writeCsvFile, writeOneRosterPackage } from '@rosterbridge/test-kit';

// The headers as the OneRoster 1.1 CSV specification writes them (copied from the spec, not from the code).
const SPEC_HEADERS: Record<RosterEntity, string> = {
  orgs: 'sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId',
  academicSessions: 'sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear',
  courses: 'sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes',
  classes:
    'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
  users:
    'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password',
  enrollments: 'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
  demographics:
    'sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus',
};

const scratch = mkdtempSync(join(tmpdir(), 'rb-generator-csv-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const folder = (): string => join(scratch, `package-${++folders}`);

/** A CSV file's rows by header, each with every column (csv-parse refuses a row of another length); `Column` names those a test reads. */
const readRows = <Column extends string = string>(path: string): Record<Column, string>[] =>
  parse(readFileSync(path), { columns: true, bom: true, relax_column_count: false });
type UserColumn =
  | 'sourcedId'
  | 'enabledUser'
  | 'role'
  | 'username'
  | 'givenName'
  | 'familyName'
  | 'middleName'
  | 'email'
  | 'orgSourcedIds'
  | 'agentSourcedIds'
  | 'grades'
  | 'userIds';

t.test('bulk package: exact 1.1 headers, manifest, CRLF, blank status and dates', async (t) => {
  const district = generateDistrict({ seed: 42, size: 'tiny', faults: 'all' });
  const dir = folder();
  const summary = await writeOneRosterPackage(district, dir);
  t.same(readdirSync(dir).sort(), ['manifest.csv', ...ROSTER_ENTITY_ORDER.map((e) => `${e}.csv`)].sort());
  for (const entity of ROSTER_ENTITY_ORDER) {
    const text = readFileSync(join(dir, `${entity}.csv`), 'utf8');
    t.equal(text.slice(0, text.indexOf('\r\n')), SPEC_HEADERS[entity], `${entity}.csv header`);
    t.notOk(/[^\r]\n/.test(text), `${entity}.csv ends every line with CRLF`);
    const rows = readRows(join(dir, `${entity}.csv`));
    t.equal(rows.length, district.counts[entity], `${entity}.csv rows`);
    t.equal(summary.rows[entity], district.counts[entity]);
    t.ok(
      rows.every((row) => row.status === '' && row.dateLastModified === ''),
      `${entity}.csv: bulk rows leave status and dateLastModified blank`,
    );
  }
  t.equal(
    readFileSync(join(dir, 'manifest.csv'), 'utf8'),
    [
      'propertyName,value',
      'manifest.version,1.0',
      'oneroster.version,1.1',
      'file.academicSessions,bulk',
      'file.categories,absent',
      'file.classes,bulk',
      'file.classResources,absent',
      'file.courses,bulk',
      'file.courseResources,absent',
      'file.demographics,bulk',
      'file.enrollments,bulk',
      'file.lineItems,absent',
      'file.orgs,bulk',
      'file.resources,absent',
      'file.results,absent',
      'file.users,bulk',
      'source.systemName,Rosterbridge district generator',
      'source.systemCode,rosterbridge-test-kit',
      '',
    ].join('\r\n'),
  );
});

t.test('rows carry the canonical records through an independent RFC 4180 parser', async (t) => {
  const district = generateDistrict({ seed: 4, size: 'small', faults: 'all' });
  const dir = folder();
  await writeOneRosterPackage(district, dir);
  const users = readRows<UserColumn>(join(dir, 'users.csv'));
  const split = (text: string): string[] => (text === '' ? [] : text.split(','));
  let i = 0;
  let mismatch: { row: number; actual: unknown; expected: unknown } | undefined;
  for (const user of district.records('users')) {
    const row = users[i++];
    if (!row) break;
    const expected = {
      sourcedId: user.sourcedId,
      enabledUser: String(user.enabledUser),
      role: user.role,
      username: user.username,
      givenName: user.givenName,
      familyName: user.familyName,
      middleName: user.middleName ?? '',
      email: user.email ?? '',
      orgSourcedIds: user.orgSourcedIds,
      agentSourcedIds: user.agentSourcedIds,
      grades: user.grades,
      userIds: user.userIds.map((id) => `{${id.type}:${id.identifier}}`),
    };
    const actual = {
      sourcedId: row.sourcedId,
      enabledUser: row.enabledUser,
      role: row.role,
      username: row.username,
      givenName: row.givenName,
      familyName: row.familyName,
      middleName: row.middleName,
      email: row.email,
      orgSourcedIds: split(row.orgSourcedIds),
      agentSourcedIds: split(row.agentSourcedIds),
      grades: split(row.grades),
      userIds: row.userIds === '' ? [] : row.userIds.split(/,(?=\{)/),
    };
    mismatch ??= JSON.stringify(actual) !== JSON.stringify(expected) ? { row: i, actual, expected } : undefined;
  }
  t.equal(i, users.length, 'a row per user');
  t.equal(mismatch, undefined, 'every user row matches its record');
  t.ok(
    users.some((u) => /[^\x00-\x7f]/.test(u.familyName)),
    'UTF-8 names survive',
  );
  t.ok(
    users.some((u) => u.familyName.includes("'")),
    'apostrophes survive',
  );
  t.ok(
    users.some((u) => u.agentSourcedIds.includes(',')),
    'multi-value fields are quoted lists',
  );
  const classes = readRows<'title' | 'grades' | 'termSourcedIds' | 'periods'>(join(dir, 'classes.csv'));
  t.equal(classes.length, [...district.records('classes')].length, 'a row per class');
  let c = 0;
  for (const rosterClass of district.records('classes')) {
    const row = classes[c++]!; // as many rows as classes
    t.equal(row.title, rosterClass.title);
    t.same(split(row.grades), rosterClass.grades);
    t.same(split(row.termSourcedIds), rosterClass.termSourcedIds);
    t.same(split(row.periods), rosterClass.periods);
  }
  t.ok(
    classes.some((row) => row.title.includes(',')),
    'titles with commas survive',
  );
  const enrollments = readRows<'role' | 'primary'>(join(dir, 'enrollments.csv'));
  const teachers = enrollments.filter((e) => e.role === 'teacher');
  const students = enrollments.filter((e) => e.role === 'student');
  t.ok(teachers.length > 0 && students.length > 0, `teacher and student enrollments (${teachers.length}, ${students.length})`);
  t.ok(
    teachers.every((e) => e.primary === 'true' || e.primary === 'false'),
    'a teacher enrollment says whether it is primary',
  );
  t.ok(
    students.every((e) => e.primary === ''),
    'a student enrollment leaves primary blank',
  );
  const demographics = readRows<'birthDate' | 'white'>(join(dir, 'demographics.csv'));
  t.ok(demographics.length > 0, `demographics rows (${demographics.length})`);
  t.ok(demographics.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.birthDate) && ['true', 'false'].includes(d.white)));
});

t.test('csvLine quotes exactly what RFC 4180 requires', async (t) => {
  const fields = ['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', ' padded ', '', 'Nguyễn'];
  const line = csvLine(fields);
  t.equal(line, 'plain,"a,b","say ""hi""","two\nlines","cr\rhere", padded ,,Nguyễn\r\n');
  t.same(parse(line), [fields]);
});

t.test('delta rows carry status and dateLastModified', async (t) => {
  const district = generateDistrict({ seed: 1, size: 'tiny' });
  const org = district.org(1);
  const row = oneRosterCsvRow('orgs', { ...org, status: 'tobedeleted' }, 'delta');
  t.same(row.slice(0, 3), [org.sourcedId, 'tobedeleted', org.dateLastModified!.toISOString()]);
  t.same(oneRosterCsvRow('orgs', org, 'bulk').slice(0, 3), [org.sourcedId, '', '']);
});

t.test('same seed, byte-identical package; another seed, another package', async (t) => {
  const write = async (seed: number): Promise<string> => {
    const dir = folder();
    await writeOneRosterPackage(generateDistrict({ seed, size: 'small', faults: 'all' }), dir);
    return dir;
  };
  const [a, b, c] = [await write(42), await write(42), await write(43)];
  for (const file of readdirSync(a)) {
    t.ok(readFileSync(join(a, file)).equals(readFileSync(join(b, file))), `${file} identical`);
  }
  for (const entity of ['orgs', 'users', 'enrollments', 'demographics']) {
    t.notOk(readFileSync(join(a, `${entity}.csv`)).equals(readFileSync(join(c, `${entity}.csv`))), `${entity}.csv differs for another seed`);
  }
});

t.test('files without rows are absent, and stale files of an earlier package go', async (t) => {
  const dir = folder();
  await writeOneRosterPackage(generateDistrict({ seed: 2, size: 'tiny' }), dir);
  t.ok(existsSync(join(dir, 'demographics.csv')));
  writeFileSync(join(dir, 'results.csv'), 'stale');
  writeFileSync(join(dir, 'notes.txt'), 'not ours');
  const summary = await writeOneRosterPackage(generateDistrict({ seed: 2, size: 'tiny', demographics: false }), dir);
  t.notOk(existsSync(join(dir, 'demographics.csv')), 'no demographics.csv');
  t.notOk(existsSync(join(dir, 'results.csv')), 'stale OneRoster file removed');
  t.ok(existsSync(join(dir, 'notes.txt')), 'other files left alone');
  t.equal(summary.rows.demographics, 0);
  t.match(readFileSync(join(dir, 'manifest.csv'), 'utf8'), /file\.demographics,absent\r\n/);
  const only = await writeOneRosterPackage(generateDistrict({ seed: 2, size: 'tiny' }), folder(), { entities: ['orgs', 'users'] });
  t.same(
    only.manifest.filter(([, v]) => v === 'bulk').map(([k]) => k),
    ['file.orgs', 'file.users'],
  );
});

t.test('writeCsvFile streams a large async source to disk', async (t) => {
  const path = join(scratch, 'big.csv');
  async function* rows(): AsyncGenerator<string[]> {
    for (let i = 0; i < 300_000; i++) yield [`id-${i}`, i % 7 === 0 ? 'with, comma' : 'plain'];
  }
  const count = await writeCsvFile(path, ['id', 'value'], rows());
  t.equal(count, 300_000);
  const lines = readFileSync(path, 'utf8').split('\r\n');
  t.equal(lines.length, 300_002, 'header, rows and the final empty split');
  t.equal(lines[300_000], 'id-299999,"with, comma"', '299999 is a multiple of 7');
  t.equal(lines[299_999], 'id-299998,plain');
  t.equal(lines[1], 'id-0,"with, comma"');
  await t.rejects(writeCsvFile(join(scratch, 'missing-dir', 'x.csv'), ['id'], [['1']]), { code: 'ENOENT' });
});

const hasZip = spawnSync('which', ['zip']).status === 0;
t.test('zip option writes a reproducible zip with the files at its root', { skip: hasZip ? false : 'no zip command' }, async (t) => {
  const base = join(scratch, 'zipped');
  const one = await writeOneRosterPackage(generateDistrict({ seed: 6, size: 'tiny' }), join(base, 'a'), { zip: true });
  const two = await writeOneRosterPackage(generateDistrict({ seed: 6, size: 'tiny' }), join(base, 'b'), { zip: true });
  t.equal(one.zipFile, join(base, 'a.zip'));
  t.ok(readFileSync(one.zipFile!).equals(readFileSync(two.zipFile!)), 'byte-identical zips');
  const listing = execFileSync('unzip', ['-Z1', one.zipFile!], { encoding: 'utf8' }).trim().split('\n').sort();
  t.same(listing, ['manifest.csv', ...ROSTER_ENTITY_ORDER.map((e) => `${e}.csv`)].sort());
});
