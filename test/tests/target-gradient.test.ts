import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import type { AcademicSession, RosterEntity, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import {
  changeDistrict,
  generateDistrict,
  startTestHost,
  writeOneRosterPackage,
  type DistrictChangeReport,
  type RosterRecordSource,
} from '@rosterbridge/test-kit';
import type { GradientApi } from '@rosterbridge/target-gradient';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
// Random-looking: the host censors its API tokens, and one holding "gradient" would blank the word.
const ADMIN = 'adm-Gq8Kx2Vr5Wz9Lp3Nt-0123';
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const FAULTS = SIZE === 'small' ? { missingEmails: 40, duplicateEmails: 40 } : { missingEmails: 6, duplicateEmails: 4 };
const ALL_STAFF = ['teacher', 'administrator', 'aide', 'proctor'];
const TABLES = ['organization', 'term', 'class', 'class_term', 'staff_member', 'student', 'class_member'] as const;
type Table = (typeof TABLES)[number];
/** The entity whose record a row of each table comes from, and the column naming that record. */
const ORIGIN: Record<Table, [RosterEntity, string]> = {
  organization: ['orgs', 'sourced_id'],
  term: ['academicSessions', 'sourced_id'],
  class: ['classes', 'sourced_id'],
  class_term: ['classes', 'class_sourced_id'],
  staff_member: ['users', 'sourced_id'],
  student: ['users', 'sourced_id'],
  class_member: ['enrollments', 'sourced_id'],
};

const base = generateDistrict({ seed: 41, size: SIZE, faults: FAULTS });
const changedWhilePaused = changeDistrict(base, { seed: 43, fraction: 0.01 });
const delta = changeDistrict(base, { seed: 44, fraction: 0.01 });
const other = generateDistrict({ seed: 42, size: SIZE });

async function writePackage(dir: string, source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk') {
  rmSync(dir, { recursive: true, force: true });
  await writeOneRosterPackage(source, dir, { mode });
}

/** What Gradient should hold for a district, table by table, as comparable strings. */
function expected(source: RosterRecordSource, staffRoles: string[]): Record<Table, string[]> {
  const all = <E extends RosterEntity>(e: E) => [...source.records(e)] as RosterRecord<E>[];
  const users = all('users');
  const staff = users.filter((u) => staffRoles.includes(u.role));
  const students = users.filter((u) => u.role === 'student');
  const kind = new Map<string, string>([...staff.map((u) => [u.sourcedId, 'staff'] as const), ...students.map((u) => [u.sourcedId, 'student'] as const)]);
  const classes = all('classes');
  return {
    organization: all('orgs').map((o) => [o.sourcedId, o.name, o.type].join('|')),
    term: all('academicSessions').map((s) => [s.sourcedId, s.title, s.type, s.startDate, s.endDate].join('|')),
    class: classes.map((c) => [c.sourcedId, c.title, c.schoolSourcedId, c.periods.join(',')].join('|')),
    class_term: classes.flatMap((c) => c.termSourcedIds.map((term) => [c.sourcedId, term].join('|'))),
    staff_member: staff.map((u) => [u.sourcedId, u.role, u.givenName, u.familyName, u.email ?? ''].join('|')),
    student: students.map((u) => [u.sourcedId, u.givenName, u.familyName, u.email ?? '', u.grades.join(',')].join('|')),
    class_member: all('enrollments')
      .filter((e) => kind.has(e.userSourcedId))
      .map((e) => [e.sourcedId, e.classSourcedId, e.userSourcedId, kind.get(e.userSourcedId), e.role].join('|')),
  };
}

t.test('Gradient target', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-gradient-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string, displayName: string, timezone: string, settings: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName,
        timezone,
        source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } },
        targets: [{ id: 'gradient', settings }],
      }),
    );
  tenant('lincoln', 'Lincoln USD', 'Pacific/Auckland', { today: '2026-11-23' });
  tenant('jefferson', 'Jefferson County Schools', 'America/New_York', { staffRoles: ['teacher'], today: '2027-02-01' });
  await writePackage(path.join(root, 'lincoln-package'), base);
  await writePackage(path.join(root, 'jefferson-package'), other);

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db.withSchema('plugin_target_gradient');
  const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
    host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode })).id);
  const issues = async (run: SyncRun, code: string) => (await host.runs.issues(run.id, { limit: 10_000 })).filter((i: any) => i.code === code);

  /** Every row of the tenant in every table, keyed, with its xmin. */
  const snapshot = async (tenantId: string) => {
    const rows = new Map<string, { xmin: string; table: Table; origin: string }>();
    for (const table of TABLES) {
      const found = await db
        .selectFrom(table)
        .selectAll()
        .select(sql<string>`xmin::text`.as('xmin'))
        .where('tenant_id', '=', tenantId)
        .execute();
      for (const r of found) {
        const { xmin, ...rest } = r as Record<string, any>;
        const key = table === 'class_term' ? `${rest.class_sourced_id}|${rest.term_sourced_id}` : rest.sourced_id;
        rows.set(`${table}:${key}`, { xmin, table, origin: rest[ORIGIN[table][1]] });
      }
    }
    return rows;
  };
  const held = async (tenantId: string): Promise<Record<Table, string[]>> => {
    const q = (table: Table) => db.selectFrom(table).where('tenant_id', '=', tenantId);
    const rows = {
      organization: (await q('organization').select(['sourced_id', 'name', 'org_type']).execute()).map((r) => [r.sourced_id, r.name, r.org_type].join('|')),
      term: (
        await q('term')
          .select(['sourced_id', 'title', 'session_type', sql<string>`start_date::text`.as('s'), sql<string>`end_date::text`.as('e')])
          .execute()
      ).map((r) => [r.sourced_id, r.title, r.session_type, r.s, r.e].join('|')),
      class: (await q('class').select(['sourced_id', 'title', 'school_sourced_id', 'periods']).execute()).map((r) =>
        [r.sourced_id, r.title, r.school_sourced_id, r.periods.join(',')].join('|'),
      ),
      class_term: (await q('class_term').select(['class_sourced_id', 'term_sourced_id']).execute()).map((r) =>
        [r.class_sourced_id, r.term_sourced_id].join('|'),
      ),
      staff_member: (await q('staff_member').select(['sourced_id', 'role', 'given_name', 'family_name', 'email']).execute()).map((r) =>
        [r.sourced_id, r.role, r.given_name, r.family_name, r.email ?? ''].join('|'),
      ),
      student: (await q('student').select(['sourced_id', 'given_name', 'family_name', 'email', 'grades']).execute()).map((r) =>
        [r.sourced_id, r.given_name, r.family_name, r.email ?? '', r.grades.join(',')].join('|'),
      ),
      class_member: (await q('class_member').select(['sourced_id', 'class_sourced_id', 'person_sourced_id', 'member_kind', 'role']).execute()).map((r) =>
        [r.sourced_id, r.class_sourced_id, r.person_sourced_id, r.member_kind, r.role].join('|'),
      ),
    };
    return rows;
  };
  const expectHolds = async (t: Test, tenantId: string, source: RosterRecordSource, staffRoles = ALL_STAFF) => {
    const have = await held(tenantId);
    const want = expected(source, staffRoles);
    for (const table of TABLES) t.same(have[table].sort(), want[table].sort(), `${table}: Gradient holds exactly the district's records`);
  };
  /** Rows created, rewritten or removed between two snapshots must come from records the change report names. */
  const expectOnlyReported = (
    t: Test,
    before: Awaited<ReturnType<typeof snapshot>>,
    after: Awaited<ReturnType<typeof snapshot>>,
    report: DistrictChangeReport,
  ) => {
    const touched = new Set<string>();
    for (const [key, row] of after) if (before.get(key)?.xmin !== row.xmin) touched.add(key);
    for (const key of before.keys()) if (!after.has(key)) touched.add(key);
    const stray: string[] = [];
    for (const key of touched) {
      const row = after.get(key) ?? before.get(key)!;
      const changes = report.entities[ORIGIN[row.table][0]];
      if (![...changes.created, ...changes.updated, ...changes.deleted].includes(row.origin)) stray.push(key);
    }
    t.ok(touched.size > 0, `${touched.size} rows changed`);
    t.same(stray, [], 'every changed row comes from a record the change touched');
    return touched;
  };
  const api = async () => (await host.plugins.activate('target-gradient')) as GradientApi;

  await t.test('the default schedule is nightly at 23:45 Central, whatever the tenant time zone', async (t) => {
    for (const id of ['lincoln', 'jefferson']) t.match(host.tenants.config(id).targets[0]!.schedule, { cron: '45 23 * * *', timezone: 'America/Chicago' }, id);
    const res = await fetch(`${host.url}/tenants/lincoln/schedules`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await res.json()) as any;
    t.same(
      body.schedules.map((s: any) => [s.cron, s.timezone, s.targets]),
      [['45 23 * * *', 'America/Chicago', ['gradient']]],
    );
    for (const next of body.schedules[0].next) {
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/Chicago', hour: '2-digit', minute: '2-digit' }).format(new Date(next));
      t.equal(local, '23:45', `${next} is 23:45 in Chicago`);
    }
  });

  await t.test('roster syncing is skipped until the academic year is started, then catches up on what changed meanwhile', async (t) => {
    const first = await sync('lincoln');
    t.equal(first.status, 'skipped', 'a paused run is skipped, not failed');
    t.match(first.reason, /target gradient skipped: the Gradient academic year is not started for Lincoln USD/);
    t.equal(first.counts.targets.gradient!.status, 'skipped');
    t.equal((await snapshot('lincoln')).size, 0, 'nothing was written');

    // The district changes while Gradient is paused; the ledger takes it, Gradient does not.
    await writePackage(path.join(root, 'lincoln-package'), changedWhilePaused);
    // This time as the nightly schedule starts it (the scheduler's own path into the sync service).
    const scheduled = await host.syncs.triggerScheduled('lincoln', {
      targets: ['gradient'],
      jobId: 'gradient-nightly-test',
      attempt: 0,
      lastAttempt: false,
      trigger: 'schedule 45 23 * * * (America/Chicago)',
    });
    const second = await host.syncs.settled(scheduled.id);
    t.match(
      second,
      { status: 'skipped', trigger: /^schedule/, reason: /the Gradient academic year is not started for Lincoln USD/ },
      'a scheduled run is skipped with the reason, not failed',
    );
    t.equal(second.counts.targets.gradient!.status, 'skipped');
    t.ok(
      Object.values(second.counts.source).some((c) => c!.updated + c!.created + c!.deleted > 0),
      'the source changed',
    );
    t.equal((await snapshot('lincoln')).size, 0, 'still nothing written');

    // A Gradient Leader starts the year in Admin Mode.
    await db.insertInto('academic_year').values({ tenant_id: 'lincoln', school_year: '2027', started_at: new Date(), started_by: 'leader@lincoln' }).execute();
    const third = await sync('lincoln');
    t.equal(third.status, 'success', `${third.reason ?? 'success'}`);
    t.equal(third.counts.targets.gradient!.status, 'applied');
    const users = [...changedWhilePaused.records('users')];
    const rostered = users.filter((u) => u.role === 'student' || ALL_STAFF.includes(u.role));
    t.match(
      third.counts.targets.gradient!.entities.users,
      { created: rostered.length, skipped: users.length - rostered.length, errors: 0 },
      'back-filled from the ledger',
    );
    t.equal(third.counts.targets.gradient!.entities.enrollments!.created, changedWhilePaused.counts.enrollments);
    await expectHolds(t, 'lincoln', changedWhilePaused);
    for (const id of changedWhilePaused.report.entities.users.deleted)
      t.notOk(
        (await held('lincoln')).student.some((r) => r.startsWith(`${id}|`)),
        `${id}, deleted while paused, is not there`,
      );

    const guardians = await issues(third, 'GRADIENT_USERS_NOT_ROSTERED');
    t.equal(guardians.length, 1, 'one summary issue for the users not rostered');
    t.match(guardians[0], {
      severity: 'warning',
      entity: 'users',
      message: new RegExp(`^${users.length - rostered.length} user\\(s\\) with role guardian were not rostered`),
    });
  });

  await t.test('staff without an email or sharing one are reported as warnings', async (t) => {
    const run = await sync('lincoln');
    const staff = [...changedWhilePaused.records('users')].filter((u) => ALL_STAFF.includes(u.role));
    const missing = staff.filter((u) => !u.email).map((u) => u.sourcedId);
    const byEmail = new Map<string, string[]>();
    for (const u of staff) if (u.email) byEmail.set(u.email.toLowerCase(), [...(byEmail.get(u.email.toLowerCase()) ?? []), u.sourcedId]);
    const shared = [...byEmail.values()].filter((ids) => ids.length > 1).flat();
    t.ok(missing.length > 0 && shared.length > 0, `the district's faults reach staff: ${missing.length} without email, ${shared.length} sharing one`);
    t.same((await issues(run, 'GRADIENT_STAFF_EMAIL_MISSING')).map((i: any) => [i.sourcedId, i.severity]).sort(), missing.map((id) => [id, 'warning']).sort());
    t.same((await issues(run, 'GRADIENT_STAFF_EMAIL_DUPLICATE')).map((i: any) => i.sourcedId).sort(), shared.sort());
    t.equal(run.status, 'success', 'warnings keep the run a success');
  });

  await t.test('a resync of the same data changes no row', async (t) => {
    const before = await snapshot('lincoln');
    const run = await sync('lincoln');
    t.equal(run.status, 'success');
    t.same(await snapshot('lincoln'), before, 'every row has the same xmin');
  });

  await t.test('the current-term schedule can be spot-checked for a staff member, a student and a class', async (t) => {
    const gradient = await api();
    t.equal(await gradient.today('lincoln'), '2026-11-23', "today comes from the tenant's setting");
    t.same(
      (await gradient.currentTerms('lincoln')).map((s) => s.sourcedId),
      ['as-2027-1'],
      'the fall semester is current on 2026-11-23',
    );
    t.same(
      (await gradient.currentTerms('lincoln', { today: '2027-03-01' })).map((s) => s.sourcedId),
      ['as-2027-2'],
    );

    const sessions = new Map([...changedWhilePaused.records('academicSessions')].map((s) => [s.sourcedId, s] as [string, AcademicSession]));
    const classes = new Map([...changedWhilePaused.records('classes')].map((c) => [c.sourcedId, c]));
    const users = new Map([...changedWhilePaused.records('users')].map((u) => [u.sourcedId, u] as [string, User]));
    const enrollments = [...changedWhilePaused.records('enrollments')];
    const runsOn = (classId: string, day: string) =>
      classes.get(classId)!.termSourcedIds.some((id) => sessions.get(id)!.startDate <= day && day <= sessions.get(id)!.endDate);
    const onDay = (day: string) =>
      enrollments.filter((e) => runsOn(e.classSourcedId, day) && (!e.beginDate || e.beginDate <= day) && (!e.endDate || day <= e.endDate));

    for (const day of ['2026-11-23', '2027-03-01']) {
      const current = onDay(day);
      const teacher = current.find((e) => e.role === 'teacher')!.userSourcedId;
      const student = current.find((e) => e.role === 'student')!.userSourcedId;
      const options = { today: day };
      t.same(
        (await gradient.classesOfStaffMember('lincoln', teacher, options)).map((c) => c.classSourcedId),
        [...new Set(current.filter((e) => e.userSourcedId === teacher).map((e) => e.classSourcedId))].sort(),
        `${day}: the classes of teacher ${teacher}`,
      );
      t.same(
        (await gradient.classesOfStudent('lincoln', student, options)).map((c) => c.classSourcedId),
        [...new Set(current.filter((e) => e.userSourcedId === student).map((e) => e.classSourcedId))].sort(),
        `${day}: the classes of student ${student}`,
      );
      t.same(await gradient.classesOfStaffMember('lincoln', student, options), [], 'a student is no staff member');
      const klass = current.find((e) => e.role === 'student')!.classSourcedId;
      const members = await gradient.membersOfClass('lincoln', klass, options);
      t.same(
        members.map((m) => m.sourcedId).sort(),
        [...new Set(current.filter((e) => e.classSourcedId === klass).map((e) => e.userSourcedId))].sort(),
        `${day}: the people in class ${klass}`,
      );
      const someone = members.find((m) => m.kind === 'student')!;
      t.match(someone, { role: 'student', givenName: users.get(someone.sourcedId)!.givenName, familyName: users.get(someone.sourcedId)!.familyName });
    }
    // A class running only in the spring has nobody in it this (fall) term.
    const spring = [...classes.values()].find((c) => c.termSourcedIds.length === 1 && c.termSourcedIds[0] === 'as-2027-2');
    if (spring) {
      t.same(await gradient.membersOfClass('lincoln', spring.sourcedId), [], `spring class ${spring.sourcedId} is not in the fall schedule`);
      t.ok((await gradient.membersOfClass('lincoln', spring.sourcedId, { today: '2027-03-01' })).length > 0, 'but is in the spring one');
    }

    // The SQL views say the same: term_schedule for any day, current_term_schedule for the database's today.
    const day = '2026-11-23';
    const viewRows = await db
      .selectFrom('term_schedule')
      .select(['class_sourced_id', 'person_sourced_id'])
      .distinct()
      .where('tenant_id', '=', 'lincoln')
      .where(sql<boolean>`${day}::date between term_start_date and term_end_date`)
      .where(sql<boolean>`${day}::date between coalesce(member_begin_date, ${day}::date) and coalesce(member_end_date, ${day}::date)`)
      .execute();
    t.same(
      viewRows.map((r) => `${r.class_sourced_id}|${r.person_sourced_id}`).sort(),
      [
        ...new Set(
          onDay(day)
            .filter((e) => users.get(e.userSourcedId)!.role !== 'guardian')
            .map((e) => `${e.classSourcedId}|${e.userSourcedId}`),
        ),
      ].sort(),
    );
    const current = await db
      .selectFrom('current_term_schedule')
      .select(['membership_sourced_id', 'term_sourced_id'])
      .where('tenant_id', '=', 'lincoln')
      .execute();
    const byDate = await db
      .selectFrom('term_schedule')
      .select(['membership_sourced_id', 'term_sourced_id'])
      .where('tenant_id', '=', 'lincoln')
      .where(
        sql<boolean>`current_date between term_start_date and term_end_date and coalesce(member_begin_date, current_date) <= current_date and coalesce(member_end_date, current_date) >= current_date`,
      )
      .execute();
    t.same(
      current.map((r) => `${r.membership_sourced_id}|${r.term_sourced_id}`).sort(),
      byDate.map((r) => `${r.membership_sourced_id}|${r.term_sourced_id}`).sort(),
      'current_term_schedule is term_schedule on the current date',
    );
  });

  await t.test('a new academic year pauses syncing again; once started, it catches up from its cursor', async (t) => {
    await db.insertInto('academic_year').values({ tenant_id: 'lincoln', school_year: '2028', started_at: null }).execute();
    const before = await snapshot('lincoln');
    await writePackage(path.join(root, 'lincoln-package'), base); // undoes the change made during the first pause
    const paused = await sync('lincoln');
    t.equal(paused.status, 'skipped');
    t.match(paused.reason, /the Gradient academic year 2028 is not started for Lincoln USD/);
    t.same(await snapshot('lincoln'), before, 'nothing was written while paused');

    await db.updateTable('academic_year').set({ started_at: new Date() }).where('tenant_id', '=', 'lincoln').where('school_year', '=', '2028').execute();
    const caughtUp = await sync('lincoln');
    t.equal(caughtUp.status, 'success');
    t.same(
      caughtUp.counts.source.users && caughtUp.counts.source.users.updated + caughtUp.counts.source.users.created,
      0,
      'the source had nothing new: the changes came from the cursor',
    );
    await expectHolds(t, 'lincoln', base);
    expectOnlyReported(t, before, await snapshot('lincoln'), changedWhilePaused.report);
  });

  await t.test('a 1% delta changes only the rows it should', async (t) => {
    const before = await snapshot('lincoln');
    await writePackage(path.join(root, 'lincoln-package'), delta.delta, 'delta');
    const run = await sync('lincoln', 'delta');
    t.equal(run.status, 'success', `${run.reason ?? 'success'}`);
    await expectHolds(t, 'lincoln', delta);
    const touched = expectOnlyReported(t, before, await snapshot('lincoln'), delta.report);
    const users = new Map([...base.records('users'), ...delta.records('users')].map((u) => [u.sourcedId, u]));
    const rostered = (id: string) => ['student', ...ALL_STAFF].includes(users.get(id)!.role);
    const counts = run.counts.targets.gradient!.entities;
    t.equal(counts.users!.created, delta.report.entities.users.created.filter(rostered).length, 'users created');
    t.equal(counts.users!.deleted, delta.report.entities.users.deleted.filter(rostered).length, 'users deleted');
    t.equal(counts.enrollments!.deleted, delta.report.entities.enrollments.deleted.length, 'enrollments deleted');
    t.ok(counts.users!.updated <= delta.report.entities.users.updated.length, 'no more users updated than changed');
    t.ok(touched.size < before.size / 10, `${touched.size} of ${before.size} rows touched`);
  });

  await t.test('two tenants with different settings never see each other', async (t) => {
    const gradient = await api();
    await gradient.startAcademicYear('jefferson', '2027', 'leader@jefferson');
    t.match(await gradient.academicYear('jefferson'), { schoolYear: '2027', startedAt: Date });
    const lincolnBefore = await snapshot('lincoln');
    const run = await sync('jefferson');
    t.equal(run.status, 'success', `${run.reason ?? 'success'}`);
    await expectHolds(t, 'jefferson', other, ['teacher']);
    t.same(await snapshot('lincoln'), lincolnBefore, "lincoln's rows are untouched");
    await expectHolds(t, 'lincoln', delta);
    const notRostered = (await issues(run, 'GRADIENT_USERS_NOT_ROSTERED')).map((i: any) => i.message);
    t.match(notRostered.join('\n'), /with role administrator were not rostered: Gradient takes students and the staff roles teacher/);
    // The districts share sourcedIds (usr-00000001…): each tenant's row is its own district's person.
    const id = [...other.records('users')].find((u) => u.role === 'student')!.sourcedId;
    const name = async (tenantId: string) =>
      db.selectFrom('student').select(['given_name', 'family_name']).where('tenant_id', '=', tenantId).where('sourced_id', '=', id).executeTakeFirst();
    const own = (source: RosterRecordSource) => [...source.records('users')].find((u) => u.sourcedId === id)!;
    t.same(await name('jefferson'), { given_name: own(other).givenName, family_name: own(other).familyName }, `${id} in jefferson`);
    t.same(await name('lincoln'), { given_name: own(delta).givenName, family_name: own(delta).familyName }, `${id} in lincoln`);
    t.same(
      (await gradient.currentTerms('jefferson')).map((s) => s.sourcedId),
      ['as-2027-2'],
      "jefferson's today (2027-02-01) is in the spring",
    );
    t.equal(await gradient.today('lincoln'), '2026-11-23');
  });

  await t.test('a term ending before it starts is not taken and the run is partial', async (t) => {
    const reversed: RosterRecordSource = {
      records: <E extends RosterEntity>(entity: E) =>
        (entity === 'academicSessions'
          ? [...other.records('academicSessions')].map((s) => (s.sourcedId === 'as-2027-1' ? { ...s, endDate: '2026-08-01' } : s))
          : other.records(entity)) as Iterable<RosterRecord<E>>,
    };
    await writePackage(path.join(root, 'jefferson-package'), reversed);
    const run = await sync('jefferson');
    t.equal(run.status, 'partial', 'a record not taken makes the run partial');
    t.match(await issues(run, 'GRADIENT_TERM_DATES_INVALID'), [{ severity: 'error', entity: 'academicSessions', sourcedId: 'as-2027-1', field: 'endDate' }]);
    t.match(run.counts.targets.gradient!.entities.academicSessions, { skipped: 0, errors: 1 }, 'an error counts as an error, not a skip');
    t.match(
      (await held('jefferson')).term.find((r) => r.startsWith('as-2027-1|')),
      /2026-08-17\|2026-12-18$/,
      'the term keeps its last good dates',
    );
  });

  await t.test('reset forgets the tenant roster but not its academic year', async (t) => {
    const res = await fetch(`${host.url}/tenants/jefferson/targets/gradient/reset`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    t.equal(res.status, 200);
    t.equal((await snapshot('jefferson')).size, 0);
    t.ok((await snapshot('lincoln')).size > 0, 'lincoln keeps its roster');
    t.match(await (await api()).academicYear('jefferson'), { schoolYear: '2027', startedAt: Date });

    // The next run back-fills from the ledger, where the fall term still ends before it starts.
    const refill = await sync('jefferson');
    t.equal(refill.status, 'partial');
    t.equal(refill.counts.targets.gradient!.entities.users!.created, [...other.records('users')].filter((u) => ['student', 'teacher'].includes(u.role)).length);
    const fallOnly = [...other.records('classes')].filter((c) => c.termSourcedIds.every((id) => id === 'as-2027-1')).map((c) => c.sourcedId);
    t.ok(fallOnly.length > 0, `${fallOnly.length} classes run in the fall only`);
    t.same(
      (await issues(refill, 'GRADIENT_CLASS_WITHOUT_TERM')).map((i: any) => [i.sourcedId, i.severity]).sort(),
      fallOnly.map((id) => [id, 'warning']).sort(),
    );
    t.same(await (await api()).membersOfClass('jefferson', fallOnly[0]!, { today: '2026-11-23' }), [], 'a class with no term Gradient holds is in no schedule');
  });
});
