import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import type { SyncRun, User } from '@rosterbridge/core';
import { FIXTURES_DIR, type TestHost, createTestHostState, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// Deletion only on evidence, through a real host and the OneRoster CSV source: a rejected row keeps
// its record in every product; a rejected row without a readable sourcedId holds the entity's
// deletions back; a target enabled again after deletions converges to the snapshot.

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const ADMIN = 'admin-token-evidence-0123456789';
const TARGETS = ['memo', 'kybergate'] as const;

const base = generateDistrict({ seed: 9105, size: 'tiny' });
const students = ([...base.records('users')] as User[]).filter((u) => u.role === 'student' && u.email);
const enrolledStudent = students.find((u) => [...base.records('enrollments')].some((e) => e.userSourcedId === u.sourcedId))!;

function writeTenant(dir: string, targets: readonly string[]): void {
  writeFileSync(
    path.join(dir, 'evans.json'),
    JSON.stringify({
      displayName: 'Evans',
      timezone: 'UTC',
      source: { id: 'oneroster-csv', settings: { location: '../package' } },
      targets: targets.map((id) => ({ id })),
    }),
  );
}

/** Rewrites the row of `sourcedId` in a CSV file of the package (the generated rows have no quoted fields). */
function editRow(file: string, sourcedId: string, edit: (fields: string[], header: string[]) => string | undefined): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = lines[0]!.split(',');
  const at = lines.findIndex((line) => line.startsWith(`${sourcedId},`));
  if (at < 1 || lines[at]!.includes('"')) throw new Error(`no plain row for ${sourcedId} in ${file}`);
  const replaced = edit(lines[at]!.split(','), header);
  if (replaced === undefined) lines.splice(at, 1);
  else lines[at] = replaced;
  writeFileSync(file, lines.join('\n'));
}

