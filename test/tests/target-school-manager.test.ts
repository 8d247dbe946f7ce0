import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { sql } from 'kysely';
import type { Enrollment, RosterClass, SyncRun, User } from '@rosterbridge/core';
import {
  changeDistrict,
  generateDistrict,
  startTestHost,
  writeOneRosterPackage,
  type GeneratedDistrict,
  type RosterRecordSource,
} from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SCHEMA = 'plugin_target_school_manager';
const TARGET = 'school-manager';
// Random-looking: the host censors its API tokens, and one holding "school-manager" would blank it.
const ADMIN = 'adm-Sm4Hx7Qc2Tv8Lk5Rw-0123';
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const TODAY = '2026-11-23';
const STAFF = ['teacher', 'administrator', 'aide', 'proctor'];

/** Primary keys of every table of the schema, to compare snapshots row by row. */
const TABLES: Record<string, string[]> = {
  user_account: ['tenant_id', 'id'],
  sis_school: ['tenant_id', 'sourced_id'],
  sis_term: ['tenant_id', 'sourced_id'],
  sis_class: ['tenant_id', 'sourced_id'],
  sis_person: ['tenant_id', 'sourced_id'],
  sis_enrollment: ['tenant_id', 'sourced_id'],
  sis_user_match: ['tenant_id', 'sourced_id'],
  classroom: ['tenant_id', 'sourced_id'],
  classroom_member: ['tenant_id', 'enrollment_sourced_id'],
  parent_contact: ['tenant_id', 'sourced_id'],
  parent_student: ['tenant_id', 'parent_sourced_id', 'student_user_id'],
  sync_state: ['tenant_id'],
};

const faulty = generateDistrict({ seed: 31, size: SIZE, faults: { duplicateEmails: 2, missingEmails: 2 } });
const clean = generateDistrict({ seed: 32, size: 'tiny' });

interface Settings {
  syncClassroomData?: boolean;
  respectEnrolmentDate?: boolean;
  respectAcademicSessions?: boolean;
  syncParentData?: boolean;
  excludedSchools?: string[];
  today?: string;
}

/** What School Manager should hold for a district under some settings, computed independently of the plugin. */
function expected(d: RosterRecordSource, products: Map<string, string>, settings: Settings, excludedIds: string[]) {
  const users = [...d.records('users')] as User[];
  const inScope = (u: User) => u.orgSourcedIds.some((o) => !excludedIds.includes(o));
  const people = users.filter((u) => (u.role === 'student' || STAFF.includes(u.role)) && inScope(u));
  const key = (e?: string) => e?.trim().toLowerCase() || undefined;
  const shared = new Map<string, number>();
  for (const u of people) if (key(u.email)) shared.set(key(u.email)!, (shared.get(key(u.email)!) ?? 0) + 1);
  const match = new Map<string, { status: string; user_id: string | null; kind: string }>();
  for (const u of people) {
    const k = key(u.email);
    const status = !k ? 'no_email' : shared.get(k)! > 1 ? 'duplicate_email' : products.has(k) ? 'matched' : 'unmatched';
    match.set(u.sourcedId, { status, user_id: status === 'matched' ? products.get(k!)! : null, kind: u.role === 'student' ? 'student' : 'teacher' });
  }
  const terms = new Map([...d.records('academicSessions')].map((s) => [s.sourcedId, s]));
  const current = (c: RosterClass) => c.termSourcedIds.some((id) => terms.get(id) && terms.get(id)!.startDate <= TODAY && TODAY <= terms.get(id)!.endDate);
  const classrooms =
    settings.syncClassroomData === false
      ? []
      : ([...d.records('classes')] as RosterClass[]).filter(
          (c) => !excludedIds.includes(c.schoolSourcedId) && (!settings.respectAcademicSessions || current(c)),
        );
  const classroomIds = new Set(classrooms.map((c) => c.sourcedId));
  const active = (e: Enrollment) => (!e.beginDate || e.beginDate <= TODAY) && (!e.endDate || TODAY <= e.endDate);
  const members = new Map<string, { classroom_sourced_id: string; user_id: string; role: string }>();
  for (const e of d.records('enrollments') as Iterable<Enrollment>) {
    const m = match.get(e.userSourcedId);
    if (!classroomIds.has(e.classSourcedId) || m?.status !== 'matched' || (settings.respectEnrolmentDate && !active(e))) continue;
    members.set(e.sourcedId, { classroom_sourced_id: e.classSourcedId, user_id: m.user_id!, role: e.role === 'student' ? 'student' : 'teacher' });
  }
  const byId = new Map(users.map((u) => [u.sourcedId, u]));
  const parents = new Set<string>();
  if (settings.syncParentData) {
    const pairs = new Set<string>();
    for (const u of users) {
      if (['parent', 'guardian', 'relative'].includes(u.role)) for (const a of u.agentSourcedIds) pairs.add(`${u.sourcedId}|${a}`);
      if (u.role === 'student') for (const a of u.agentSourcedIds) pairs.add(`${a}|${u.sourcedId}`);
    }
    for (const p of pairs) {
      const [parent, student] = p.split('|') as [string, string];
      const par = byId.get(parent);
      const stu = byId.get(student);
      if (!par || !stu || !['parent', 'guardian', 'relative'].includes(par.role) || stu.role !== 'student' || !inScope(stu)) continue;
      if (match.get(student)?.status !== 'matched') continue;
      parents.add(`${parent}|${match.get(student)!.user_id}|${par.role}`);
    }
  }
  return { match, classrooms, members, parents };
}

