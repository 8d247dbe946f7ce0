import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { ROSTER_ENTITY_ORDER, type SyncRun, type User } from '@rosterbridge/core';
import { FIXTURES_DIR, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// A run says what happened: for every status (success, partial, failed, held), its counts of
// issues are the issues it stored, and its counts per entity are what the product holds.

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const ADMIN = 'admin-token-report-0123456789';
const base = generateDistrict({ seed: 9111, size: 'tiny' });
const users = [...base.records('users')] as User[];

t.test('counts and issues agree for success, partial, failed and held runs', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-report-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  for (const [id, thresholds] of [
    ['stone', undefined],
    ['holt', { maxDeletePercent: 0, maxChangePercent: 100 }],
  ] as const) {
    await writeOneRosterPackage(base, path.join(root, id));
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'UTC',
        source: { id: 'oneroster-csv', settings: { location: `../${id}` } },
        targets: [{ id: 'memo' }],
        ...(thresholds ? { thresholds } : {}),
      }),
    );
  }
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const sync = async (tenant: string): Promise<SyncRun> => host.syncs.settled((await host.syncs.trigger(tenant, { mode: 'full', trigger: 'test' })).id);
  const memoRows = async (tenant: string, entity: string) =>
    Number(
      (
        await host.database.db
          .withSchema('plugin_target_memo')
          .selectFrom('record')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('tenant_id', '=', tenant)
          .where('entity', '=', entity)
          .executeTakeFirstOrThrow()
      ).n,
    );
  /** The run's counts of issues are those it stored; returns them. */
  const truthful = async (t: Test, run: SyncRun) => {
    const stored = await host.runs.issues(run.id, { limit: 10_000 });
    const fresh = (await host.runs.get(run.id))!;
    t.same(
      fresh.counts.issues,
      { errors: stored.filter((i) => i.severity === 'error').length, warnings: stored.filter((i) => i.severity === 'warning').length },
      `${run.status}: counts.issues are the issues stored`,
    );
    return stored;
  };
  const usersFile = (tenant: string) => path.join(root, tenant, 'users.csv');
  const header = readFileSync(usersFile('stone'), 'utf8').split('\n')[0]!.split(',');

  await t.test('success: a first sync with a tombstone of a record never synced', async (t) => {
    // A bulk file may carry status; a record marked tobedeleted that was never synced is skipped, with a warning.
    const row = header.map(
      (h) =>
        ({ sourcedId: 'usr-never-synced', status: 'tobedeleted', enabledUser: 'true', role: 'student', username: 'ghost', givenName: 'G', familyName: 'Host' })[
          h
        ] ?? '',
    );
    appendFileSync(usersFile('stone'), `${row.join(',')}\n`);
    const run = await sync('stone');
    t.equal(
      run.status,
      'success',
      `${run.reason ?? ''} ${JSON.stringify((await host.runs.issues(run.id, { severity: 'error', limit: 5 })).map((i) => i.message))}`,
    );
    t.match(
      run.counts.source.users,
      { read: users.length + 1, created: users.length, unchanged: 0, skipped: 1 },
      'the tombstone counts as skipped, not unchanged',
    );
    const stored = await truthful(t, run);
    t.match(
      stored.filter((i) => i.code === 'TOBEDELETED_UNKNOWN'),
      [{ severity: 'warning', entity: 'users', sourcedId: 'usr-never-synced' }],
      'one warning names the tombstone',
    );
    for (const entity of ROSTER_ENTITY_ORDER) {
      const rows = await memoRows('stone', entity);
      t.equal(run.counts.targets.memo?.entities[entity]?.created ?? 0, rows, `${entity}: the target's count is what it holds`);
      t.equal(run.counts.source[entity]?.created, rows, `${entity}: the source's count is what the target holds`);
    }
  });

  await t.test('partial: a rejected row', async (t) => {
    const lines = readFileSync(usersFile('stone'), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith(`${users[0]!.sourcedId},`));
    lines[at] = lines[at]!.split(',')
      .map((v, i) => (header[i] === 'role' ? 'wizard' : v))
      .join(',');
    writeFileSync(usersFile('stone'), lines.join('\n'));
    const run = await sync('stone');
    t.equal(run.status, 'partial');
    t.equal(run.errorCode, 'RECORDS_REJECTED');
    const stored = await truthful(t, run);
    t.ok(
      stored.some((i) => i.severity === 'error'),
      'the error is stored',
    );
    t.equal(await memoRows('stone', 'users'), users.length, 'the target still holds every user');
  });

  await t.test('failed: a file that cannot be read to its end', async (t) => {
    const enrollments = path.join(root, 'stone', 'enrollments.csv');
    appendFileSync(enrollments, 'enr-broken,,,"unclosed,quote\n');
    const run = await sync('stone');
    t.equal(run.status, 'failed', `${run.errorCode}: ${run.errorMessage}`);
    const stored = await truthful(t, run);
    t.ok(run.counts.issues.errors > 0 && stored.some((i) => i.code === 'CSV_MALFORMED_ROW'), 'the failed run counts the errors it stored');
    t.ok((run.counts.source.users?.read ?? 0) > 0, 'what was read before the failure is on record');
    t.equal(await memoRows('stone', 'enrollments'), base.counts.enrollments, 'nothing was deleted');
  });

  await t.test('held, then approved', async (t) => {
    const first = await sync('holt');
    t.equal(first.status, 'success');
    const lines = readFileSync(usersFile('holt'), 'utf8').split('\n');
    writeFileSync(usersFile('holt'), lines.filter((l) => !l.startsWith(`${users[1]!.sourcedId},`)).join('\n'));
    const held = await sync('holt');
    t.equal(held.status, 'held', held.reason ?? 'the run is held');
    await truthful(t, held);
    t.equal(await memoRows('holt', 'users'), users.length, 'a held run changes no product');
    await host.syncs.approve(held.id, 'test');
    const approved = await host.syncs.settled(held.id);
    t.equal(approved.status, 'success');
    await truthful(t, approved);
    t.equal(await memoRows('holt', 'users'), users.length - 1, 'approved, the user is gone');
    t.equal(approved.counts.targets.memo?.entities.users?.deleted, 1, 'and counted');
  });
});
