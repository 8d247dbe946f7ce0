import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { isRosterbridgeError, ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { openCsvPackage, type CsvPackage } from '@rosterbridge/oneroster-csv';
import { buildZip, FIXTURES, ownPackage, readEntity, SHARED, sharedPackage, tempDir, where } from './csv-package-kit';

const hasZipCommand = (() => {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function readPackage(pkg: CsvPackage) {
  const result: Record<string, unknown> = { check: await pkg.check() };
  for (const entity of ROSTER_ENTITY_ORDER) {
    try {
      result[entity] = await readEntity(pkg, entity, { batchSize: 5 });
    } catch (error) {
      result[entity] = isRosterbridgeError(error) ? error.toJSON() : error;
    }
  }
  return result;
}

async function readLocation(t: Test, location: string) {
  const pkg = await openCsvPackage(location);
  t.teardown(() => pkg.dispose());
  return readPackage(pkg);
}

const withoutLocation = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v) => (key === 'location' ? undefined : v)));

const PACKAGES = [
  ...['clean-full', 'clean-minimal', 'with-errors', 'v1p0-style'].map(ownPackage),
  ...['roster-hub-en', 'roster-hub-ja', 'moodle-minimal', 'moodle-full-with-errors', 'nonconformant-v1p0-style'].map(sharedPackage),
];

for (const fixture of PACKAGES) {
  t.test(`${fixture.name} zipped with the zip command reads the same as the folder`, { skip: hasZipCommand ? fixture.skip : 'no zip command' }, async (t) => {
    const folder = fixture.folder();
    const zip = path.join(tempDir(t), `${path.basename(folder)}.zip`);
    execFileSync('zip', ['-q', '-j', zip, ...readdirSync(folder).map((name) => path.join(folder, name))]);
    t.same(withoutLocation(await readLocation(t, zip)), withoutLocation(await readLocation(t, folder)));
  });
}

t.test('a zip built without the zip command (deflated, a BOM, CRLF, UTF-8) reads the same as the folder', async (t) => {
  const folder = path.join(FIXTURES, 'clean-full');
  const files = Object.fromEntries(readdirSync(folder).map((name) => [name, readFileSync(path.join(folder, name))]));
  const zip = path.join(tempDir(t), 'clean-full.zip');
  writeFileSync(zip, buildZip(files));
  const fromZip = await readLocation(t, zip);
  t.same(withoutLocation(fromZip), withoutLocation(await readLocation(t, folder)));
  t.equal((fromZip['users'] as { records: unknown[] }).records.length, 11);
  t.match((fromZip['users'] as { records: unknown[] }).records[2], { givenName: '恵子' });
});

t.test('roster-hub-ja zipped without the zip command (deflated, UTF-8) reads the same as the folder', { skip: SHARED.skip }, async (t) => {
  const folder = SHARED.path('oneroster-csv', 'roster-hub-ja');
  const files = Object.fromEntries(readdirSync(folder).map((name) => [name, readFileSync(path.join(folder, name))]));
  const zip = path.join(tempDir(t), 'ja.zip');
  writeFileSync(zip, buildZip(files));
  const fromZip = await readLocation(t, zip);
  t.same(withoutLocation(fromZip), withoutLocation(await readLocation(t, folder)));
  t.equal((fromZip['users'] as { records: unknown[] }).records.length, 20);
});

t.test('a zip of a folder (files under one directory) is read from that folder, with a warning', async (t) => {
  const folder = path.join(FIXTURES, 'clean-minimal');
  const files = Object.fromEntries(readdirSync(folder).map((name) => [`clean-minimal/${name}`, readFileSync(path.join(folder, name))]));
  const zip = path.join(tempDir(t), 'nested.zip');
  writeFileSync(zip, buildZip({ ...files, '__MACOSX/clean-minimal/._manifest.csv': 'junk' }));
  const fromZip = await readLocation(t, zip);
  const fromFolder = await readLocation(t, folder);
  const check = fromZip['check'] as { code: string }[];
  t.same(
    check.map((issue) => issue.code),
    ['CSV_PACKAGE_NESTED', 'CSV_MANIFEST_UNKNOWN_PROPERTY', 'CSV_MANIFEST_FILE_UNLISTED'],
  );
  const entities: RosterEntity[] = ['orgs', 'academicSessions', 'classes', 'users', 'enrollments'];
  for (const entity of entities) t.same(fromZip[entity], fromFolder[entity], entity);
});

t.test('a package that cannot be opened throws CSV_PACKAGE_UNREADABLE', async (t) => {
  const dir = tempDir(t);
  const notZip = path.join(dir, 'roster.zip');
  writeFileSync(notZip, 'sourcedId,status\n');
  for (const location of [notZip, path.join(dir, 'nothing-here.zip')]) {
    const error = await openCsvPackage(location).catch((thrown: unknown) => thrown);
    t.ok(isRosterbridgeError(error, 'CSV_PACKAGE_UNREADABLE'), location);
    t.match(error, { details: { location } });
  }
});

t.test('a zip without manifest.csv is refused: check reports it, read throws it', async (t) => {
  const zip = path.join(tempDir(t), 'no-manifest.zip');
  writeFileSync(zip, buildZip({ 'orgs.csv': 'sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,A,school,,\n' }));
  const pkg = await openCsvPackage(zip);
  t.teardown(() => pkg.dispose());
  t.same(where(await pkg.check()), ['undefined:undefined:CSV_MANIFEST_MISSING']);
  const error = await readEntity(pkg, 'orgs').catch((thrown: unknown) => thrown);
  t.ok(isRosterbridgeError(error, 'CSV_MANIFEST_MISSING'));
});