/** The product users a tenant's School Manager already has: most roster students and staff, some emails in upper case. */
function productUsers(d: GeneratedDistrict, prefix: string, leaveOut: (i: number) => boolean): Map<string, string> {
  const products = new Map<string, string>();
  let i = 0;
  for (const u of d.users()) {
    if (u.role !== 'student' && !STAFF.includes(u.role)) continue;
    i++;
    if (!u.email || leaveOut(i) || products.has(u.email.toLowerCase())) continue;
    products.set(u.email.toLowerCase(), `${prefix}-${u.sourcedId}`);
  }
  return products;
}

t.test('School Manager target', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-school-manager-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const writePackage = async (id: string, source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk') => {
    const dir = path.join(root, `${id}-package`);
    rmSync(dir, { recursive: true, force: true });
    await writeOneRosterPackage(source, dir, { mode });
    return dir;
  };
  const tenantFile = (id: string, region: string, target: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: `District ${id}`,
        timezone: 'America/New_York',
        region,
        source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } },
        targets: [{ id: TARGET, ...target }],
      }),
    );

  const [, excludedSchool] = [...faulty.orgs()].filter((o) => o.type === 'school');
  const southSettings: Settings = {
    respectEnrolmentDate: true,
    respectAcademicSessions: true,
    syncParentData: true,
    excludedSchools: [excludedSchool!.name.toUpperCase()],
    today: TODAY,
  };
  tenantFile('north', 'US', { settings: { today: TODAY } });
  tenantFile('south', 'AU', { settings: southSettings });
  tenantFile('east', 'UK', { settings: { today: TODAY } });
  tenantFile('west', 'NZ', { schedule: 'manual' });
  await writePackage('north', faulty);
  await writePackage('south', faulty);
  const eastPackage = await writePackage('east', clean);
  await writePackage('west', clean);

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db.withSchema(SCHEMA);
  const api = async (method: string, url: string) => {
    const res = await fetch(host.url + url, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    return (await res.json()) as any;
  };
  const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
    host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode })).id);
  const issues = async (run: SyncRun) => host.runs.issues(run.id, { limit: 10_000 });
  const counts = (run: SyncRun) => run.counts.targets[TARGET]!.entities;
  const seed = async (tenantId: string, products: Map<string, string>) => {
    let i = 0;
    const rows = [...products].map(([email, id]) => ({ tenant_id: tenantId, id, email: i++ % 3 === 0 ? email.toUpperCase() : email, display_name: id }));
    await db.insertInto('user_account').values(rows).execute();
  };
  const rowsOf = async (table: string, tenantId: string) => db.selectFrom(table).selectAll().where('tenant_id', '=', tenantId).execute();
  /** Every row of the schema with its xmin, keyed by table and primary key. */
  const snapshot = async () => {
    const all = new Map<string, string>();
    for (const [table, pk] of Object.entries(TABLES)) {
      const { rows } = await sql<{
        xmin: string;
        row: Record<string, unknown>;
      }>`select xmin::text as xmin, to_jsonb(t) as row from ${sql.table(`${SCHEMA}.${table}`)} t`.execute(host.database.db);
      for (const r of rows) all.set(`${table}|${pk.map((c) => r.row[c]).join('|')}`, `${r.xmin}|${JSON.stringify(r.row)}`);
    }
    return all;
  };
  const changedKeys = (before: Map<string, string>, after: Map<string, string>) =>
    [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();

  await t.test("default schedule: Tuesday and Friday 18:00 in the region's time zone; manual on request", async (t) => {
    const zones: Record<string, string> = { north: 'America/Chicago', south: 'Australia/Perth', east: 'UTC' };
    for (const [tenantId, timezone] of Object.entries(zones)) {
      const body = await api('GET', `/tenants/${tenantId}/schedules`);
      t.match(body.schedules, [{ cron: '0 18 * * 2,5', timezone, targets: [TARGET] }], tenantId);
      t.same(body.manual, [], `${tenantId} has no manual target`);
      t.match(host.tenants.config(tenantId).targets[0]!.schedule, { cron: '0 18 * * 2,5', timezone });
      for (const next of body.schedules[0].next as string[]) {
        const local = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', hourCycle: 'h23' }).format(new Date(next));
        t.match(local, /^(Tue|Fri),? 18$/, `${tenantId} next run ${next} is 18:00 Tue/Fri in ${timezone}`);
      }
    }
    const west = await api('GET', '/tenants/west/schedules');
    t.same(west.schedules, []);
    t.same(west.manual, [TARGET]);
  });

  await t.test('a sync with no School Manager users fails with a code', async (t) => {
    const run = await sync('north');
    t.equal(run.status, 'failed');
    t.equal(run.counts.targets[TARGET]!.errorCode, 'SCHOOL_MANAGER_NO_USERS', "the product's own code");
    t.match(run.counts.targets[TARGET]!.error, /^SCHOOL_MANAGER_NO_USERS: School Manager has no users for District north/);
    t.match(run.reason, /SCHOOL_MANAGER_NO_USERS/);
    t.equal(run.errorCode, 'SCHOOL_MANAGER_NO_USERS', 'and the run carries it');
  });

  const northProducts = productUsers(faulty, 'n', (i) => i % 5 === 0);
  const southProducts = productUsers(faulty, 's', (i) => i % 4 === 1);

  await t.test('first sync: users matched by email (case-insensitive), classes and memberships imported', async (t) => {
    await seed('north', northProducts);
    await seed('south', southProducts);
    const want = expected(faulty, northProducts, { today: TODAY }, []);
    const run = await sync('north');
    const statuses = [...want.match.values()].map((m) => m.status);
    const n = (s: string) => statuses.filter((x) => x === s).length;
    t.ok(n('duplicate_email') >= 2 && n('no_email') === 2 && n('unmatched') > 0 && n('matched') > 0, 'the district has every kind of user');
    t.equal(run.status, 'partial', 'duplicate emails make the sync partial');
    t.equal(run.errorCode, 'SCHOOL_MANAGER_DUPLICATE_EMAIL', "the run carries School Manager's code");
    const guardians = [...faulty.users()].filter((u) => ['parent', 'guardian', 'relative'].includes(u.role)).length;
    t.same(
      counts(run).users,
      { created: n('matched'), updated: 0, unchanged: 0, skipped: n('unmatched') + n('no_email') + guardians, deleted: 0, errors: n('duplicate_email') },
      'users: matched = created, unmatched and guardians (parent data off) = skipped, shared emails = errors',
    );
    t.same(counts(run).classes, { created: faulty.counts.classes, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: 0 }, 'every class imported');
    t.equal(counts(run).enrollments!.created, want.members.size);
    const log = await issues(run);
    const codes = (code: string) =>
      log
        .filter((i) => i.code === code)
        .map((i) => i.sourcedId)
        .sort();
    const ids = (status: string) =>
      [...want.match]
        .filter(([, m]) => m.status === status)
        .map(([id]) => id)
        .sort();
    t.same(codes('SCHOOL_MANAGER_USER_UNMATCHED'), ids('unmatched'));
    t.same(codes('SCHOOL_MANAGER_USER_NO_EMAIL').sort(), faulty.faults.missingEmails.map((f) => f.sourcedId).sort());
    t.same(codes('SCHOOL_MANAGER_DUPLICATE_EMAIL'), ids('duplicate_email'));
    for (const f of faulty.faults.duplicateEmails)
      t.ok(codes('SCHOOL_MANAGER_DUPLICATE_EMAIL').includes(f.sourcedId), `${f.sourcedId} copies ${f.relatedSourcedId}'s email`);
    t.match(
      log.find((i) => i.code === 'SCHOOL_MANAGER_USER_UNMATCHED'),
      { severity: 'warning', entity: 'users', message: /No School Manager user has the email .* Make the email in School Manager match the SIS/ },
    );
    t.match(
      log.find((i) => i.code === 'SCHOOL_MANAGER_DUPLICATE_EMAIL'),
      { severity: 'error' },
    );

    const matches = await rowsOf('sis_user_match', 'north');
    t.same(Object.fromEntries(matches.map((m) => [m.sourced_id, { status: m.status, user_id: m.user_id, kind: m.kind }])), Object.fromEntries(want.match));
    t.same((await rowsOf('classroom', 'north')).map((c) => c.sourced_id).sort(), want.classrooms.map((c) => c.sourcedId).sort());
    t.same(
      Object.fromEntries(
        (await rowsOf('classroom_member', 'north')).map((m) => [
          m.enrollment_sourced_id,
          { classroom_sourced_id: m.classroom_sourced_id, user_id: m.user_id, role: m.role },
        ]),
      ),
      Object.fromEntries(want.members),
    );
    t.same(await rowsOf('parent_contact', 'north'), [], 'parents are off by default');
    const state = (await rowsOf('sync_state', 'north'))[0]!;
    t.ok(state.last_sync_at, 'the last sync date is kept');
    const kinds = [...want.match.values()].filter((m) => m.status === 'matched');
    t.match(state, {
      unmatched_users: want.match.size - kinds.length,
      matched_students: kinds.filter((m) => m.kind === 'student').length,
      matched_teachers: kinds.filter((m) => m.kind === 'teacher').length,
      imported_classes: faulty.counts.classes,
    });
    // The run says the same Sync Details in School Manager's words (its manifest's summary lines).
    const detail = (await (await fetch(`${host.url}/runs/${run.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as SyncRun;
    const summary = (detail.counts.targets[TARGET] as { product?: string; summary?: { label: string; value: number }[] }) ?? {};
    t.equal(summary.product, 'School Manager');
    t.same(summary.summary, [
      { label: 'Matched students', value: state.matched_students },
      { label: 'Matched teachers', value: state.matched_teachers },
      { label: 'Unmatched users', value: state.unmatched_users },
      { label: 'Imported classes', value: state.imported_classes },
      { label: 'Errors', value: n('duplicate_email') },
    ]);
  });

  await t.test("enrolment dates, academic sessions, parents and excluded schools; tenants do not see each other's rows", async (t) => {
    const want = expected(faulty, southProducts, southSettings, [excludedSchool!.sourcedId]);
    const run = await sync('south');
    const shared = [...want.match.values()].some((m) => m.status === 'duplicate_email');
    t.equal(run.status, shared ? 'partial' : 'success', 'partial only when a shared email of an included school stands');
    const allClasses = [...faulty.classes()];
    t.ok(
      want.classrooms.length > 0 && want.classrooms.length < allClasses.filter((c) => c.schoolSourcedId !== excludedSchool!.sourcedId).length,
      'some classes of the included school are outside the current session',
    );
    t.same((await rowsOf('classroom', 'south')).map((c) => c.sourced_id).sort(), want.classrooms.map((c) => c.sourcedId).sort());
    const members = await rowsOf('classroom_member', 'south');
    t.same(
      Object.fromEntries(members.map((m) => [m.enrollment_sourced_id, { classroom_sourced_id: m.classroom_sourced_id, user_id: m.user_id, role: m.role }])),
      Object.fromEntries(want.members),
    );
    t.same(
      Object.fromEntries((await rowsOf('sis_user_match', 'south')).map((m) => [m.sourced_id, { status: m.status, user_id: m.user_id, kind: m.kind }])),
      Object.fromEntries(want.match),
      'users only of the excluded school are left out',
    );
    const relations = await rowsOf('parent_student', 'south');
    t.ok(relations.length > 0);
    t.same(relations.map((r) => `${r.parent_sourced_id}|${r.student_user_id}|${r.relationship}`).sort(), [...want.parents].sort());
    const contacts = await rowsOf('parent_contact', 'south');
    t.same(contacts.map((c) => c.sourced_id).sort(), [...new Set([...want.parents].map((p) => p.split('|')[0]))].sort());
    const guardian = [...faulty.users()].find((u) => u.sourcedId === contacts[0]!.sourced_id)!;
    t.match(
      contacts[0],
      {
        given_name: guardian.givenName,
        family_name: guardian.familyName,
        email: guardian.email ?? null,
        phone: guardian.phone ?? null,
        sms: guardian.sms ?? null,
      },
      'contact details',
    );
    t.notOk(
      (await issues(run)).some((i) => i.code === 'SCHOOL_MANAGER_EXCLUDED_SCHOOL_UNKNOWN'),
      'the excluded school is found by name, whatever the case',
    );

    // North's rows hold north's users only, south's south's.
    for (const [tenantId, prefix] of [
      ['north', 'n-'],
      ['south', 's-'],
    ] as const) {
      const foreign = [
        ...(await rowsOf('classroom_member', tenantId)),
        ...(await rowsOf('sis_user_match', tenantId)),
        ...(await rowsOf('parent_student', tenantId)),
      ]
        .map((m) => m.user_id ?? m.student_user_id)
        .filter((id) => id && !id.startsWith(prefix));
      t.same(foreign, [], `${tenantId}'s rows name only ${tenantId}'s School Manager users`);
    }
    t.equal((await rowsOf('classroom', 'north')).length, faulty.counts.classes, 'north still has every class');
  });

  await t.test('a resync of the same data changes no row; shared emails keep it partial', async (t) => {
    const before = await snapshot();
    for (const tenantId of ['north', 'south']) {
      const first = (await host.runs.list(tenantId, { limit: 1 }))[0]!;
      const run = await sync(tenantId);
      t.equal(run.status, first.status, `${tenantId}: still ${first.status}`);
      const log = await issues(run);
      // north's shared emails stand (partial); south's are all in its excluded school (success).
      t.equal(log.length > 0, first.status === 'partial', `${tenantId}: issues only while the shared emails keep it partial (${log.length} issues)`);
      t.ok(
        log.every((i) => i.code === 'SCHOOL_MANAGER_DUPLICATE_EMAIL'),
        'only the errors that still stand are reported again',
      );
      t.match(counts(run).users, { created: 0, updated: 0, deleted: 0, skipped: 0 });
      t.match(counts(run).classes ?? {}, { created: 0, updated: 0, deleted: 0 });
    }
    t.same(changedKeys(before, await snapshot()), [], 'no row of the schema was written');
  });

  await t.test('a 1% delta changes only the rows it should', async (t) => {
    const changed = changeDistrict(faulty, { seed: 33, fraction: 0.01 });
    const report = changed.report.entities;
    // The new users already exist in School Manager: they will be matched.
    const fresh = new Map<string, string>();
    for (const u of changed.records('users'))
      if (report.users.created.includes(u.sourcedId) && u.email && u.role !== 'guardian') fresh.set(u.email.toLowerCase(), `n-${u.sourcedId}`);
    if (fresh.size > 0) await seed('north', fresh);
    const before = await snapshot();
    await writePackage('north', changed.delta, 'delta');
    const run = await sync('north', 'delta');
    t.not(run.status, 'failed', run.reason ?? '');
    const touched = changedKeys(before, await snapshot());
    const ids = (entity: keyof typeof report) => new Set([...report[entity].created, ...report[entity].updated, ...report[entity].deleted]);
    const users = ids('users');
    const enrollmentsOfUsers = new Set(
      [...faulty.enrollments(), ...changed.records('enrollments')].filter((e) => users.has(e.userSourcedId)).map((e) => e.sourcedId),
    );
    const allowed: Record<string, (id: string) => boolean> = {
      sis_school: (id) => ids('orgs').has(id),
      sis_term: (id) => ids('academicSessions').has(id),
      sis_class: (id) => ids('classes').has(id),
      classroom: (id) => ids('classes').has(id),
      sis_person: (id) => users.has(id),
      sis_user_match: (id) => users.has(id),
      parent_contact: (id) => users.has(id),
      sis_enrollment: (id) => ids('enrollments').has(id),
      classroom_member: (id) => ids('enrollments').has(id) || enrollmentsOfUsers.has(id),
      sync_state: () => true,
    };
    t.ok(touched.length > 0, `${touched.length} rows changed`);
    t.same(
      touched.filter((key) => {
        const [table, , id] = key.split('|') as [string, string, string];
        return !allowed[table]?.(id);
      }),
      [],
      'every changed row belongs to a record of the delta',
    );
    for (const id of report.users.created) t.ok(touched.includes(`sis_person|north|${id}`), `new user ${id} imported`);
    const created = counts(run).users!;
    const newMatched = [...changed.records('users')].filter(
      (u) => report.users.created.includes(u.sourcedId) && u.role !== 'guardian' && u.email && fresh.has(u.email.toLowerCase()),
    ).length;
    t.ok(created.created! >= newMatched, `${newMatched} new users matched`);
    // The delta's result equals a full computation from the changed district.
    const products = new Map([...northProducts, ...fresh]);
    const want = expected(changed, products, { today: TODAY }, []);
    t.same(
      Object.fromEntries(
        (await rowsOf('classroom_member', 'north')).map((m) => [
          m.enrollment_sourced_id,
          { classroom_sourced_id: m.classroom_sourced_id, user_id: m.user_id, role: m.role },
        ]),
      ),
      Object.fromEntries(want.members),
    );
    t.same(
      Object.fromEntries((await rowsOf('sis_user_match', 'north')).map((m) => [m.sourced_id, { status: m.status, user_id: m.user_id, kind: m.kind }])),
      Object.fromEntries(want.match),
    );
    await writePackage('north', changed);
  });

  await t.test('an edited setting takes effect on the next sync without a reset', async (t) => {
    const before = await snapshot();
    tenantFile('north', 'US', { settings: { today: TODAY, syncParentData: true } });
    await host.tenants.load();
    const run = await sync('north');
    t.equal(run.status, 'partial', 'the shared emails still stand');
    const touched = changedKeys(before, await snapshot());
    t.ok(
      touched.some((k) => k.startsWith('parent_student|north|')),
      'parents imported',
    );
    t.same(
      touched.filter((k) => !/^(parent_student\|north\||parent_contact\|north\||sync_state\|north$)/.test(k)),
      [],
      'nothing else written',
    );
  });

  await t.test('reset clears the last sync date: the next sync reports everything again and keeps every product row', async (t) => {
    const before = await snapshot();
    await host.syncs.resetTarget('north', TARGET, 'test');
    t.equal((await rowsOf('sync_state', 'north'))[0]!.last_sync_at, null, 'last sync date cleared');
    t.same(await rowsOf('sis_person', 'north'), [], 'the SIS import area is forgotten');
    t.ok((await rowsOf('sis_person', 'south')).length > 0, 'south is untouched');
    const run = await sync('north');
    t.equal(run.mode, 'full');
    const matched = (await rowsOf('sis_user_match', 'north')).filter((m) => m.status === 'matched').length;
    t.match(counts(run).users, { created: 0, unchanged: matched }, 'every match reported (unchanged)');
    t.ok(
      (await issues(run)).some((i) => i.code === 'SCHOOL_MANAGER_USER_UNMATCHED'),
      'unmatched users reported again',
    );
    t.ok((await rowsOf('sync_state', 'north'))[0]!.last_sync_at, 'last sync date set again');
    const after = await snapshot();
    const product = ['sis_user_match', 'classroom', 'classroom_member', 'parent_contact', 'parent_student', 'user_account'];
    t.same(
      changedKeys(before, after).filter((k) => product.includes(k.split('|')[0]!)),
      [],
      'no product row rewritten',
    );
  });

  await t.test('a school with an incomplete dataset makes the sync partial until it is excluded', async (t) => {
    await seed(
      'east',
      productUsers(clean, 'e', () => false),
    );
    appendFileSync(path.join(eastPackage, 'orgs.csv'), 'org-9999,,,Lakeview Annex,school,999,org-0001\n');
    const run = await sync('east');
    t.equal(run.status, 'partial');
    const log = await issues(run);
    t.match(log, [
      {
        code: 'SCHOOL_MANAGER_SCHOOL_INCOMPLETE',
        severity: 'error',
        entity: 'orgs',
        sourcedId: 'org-9999',
        message: /School "Lakeview Annex" has no students and no classes .* add it to the excluded schools/,
      },
    ]);
    t.equal(log.filter((i) => i.severity === 'error').length, 1, 'a clean district otherwise syncs without errors');
    t.equal(counts(run).orgs!.errors, 1);

    tenantFile('east', 'UK', { settings: { today: TODAY, excludedSchools: ['org-9999'] } });
    await host.tenants.load();
    const again = await sync('east');
    t.equal(again.status, 'success');
    t.same(
      (await issues(again)).map((i) => i.code),
      [],
      'nothing new was imported, so nothing is reported',
    );

    tenantFile('east', 'UK', {
      settings: {
        today: TODAY,
        excludedSchools: [...clean.orgs()]
          .filter((o) => o.type === 'school')
          .map((o) => o.sourcedId)
          .concat('org-9999', 'Nowhere High'),
      },
    });
    await host.tenants.load();
    const none = await sync('east');
    t.equal(none.status, 'failed');
    t.match(none.counts.targets[TARGET]!.error, /^SCHOOL_MANAGER_ALL_SCHOOLS_EXCLUDED: /);
  });

  await t.test('disabling the integration stops syncing and deletes nothing', async (t) => {
    const before = await snapshot();
    tenantFile('south', 'AU', { enabled: false, settings: southSettings });
    await host.tenants.load();
    t.same(
      host.tenants
        .config('south')
        .targets.filter((x) => x.enabled)
        .map((x) => x.id),
      [],
    );
    await sync('south').catch(() => undefined);
    const after = await snapshot();
    t.same(
      changedKeys(before, after).filter((k) => k.includes('|south|')),
      [],
      "south's users, classes and memberships stay",
    );
    t.ok((await rowsOf('classroom', 'south')).length > 0);
  });
});