async function setUp(t: Test) {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-evidence-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const pkg = path.join(root, 'package');
  await writeOneRosterPackage(base, pkg);
  writeTenant(tenants, TARGETS);
  const state = await createTestHostState();
  let th: TestHost | undefined;
  const start = async () => {
    th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }], state });
    return th;
  };
  t.teardown(async () => {
    await th?.stop();
    await state.dispose();
    rmSync(root, { recursive: true, force: true });
  });
  await start();
  const host = () => th!.host;
  const sync = async (): Promise<SyncRun> => {
    const res = await fetch(`${host().url}/tenants/evans/syncs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'full' }),
    });
    const body = (await res.json()) as { id: string; error?: { message: string } };
    if (res.status !== 202) throw new Error(`trigger: ${res.status} ${body.error?.message}`);
    return host().syncs.settled(body.id);
  };
  const issues = (runId: string) => host().runs.issues(runId, { limit: 10_000 });
  const has = async (target: string, entity: string, sourcedId: string): Promise<boolean> => {
    const db = host().database.db;
    if (target === 'memo') {
      // memo keeps enrollments by their own sourcedId: a user's memberships are found by userSourcedId.
      const q = db.withSchema('plugin_target_memo').selectFrom('record').select('sourced_id').where('tenant_id', '=', 'evans').where('entity', '=', entity);
      return (
        (await (
          entity === 'enrollments' ? q.where(sql`record->>'userSourcedId'`, '=', sourcedId) : q.where('sourced_id', '=', sourcedId)
        ).executeTakeFirst()) !== undefined
      );
    }
    const table = entity === 'users' ? 'user_account' : 'classroom_member';
    const column = entity === 'users' ? 'sourced_id' : 'user_sourced_id';
    return (
      (await db
        .withSchema('plugin_target_kybergate')
        .selectFrom(table)
        .select('sourced_id')
        .where('tenant_id', '=', 'evans')
        .where(column, '=', sourcedId)
        .executeTakeFirst()) !== undefined
    );
  };
  /** The run's counts of issues are those it stored, and its users counts add up. */
  const truthful = async (t: Test, run: SyncRun) => {
    const stored = await issues(run.id);
    t.same(
      run.counts.issues,
      { errors: stored.filter((i) => i.severity === 'error').length, warnings: stored.filter((i) => i.severity === 'warning').length },
      'counts.issues are the issues stored',
    );
  };
  const restart = async (targets: readonly string[]) => {
    await th!.stop();
    th = undefined;
    writeTenant(tenants, targets);
    await start();
  };
  return { pkg, sync, issues, has, truthful, restart, host };
}

t.test('a rejected row keeps its record in every product; an unidentifiable one holds deletions back', async (t) => {
  const { pkg, sync, issues, has, truthful } = await setUp(t);
  const users = path.join(pkg, 'users.csv');
  const original = readFileSync(users, 'utf8');
  const first = await sync();
  t.equal(first.status, 'success', `first sync: ${first.reason ?? ''}`);
  const victim = enrolledStudent.sourcedId;
  for (const target of TARGETS) t.ok(await has(target, 'users', victim), `${target} holds ${victim} after the first sync`);

  const cases: [string, string, (fields: string[], header: string[]) => string][] = [
    ['a bad vocabulary value', 'BAD_VOCABULARY', (f, h) => f.map((v, i) => (h[i] === 'role' ? 'wizard' : v)).join(',')],
    ['a truncated line', 'CSV_COLUMN_COUNT', (f) => f.slice(0, 4).join(',')],
  ];
  for (const [what, code, edit] of cases) {
    await t.test(`${what}: the user stays, the run is partial, its issue says it was kept`, async (t) => {
      writeFileSync(users, original);
      editRow(users, victim, edit);
      const run = await sync();
      t.equal(run.status, 'partial', `${run.errorCode}: ${run.reason}`);
      t.match(run.counts.source.users, { rejected: 1, deleted: 0 }, 'one user rejected, none deleted');
      t.equal(run.counts.source.enrollments?.deleted, 0, 'no enrollment deleted');
      for (const target of TARGETS) {
        t.ok(await has(target, 'users', victim), `${target} still holds the user`);
        t.ok(await has(target, 'enrollments', victim), `${target} still holds the user's memberships`);
      }
      const issue = (await issues(run.id)).find((i) => i.sourcedId === victim && i.code === code);
      t.ok(issue, `an ${code} issue names ${victim}`);
      t.match(issue?.message, /^kept as last synced: /, 'the issue says the record was kept');
      t.equal(issue?.severity, 'error');
      await truthful(t, run);
    });
  }

  await t.test('a row whose sourcedId cannot be read: no user is deleted, a warning counts what was held back', async (t) => {
    writeFileSync(users, original);
    const gone = students.find((u) => u.sourcedId !== victim)!.sourcedId;
    editRow(users, victim, (f) => ['', ...f.slice(1)].join(','));
    editRow(users, gone, () => undefined);
    const run = await sync();
    t.equal(run.status, 'partial');
    t.match(run.counts.source.users, { rejected: 1, deleted: 0, heldBack: 2 }, 'the absent user and the unreadable row: two deletions held back');
    for (const target of TARGETS) for (const id of [victim, gone]) t.ok(await has(target, 'users', id), `${target} still holds ${id}`);
    const held = (await issues(run.id)).filter((i) => i.code === 'DELETIONS_HELD');
    t.equal(held.length, 1, 'one warning for the entity');
    t.match(held[0], { severity: 'warning', entity: 'users', message: /1 rejected row of users has no readable sourcedId.*2 records .* were kept/ });
    t.equal(run.counts.source.enrollments?.deleted, 0, 'the other entities delete nothing either: none is absent');
    await truthful(t, run);

    // Once the package is readable again, the absence is evidence: the user goes.
    writeFileSync(users, original);
    editRow(users, gone, () => undefined);
    const fixed = await sync();
    t.match(fixed.counts.source.users, { rejected: 0, deleted: 1, heldBack: 0 }, 'a complete, clean read deletes the absent user');
    for (const target of TARGETS) t.notOk(await has(target, 'users', gone), `${target} no longer holds ${gone}`);
    t.ok(await has('memo', 'users', victim), 'the user whose row was unreadable is still there');
    await truthful(t, fixed);
  });
});

t.test('a target disabled, a user deleted upstream, the target enabled again: the user is gone from it', async (t) => {
  const { pkg, sync, has, restart, host } = await setUp(t);
  const first = await sync();
  t.equal(first.status, 'success', `first sync: ${first.reason ?? ''}`);
  const gone = enrolledStudent.sourcedId;
  t.ok(await has('kybergate', 'users', gone), 'kybergate holds the user');

  await restart(['memo']);
  editRow(path.join(pkg, 'users.csv'), gone, () => undefined);
  // The package's enrollments of the user go with it (a package names only users it has).
  const enrollments = path.join(pkg, 'enrollments.csv');
  writeFileSync(
    enrollments,
    readFileSync(enrollments, 'utf8')
      .split('\n')
      .filter((line) => !line.includes(`,${gone},`))
      .join('\n'),
  );
  for (let i = 0; i < 2; i++) {
    const run = await sync();
    t.equal(run.status, 'success', `sync ${i + 1} without kybergate: ${run.reason ?? ''}`);
    await host().syncs.idle();
  }
  t.notOk(await has('memo', 'users', gone), 'memo lost the user');
  t.ok(await has('kybergate', 'users', gone), 'kybergate, disabled, still has it');

  await restart(['memo', 'kybergate']);
  const run = await sync();
  t.equal(run.status, 'success', `sync with kybergate again: ${run.reason ?? ''}`);
  t.notOk(await has('kybergate', 'users', gone), 'kybergate no longer holds the deleted user');
  t.notOk(await has('kybergate', 'enrollments', gone), 'nor its memberships');
  t.ok((run.counts.targets.kybergate?.entities.users?.deleted ?? 0) >= 1, 'kybergate counted the deletion');
});
