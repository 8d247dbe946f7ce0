import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { FIXTURES_DIR, sharedFixtures, startTestHost } from '@rosterbridge/test-kit';

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = path.resolve(__dirname, '../../plugins');
const OWN = path.join(FIXTURES_DIR, 'oneroster-csv');
const corpus = sharedFixtures();

/** A clean package and a 1.0-style one: ours, and the corpus's where it is present. */
const PACKAGES = [
  { name: 'clean-full', tenant: 'own-clean', nonconformant: 'own-v1p0', skip: false as const },
  { name: 'roster-hub-en (shared corpus)', tenant: 'hub-en', nonconformant: 'nonconformant', skip: corpus.skip },
];

/** Data rows of a CSV file counted independently of the reader (fixtures have no embedded newlines in quotes). */
function dataRows(file: string): number {
  return (
    readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '').length - 1
  );
}

/** The folder a tenant reads. */
const LOCATIONS: Record<string, () => string> = {
  'own-clean': () => path.join(OWN, 'clean-full'),
  'own-v1p0': () => path.join(OWN, 'v1p0-style'),
  'hub-en': () => corpus.path('oneroster-csv/roster-hub-en'),
  nonconformant: () => corpus.path('oneroster-csv/nonconformant-v1p0-style'),
};

/** Tenant files whose source is a fixture package (by absolute path; the corpus's only where it is present) or a path that does not exist. */
function tenantsDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-csv-tenants-'));
  const tenant = (id: string, timezone: string, location: string) =>
    writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ displayName: id, timezone, source: { id: 'oneroster-csv', settings: { location } } }));
  tenant('own-clean', 'America/Los_Angeles', LOCATIONS['own-clean']!());
  tenant('own-v1p0', 'Europe/Amsterdam', LOCATIONS['own-v1p0']!());
  if (corpus.dir !== undefined) {
    tenant('hub-en', 'Asia/Tokyo', LOCATIONS['hub-en']!());
    tenant('nonconformant', 'Europe/Paris', LOCATIONS['nonconformant']!());
  }
  tenant('missing', 'America/New_York', '/nonexistent/drop/oneroster.zip');
  return dir;
}

t.test('the CSV source plugin through a running host', async (t) => {
  const th = await startTestHost({
    pluginDirs: [PLUGINS],
    tenantsDir: tenantsDir(),
    tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }],
  });
  t.teardown(() => th.stop());
  const { host } = th;
  const post = async (url: string) => {
    const res = await fetch(host.url + url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  t.equal(host.plugins.get('source-oneroster-csv')?.state, 'inactive', 'not activated before a tenant needs it');

  await t.test('connection check of a clean package activates the plugin and answers ok', async (t) => {
    const r = await post('/tenants/own-clean/source/check');
    t.equal(r.status, 200);
    t.equal(r.body.ok, true, JSON.stringify(r.body));
    t.equal(host.plugins.get('source-oneroster-csv')?.state, 'active');
    t.equal(host.plugins.get('source-oneroster-csv')?.activation?.event, 'onSource:oneroster-csv');
  });

  for (const pkg of PACKAGES) {
    await t.test(`${pkg.name}: the connection check answers ok`, { skip: pkg.skip }, async (t) => {
      const r = await post(`/tenants/${pkg.tenant}/source/check`);
      t.equal(r.status, 200);
      t.equal(r.body.ok, true, JSON.stringify(r.body));
    });

    await t.test(`${pkg.name}: a 1.0-style package is refused naming the header`, { skip: pkg.skip }, async (t) => {
      const r = await post(`/tenants/${pkg.nonconformant}/source/check`);
      t.equal(r.body.ok, false);
      t.equal(r.body.code, 'SOURCE_INVALID');
      t.match(r.body.message, /users\.csv/);
      t.ok(
        r.body.issues.some((i: any) => i.code === 'CSV_BAD_HEADER' && i.file === 'users.csv'),
        JSON.stringify(r.body.issues),
      );
    });
  }

  await t.test('a package that is not there is a failed check naming the path', async (t) => {
    const r = await post('/tenants/missing/source/check');
    t.equal(r.status, 200);
    t.equal(r.body.ok, false);
    t.match(r.body.message, /\/nonexistent\/drop\/oneroster\.zip/);
  });

  for (const pkg of PACKAGES) {
    await t.test(`${pkg.name}: a full read yields every row of every file, none rejected`, { skip: pkg.skip }, async (t) => {
      const session = await host.sourceSessions.open(pkg.tenant);
      t.teardown(() => session.dispose());
      const dir = LOCATIONS[pkg.tenant]!();
      const files = new Set(readdirSync(dir));
      t.same(
        session.capabilities.entities,
        ROSTER_ENTITY_ORDER.filter((e) => files.has(`${e}.csv`)),
      );
      for (const entity of session.capabilities.entities) {
        let records = 0;
        let rows = 0;
        const errors = [];
        for await (const batch of session.read(entity, { mode: 'full', batchSize: 100, signal: new AbortController().signal })) {
          records += batch.records.length;
          rows += batch.rowsRead;
          errors.push(...batch.issues.filter((i) => i.severity === 'error'));
        }
        const expected = dataRows(path.join(dir, `${entity}.csv`));
        t.equal(records, expected, `${entity}: every row became a record`);
        t.equal(rows, expected, `${entity}: every row accounted for`);
        t.same(errors, [], `${entity}: no errors`);
      }
    });
  }

  await t.test('an unknown token is refused', async (t) => {
    const r = await fetch(`${host.url}/tenants/own-clean/source/check`, { method: 'POST', headers: { authorization: 'Bearer nope-nope-nope-nope' } });
    t.equal(r.status, 401);
  });
});
