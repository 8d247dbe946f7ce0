import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import type { Enrollment, Org, RosterClass, RosterEntity, RosterIssue, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import { generateDistrict, startTestHost, writeOneRosterPackage, type RosterRecordSource } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SCHEMA = 'plugin_target_kybergate';
const TENANT = 'polk';
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';

const base = generateDistrict({ seed: 81, size: SIZE, faults: { missingEmails: 1 } });
const all = <E extends RosterEntity>(entity: E) => [...base.records(entity)] as RosterRecord<E>[];
const schools = all('orgs').filter((o) => o.type === 'school');
const enrollments = all('enrollments');
const usersById = new Map(all('users').map((u) => [u.sourcedId, u]));
const enrolled = (u: User) => enrollments.filter((e) => e.userSourcedId === u.sourcedId);
const firstWith = (pick: (u: User) => boolean, not: string[] = []) =>
  all('users').find((u) => pick(u) && !not.includes(u.sourcedId) && enrolled(u).length > 0 && u.orgSourcedIds.length === 1)!;

// Users KyberGate refuses or leaves out, each with class memberships in the roster:
const noEmail = usersById.get(base.faults.missingEmails[0]!.sourcedId)!; // rejected: no email
const asAide = firstWith((u) => u.role === 'teacher'); // made an aide: staff, a user type the tenant leaves out
const leaving = firstWith((u) => u.role === 'student', [noEmail.sourcedId]); // deleted later, its enrollments stay
const goneClass = all('classes').find((c) =>
  enrollments.some(
    (e) =>
      e.classSourcedId === c.sourcedId &&
      e.userSourcedId !== noEmail.sourcedId &&
      e.userSourcedId !== asAide.sourcedId &&
      e.userSourcedId !== leaving.sourcedId,
  ),
)!;
const lateSchool: Org = { ...schools[0]!, sourcedId: 'org-late', name: 'Late Arrival School', identifier: 'LATE' };
const lateClass: RosterClass = {
  ...all('classes')[0]!,
  sourcedId: 'cls-late',
  title: 'Class of a school still to come',
  schoolSourcedId: lateSchool.sourcedId,
};
const member = (id: string, user: User, classSourcedId: string, schoolSourcedId: string): Enrollment => ({
  ...enrollments.find((e) => e.role === 'student')!,
  sourcedId: id,
  userSourcedId: user.sourcedId,
  classSourcedId,
  schoolSourcedId,
  role: 'student',
});
const student = firstWith((u) => u.role === 'student', [noEmail.sourcedId, leaving.sourcedId]);
const extra = [
  member('enr-no-class', student, 'cls-missing', student.orgSourcedIds[0]!), // a class that does not exist (yet)
  member('enr-late-class', student, lateClass.sourcedId, lateSchool.sourcedId), // a class whose school does not exist (yet)
];

interface Edit {
  users?: (u: User) => User | undefined;
  classes?: (c: RosterClass) => RosterClass | undefined;
  orgs?: (o: Org) => Org | undefined;
  add?: Partial<{ [E in RosterEntity]: RosterRecord<E>[] }>;
}

/** The district with records replaced, left out (undefined) or added. */
function edited(edit: Edit): RosterRecordSource {
  return {
    records: <E extends RosterEntity>(entity: E) => {
      const map = (edit as Record<string, ((r: RosterRecord<E>) => RosterRecord<E> | undefined) | undefined>)[entity] ?? ((r: RosterRecord<E>) => r);
      const out = [...base.records(entity)].map(map).filter((r): r is RosterRecord<E> => r !== undefined);
      return [...out, ...((edit.add?.[entity] ?? []) as RosterRecord<E>[])].sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : 1));
    },
  };
}

const aide = (u: User): User => (u.sourcedId === asAide.sourcedId ? { ...u, role: 'aide' } : u);
const round1 = edited({ users: aide, add: { enrollments: extra } });

