import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import type { Enrollment, RosterEntity, RosterIssue, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import { SCHOOL_MANAGER_PARTIAL_CODES, SchoolManagerIssueCodes, schoolManagerPartialCode } from '@rosterbridge/target-school-manager';
import { generateDistrict, startTestHost, writeOneRosterPackage, type RosterRecordSource } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SCHEMA = 'plugin_target_school_manager';
const TARGET = 'school-manager';
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const TODAY = '2026-11-23';
const STAFF = ['teacher', 'administrator', 'aide', 'proctor'];

const base = generateDistrict({ seed: 35, size: SIZE });
const all = <E extends RosterEntity>(entity: E) => [...base.records(entity)] as RosterRecord<E>[];
const enrollments = all('enrollments');
const enrolled = (u: User) => enrollments.filter((e) => e.userSourcedId === u.sourcedId);
const students = all('users').filter((u) => u.role === 'student' && u.email && enrolled(u).length > 0);
// Students whose enrolments have all ended (they left in June), one whose enrolments start later,
// and one whose email School Manager does not know yet.
const [left, future, unmatched, renamed] = [students[0]!, students[1]!, students[2]!, students[3]!];
const ended = (e: Enrollment): Enrollment => ({ ...e, beginDate: '2025-08-18', endDate: '2026-06-12' });
const later = (e: Enrollment): Enrollment => ({ ...e, beginDate: '2027-01-05', endDate: '2027-06-11' });
const strays: Enrollment[] = [
  { ...enrollments[0]!, sourcedId: 'enr-no-class', classSourcedId: 'cls-missing', userSourcedId: future.sourcedId, role: 'student' },
  { ...enrollments[0]!, sourcedId: 'enr-no-user', userSourcedId: 'usr-missing', role: 'student' },
];

/** The district with the changes of this test: ended and later enrolments, enrolments naming nothing, and user edits. */
function district(users: (u: User) => User = (u) => u): RosterRecordSource {
  return {
    records: <E extends RosterEntity>(entity: E) => {
      if (entity === 'users') return all('users').map(users) as RosterRecord<E>[];
      if (entity !== 'enrollments') return base.records(entity);
      const changed = enrollments.map((e) => (e.userSourcedId === left.sourcedId ? ended(e) : e.userSourcedId === future.sourcedId ? later(e) : e));
      return [...changed, ...strays].sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : 1)) as RosterRecord<E>[];
    },
  };
}

/** School Manager's users: every roster student and staff member with an email but `unmatched` and `renamed`. */
const products = all('users')
  .filter((u) => (u.role === 'student' || STAFF.includes(u.role)) && u.email && u.sourcedId !== unmatched.sourcedId && u.sourcedId !== renamed.sourcedId)
  .map((u) => ({ id: `sm-${u.sourcedId}`, email: u.email!.toUpperCase() }));

t.test('the partial code: the first School Manager reason the issues raise; every error code has its place', async (t) => {
  const errors = Object.entries(SchoolManagerIssueCodes)
    .filter(([, c]) => c.severity === 'error')
    .map(([code]) => code);
  t.same([...SCHOOL_MANAGER_PARTIAL_CODES].sort(), errors.sort(), 'each error code can name a partial sync');
  const cases: [string, { code: string; severity: string }[], string | undefined][] = [
    ['no issue', [], undefined],
    ['only warnings', [{ code: 'SCHOOL_MANAGER_USER_UNMATCHED', severity: 'warning' }], undefined],
    ['a shared email', [{ code: 'SCHOOL_MANAGER_DUPLICATE_EMAIL', severity: 'error' }], 'SCHOOL_MANAGER_DUPLICATE_EMAIL'],
    [
      'an incomplete school comes first',
      [
        { code: 'SCHOOL_MANAGER_MEMBER_USER_UNKNOWN', severity: 'error' },
        { code: 'SCHOOL_MANAGER_DUPLICATE_EMAIL', severity: 'error' },
        { code: 'SCHOOL_MANAGER_SCHOOL_INCOMPLETE', severity: 'error' },
      ],
      'SCHOOL_MANAGER_SCHOOL_INCOMPLETE',
    ],
    ['a source error is not ours', [{ code: 'BAD_VOCABULARY', severity: 'error' }], undefined],
  ];
  for (const [name, issues, code] of cases) t.equal(schoolManagerPartialCode(issues), code, name);
});

