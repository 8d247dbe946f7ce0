import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { Enrollment, RosterClass, RosterEntity, RosterIssue, RosterRecord, SyncRun } from '@rosterbridge/core';
import { GradientSession } from '@rosterbridge/target-gradient';
import { generateDistrict, spyOnLoads, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// A first sync into Gradient loads classes, users and enrollments in bulk (one COPY per table on
// PostgreSQL, batched inserts on the embedded database), judging each record as apply does: the
// same sync fed by apply leaves the same rows and reports the same counts and issues.

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SCHEMA = 'plugin_target_gradient';
const TABLES = ['organization', 'term', 'class', 'class_term', 'pending_class_term', 'staff_member', 'student', 'class_member', 'pending_membership'];
const base = generateDistrict({ seed: 172, size: 'tiny', faults: { missingEmails: 2, duplicateEmails: 2 } });
const all = <E extends RosterEntity>(entity: E) => [...base.records(entity)] as RosterRecord<E>[];
const klass = all('classes')[0]!;
// A class in a term the roster lacks, and enrollments naming a class and a user it lacks.
const orphanClass: RosterClass = { ...klass, sourcedId: 'cls-orphan', termSourcedIds: ['term-missing'] };
const enrollment = all('enrollments').find((e) => e.role === 'student')!;
const orphans: Enrollment[] = [
  { ...enrollment, sourcedId: 'enr-no-class', classSourcedId: 'cls-missing' },
  { ...enrollment, sourcedId: 'enr-no-user', userSourcedId: 'usr-missing' },
  { ...enrollment, sourcedId: 'enr-orphan-class', classSourcedId: orphanClass.sourcedId },
];
const roster = {
  records: <E extends RosterEntity>(entity: E): RosterRecord<E>[] => {
    const extra = (entity === 'classes' ? [orphanClass] : entity === 'enrollments' ? orphans : []) as RosterRecord<E>[];
    return [...all(entity), ...extra].sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : 1));
  },
};

// The embedded database has one connection and no loads: its back-fills are applied, and the
// comparison then holds trivially there (it runs for its rows and counts all the same).
const ON_SERVER = !!process.env.DATABASE_URL;

t.test('a Gradient first sync by load equals the same sync by apply', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-gradient-load-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(roster, path.join(root, 'package'));
  for (const [id, settings] of [
    ['loaded', { today: '2026-11-23' }],
    ['applied', { today: '2026-11-23' }],
    ['scoped-loaded', { staffRoles: ['teacher'], today: '2026-11-23' }],
    ['scoped-applied', { staffRoles: ['teacher'], today: '2026-11-23' }],
  ] as const)
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'UTC',
        source: { id: 'oneroster-csv', settings: { location: path.join(root, 'package') } },
        targets: [{ id: 'gradient', settings }],
      }),
    );
  // Pages of seven records: each entity is loaded over several pages.
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, env: { RB_SYNC_BATCH_SIZE: '7' } });
  const loads = spyOnLoads(GradientSession.prototype);
  const loaded = loads.loaded;
  t.teardown(async () => {
    loads.restore();
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const gr = host.database.db.withSchema(SCHEMA);
  const sync = async (tenantId: string): Promise<SyncRun> => host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode: 'full' })).id);
  const rows = async (tenantId: string) => {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES) {
      const found = await gr.selectFrom(table).selectAll().where('tenant_id', '=', tenantId).execute();
      out[table] = found.map(({ tenant_id: _, ...r }) => JSON.stringify(r)).sort();
    }
    return out;
  };
  const issues = async (run: SyncRun) =>
    ((await host.runs.issues(run.id, { limit: 100_000 })) as RosterIssue[])
      .map((i) => `${i.code} ${i.severity} ${i.entity ?? ''} ${i.sourcedId ?? ''} ${i.field ?? ''} ${i.message}`)
      .sort();

  // Syncing waits for the academic year (today is pinned to 2026-11-23: school year 2027); a first,
  // skipped, run activates the plugin (and its schema).
  for (const id of ['loaded', 'applied', 'scoped-loaded', 'scoped-applied']) {
    t.equal((await sync(id)).status, 'skipped', `${id}: paused until the academic year is started`);
    await gr.insertInto('academic_year').values({ tenant_id: id, school_year: '2027', started_at: new Date() }).execute();
  }
  for (const scope of ['', 'scoped-']) {
    loaded.length = 0;
    const byLoad = await sync(`${scope}loaded`);
    t.same([...loaded].sort(), ON_SERVER ? ['classes', 'enrollments', 'users'] : [], `${scope || 'all'}: classes, users and enrollments were loaded`);
    loads.disable();
    const byApply = await sync(`${scope}applied`);
    loads.enable();
    t.equal(byLoad.status, byApply.status, `${scope || 'all'}: the same status (${byApply.status})`);
    t.same(byLoad.counts.targets.gradient, byApply.counts.targets.gradient, `${scope || 'all'}: the same counts`);
    const [a, b] = [await rows(`${scope}loaded`), await rows(`${scope}applied`)];
    t.ok(
      a.student!.length > 0 && a.class_member!.length > 0 && a.pending_membership!.length > 0 && a.pending_class_term!.length > 0,
      `${scope || 'all'}: rows and pending rows written`,
    );
    t.same(a, b, `${scope || 'all'}: the same rows in every table`);
    const [ia, ib] = [await issues(byLoad), await issues(byApply)];
    const expected = [
      'GRADIENT_CLASS_WITHOUT_TERM',
      'GRADIENT_ENROLLMENT_CLASS_UNKNOWN',
      'GRADIENT_ENROLLMENT_PERSON_UNKNOWN',
      ...(scope ? ['GRADIENT_USERS_NOT_ROSTERED'] : []),
    ];
    t.same(
      expected.filter((code) => !ib.some((i) => i.startsWith(`${code} `))),
      [],
      `${scope || 'all'}: issues ${expected.join(', ')} reported`,
    );
    t.same(ia, ib, `${scope || 'all'}: the same issues (${ib.length})`);
  }

  // A second sync of a loaded tenant goes through apply and changes nothing.
  loaded.length = 0;
  const again = await sync('loaded');
  t.same(loaded, [], 'no load once the tenant has data');
  t.equal(again.counts.targets.gradient!.entities.users?.created ?? 0, 0, 'no user created again');
});
