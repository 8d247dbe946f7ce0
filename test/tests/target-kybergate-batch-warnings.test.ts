import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import type { RosterIssue, SyncRun } from '@rosterbridge/core';
import { type RosterRecordSource, changeDistrict, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// KyberGate's skipped records are reported with the batch that skipped them, one warning per reason
// and entity of the batch: the engine stores a batch's counts and issues with the target's cursor,
// so a run that a crash or a failure cut short, or another host resumed, still has a warning for
// every record it counts as skipped. Batches of three records: every warning names all of its
// records (it names up to five), so the warnings can be checked record by record.

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SCHEMA = 'plugin_target_kybergate';
const BATCH = 3;
/** Sourced ids a grouped warning names, at most (the session's EXAMPLES). */
const EXAMPLES = 5;
const ENTITIES = ['orgs', 'users', 'classes', 'enrollments'] as const;
/** Where KyberGate holds each entity's records. */
const TABLES: Record<(typeof ENTITIES)[number], string[]> = {
  orgs: ['district', 'school'],
  users: ['user_account'],
  classes: ['classroom'],
  enrollments: ['classroom_member'],
};

const base = generateDistrict({ seed: 91, size: 'tiny' });
const changed = changeDistrict(base, { seed: 92, fraction: 0.3 });
const SCHOOL = base.orgSourcedId(1);

/** A skip warning's count and the sourcedIds it names (`N users record(s) were skipped: … (e.g. a, b, …)`). */
function parseSkip(issue: RosterIssue): { count: number; examples: string[] } {
  const m = /^(\d+) (\w+) record\(s\) were skipped: .* \(e\.g\. (.*?)(, …)?\)$/.exec(issue.message);
  if (!m) throw new Error(`not a skip warning: ${issue.message}`);
  return { count: Number(m[1]), examples: m[3]!.split(', ') };
}

t.test('KyberGate reports its skipped records with the batch that skipped them', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-kybergate-batches-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string, settings: Record<string, unknown> = {}) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'America/Chicago',
        source: { id: 'oneroster-csv', settings: { location: path.join(root, `${id}-package`) } },
        targets: [{ id: 'kybergate', settings }],
        thresholds: { maxDeletePercent: 100, maxChangePercent: 100 },
      }),
    );
  tenant('tyler');
  // One school, students and teachers: records of every entity are skipped, for every reason but org type.
  tenant('pierce', { schools: [SCHOOL], userTypes: ['students', 'teachers'] });
  tenant('fillmore');
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, env: { RB_SYNC_BATCH_SIZE: String(BATCH) } });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db;
  const kg = db.withSchema(SCHEMA);
  const sync = async (tenantId: string, source: RosterRecordSource): Promise<SyncRun> => {
    const pkg = path.join(root, `${tenantId}-package`);
    rmSync(pkg, { recursive: true, force: true });
    await writeOneRosterPackage(source, pkg);
    return host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode: 'full' })).id);
  };
  const held = async (tenantId: string, entity: (typeof ENTITIES)[number]) => {
    const ids = new Set<string>();
    for (const table of TABLES[entity])
      for (const r of await kg.selectFrom(table).select('sourced_id').where('tenant_id', '=', tenantId).execute()) ids.add(r.sourced_id as string);
    return ids;
  };

  /**
   * The run's skip warnings against its counts: per entity, their counts add up to `skipped`; none
   * counts more records than a batch has; each names all its records (at most {@link EXAMPLES} here),
   * none of which KyberGate holds, and no record is named twice. Returns the records named, by entity.
   */
  const checkWarnings = async (t: Test, run: SyncRun, tenantId: string) => {
    const issues: RosterIssue[] = await host.runs.issues(run.id, { limit: 100_000 });
    const counts = run.counts.targets.kybergate!.entities;
    const named: Record<string, string[]> = {};
    for (const entity of ENTITIES) {
      const warnings = issues.filter((i) => i.entity === entity && i.severity === 'warning' && i.code !== 'KYBERGATE_SCOPE_CHANGED');
      const parsed = warnings.map(parseSkip);
      t.equal(
        parsed.reduce((n, w) => n + w.count, 0),
        counts[entity]?.skipped ?? 0,
        `${entity}: the warnings count the ${counts[entity]?.skipped ?? 0} skipped records`,
      );
      t.same(
        parsed.filter((w) => w.count > BATCH),
        [],
        `${entity}: no warning counts more records than a batch of ${BATCH} has`,
      );
      t.same(
        parsed.filter((w) => w.examples.length !== w.count),
        [],
        `${entity}: each warning names all of its records`,
      );
      t.same(
        parsed.filter((w) => w.examples.length > EXAMPLES),
        [],
        `${entity}: no warning names more than ${EXAMPLES} records`,
      );
      const ids = parsed.flatMap((w) => w.examples);
      t.equal(new Set(ids).size, ids.length, `${entity}: no record is named by two warnings`);
      const holds = await held(tenantId, entity);
      t.same(
        ids.filter((id) => holds.has(id)),
        [],
        `${entity}: KyberGate holds none of the records named as skipped`,
      );
      named[entity] = ids.sort();
    }
    return named;
  };

  await t.test('a first sync in batches: every skipped record is named by exactly one warning, of its batch', async (t) => {
    const run = await sync('tyler', base);
    t.equal(run.counts.targets.kybergate!.status, 'applied');
    const named = await checkWarnings(t, run, 'tyler');
    const guardians = [...base.records('users')].filter((u) => ['guardian', 'parent', 'relative'].includes(u.role)).map((u) => u.sourcedId);
    t.ok(guardians.length > BATCH, `more guardians (${guardians.length}) than a batch holds`);
    t.same(named.users, guardians.sort(), 'the users named are the guardians');
  });

  await t.test('a sync of changes in batches: the warnings count what each batch skipped', async (t) => {
    const run = await sync('tyler', changed);
    t.equal(run.counts.targets.kybergate!.status, 'applied');
    t.ok((run.counts.targets.kybergate!.entities.users?.skipped ?? 0) > 0, 'changed guardians are skipped again');
    await checkWarnings(t, run, 'tyler');
  });

  await t.test("a tenant's scope in batches: orgs, classes, users and enrollments skipped, each named once", async (t) => {
    const run = await sync('pierce', base);
    const named = await checkWarnings(t, run, 'pierce');
    const counts = run.counts.targets.kybergate!.entities;
    for (const entity of ENTITIES) t.ok((counts[entity]?.skipped ?? 0) > 0, `${entity}: records were skipped (${counts[entity]?.skipped ?? 0})`);
    t.same(
      named.orgs,
      [...base.records('orgs')]
        .filter((o) => o.type === 'school' && o.sourcedId !== SCHOOL)
        .map((o) => o.sourcedId)
        .sort(),
      'the other schools',
    );
    t.same(
      named.classes,
      [...base.records('classes')]
        .filter((c) => c.schoolSourcedId !== SCHOOL)
        .map((c) => c.sourcedId)
        .sort(),
      'their classes',
    );
  });

  await t.test('a run in which KyberGate fails part way still reports the records it skipped before', async (t) => {
    // KyberGate fails on the last class member it would write: every user (guardians too) came before, and is counted.
    const last = [...base.records('enrollments')]
      .map((e) => e.sourcedId)
      .sort()
      .at(-1)!;
    const refuse = sql.id(SCHEMA, 'test_refuse_member');
    await sql`create function ${refuse}() returns trigger language plpgsql as $$ begin raise exception 'test: KyberGate refuses member %', new.sourced_id; end $$`.execute(
      db,
    );
    await sql`create trigger test_refuse_member before insert or update on ${sql.table(`${SCHEMA}.classroom_member`)} for each row when (new.tenant_id = 'fillmore' and new.sourced_id = ${sql.lit(last)}) execute function ${refuse}()`.execute(
      db,
    );
    try {
      const run = await sync('fillmore', base);
      const target = run.counts.targets.kybergate!;
      t.equal(target.status, 'failed', target.error ?? '');
      t.match(target.error, /refuses member/);
      t.ok((target.entities.users?.skipped ?? 0) > 0, `users skipped before the failure are counted (${target.entities.users?.skipped ?? 0})`);
      await checkWarnings(t, run, 'fillmore');
    } finally {
      await sql`drop trigger test_refuse_member on ${sql.table(`${SCHEMA}.classroom_member`)}`.execute(db);
      await sql`drop function ${refuse}()`.execute(db);
    }
    const again = await sync('fillmore', base);
    t.equal(again.counts.targets.kybergate!.status, 'applied', 'the next run applies it all');
    await checkWarnings(t, again, 'fillmore');
  });
});
