import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, buildZip, generateDistrict, startTestHost, writeOneRosterPackage, type TestHost } from '@rosterbridge/test-kit';

// Bounds on what a tenant's input can cost: a run stores the first issues of each code and counts
// the rest exactly; a package is refused past its inflated size; rows and fields past their caps
// are rejected; tenant files past their size and texts past their length are refused. Real host,
// real files, on PostgreSQL (DATABASE_URL) or the embedded database.

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const ADMIN = 'admin-token-bounds-0123456789';
const ENROLLMENTS_HEADER = 'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate';
const ROWS = 2_000_000;

/** A manifest declaring only `entities` bulk. */
function manifest(entities: string[]): string {
  const all = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics'];
  return (
    ['propertyName,value', 'manifest.version,1.0', 'oneroster.version,1.1', ...all.map((e) => `file.${e},${entities.includes(e) ? 'bulk' : 'absent'}`)].join(
      '\n',
    ) + '\n'
  );
}

let hostile: Buffer | undefined;

/** A zip whose enrollments.csv holds {@link ROWS} bad rows: each lacks class, school, user and role, and repeats the sourcedId `x` (built once). */
function hostileZip(): Buffer {
  hostile ??= buildZip({ 'manifest.csv': manifest(['enrollments']), 'enrollments.csv': `${ENROLLMENTS_HEADER}\n${'x,,,,,,,,,\n'.repeat(ROWS)}` });
  return hostile;
}

interface Setup {
  root: string;
  tenants: string;
  th: TestHost;
  api: <T = any>(route: string, method?: string) => Promise<{ status: number; body: T }>;
  sync: (tenant: string) => Promise<SyncRun>;
  issues: (runId: string) => Promise<
    {
      seq: number;
      code: string;
      severity: string;
      message: string;
      targetId?: string;
      file?: string;
      line?: number;
      column?: number;
      field?: string;
      sourcedId?: string;
    }[]
  >;
}