t.test('KyberGate holds no row that points at a row it lacks; refused members wait and arrive', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-kybergate-integrity-'));
  const tenants = path.join(root, 'tenants');
  const pkg = path.join(root, 'package');
  mkdirSync(tenants);
  writeFileSync(
    path.join(tenants, `${TENANT}.json`),
    JSON.stringify({
      displayName: 'Polk',
      timezone: 'America/Chicago',
      source: { id: 'oneroster-csv', settings: { location: pkg } },
      targets: [{ id: 'kybergate', settings: { userTypes: ['students', 'teachers', 'administrators'] } }],
    }),
  );
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db;
  const kg = db.withSchema(SCHEMA);
  const sync = async (source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk'): Promise<SyncRun> => {
    rmSync(pkg, { recursive: true, force: true });
    await writeOneRosterPackage(source, pkg, { mode });
    return host.syncs.settled((await host.syncs.trigger(TENANT, { trigger: 'test', mode: mode === 'bulk' ? 'full' : 'delta' })).id);
  };
  const ids = async (table: string, where: Record<string, string> = {}) => {
    let q = kg.selectFrom(table).select('sourced_id').where('tenant_id', '=', TENANT);
    for (const [k, v] of Object.entries(where)) q = q.where(k, '=', v);
    return (await q.execute()).map((r) => r.sourced_id as string).sort();
  };
  /** The sourcedIds KyberGate holds of an entity. */
  const heldIds = async (entity: 'orgs' | 'users' | 'classes' | 'enrollments') =>
    entity === 'orgs'
      ? [...(await ids('district')), ...(await ids('school'))]
      : ids({ users: 'user_account', classes: 'classroom', enrollments: 'classroom_member' }[entity]);
  const rowCounts = async () => ({
    orgs: (await ids('district')).length + (await ids('school')).length,
    users: (await ids('user_account')).length,
    classes: (await ids('classroom')).length,
    enrollments: (await ids('classroom_member')).length,
  });

  /** Rows of KyberGate that point at a row KyberGate lacks, by reference: each must be 0. */
  const dangling = async () => {
    const q = (text: ReturnType<typeof sql>) => text.execute(db).then((r) => Number((r.rows[0] as { n: string }).n));
    const table = (name: string) => sql.table(`${SCHEMA}.${name}`);
    return {
      memberUser: await q(sql`select count(*) as n from ${table('classroom_member')} m where m.tenant_id = ${TENANT}
        and not exists (select 1 from ${table('user_account')} u where u.tenant_id = m.tenant_id and u.sourced_id = m.user_sourced_id)`),
      memberClass: await q(sql`select count(*) as n from ${table('classroom_member')} m where m.tenant_id = ${TENANT}
        and not exists (select 1 from ${table('classroom')} k where k.tenant_id = m.tenant_id and k.sourced_id = m.classroom_sourced_id)`),
      classroomSchool: await q(sql`select count(*) as n from ${table('classroom')} k where k.tenant_id = ${TENANT}
        and not exists (select 1 from ${table('school')} s where s.tenant_id = k.tenant_id and s.sourced_id = k.school_sourced_id)`),
      userSchool:
        await q(sql`select count(*) as n from ${table('user_account')} u cross join lateral unnest(u.school_sourced_ids) o(id) where u.tenant_id = ${TENANT}
        and not exists (select 1 from ${table('school')} s where s.tenant_id = u.tenant_id and s.sourced_id = o.id)
        and not exists (select 1 from ${table('district')} d where d.tenant_id = u.tenant_id and d.sourced_id = o.id)`),
    };
  };
  const whole = { memberUser: 0, memberClass: 0, classroomSchool: 0, userSchool: 0 };

  /** The run's KyberGate counts against its issues (errors = error issues; skipped = the records the warnings count) and the rows. */
  const checkReport = async (t: Test, run: SyncRun, before: Awaited<ReturnType<typeof rowCounts>>) => {
    const issues: RosterIssue[] = await host.runs.issues(run.id, { limit: 100_000 });
    const counts = run.counts.targets.kybergate!.entities;
    const after = await rowCounts();
    for (const entity of ['orgs', 'users', 'classes', 'enrollments'] as const) {
      const c = counts[entity] ?? { created: 0, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 };
      const mine = issues.filter((i) => i.entity === entity && i.code.startsWith('KYBERGATE_'));
      t.equal(c.errors, mine.filter((i) => i.severity === 'error').length, `${entity}: errors = error issues`);
      // One warning per reason and batch: `N <entity> record(s) were skipped: <why> (e.g. <up to 5 sourcedIds>[, …])`.
      const skips = mine
        .filter((i) => i.severity === 'warning')
        .map((i) => /^(\d+) \w+ record\(s\) were skipped: .* \(e\.g\. (.*?)(?:, …)?\)$/.exec(i.message)!);
      t.equal(
        c.skipped,
        skips.reduce((n, m) => n + Number(m[1]), 0),
        `${entity}: skipped = the records the warnings count`,
      );
      const named = skips.flatMap((m) => m[2]!.split(', '));
      t.equal(new Set(named).size, named.length, `${entity}: no record is named by two warnings`);
      const held = new Set(await heldIds(entity));
      t.same(
        named.filter((id) => held.has(id)),
        [],
        `${entity}: the records named as skipped are not in KyberGate`,
      );
      t.equal(after[entity] - before[entity], c.created - c.deleted, `${entity}: rows held = created - deleted`);
    }
    return issues;
  };

  await t.test('first sync: members of refused users, of a missing class, and of a class of a missing school are refused with their codes', async (t) => {
    const run = await sync(round1);
    const issues = await checkReport(t, run, { orgs: 0, users: 0, classes: 0, enrollments: 0 });
    t.equal(run.status, 'partial');
    t.same(await dangling(), whole, 'no row points at a row KyberGate lacks');
    const refused = (u: User) => enrolled(u).map((e) => e.sourcedId);
    const byCode = (code: string) =>
      issues
        .filter((i) => i.code === code)
        .map((i) => i.sourcedId)
        .sort();
    t.same(
      byCode('KYBERGATE_MEMBER_USER_UNKNOWN'),
      [...refused(noEmail), ...refused(asAide)].sort(),
      'members of the user without email and of the aide left out by userTypes',
    );
    t.same(byCode('KYBERGATE_MEMBER_CLASS_UNKNOWN'), ['enr-late-class', 'enr-no-class']);
    t.same(byCode('KYBERGATE_CLASS_SCHOOL_UNKNOWN'), [], 'the late class is not in this package yet');
    t.same(await ids('pending_member'), [...refused(noEmail), ...refused(asAide), 'enr-late-class', 'enr-no-class'].sort(), 'the refused members wait');
    t.match(
      issues.find((i) => i.code === 'KYBERGATE_MEMBER_USER_UNKNOWN'),
      { severity: 'error', entity: 'enrollments', field: 'userSourcedId', message: /KyberGate holds no user .* adds it as soon as it holds both/ },
    );
    t.equal(run.counts.targets.kybergate!.entities.enrollments!.errors, refused(noEmail).length + refused(asAide).length + 2);
  });

  await t.test('a class whose school KyberGate lacks is refused and waits', async (t) => {
    const before = await rowCounts();
    const run = await sync(edited({ users: aide, add: { enrollments: extra, classes: [lateClass] } }));
    const issues = await checkReport(t, run, before);
    t.match(
      issues.filter((i) => i.code === 'KYBERGATE_CLASS_SCHOOL_UNKNOWN'),
      [{ sourcedId: 'cls-late', severity: 'error', field: 'schoolSourcedId' }],
    );
    t.same(await ids('pending_classroom'), ['cls-late']);
    t.same(await dangling(), whole);
  });

  await t.test('when the user is fixed, the school and the class come, the members waiting for them arrive; no enrollment was sent again', async (t) => {
    const before = await rowCounts();
    const fixed = edited({
      users: (u) => (u.sourcedId === noEmail.sourcedId ? { ...u, email: `${u.sourcedId}@fixed.example.org` } : u),
      add: { enrollments: extra, classes: [lateClass, { ...all('classes')[0]!, sourcedId: 'cls-missing', title: 'The missing class' }], orgs: [lateSchool] },
    });
    const run = await sync(fixed);
    await checkReport(t, run, before);
    const source = run.counts.source.enrollments!;
    t.equal(source.created + source.updated + source.deleted, 0, 'the roster changed no enrollment');
    const members = await ids('classroom_member');
    for (const e of [...enrolled(noEmail).map((x) => x.sourcedId), 'enr-no-class', 'enr-late-class']) t.ok(members.includes(e), `${e} arrived`);
    t.same(await ids('pending_member'), [], 'the aide is a teacher again, so nothing waits');
    t.same(await ids('pending_classroom'), []);
    t.same(await ids('classroom', { sourced_id: 'cls-late' }), ['cls-late'], 'the class arrived with its school');
    t.equal(run.counts.targets.kybergate!.entities.enrollments!.created, enrolled(noEmail).length + enrolled(asAide).length + 2);
    t.same(await dangling(), whole);
  });

  const school = schools[1]!;
  const later = (edit: Edit = {}) =>
    edited({
      users: (u) => (u.sourcedId === noEmail.sourcedId ? { ...u, email: `${u.sourcedId}@fixed.example.org` } : u),
      ...edit,
      add: {
        enrollments: extra,
        classes: [lateClass, { ...all('classes')[0]!, sourcedId: 'cls-missing', title: 'The missing class' }],
        orgs: [lateSchool],
        ...edit.add,
      },
    });

  await t.test('a user, a class or a school that goes takes its members (and classes, and links) with it; they come back with it', async (t) => {
    const classMembers = await ids('classroom_member', { classroom_sourced_id: goneClass.sourcedId });
    const userMembers = await ids('classroom_member', { user_sourced_id: leaving.sourcedId });
    const schoolClasses = await ids('classroom', { school_sourced_id: school.sourcedId });
    t.ok(classMembers.length > 0 && userMembers.length > 0 && schoolClasses.length > 0, 'each has something that points at it');
    const before = await rowCounts();
    const run = await sync(
      later({
        users: (u) =>
          u.sourcedId === leaving.sourcedId ? undefined : u.sourcedId === noEmail.sourcedId ? { ...u, email: `${u.sourcedId}@fixed.example.org` } : u,
        classes: (c) => (c.sourcedId === goneClass.sourcedId ? undefined : c),
        orgs: (o) => (o.sourcedId === school.sourcedId ? undefined : o),
      }),
    );
    await checkReport(t, run, before);
    t.same(await dangling(), whole, 'nothing points at the user, class or school that went');
    t.same(await ids('classroom', { school_sourced_id: school.sourcedId }), [], "the school's classes wait for it");
    t.same(
      await ids('pending_classroom'),
      schoolClasses.filter((c) => c !== goneClass.sourcedId),
    );
    t.same(await ids('classroom_member', { user_sourced_id: leaving.sourcedId }), []);
    t.same(await ids('classroom_member', { classroom_sourced_id: goneClass.sourcedId }), []);
    const c = run.counts.targets.kybergate!.entities;
    t.ok(c.enrollments!.deleted >= new Set([...classMembers, ...userMembers]).size, `members that went are counted deleted (${c.enrollments!.deleted})`);
    t.ok(c.users!.updated > 0, 'users of the school lose their link to it, counted as updated');

    const back = await rowCounts();
    const again = await sync(later());
    await checkReport(t, again, back);
    t.same(await dangling(), whole);
    t.same(await ids('classroom', { school_sourced_id: school.sourcedId }), schoolClasses, 'the classes came back with their school');
    t.same(await ids('classroom_member', { user_sourced_id: leaving.sourcedId }), userMembers, 'the members came back with their user');
    t.same(await ids('classroom_member', { classroom_sourced_id: goneClass.sourcedId }), classMembers, 'and with their class');
    const links = await kg
      .selectFrom('user_account')
      .select('school_sourced_ids')
      .where('tenant_id', '=', TENANT)
      .where('sourced_id', '=', leaving.sourcedId)
      .executeTakeFirstOrThrow();
    t.same(links.school_sourced_ids, leaving.orgSourcedIds, 'and the links');
  });

  await t.test('a tobedeleted user takes its members; a deleted enrollment drops its waiting member', async (t) => {
    const members = await ids('classroom_member', { user_sourced_id: student.sourcedId });
    t.ok(members.length > 0);
    const before = await rowCounts();
    const gone: User = { ...usersById.get(student.sourcedId)!, status: 'tobedeleted', dateLastModified: new Date('2026-12-01T00:00:00Z') };
    const run = await sync({ records: <E extends RosterEntity>(entity: E) => (entity === 'users' ? [gone] : []) as RosterRecord<E>[] }, 'delta');
    await checkReport(t, run, before);
    t.same(await dangling(), whole);
    t.same(await ids('classroom_member', { user_sourced_id: student.sourcedId }), []);
    t.same(await ids('pending_member'), members, 'they wait for the user');
    t.equal(run.counts.targets.kybergate!.entities.enrollments!.deleted, members.length);

    const dropped: Enrollment = { ...(extra[0] as Enrollment), status: 'tobedeleted', dateLastModified: new Date('2026-12-01T00:00:00Z') };
    await sync({ records: <E extends RosterEntity>(entity: E) => (entity === 'enrollments' ? [dropped] : []) as RosterRecord<E>[] }, 'delta');
    t.same(
      await ids('pending_member'),
      members.filter((id) => id !== dropped.sourcedId),
      'a deleted enrollment waits no more',
    );
  });
});
