import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import type { SyncRun, User } from '@rosterbridge/core';
import type { Host } from '@rosterbridge/host';
import { FIXTURES_DIR, generateDistrict, startCleverSimulator, startOneRosterSimulator, startTestHost } from '@rosterbridge/test-kit';

// Deletion only on evidence through the ClassLink (OneRoster REST) and Clever sources: a record
// made invalid upstream keeps its last synced version in every product; an object that cannot be
// named holds back its entity's deletions, with a warning that counts them.

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const ADMIN = 'admin-token-remote-0123456789';
const BEARER = 'remote-evidence-B3arer-7731';
const CLEVER_TOKEN = 'remote-evidence-clever-4410';
const TARGETS = ['memo', 'kybergate'] as const;

const district = generateDistrict({ seed: 9107, size: 'tiny' });
const enrolled = new Set([...district.records('enrollments')].map((e) => e.userSourcedId));
const [victim, gone] = ([...district.records('users')] as User[])
  .filter((u) => u.role === 'student' && u.email && enrolled.has(u.sourcedId))
  .map((u) => u.sourcedId);

/** What a test changes upstream, per source. */
interface Upstream {
  source: Record<string, unknown>;
  /** Makes the victim's record invalid (its id still readable); returns the code of its issue. */
  invalidate(): string;
  /** Restores the victim, adds an object whose id cannot be read, and removes `gone`. */
  unnameAndRemove(): void;
}

async function evidence(t: Test, name: string, upstream: Upstream) {
  const root = mkdtempSync(path.join(tmpdir(), `rb-evidence-${name}-`));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  writeFileSync(
    path.join(tenants, 'rivera.json'),
    JSON.stringify({ displayName: 'Rivera', timezone: 'UTC', source: upstream.source, targets: TARGETS.map((id) => ({ id })) }),
  );
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const host: Host = th.host;
  const sync = async (): Promise<SyncRun> => host.syncs.settled((await host.syncs.trigger('rivera', { mode: 'full', trigger: 'test' })).id);
  const has = async (target: string, sourcedId: string, memberships = false): Promise<boolean> => {
    const db = host.database.db;
    if (target === 'memo') {
      const q = db.withSchema('plugin_target_memo').selectFrom('record').select('sourced_id').where('tenant_id', '=', 'rivera');
      return (
        (await (
          memberships
            ? q.where('entity', '=', 'enrollments').where(sql`record->>'userSourcedId'`, '=', sourcedId)
            : q.where('entity', '=', 'users').where('sourced_id', '=', sourcedId)
        ).executeTakeFirst()) !== undefined
      );
    }
    const q = db
      .withSchema('plugin_target_kybergate')
      .selectFrom(memberships ? 'classroom_member' : 'user_account')
      .select('sourced_id')
      .where('tenant_id', '=', 'rivera');
    return (await q.where(memberships ? 'user_sourced_id' : 'sourced_id', '=', sourcedId).executeTakeFirst()) !== undefined;
  };
  const truthful = async (t: Test, run: SyncRun) => {
    const stored = await host.runs.issues(run.id, { limit: 10_000 });
    t.same(
      run.counts.issues,
      { errors: stored.filter((i) => i.severity === 'error').length, warnings: stored.filter((i) => i.severity === 'warning').length },
      'counts.issues are the issues stored',
    );
    return stored;
  };

  const first = await sync();
  t.equal(first.status, 'success', `${name}: first sync ${first.errorCode ?? ''} ${first.reason ?? ''}`);
  for (const target of TARGETS) t.ok(await has(target, victim!), `${target} holds ${victim}`);

  const code = upstream.invalidate();
  const invalid = await sync();
  t.equal(invalid.status, 'partial', `the run is partial (${invalid.errorCode})`);
  t.match(invalid.counts.source.users, { rejected: 1, deleted: 0 }, 'one user rejected, none deleted');
  for (const target of TARGETS) {
    t.ok(await has(target, victim!), `${target} still holds the user made invalid upstream`);
    t.ok(await has(target, victim!, true), `${target} still holds the user's memberships`);
  }
  const issue = (await truthful(t, invalid)).find((i) => i.sourcedId === victim && i.code === code);
  t.match(issue, { severity: 'error', entity: 'users', message: /^kept as last synced: / }, `the ${code} issue names the user and says it was kept`);

  upstream.unnameAndRemove();
  const unnamed = await sync();
  t.equal(unnamed.status, 'partial');
  t.match(unnamed.counts.source.users, { rejected: 1, deleted: 0, heldBack: 1 }, 'the user removed upstream is held back, not deleted');
  for (const target of TARGETS) t.ok(await has(target, gone!), `${target} still holds the user removed upstream`);
  const held = (await truthful(t, unnamed)).filter((i) => i.code === 'DELETIONS_HELD');
  t.match(
    held,
    [{ severity: 'warning', entity: 'users', message: /1 rejected row of users has no readable sourcedId.*1 record the source no longer sent was kept/ }],
    'one warning with the number held back',
  );
}

t.test('ClassLink (OneRoster REST)', async (t) => {
  const sim = await startOneRosterSimulator({ dataset: district, auth: { bearerTokens: [BEARER] } });
  t.teardown(() => sim.close());
  const saved = process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_BEARER;
  process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_BEARER = BEARER;
  t.teardown(() => {
    if (saved === undefined) delete process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_BEARER;
    else process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_BEARER = saved;
  });
  const original = sim.dataset.get('users', victim!)!;
  await evidence(t, 'classlink', {
    source: { id: 'classlink', settings: { baseUrl: sim.baseUrl, auth: { mode: 'bearer', token: { env: 'ROSTERBRIDGE_SECRET_TEST_EVIDENCE_BEARER' } } } },
    invalidate() {
      // A role OneRoster 1.1 does not have: the server sends the record, the reader rejects it.
      sim.dataset.put('users', { ...original, role: 'wizard' } as unknown as User);
      return 'BAD_VOCABULARY';
    },
    unnameAndRemove() {
      sim.dataset.put('users', original);
      sim.dataset.put('users', { ...original, sourcedId: '', email: 'nobody@example.org' });
      sim.dataset.remove('users', gone!);
    },
  });
});

t.test('Clever', async (t) => {
  const sim = await startCleverSimulator({ dataset: district, tokens: [CLEVER_TOKEN] });
  t.teardown(() => sim.stop());
  const saved = process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_CLEVER;
  process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_CLEVER = CLEVER_TOKEN;
  t.teardown(() => {
    if (saved === undefined) delete process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_CLEVER;
    else process.env.ROSTERBRIDGE_SECRET_TEST_EVIDENCE_CLEVER = saved;
  });
  const original = sim.resources('users').find((u) => u.id === victim)!;
  t.ok(original, 'the Clever user of the canonical one');
  await evidence(t, 'clever', {
    source: { id: 'clever', settings: { baseUrl: sim.origin, token: { env: 'ROSTERBRIDGE_SECRET_TEST_EVIDENCE_CLEVER' } } },
    invalidate() {
      // A user with no name at all: the reader leaves it out (a user record needs one).
      sim.upsert('users', { ...original, name: {} });
      return 'CLEVER_MISSING_FIELD';
    },
    unnameAndRemove() {
      sim.upsert('users', original);
      sim.upsert('users', { ...original, id: '' });
      sim.remove('users', gone!);
    },
  });
});