/** A host on a fresh database over the tenants `write` puts in place, torn down with the test. */
async function setUp(t: Test, write: (root: string, tenants: string) => Promise<void> | void, env: NodeJS.ProcessEnv = {}): Promise<Setup> {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-bounds-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await write(root, tenants);
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }], env });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const api = async (route: string, method = 'GET') => {
    const res = await fetch(th.host.url + route, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  return {
    root,
    tenants,
    th,
    api,
    sync: async (tenant) => th.host.syncs.settled((await th.host.syncs.trigger(tenant, { mode: 'full', trigger: 'test' })).id),
    issues: async (runId) => {
      const all = [];
      for (let after = 0; ;) {
        const page = (await api(`/runs/${runId}/issues?limit=1000&after=${after}`)).body as { issues: any[]; next: number | null };
        all.push(...page.issues);
        if (page.next === null) return all;
        after = page.next;
      }
    },
  };
}

const tenantFile = (location: string, targets: unknown[] = [{ id: 'memo' }]) =>
  JSON.stringify({ displayName: 'Bounds', timezone: 'UTC', source: { id: 'oneroster-csv', settings: { location } }, targets });

/** Per code and severity, how many of `issues` there are. */
function tally(issues: readonly { code: string; severity: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of issues) out[`${i.code} ${i.severity}`] = (out[`${i.code} ${i.severity}`] ?? 0) + 1;
  return out;
}

t.test('a 44 KB zip of two million bad rows ends within seconds, its stored issues bounded and its counts exact', async (t) => {
  const s = await setUp(t, (root, tenants) => {
    writeFileSync(path.join(root, 'hostile.zip'), hostileZip());
    writeFileSync(path.join(tenants, 'bomb.json'), tenantFile('../hostile.zip'));
  });
  const size = statSync(path.join(s.root, 'hostile.zip')).size;
  const started = Date.now();
  const run = await s.sync('bomb');
  const ms = Date.now() - started;
  t.comment(
    `${ROWS} bad rows (${size} bytes zipped, ${ROWS * 11 + ENROLLMENTS_HEADER.length + 1} inflated), ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'}: run ${run.status} in ${ms} ms`,
  );
  t.ok(size < 50_000, `the zip is small (${size} bytes)`);
  t.ok(ms < 120_000, `the run ended within two minutes even on a busy machine (${ms} ms)`);
  t.equal(run.status, 'partial', run.reason ?? 'the run is partial');
  t.equal(run.errorCode, 'RECORDS_REJECTED');
  t.match(run.counts.source.enrollments, { read: ROWS, rejected: ROWS, created: 0 });

  // The oracle: every row has four FIELD_REQUIRED errors, every row but the first a DUPLICATE_SOURCED_ID.
  const errors = 4 * ROWS + (ROWS - 1);
  const fresh = (await s.api<SyncRun>(`/runs/${run.id}`)).body;
  t.equal(fresh.counts.issues.errors, errors, 'counts.issues.errors counts every error found, stored or not');
  const stored = await s.issues(run.id);
  t.same(
    tally(stored),
    { 'FIELD_REQUIRED error': 1000, 'DUPLICATE_SOURCED_ID error': 1000, 'ISSUES_NOT_STORED warning': 2 },
    'the first thousand of each code are stored, and a summary per code',
  );
  t.same(
    fresh.counts.issues,
    {
      errors,
      warnings: 2,
      notStored: { errors: errors - 2000, warnings: 0, byCode: { DUPLICATE_SOURCED_ID: ROWS - 1 - 1000, FIELD_REQUIRED: 4 * ROWS - 1000 } },
    },
    'the counts say how many were not stored, per code',
  );
  const storedErrors = stored.filter((i) => i.severity === 'error').length;
  const storedWarnings = stored.filter((i) => i.severity === 'warning').length;
  t.equal(storedErrors + fresh.counts.issues.notStored!.errors, fresh.counts.issues.errors, 'stored errors + errors not stored = counts.issues.errors');
  t.equal(
    storedWarnings + fresh.counts.issues.notStored!.warnings,
    fresh.counts.issues.warnings,
    'stored warnings + warnings not stored = counts.issues.warnings',
  );
  const summaries = stored
    .filter((i) => i.code === 'ISSUES_NOT_STORED')
    .map((i) => i.message)
    .sort();
  t.same(summaries, [
    `${ROWS - 1 - 1000} more DUPLICATE_SOURCED_ID errors from the source were counted but not stored: a run stores the first 1000 issues of each code (sync.maxIssuesPerCode); the run's counts include them all`,
    `${4 * ROWS - 1000} more FIELD_REQUIRED errors from the source were counted but not stored: a run stores the first 1000 issues of each code (sync.maxIssuesPerCode); the run's counts include them all`,
  ]);
  t.same(
    stored
      .filter((i) => i.code === 'FIELD_REQUIRED')
      .slice(0, 4)
      .map((i) => [i.line, i.field, i.file]),
    [
      [2, 'classSourcedId', 'enrollments.csv'],
      [2, 'schoolSourcedId', 'enrollments.csv'],
      [2, 'userSourcedId', 'enrollments.csv'],
      [2, 'role', 'enrollments.csv'],
    ],
    'the stored ones are the first found, with their file, line and field',
  );
});

t.test("targets' issues are capped per code too; the counts equal an uncapped run's, exactly", async (t) => {
  // KyberGate rejects users with a duplicate or missing e-mail: many errors of one code from a target.
  const roster = generateDistrict({ seed: 8117, size: 'tiny', faults: { duplicateEmails: 12, missingEmails: 12 } });
  const write = async (root: string, tenants: string) => {
    await writeOneRosterPackage(roster, path.join(root, 'package'));
    writeFileSync(path.join(tenants, 'dup.json'), tenantFile('../package', [{ id: 'memo' }, { id: 'kybergate' }]));
  };
  const full = await setUp(t, write);
  const reference = await full.sync('dup');
  const all = await full.issues(reference.id);
  const perTargetCode = tally(all.map((i) => ({ code: `${i.targetId ?? 'source'} ${i.code}`, severity: i.severity })));
  t.ok(
    Object.values(perTargetCode).some((n) => n > 3),
    `some code of the target has more than 3 issues: ${JSON.stringify(perTargetCode)}`,
  );
  t.equal(reference.counts.issues.notStored, undefined, 'under the default cap everything is stored');

  const capped = await setUp(t, write, { RB_SYNC_MAX_ISSUES_PER_CODE: '3' });
  const run = await capped.sync('dup');
  const stored = await capped.issues(run.id);
  t.equal(run.status, reference.status);
  t.same(run.counts.source, reference.counts.source, 'the source counts are the same');
  t.same(run.counts.targets, reference.counts.targets, 'the target counts are the same');
  t.equal(run.counts.issues.errors, reference.counts.issues.errors, 'as many errors counted as the uncapped run stored');
  const summaries = stored.filter((i) => i.code === 'ISSUES_NOT_STORED');
  t.equal(run.counts.issues.warnings - summaries.length, reference.counts.issues.warnings, 'as many warnings, besides the summaries');
  const kept = tally(stored.filter((i) => i.code !== 'ISSUES_NOT_STORED').map((i) => ({ code: `${i.targetId ?? 'source'} ${i.code}`, severity: i.severity })));
  for (const [key, n] of Object.entries(perTargetCode)) t.equal(kept[key], Math.min(n, 3), `${key}: ${Math.min(n, 3)} of ${n} stored`);
  const notStored: Record<string, number> = {};
  for (const [key, n] of Object.entries(perTargetCode)) if (n > 3) notStored[key.split(' ')[1]!] = (notStored[key.split(' ')[1]!] ?? 0) + n - 3;
  t.same(run.counts.issues.notStored?.byCode, notStored, 'the counts name what was not stored, per code');
  t.equal(summaries.length, Object.values(perTargetCode).filter((n) => n > 3).length, 'one summary per producer and code');
  const first = (list: typeof all, key: string) =>
    list
      .filter((i) => `${i.targetId ?? 'source'} ${i.code} ${i.severity}` === key)
      .slice(0, 3)
      .map((i) => `${i.sourcedId} ${i.message}`);
  for (const key of Object.keys(perTargetCode)) t.same(first(stored, key), first(all, key), `${key}: the stored ones are the first the uncapped run found`);
  const memo = async (h: Setup) =>
    Number(
      (
        await h.th.host.database.db
          .withSchema('plugin_target_memo')
          .selectFrom('record')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  t.equal(await memo(capped), await memo(full), 'and the product holds the same');
});

t.test('a package past its inflated-size caps is refused before it is read, naming the file and the cap', async (t) => {
  const s = await setUp(
    t,
    (root, tenants) => {
      writeFileSync(path.join(root, 'hostile.zip'), hostileZip());
      writeFileSync(path.join(tenants, 'bomb.json'), tenantFile('../hostile.zip'));
      writeFileSync(
        path.join(root, 'lying.zip'),
        buildZip(
          { 'manifest.csv': manifest(['enrollments']), 'enrollments.csv': `${ENROLLMENTS_HEADER}\n${'x,,,,,,,,,\n'.repeat(ROWS)}` },
          { 'enrollments.csv': 50_000 },
        ),
      );
      writeFileSync(path.join(tenants, 'liar.json'), tenantFile('../lying.zip'));
    },
    { RB_SOURCE_MAX_FILE_BYTES: '1000000' },
  );
  const started = Date.now();
  const run = await s.sync('bomb');
  t.equal(run.status, 'failed');
  t.equal(run.errorCode, 'CSV_PACKAGE_TOO_LARGE');
  t.match(
    run.errorMessage,
    /^enrollments\.csv in .*hostile\.zip holds 22000\d+ bytes, over the cap of 1000000 bytes a file \(maxFileBytes\); the package is not read$/,
  );
  t.ok(Date.now() - started < 30_000, `refused at once (${Date.now() - started} ms)`);
  const check = await s.api(`/tenants/bomb/source/check`, 'POST');
  t.match(check.body, { ok: false, message: /over the cap of 1000000 bytes a file \(maxFileBytes\)/ }, 'the connection check says so too');

  // A zip that declares 50,000 bytes but inflates to 22 MB is refused as it inflates, not read on.
  const lied = await s.sync('liar');
  t.equal(lied.status, 'failed');
  t.match(lied.errorMessage, /enrollments\.csv in .*lying\.zip cannot be read: too many bytes in the stream\. expected 50000/);
  t.ok((lied.counts.source.enrollments?.read ?? 0) < 10_000, `it stopped at the lie, a few rows in (${lied.counts.source.enrollments?.read ?? 0} of ${ROWS})`);
});

t.test('a package over the package cap is refused naming the cap', async (t) => {
  const s = await setUp(
    t,
    (root, tenants) => {
      writeFileSync(path.join(root, 'hostile.zip'), hostileZip());
      writeFileSync(path.join(tenants, 'bomb.json'), tenantFile('../hostile.zip'));
    },
    { RB_SOURCE_MAX_PACKAGE_BYTES: '20000000' },
  );
  const run = await s.sync('bomb');
  t.equal(run.errorCode, 'CSV_PACKAGE_TOO_LARGE');
  t.match(run.errorMessage, /hostile\.zip holds \d+ bytes in its 2 files, over the cap of 20000000 bytes a package \(maxPackageBytes\)/);
});

t.test('a zip of nothing but line breaks is refused at once, not read to its end', async (t) => {
  // 64 MB of line breaks (a 64 KB zip), as enrollments.csv with and without a header.
  const blank = Buffer.alloc(64 * 1024 * 1024, 0x0a);
  const s = await setUp(t, (root, tenants) => {
    writeFileSync(path.join(root, 'blank.zip'), buildZip({ 'manifest.csv': manifest(['enrollments']), 'enrollments.csv': blank }));
    writeFileSync(path.join(tenants, 'blank.json'), tenantFile('../blank.zip'));
    writeFileSync(
      path.join(root, 'headed.zip'),
      buildZip({ 'manifest.csv': manifest(['enrollments']), 'enrollments.csv': Buffer.concat([Buffer.from(`${ENROLLMENTS_HEADER}\n`), blank]) }),
    );
    writeFileSync(path.join(tenants, 'headed.json'), tenantFile('../headed.zip'));
  });
  let started = Date.now();
  const run = await s.sync('blank');
  t.comment(`all blank: ${run.status} ${run.errorCode} in ${Date.now() - started} ms`);
  t.ok(Date.now() - started < 30_000, `ended within seconds (${Date.now() - started} ms)`);
  t.equal(run.errorCode, 'CSV_BAD_HEADER');
  t.match(run.errorMessage, /enrollments\.csv: the header row is not valid CSV: from line 1 on, more than 1000000 bytes of blank lines/);
  started = Date.now();
  const headed = await s.sync('headed');
  t.comment(`header, then blank: ${headed.status} ${headed.errorCode} in ${Date.now() - started} ms`);
  t.ok(Date.now() - started < 30_000, `ended within seconds (${Date.now() - started} ms)`);
  t.equal(headed.status, 'failed', 'a file whose end was never reached is no snapshot');
  t.equal(headed.errorCode, 'SOURCE_INCOMPLETE');
  const stored = await s.issues(headed.id);
  t.match(stored, [{ code: 'CSV_BLANK_LINES', severity: 'error', file: 'enrollments.csv', line: 2 }]);
});

t.test('rows and fields past their caps are rejected with issues naming file, line and cap; the rest is synced', async (t) => {
  const roster = generateDistrict({ seed: 8118, size: 'tiny' });
  let users: string[] = [];
  const s = await setUp(
    t,
    async (root, tenants) => {
      await writeOneRosterPackage(roster, path.join(root, 'package'));
      const file = path.join(root, 'package', 'users.csv');
      users = readFileSync(file, 'utf8').split('\n');
      const header = users[0]!.split(',');
      // Line 2: a givenName of 500 bytes; line 3: a row of 3,000 bytes (its familyName).
      users[1] = users[1]!
        .split(',')
        .map((v, i) => (header[i] === 'givenName' ? 'G'.repeat(500) : v))
        .join(',');
      users[2] = users[2]!
        .split(',')
        .map((v, i) => (header[i] === 'familyName' ? 'F'.repeat(3000) : v))
        .join(',');
      writeFileSync(file, users.join('\n'));
      writeFileSync(path.join(tenants, 'caps.json'), tenantFile('../package'));
    },
    { RB_SOURCE_MAX_LINE_BYTES: '2000', RB_SOURCE_MAX_FIELD_BYTES: '300' },
  );
  const run = await s.sync('caps');
  const stored = await s.issues(run.id);
  const [field, row] = [stored.find((i) => i.code === 'CSV_FIELD_TOO_LONG'), stored.find((i) => i.code === 'CSV_ROW_TOO_LONG')];
  t.match(field, { severity: 'error', file: 'users.csv', line: 2, field: 'givenName', sourcedId: users[1]!.split(',')[0] });
  t.match(
    field?.message,
    /^users\.csv line 2: field \d+ is 500 bytes long, over the cap of 300 bytes a field \(maxFieldBytes\) \(givenName\); the row is rejected$/,
  );
  t.match(row, { severity: 'error', file: 'users.csv', line: 3, sourcedId: users[2]!.split(',')[0] });
  t.match(row?.message, /^users\.csv line 3 is \d+ bytes long, over the cap of 2000 bytes a row \(maxLineBytes\); the row is rejected$/);
  const userCount = [...roster.records('users')].length;
  t.match(run.counts.source.users, { read: userCount, rejected: 2, created: userCount - 2 });
  const memoUsers = Number(
    (
      await s.th.host.database.db
        .withSchema('plugin_target_memo')
        .selectFrom('record')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('entity', '=', 'users')
        .executeTakeFirstOrThrow()
    ).n,
  );
  t.equal(memoUsers, userCount - 2, 'every other user reached the product');
});

t.test('a tenant file past its size cap, or with a text past its length, is refused naming the file, the key and the cap', async (t) => {
  const s = await setUp(
    t,
    (root, tenants) => {
      writeFileSync(path.join(tenants, 'huge.json'), JSON.stringify({ displayName: 'D'.repeat(50 * 1024 * 1024), timezone: 'UTC' }));
      writeFileSync(path.join(tenants, 'padded.json'), JSON.stringify({ displayName: 'Padded', timezone: 'UTC', $schema: 'p'.repeat(3000) }));
      writeFileSync(
        path.join(tenants, 'named.json'),
        JSON.stringify({ displayName: 'N'.repeat(201), timezone: 'UTC', contacts: [`${'a'.repeat(300)}@example.org`] }),
      );
      writeFileSync(path.join(tenants, 'fine.json'), JSON.stringify({ displayName: 'N'.repeat(200), timezone: 'UTC' }));
    },
    { RB_TENANTS_MAX_FILE_BYTES: String(4 * 1024 * 1024) },
  );
  const huge = await s.api('/tenants/huge');
  t.match(huge.body, {
    status: 'invalid',
    problems: [
      { key: '(file)', message: 'is larger than the cap of 4194304 bytes a tenant file (tenants.maxFileBytes, env RB_TENANTS_MAX_FILE_BYTES); it is not read' },
    ],
  });
  t.ok(JSON.stringify(huge.body).length < 1000, 'nothing of the file is served');
  const padded = await s.api('/tenants/padded');
  t.match(padded.body, { status: 'invalid', problems: [{ key: '$schema', message: 'must NOT have more than 2048 characters' }] });
  const named = await s.api('/tenants/named');
  t.equal(named.body.status, 'invalid');
  const problem = (key: string) => (named.body.problems as { key: string; message: string }[]).find((p) => p.key === key)?.message;
  t.equal(problem('displayName'), 'must NOT have more than 200 characters', 'displayName is named');
  t.equal(problem('contacts[0]'), 'must NOT have more than 254 characters', 'so is a contact too long');
  t.equal((await s.api('/tenants/fine')).body.status, 'valid', 'a displayName of 200 characters is fine');
  const list = await s.api('/tenants');
  t.ok(JSON.stringify(list.body).length < 10_000, `the tenant list serves none of the oversized texts (${JSON.stringify(list.body).length} bytes)`);
});