t.test('School Manager rules: enrolment dates, classroom data off, partial code, memberships only of what it holds', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-school-manager-rules-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenantFile = (id: string, settings: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: `District ${id}`,
        timezone: 'America/New_York',
        region: 'US',
        source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } },
        targets: [{ id: TARGET, settings: { today: TODAY, ...settings } }],
      }),
    );
  const writePackage = async (id: string, source: RosterRecordSource) => {
    const dir = path.join(root, `${id}-package`);
    rmSync(dir, { recursive: true, force: true });
    await writeOneRosterPackage(source, dir);
  };
  tenantFile('dates', { respectEnrolmentDate: true });
  tenantFile('rooms', { syncClassroomData: false });
  tenantFile('crash', {});
  for (const id of ['dates', 'rooms', 'crash']) await writePackage(id, district());

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db;
  const sm = db.withSchema(SCHEMA);
  const sync = async (tenantId: string): Promise<SyncRun> => host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode: 'full' })).id);
  // School Manager's schema comes with its activation, by a first run (which fails: it has no users yet).
  t.equal((await sync('rooms')).errorCode, 'SCHOOL_MANAGER_NO_USERS');
  for (const id of ['dates', 'rooms', 'crash'])
    await sm
      .insertInto('user_account')
      .values(products.map((p) => ({ tenant_id: id, id: p.id, email: p.email })))
      .execute();
  const rowsOf = (table: string, tenantId: string) => sm.selectFrom(table).selectAll().where('tenant_id', '=', tenantId).execute();
  const members = async (tenantId: string) => (await rowsOf('classroom_member', tenantId)).map((m) => m.enrollment_sourced_id as string).sort();

  /** Rows of School Manager that point at a row it lacks, by reference: each must be 0. */
  const dangling = async (tenantId: string) => {
    const table = (name: string) => sql.table(`${SCHEMA}.${name}`);
    const q = async (text: ReturnType<typeof sql>) => Number(((await text.execute(db)).rows[0] as { n: string }).n);
    return {
      memberClassroom: await q(sql`select count(*) as n from ${table('classroom_member')} m where m.tenant_id = ${tenantId}
        and not exists (select 1 from ${table('classroom')} k where k.tenant_id = m.tenant_id and k.sourced_id = m.classroom_sourced_id)`),
      memberUser: await q(sql`select count(*) as n from ${table('classroom_member')} m where m.tenant_id = ${tenantId}
        and not exists (select 1 from ${table('user_account')} u where u.tenant_id = m.tenant_id and u.id = m.user_id)`),
      memberMatched: await q(sql`select count(*) as n from ${table('classroom_member')} m
        join ${table('sis_enrollment')} e on e.tenant_id = m.tenant_id and e.sourced_id = m.enrollment_sourced_id
        where m.tenant_id = ${tenantId}
        and not exists (select 1 from ${table('sis_user_match')} x where x.tenant_id = m.tenant_id and x.sourced_id = e.user_sourced_id and x.status = 'matched' and x.user_id = m.user_id)`),
      matchUser: await q(sql`select count(*) as n from ${table('sis_user_match')} x where x.tenant_id = ${tenantId} and x.user_id is not null
        and not exists (select 1 from ${table('user_account')} u where u.tenant_id = x.tenant_id and u.id = x.user_id)`),
      parentStudent: await q(sql`select count(*) as n from ${table('parent_student')} r where r.tenant_id = ${tenantId}
        and (not exists (select 1 from ${table('user_account')} u where u.tenant_id = r.tenant_id and u.id = r.student_user_id)
          or not exists (select 1 from ${table('parent_contact')} c where c.tenant_id = r.tenant_id and c.sourced_id = r.parent_sourced_id))`),
    };
  };
  const whole = { memberClassroom: 0, memberUser: 0, memberMatched: 0, matchUser: 0, parentStudent: 0 };

  /** The run's School Manager counts against its issues: errors = error issues; skipped = the records the warnings name or count. */
  const checkReport = async (t: Test, run: SyncRun) => {
    const issues: RosterIssue[] = await host.runs.issues(run.id, { limit: 100_000 });
    const counts = run.counts.targets[TARGET]!.entities;
    for (const entity of ['orgs', 'users', 'classes', 'enrollments'] as const) {
      const mine = issues.filter((i) => i.entity === entity && i.code.startsWith('SCHOOL_MANAGER_') && i.field !== 'excludedSchools');
      const warned = mine
        .filter((i) => i.severity === 'warning')
        .reduce((n, i) => n + (i.sourcedId ? 1 : Number(/^(\d+) \w+ record\(s\) were skipped/.exec(i.message)![1])), 0);
      t.equal(counts[entity]?.errors ?? 0, mine.filter((i) => i.severity === 'error').length, `${entity}: errors = error issues`);
      t.equal(counts[entity]?.skipped ?? 0, warned, `${entity}: skipped = the records the warnings name or count`);
    }
    return issues;
  };

  await t.test('Respect Enrolment Date: a student whose enrolments all ended is not matched, but skipped with a warning', async (t) => {
    const run = await sync('dates');
    const issues = await checkReport(t, run);
    const match = new Map((await rowsOf('sis_user_match', 'dates')).map((m) => [m.sourced_id as string, m]));
    t.match(match.get(left.sourcedId), { status: 'left', user_id: null }, 'the student who left is not matched');
    t.match(match.get(future.sourcedId), { status: 'matched' }, 'a student whose enrolments start later has not left');
    t.match(
      issues.filter((i) => i.code === 'SCHOOL_MANAGER_STUDENT_LEFT'),
      [{ sourcedId: left.sourcedId, severity: 'warning', entity: 'users', message: /enrolments have all ended/ }],
    );
    const state = (await rowsOf('sync_state', 'dates'))[0]!;
    const matchedStudents = [...match.values()].filter((m) => m.status === 'matched' && m.kind === 'student').length;
    t.equal(state.matched_students, matchedStudents, 'Matched Students leaves the student out');
    t.equal(
      state.unmatched_users,
      [...match.values()].filter((m) => ['unmatched', 'no_email', 'duplicate_email'].includes(m.status)).length,
      'and so does Unmatched Users',
    );
    t.notOk(
      (await members('dates')).some((id) => enrolled(left).some((e) => e.sourcedId === id)),
      'none of their memberships',
    );
    t.same(await dangling('dates'), whole);
  });

  await t.test('memberships naming a class or user the roster lacks are errors, and the partial sync carries a School Manager code', async (t) => {
    const run = (await host.runs.list('dates', { limit: 1 }))[0]!;
    const issues = await host.runs.issues(run.id, { limit: 100_000 });
    t.match(
      issues.filter((i) => i.code === 'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN'),
      [{ sourcedId: 'enr-no-class', severity: 'error', field: 'classSourcedId', message: /class cls-missing/ }],
    );
    t.match(
      issues.filter((i) => i.code === 'SCHOOL_MANAGER_MEMBER_USER_UNKNOWN'),
      [{ sourcedId: 'enr-no-user', severity: 'error', field: 'userSourcedId', message: /user usr-missing/ }],
    );
    t.equal(run.status, 'partial');
    t.equal(schoolManagerPartialCode(issues), 'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN', "School Manager's code for this partial sync");
    t.equal(run.errorCode, 'SCHOOL_MANAGER_MEMBER_CLASS_UNKNOWN', 'the run carries it');
  });

  await t.test('a membership of an unmatched user waits: it arrives once the user is matched, by a new School Manager user or a new email', async (t) => {
    const waiting = (u: User) =>
      enrolled(u)
        .map((e) => e.sourcedId)
        .filter((id) => id !== 'enr-no-class');
    const first = (await host.runs.list('dates', { limit: 1 }))[0]!;
    const warning = (await host.runs.issues(first.id, { limit: 100_000 })).find((i) => i.code === 'SCHOOL_MANAGER_MEMBER_USER_UNMATCHED');
    t.match(warning, {
      severity: 'warning',
      entity: 'enrollments',
      message: /record\(s\) were skipped: their user is not matched .* arrives on the first sync after its user is matched/,
    });
    const written = await members('dates');
    t.same(
      [...waiting(unmatched), ...waiting(renamed)].filter((id) => written.includes(id)),
      [],
      'their memberships are not written',
    );
    t.ok(waiting(unmatched).length > 0 && waiting(renamed).length > 0);

    // School Manager gets the user (an import of existing accounts): the roster did not change.
    await sm.insertInto('user_account').values({ tenant_id: 'dates', id: 'sm-late', email: unmatched.email! }).execute();
    const run = await sync('dates');
    await checkReport(t, run);
    t.same(
      Object.values(run.counts.source).reduce((n, c) => n + c!.created + c!.updated + c!.deleted, 0),
      0,
      'the roster changed nothing',
    );
    const arrived = await members('dates');
    t.same(
      waiting(unmatched).filter((id) => !arrived.includes(id)),
      [],
      'the memberships of the user matched now arrived',
    );
    t.equal(run.counts.targets[TARGET]!.entities.enrollments!.created, waiting(unmatched).length);

    // The SIS gets the email School Manager has: only the user record changes.
    await sm.insertInto('user_account').values({ tenant_id: 'dates', id: 'sm-renamed', email: 'renamed@school.example.org' }).execute();
    await writePackage(
      'dates',
      district((u) => (u.sourcedId === renamed.sourcedId ? { ...u, email: 'Renamed@school.example.org' } : u)),
    );
    const again = await sync('dates');
    await checkReport(t, again);
    t.equal(again.counts.source.enrollments!.updated + again.counts.source.enrollments!.created, 0, 'no enrollment was sent again');
    const now = await members('dates');
    t.same(
      waiting(renamed).filter((id) => !now.includes(id)),
      [],
      'the memberships of the user with the new email arrived',
    );
    t.same(await dangling('dates'), whole);
  });

  await t.test('Sync Classroom Data off: no classroom and no membership, users still matched; classes and enrolments skipped with warnings', async (t) => {
    const run = await sync('rooms');
    const issues = await checkReport(t, run);
    t.same(await rowsOf('classroom', 'rooms'), [], 'no classroom');
    t.same(await rowsOf('classroom_member', 'rooms'), [], 'no membership');
    const matched = (await rowsOf('sis_user_match', 'rooms')).filter((m) => m.status === 'matched');
    t.ok(matched.length > 0, `${matched.length} users matched`);
    t.equal(run.counts.targets[TARGET]!.entities.users!.created, matched.length);
    const c = run.counts.targets[TARGET]!.entities;
    t.match(c.classes, { created: 0, skipped: base.counts.classes });
    t.match(c.enrollments, { created: 0, skipped: enrollments.length + strays.length });
    t.match(
      issues
        .filter((i) => i.code === 'SCHOOL_MANAGER_CLASSROOM_DATA_OFF')
        .map((i) => i.entity)
        .sort(),
      ['classes', 'enrollments'],
    );
    t.equal((await rowsOf('sync_state', 'rooms'))[0]!.imported_classes, 0);
  });

  await t.test("a run given a failed run's changes besides its own reports the records of both", async (t) => {
    t.equal((await sync('crash')).counts.targets[TARGET]?.status, 'applied', 'a first sync');
    // Two new memberships of the unmatched user, one per run: each is skipped until the user is matched.
    const copy = (sourcedId: string): Enrollment => ({ ...enrolled(unmatched)[0]!, sourcedId });
    const adding = (...added: Enrollment[]): RosterRecordSource => ({
      records: <E extends RosterEntity>(entity: E) =>
        (entity === 'enrollments' ? [...district().records('enrollments'), ...added] : district().records(entity)) as Iterable<RosterRecord<E>>,
    });
    // The first run applies its change, then the commit of School Manager's cursor is lost (a crash).
    await writePackage('crash', adding(copy('enr-crash-a')));
    await sql`create or replace function rosterbridge.rules_lose_cursor() returns trigger language plpgsql as $$
      begin raise exception 'the cursor commit is lost'; end $$`.execute(db);
    await sql`create trigger rules_lose_cursor before insert or update on rosterbridge.target_cursor for each row
      when (new.tenant_id = 'crash') execute function rosterbridge.rules_lose_cursor()`.execute(db);
    let crashed: SyncRun;
    try {
      crashed = await sync('crash');
    } finally {
      await sql`drop trigger if exists rules_lose_cursor on rosterbridge.target_cursor`.execute(db);
      await sql`drop function if exists rosterbridge.rules_lose_cursor()`.execute(db);
    }
    t.equal(crashed.counts.targets[TARGET]?.status, 'failed', 'the first run failed after applying');
    // The batch commits with the cursor, in the engine's transaction: it rolled back with it.
    t.notOk(
      (await rowsOf('sis_enrollment', 'crash')).some((e) => e.sourced_id === 'enr-crash-a'),
      'its change rolled back with the cursor',
    );
    // The next run is given that change (from the failed run) and its own.
    await writePackage('crash', adding(copy('enr-crash-a'), copy('enr-crash-b')));
    const run = await sync('crash');
    t.equal(run.counts.source.enrollments!.created, 1, 'the run itself adds one enrollment');
    const issues = await checkReport(t, run);
    const named = issues
      .filter((i) => i.entity === 'enrollments')
      .map((i) => `${i.sourcedId ?? ''} ${i.message}`)
      .join('\n');
    t.match(named, /enr-crash-a/, "the failed run's membership is reported");
    t.match(named, /enr-crash-b/, "the run's own membership is reported");
    t.equal(run.counts.targets[TARGET]!.entities.enrollments!.skipped, 2, 'both are counted as skipped');
    t.same(await dangling('crash'), whole, 'no row points at a row School Manager lacks');
  });
});
