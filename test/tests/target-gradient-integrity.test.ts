import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import type { AcademicSession, Enrollment, RosterClass, RosterEntity, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import { type RosterRecordSource, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
/** Warnings on records Gradient took: they do not count as skips. */
const TAKEN_WARNINGS = new Set(['GRADIENT_CLASS_WITHOUT_TERM', 'GRADIENT_STAFF_EMAIL_MISSING', 'GRADIENT_STAFF_EMAIL_DUPLICATE']);

/** Every reference a Gradient roster row makes, as a query of the rows pointing at nothing. */
const DANGLING: [string, string][] = [
  [
    'class_member.class_sourced_id → class',
    `select m.sourced_id from class_member m where not exists (select 1 from class c where c.tenant_id = m.tenant_id and c.sourced_id = m.class_sourced_id)`,
  ],
  [
    'class_member.person_sourced_id → staff_member',
    `select m.sourced_id from class_member m where m.member_kind = 'staff' and not exists (select 1 from staff_member p where p.tenant_id = m.tenant_id and p.sourced_id = m.person_sourced_id)`,
  ],
  [
    'class_member.person_sourced_id → student',
    `select m.sourced_id from class_member m where m.member_kind = 'student' and not exists (select 1 from student p where p.tenant_id = m.tenant_id and p.sourced_id = m.person_sourced_id)`,
  ],
  [
    'class_term.class_sourced_id → class',
    `select ct.class_sourced_id from class_term ct where not exists (select 1 from class c where c.tenant_id = ct.tenant_id and c.sourced_id = ct.class_sourced_id)`,
  ],
  [
    'class_term.term_sourced_id → term',
    `select ct.class_sourced_id from class_term ct where not exists (select 1 from term x where x.tenant_id = ct.tenant_id and x.sourced_id = ct.term_sourced_id)`,
  ],
  [
    'class.school_sourced_id → organization',
    `select c.sourced_id from class c where not exists (select 1 from organization o where o.tenant_id = c.tenant_id and o.sourced_id = c.school_sourced_id)`,
  ],
];

t.test('Gradient: errors count as errors, memberships wait for what they name, no row points at nothing', async (t) => {
  const base = generateDistrict({ seed: 61, size: SIZE });
  const all = <E extends RosterEntity>(entity: E): RosterRecord<E>[] => [...base.records(entity)];
  const enrollments = all('enrollments');
  const users = all('users');
  const enrolled = (id: string) => enrollments.filter((e) => e.userSourcedId === id);
  // A teacher made an aide (a role this tenant does not roster), to be made a teacher again.
  const teacher = users.find((u) => u.role === 'teacher' && enrolled(u.sourcedId).length >= 2)!;
  // A student deleted upstream while their enrollments stay, then back.
  const student = users.find((u) => u.role === 'student' && enrolled(u.sourcedId).length >= 2)!;
  // A class deleted upstream while its enrollments stay, then back.
  const klass = all('classes').find((c) =>
    enrollments.some((e) => e.classSourcedId === c.sourcedId && e.userSourcedId !== student.sourcedId && e.userSourcedId !== teacher.sourcedId),
  )!;
  const term = (all('academicSessions') as AcademicSession[]).find((s) => s.type !== 'schoolYear')!;
  const winter: AcademicSession = { ...term, sourcedId: 'as-winter', title: 'Winter intersession', startDate: '2027-01-04', endDate: '2027-01-15' };
  const intersession: RosterClass = { ...klass, sourcedId: 'cls-winter', title: 'Winter workshop', termSourcedIds: [term.sourcedId, 'as-winter'] };
  const strays: Enrollment[] = [
    { ...enrollments[0]!, sourcedId: 'enr-no-class', classSourcedId: 'cls-missing' },
    { ...enrollments[0]!, sourcedId: 'enr-no-user', userSourcedId: 'usr-missing' },
  ];
  type Edits = { aide?: boolean; drop?: Partial<Record<RosterEntity, (id: string) => boolean>>; winter?: boolean };
  const district = (edits: Edits = {}): RosterRecordSource => ({
    records: <E extends RosterEntity>(entity: E) => {
      let records: RosterRecord[] = all(entity);
      if (entity === 'academicSessions' && edits.winter) records = [...records, winter];
      if (entity === 'classes') records = [...records, intersession];
      if (entity === 'enrollments') records = [...records, ...strays];
      if (entity === 'users' && edits.aide) records = (records as User[]).map((u) => (u.sourcedId === teacher.sourcedId ? { ...u, role: 'aide' as const } : u));
      const drop = edits.drop?.[entity];
      if (drop) records = records.filter((r) => !drop(r.sourcedId));
      return records.sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : a.sourcedId > b.sourcedId ? 1 : 0)) as RosterRecord<E>[];
    },
  });

  const root = mkdtempSync(path.join(tmpdir(), 'rb-gradient-integrity-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const settings = { staffRoles: ['teacher', 'administrator'], today: '2026-11-23' };
  writeFileSync(
    path.join(tenants, 'g.json'),
    JSON.stringify({
      displayName: 'District G',
      timezone: 'America/Chicago',
      source: { id: 'oneroster-csv', settings: { location: '../g-package' } },
      targets: [{ id: 'gradient', settings }],
    }),
  );
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db.withSchema('plugin_target_gradient');
  type Issue = { code: string; severity: string; sourcedId?: string; entity?: string; message: string };
  const sync = async (source: RosterRecordSource) => {
    rmSync(path.join(root, 'g-package'), { recursive: true, force: true });
    await writeOneRosterPackage(source, path.join(root, 'g-package'), { mode: 'bulk' });
    const run = await host.syncs.settled((await host.syncs.trigger('g', { trigger: 'test', mode: 'full' })).id);
    return { run, issues: (await host.runs.issues(run.id, { limit: 100_000, targetId: 'gradient' })) as Issue[] };
  };
  const ids = async (table: string) =>
    new Set((await db.selectFrom(table).select('sourced_id').where('tenant_id', '=', 'g').execute()).map((r) => r.sourced_id as string));
  const pending = async () => ids('pending_membership');
  const counts = (run: SyncRun, entity: RosterEntity) =>
    run.counts.targets.gradient!.entities[entity] ?? { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 };
  const countsMatchIssues = (t: Test, run: SyncRun, issues: Issue[]) => {
    const entities = new Set<RosterEntity>([
      ...(Object.keys(run.counts.targets.gradient!.entities) as RosterEntity[]),
      ...issues.flatMap((i) => (i.entity ? [i.entity as RosterEntity] : [])),
    ]);
    for (const entity of entities) {
      const mine = issues.filter((i) => i.entity === entity);
      const skips = mine
        .filter((i) => i.severity === 'warning' && !TAKEN_WARNINGS.has(i.code))
        .reduce((n, i) => n + (i.sourcedId ? 1 : Number(/^(\d+) /.exec(i.message)?.[1] ?? Number.NaN)), 0);
      const errors = mine.filter((i) => i.severity === 'error').length;
      t.same([counts(run, entity).skipped, counts(run, entity).errors], [skips, errors], `${entity}: skipped and errors are the warnings and errors reported`);
    }
  };
  const noDangling = async (t: Test) => {
    const found = await host.database.db.transaction().execute(async (trx) => {
      await sql`set local search_path to plugin_target_gradient`.execute(trx);
      const out: [string, unknown[]][] = [];
      for (const [what, query] of DANGLING) out.push([what, (await sql.raw(query).execute(trx)).rows]);
      return out;
    });
    for (const [what, rows] of found) t.same(rows, [], `${what}: 0 rows pointing at nothing`);
  };

  await t.test('syncing waits for the academic year of the current school year, not last year’s', async (t) => {
    await host.plugins.activate('target-gradient'); // runs its migrations
    await db.insertInto('academic_year').values({ tenant_id: 'g', school_year: '2026', started_at: new Date() }).execute();
    const { run } = await sync(district({ aide: true }));
    t.equal(run.status, 'skipped', "last year's academic year, started, does not unpause this year's syncing");
    t.match(run.reason, /the Gradient academic year 2027 is not started for District G/);
    await db.insertInto('academic_year').values({ tenant_id: 'g', school_year: '2027', started_at: new Date() }).execute();
  });

  await t.test('first sync: errors are errors, refused memberships wait, links to unheld terms wait', async (t) => {
    const { run, issues } = await sync(district({ aide: true }));
    t.equal(run.status, 'partial', `${run.reason}`);
    countsMatchIssues(t, run, issues);
    await noDangling(t);
    const byId = new Map(issues.filter((i) => i.sourcedId).map((i) => [i.sourcedId!, i]));
    t.match(byId.get('enr-no-user'), { code: 'GRADIENT_ENROLLMENT_PERSON_UNKNOWN', severity: 'error' });
    t.match(byId.get('enr-no-class'), { code: 'GRADIENT_ENROLLMENT_CLASS_UNKNOWN', severity: 'error' });
    const aideEnrollments = enrolled(teacher.sourcedId).map((e) => e.sourcedId);
    // The enrollments still say teacher: their person is one Gradient does not hold.
    for (const id of aideEnrollments)
      t.match(byId.get(id), { code: 'GRADIENT_ENROLLMENT_PERSON_UNKNOWN', severity: 'error' }, `${id}: the enrollment of a person Gradient lacks is an error`);
    t.ok(counts(run, 'enrollments').errors >= 2, 'the unknown class and person count as errors');
    const waiting = await pending();
    for (const id of ['enr-no-user', 'enr-no-class', ...aideEnrollments]) t.ok(waiting.has(id), `${id} waits in pending_membership`);
    const links = await db
      .selectFrom('class_term')
      .select('term_sourced_id')
      .where('tenant_id', '=', 'g')
      .where('class_sourced_id', '=', 'cls-winter')
      .execute();
    t.same(
      links.map((l) => l.term_sourced_id),
      [term.sourcedId],
      'a class keeps only its links to terms Gradient holds',
    );
    const notRostered = issues.filter((i) => i.code === 'GRADIENT_USERS_NOT_ROSTERED');
    t.ok(
      notRostered.some((i) => new RegExp(`with role aide`).test(i.message)),
      'the aide is in the not-rostered warning',
    );
  });

  await t.test('when only the user, the term or the class comes (back) upstream, what waited for it arrives', async (t) => {
    const { run, issues } = await sync(district({ winter: true }));
    countsMatchIssues(t, run, issues);
    await noDangling(t);
    const members = await ids('class_member');
    const back = enrolled(teacher.sourcedId).map((e) => e.sourcedId);
    t.ok(back.length > 0 && back.every((id) => members.has(id)), "the teacher's memberships arrive although only the user changed");
    t.equal(counts(run, 'enrollments').created, back.length, 'counted as created');
    const waiting = await pending();
    t.notOk(
      back.some((id) => waiting.has(id)),
      'and no longer wait',
    );
    const links = await db
      .selectFrom('class_term')
      .select('term_sourced_id')
      .where('tenant_id', '=', 'g')
      .where('class_sourced_id', '=', 'cls-winter')
      .orderBy('term_sourced_id')
      .execute();
    t.same(
      links.map((l) => l.term_sourced_id).sort(),
      [term.sourcedId, 'as-winter'].sort(),
      'the class is linked to the new term, though the class was not sent again',
    );

    const gone = await sync(district({ winter: true, drop: { users: (id) => id === student.sourcedId, classes: (id) => id === klass.sourcedId } }));
    countsMatchIssues(t, gone.run, gone.issues);
    await noDangling(t);
    const left = await ids('class_member');
    const hanging = enrollments.filter((e) => e.userSourcedId === student.sourcedId || e.classSourcedId === klass.sourcedId).map((e) => e.sourcedId);
    t.ok(hanging.length > 0);
    t.notOk(
      hanging.some((id) => left.has(id)),
      'memberships of a deleted user or class leave with it',
    );
    const nowWaiting = await pending();
    t.ok(
      hanging.every((id) => nowWaiting.has(id)),
      'and wait for it',
    );
    t.equal(counts(gone.run, 'enrollments').errors, gone.issues.filter((i) => i.entity === 'enrollments' && i.severity === 'error').length);

    const again = await sync(district({ winter: true }));
    countsMatchIssues(t, again.run, again.issues);
    await noDangling(t);
    const restored = await ids('class_member');
    t.ok(
      hanging.every((id) => restored.has(id)),
      'they return with the user and the class',
    );
  });

  await t.test('a waiting enrollment deleted upstream stops waiting', async (t) => {
    t.ok((await pending()).has('enr-no-user'));
    const { run, issues } = await sync(district({ winter: true, drop: { enrollments: (id) => id === 'enr-no-user' } }));
    countsMatchIssues(t, run, issues);
    t.notOk((await pending()).has('enr-no-user'), 'it leaves pending_membership');
    t.ok((await pending()).has('enr-no-class'), 'the other one still waits');
  });
});
