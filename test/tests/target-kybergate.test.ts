import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import t from 'tap';
import type { RosterEntity, RosterRecord, SyncRun, User } from '@rosterbridge/core';
import { FIXTURES_DIR, type RosterRecordSource, changeDistrict, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const SCHEMA = 'plugin_target_kybergate';
const TABLES = ['district', 'school', 'user_account', 'classroom', 'classroom_member'] as const;
const ADMIN = 'admin-token-0123456789abcdef';
// Random-looking: a password holding a word of the product's ("kybergate") would blank that word too.
const SMTP_PASSWORD = 'kg-Smtp7Rx2Wq9Lp4Vd-9f2d';
const SMTP_PASSWORD_ENV = 'ROSTERBRIDGE_SECRET_TEST_KYBERGATE_SMTP_PASSWORD';

const base = generateDistrict({ seed: 71, size: SIZE, faults: { duplicateEmails: 2, missingEmails: 2 } });
const changed = changeDistrict(base, { seed: 72, fraction: 0.01 });
const SCHOOL = base.orgSourcedId(1);

/** A district's records with a few replaced (same sourcedIds), as another package of it. */
function withUsers(source: RosterRecordSource, replace: Map<string, User>): RosterRecordSource {
  return {
    records: <E extends RosterEntity>(entity: E) =>
      (entity === 'users' ? [...source.records('users')].map((u) => replace.get(u.sourcedId) ?? u) : source.records(entity)) as Iterable<RosterRecord<E>>,
  };
}

async function writePackage(dir: string, source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk') {
  rmSync(dir, { recursive: true, force: true });
  await writeOneRosterPackage(source, dir, { mode });
}

/**
 * What the rules say KyberGate holds for a district: users by KyberGate role within the scope, the
 * first user (in roster order) keeping a shared email, users without email or names rejected.
 */
function expectedUsers(source: RosterRecordSource, scope: { schools?: string[]; userTypes?: string[] } = {}) {
  const roles: Record<string, [string, string]> = {
    student: ['student', 'students'],
    teacher: ['staff', 'teachers'],
    administrator: ['admin', 'administrators'],
    aide: ['staff', 'staff'],
    proctor: ['staff', 'staff'],
  };
  const accepted = new Map<string, { role: string; schools: string[]; email: string }>();
  const rejected = new Map<string, string>();
  let skipped = 0;
  const emails = new Set<string>();
  for (const u of [...source.records('users')].sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : 1))) {
    const role = roles[u.role];
    const schools = scope.schools ? u.orgSourcedIds.filter((o) => scope.schools!.includes(o)) : u.orgSourcedIds;
    if (!role || (scope.userTypes && !scope.userTypes.includes(role[1])) || schools.length === 0) skipped++;
    else if (!u.email || !u.givenName || !u.familyName) rejected.set(u.sourcedId, 'KYBERGATE_MISSING_FIELD');
    else if (emails.has(u.email.toLowerCase())) rejected.set(u.sourcedId, 'KYBERGATE_DUPLICATE_EMAIL');
    else {
      emails.add(u.email.toLowerCase());
      accepted.set(u.sourcedId, { role: role[0], schools, email: u.email });
    }
  }
  return { accepted, rejected, skipped };
}

/**
 * The class members KyberGate holds for a district: enrollments in scope whose user KyberGate
 * holds (see {@link expectedUsers}) and whose class it holds; the others are refused, by code.
 */
function expectedMembers(source: RosterRecordSource, accepted: ReadonlyMap<string, unknown>, scope: { schools?: string[]; userTypes?: string[] } = {}) {
  const types: Record<string, string> = { student: 'students', teacher: 'teachers', administrator: 'administrators' };
  const classes = new Set([...source.records('classes')].filter((c) => !scope.schools || scope.schools.includes(c.schoolSourcedId)).map((c) => c.sourcedId));
  const held = new Set<string>();
  const refused = new Map<string, string>();
  for (const e of source.records('enrollments')) {
    if (scope.schools && !scope.schools.includes(e.schoolSourcedId)) continue;
    if (scope.userTypes && !scope.userTypes.includes(types[e.role] ?? 'staff')) continue;
    if (!accepted.has(e.userSourcedId)) refused.set(e.sourcedId, 'KYBERGATE_MEMBER_USER_UNKNOWN');
    else if (!classes.has(e.classSourcedId)) refused.set(e.sourcedId, 'KYBERGATE_MEMBER_CLASS_UNKNOWN');
    else held.add(e.sourcedId);
  }
  return { held, refused };
}

/**
 * The records KyberGate's skip warnings count (`N users record(s) were skipped: …`, one warning per
 * reason, entity and batch), of an entity and optionally one code.
 */
function warnedSkips(issues: readonly { code: string; entity?: string; severity: string; message: string }[], entity: RosterEntity, code?: string): number {
  return issues
    .filter((i) => i.entity === entity && i.severity === 'warning' && i.code !== 'KYBERGATE_SCOPE_CHANGED' && (!code || i.code === code))
    .reduce((n, i) => n + Number(/^(\d+) \w+ record\(s\) were skipped: /.exec(i.message)![1]), 0);
}

/** Captures what a loopback SMTP server receives. */
async function startSmtp() {
  const messages: { from: string; to: string[]; text: string }[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (auth.username === 'rosterbridge' && auth.password === SMTP_PASSWORD) cb(null, { user: 'rosterbridge' });
      else cb(new Error('invalid login'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        // Undo quoted-printable soft breaks and escapes so the text can be searched.
        const text = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
        messages.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), text });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return { messages, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

t.test('KyberGate target', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-kybergate-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const smtp = await startSmtp();
  process.env[SMTP_PASSWORD_ENV] = SMTP_PASSWORD;
  const notifications = (port: number) => ({
    from: 'Rosterbridge <rosterbridge@district.example.org>',
    smtp: { host: '127.0.0.1', port, secure: false, user: 'rosterbridge', password: { env: SMTP_PASSWORD_ENV } },
  });
  const tenant = (id: string, doc: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: `District ${id}`,
        timezone: 'America/Chicago',
        source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } },
        ...doc,
      }),
    );
  // Defaults: every school and user type, source wins, the default schedule, no notifications.
  tenant('lincoln', { targets: [{ id: 'kybergate' }] });
  tenant('adams', {
    targets: [
      { id: 'kybergate', schedule: 'every-12h', settings: { schools: [SCHOOL], userTypes: ['students', 'teachers'], conflictResolution: 'local-wins' } },
    ],
  });
  // Sources pointing at packages that do not exist: their runs fail.
  tenant('monroe', {
    contacts: ['it@monroe.example.org', 'superintendent@monroe.example.org'],
    targets: [{ id: 'kybergate', schedule: 'manual', settings: { notifications: notifications(smtp.port) } }],
  });
  tenant('quincy', { contacts: ['it@quincy.example.org'], targets: [{ id: 'kybergate', schedule: 'every-24h' }] });
  tenant('hayes', { contacts: ['it@hayes.example.org'], targets: [{ id: 'kybergate', settings: { notifications: notifications(await closedPort()) } }] });
  // KyberGate next to another product: KyberGate failing alone leaves the run partial.
  tenant('jackson', {
    contacts: ['it@jackson.example.org'],
    targets: [{ id: 'memo' }, { id: 'kybergate', settings: { notifications: notifications(smtp.port) } }],
  });
  for (const id of ['lincoln', 'adams', 'jackson']) await writePackage(path.join(root, `${id}-package`), base);

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    await smtp.close();
    delete process.env[SMTP_PASSWORD_ENV];
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const kg = host.database.db.withSchema(SCHEMA);
  const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
    host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', mode })).id);
  const issueList = async (runId: string): Promise<any[]> => host.runs.issues(runId, { limit: 100_000 });
  /** Every row of the tenant in every table, with its xmin (a row rewritten gets a new one). */
  const snapshot = async (tenantId: string) => {
    const out: Record<string, Map<string, { xmin: string; row: Record<string, unknown> }>> = {};
    for (const table of TABLES) {
      const { rows } = await sql<any>`select xmin::text as xmin, t.* from ${sql.table(`${SCHEMA}.${table}`)} t where tenant_id = ${tenantId}`.execute(
        host.database.db,
      );
      out[table] = new Map(rows.map((r: any) => [r.sourced_id, { xmin: r.xmin, row: r }]));
    }
    return out;
  };
  const users = async (tenantId: string) =>
    new Map((await kg.selectFrom('user_account').selectAll().where('tenant_id', '=', tenantId).execute()).map((r) => [r.sourced_id, r]));

  await t.test('first sync: schools, users with KyberGate roles, classes and members; faults reported per record with codes', async (t) => {
    const run = await sync('lincoln');
    const want = expectedUsers(base);
    t.equal(run.status, 'partial', 'records were rejected, so the run says so');
    t.equal(run.errorCode, 'RECORDS_REJECTED');
    const counts = run.counts.targets.kybergate!;
    t.equal(counts.status, 'applied');
    const guardians = [...base.records('users')].filter((u) => ['guardian', 'parent', 'relative'].includes(u.role)).length;
    t.same(counts.entities.users, { created: want.accepted.size, updated: 0, unchanged: 0, skipped: guardians, deleted: 0, errors: want.rejected.size });
    t.ok(want.rejected.size >= 3, `the faults reject users (${want.rejected.size})`);
    t.ok(
      [...want.rejected.values()].includes('KYBERGATE_DUPLICATE_EMAIL') && [...want.rejected.values()].includes('KYBERGATE_MISSING_FIELD'),
      'both faults are met',
    );

    const rows = await users('lincoln');
    t.equal(rows.size, want.accepted.size);
    const bad = [...want.accepted].filter(([id, u]) => {
      const r = rows.get(id);
      return !r || r.role !== u.role || r.email !== u.email || JSON.stringify(r.school_sourced_ids) !== JSON.stringify(u.schools);
    });
    t.same(bad, [], 'every user with its KyberGate role (teacher → staff, student → student, administrator → admin, aide → staff), email and schools');
    const roles = new Set([...rows.values()].map((r) => `${r.roster_role}→${r.role}`));
    t.ok(roles.has('teacher→staff') && roles.has('student→student') && roles.has('administrator→admin'), [...roles].join(', '));

    const list = await issueList(run.id);
    const recordIssues = list.filter((i) => i.sourcedId && i.entity === 'users');
    t.same(
      recordIssues.map((i) => [i.sourcedId, i.code, i.severity]).sort(),
      [...want.rejected].map(([id, code]) => [id, code, 'error']).sort(),
      'one error per rejected user, with its code',
    );
    for (const f of base.faults.missingEmails)
      t.match(
        list.find((i) => i.sourcedId === f.sourcedId),
        { code: 'KYBERGATE_MISSING_FIELD', field: 'email', message: /has no email/ },
      );
    let checkedPairs = 0;
    for (const f of base.faults.duplicateEmails) {
      const pair = [f.sourcedId, f.relatedSourcedId!];
      const imported = pair.filter((id) => rows.has(id));
      const reported = list.filter((i) => pair.includes(i.sourcedId) && i.code === 'KYBERGATE_DUPLICATE_EMAIL');
      if (want.accepted.has(f.relatedSourcedId!) || want.accepted.has(f.sourcedId)) {
        checkedPairs++;
        t.equal(imported.length, 1, `${pair}: one of the two keeps ${f.email}`);
        t.equal(reported.length, 1, `${pair}: the other is reported, not merged`);
        t.match(reported[0].message, new RegExp(`already has in KyberGate`));
      }
    }
    t.ok(checkedPairs > 0, `${checkedPairs} duplicate pair(s) checked`);
    t.match(
      list.find((i) => i.code === 'KYBERGATE_ROLE_NOT_IMPORTED'),
      { severity: 'warning', entity: 'users', message: /^\d+ users record\(s\) were skipped: their role .* has no KyberGate account \(e\.g\. / },
    );
    t.equal(warnedSkips(list, 'users', 'KYBERGATE_ROLE_NOT_IMPORTED'), guardians, 'the warnings of the batches count every guardian');
    t.equal(warnedSkips(list, 'users'), counts.entities.users!.skipped, 'and every user skipped');

    const schools = await kg.selectFrom('school').select('sourced_id').where('tenant_id', '=', 'lincoln').execute();
    t.equal(schools.length, base.counts.orgs - 1, 'every school');
    t.equal((await kg.selectFrom('district').selectAll().where('tenant_id', '=', 'lincoln').execute()).length, 1, 'and the district');
    t.equal((await kg.selectFrom('classroom').select('sourced_id').where('tenant_id', '=', 'lincoln').execute()).length, base.counts.classes);
    const members = expectedMembers(base, want.accepted);
    t.ok(members.refused.size > 0, `members of rejected users are refused (${members.refused.size})`);
    const memberRows = await kg.selectFrom('classroom_member').select('sourced_id').where('tenant_id', '=', 'lincoln').execute();
    t.same(memberRows.map((r) => r.sourced_id).sort(), [...members.held].sort(), 'a member only for a user and a class KyberGate holds');
    t.same(counts.entities.enrollments, { created: members.held.size, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors: members.refused.size });
    t.same(
      list
        .filter((i) => i.entity === 'enrollments')
        .map((i) => [i.sourcedId, i.code, i.severity])
        .sort(),
      [...members.refused].map(([id, code]) => [id, code, 'error']).sort(),
      'one error per refused member, with its code',
    );
  });

  await t.test("a tenant's schools and user types: only those are imported, and the rest is reported as skipped", async (t) => {
    const run = await sync('adams');
    const want = expectedUsers(base, { schools: [SCHOOL], userTypes: ['students', 'teachers'] });
    t.same(run.counts.targets.kybergate!.entities.users, {
      created: want.accepted.size,
      updated: 0,
      unchanged: 0,
      skipped: want.skipped,
      deleted: 0,
      errors: want.rejected.size,
    });
    const rows = await users('adams');
    t.same([...rows.keys()].sort(), [...want.accepted.keys()].sort(), 'exactly the students and teachers of the school');
    t.ok([...rows.values()].every((r) => r.role !== 'admin' && JSON.stringify(r.school_sourced_ids) === JSON.stringify([SCHOOL])));
    t.same(
      (await kg.selectFrom('school').select('sourced_id').where('tenant_id', '=', 'adams').execute()).map((r) => r.sourced_id),
      [SCHOOL],
    );
    const classes = [...base.records('classes')].filter((c) => c.schoolSourcedId === SCHOOL);
    const rooms = await kg.selectFrom('classroom').select('sourced_id').where('tenant_id', '=', 'adams').execute();
    t.same(rooms.map((r) => r.sourced_id).sort(), classes.map((c) => c.sourcedId).sort());
    const members = expectedMembers(base, want.accepted, { schools: [SCHOOL], userTypes: ['students', 'teachers'] });
    const memberRows = await kg.selectFrom('classroom_member').select('sourced_id').where('tenant_id', '=', 'adams').execute();
    t.same(memberRows.map((r) => r.sourced_id).sort(), [...members.held].sort());
    t.match(run.counts.targets.kybergate!.entities.enrollments, { created: members.held.size, errors: members.refused.size });
    const list = await issueList(run.id);
    const codes = new Set(list.filter((i) => i.severity === 'warning').map((i) => `${i.code}:${i.entity}`));
    for (const c of [
      'KYBERGATE_SCHOOL_NOT_SELECTED:orgs',
      'KYBERGATE_SCHOOL_NOT_SELECTED:classes',
      'KYBERGATE_SCHOOL_NOT_SELECTED:enrollments',
      'KYBERGATE_USER_TYPE_NOT_SELECTED:users',
      'KYBERGATE_ROLE_NOT_IMPORTED:users',
    ])
      t.ok(codes.has(c), `skipped records reported: ${c}`);
    for (const [entity, c] of Object.entries(run.counts.targets.kybergate!.entities))
      t.equal(warnedSkips(list, entity as RosterEntity), c!.skipped, `${entity}: the warnings count the ${c!.skipped} records skipped`);
    t.ok((await users('lincoln')).size > rows.size, "the other tenant's rows are its own");
  });

  await t.test('a batch applied again (the target back-filled over its own rows) changes no row', async (t) => {
    const before = await snapshot('lincoln');
    const other = await snapshot('adams');
    await host.database.db
      .withSchema('rosterbridge')
      .deleteFrom('target_cursor')
      .where('tenant_id', '=', 'lincoln')
      .where('target_id', '=', 'kybergate')
      .execute();
    const run = await sync('lincoln');
    const c = run.counts.targets.kybergate!.entities;
    t.equal(c.users!.created + c.users!.updated, 0, 'every user was sent again, none written');
    t.equal(c.users!.unchanged, (await users('lincoln')).size);
    t.equal(c.enrollments!.unchanged, expectedMembers(base, expectedUsers(base).accepted).held.size);
    t.same(await snapshot('lincoln'), before, 'same rows, same xmin');
    t.same(await snapshot('adams'), other);
    const again = await sync('lincoln');
    t.same(
      Object.values(again.counts.source).reduce((a, s) => a + s!.created + s!.updated + s!.deleted, 0),
      0,
    );
    t.same(await snapshot('lincoln'), before, 'a no-change resync writes nothing');
  });

  await t.test('a 1% delta changes only the rows it should; the other tenant is untouched', async (t) => {
    const before = await snapshot('lincoln');
    const other = await snapshot('adams');
    await writePackage(path.join(root, 'lincoln-package'), changed.delta, 'delta');
    const run = await sync('lincoln', 'delta');
    t.not(run.status, 'failed', run.errorMessage ?? '');
    const after = await snapshot('lincoln');
    const entityOf: Record<string, RosterEntity> = {
      district: 'orgs',
      school: 'orgs',
      user_account: 'users',
      classroom: 'classes',
      classroom_member: 'enrollments',
    };
    const rowsChanged: Record<string, { created: number; updated: number; deleted: number }> = {};
    for (const table of TABLES) {
      const entity = entityOf[table]!;
      const report = changed.report.entities[entity];
      const touched = new Set([...report.created, ...report.updated, ...report.deleted]);
      const c = (rowsChanged[entity] ??= { created: 0, updated: 0, deleted: 0 });
      const wrong: string[] = [];
      for (const [id, row] of after[table]!) {
        const was = before[table]!.get(id);
        if (!was) c.created++;
        else if (was.xmin !== row.xmin) c.updated++;
        else continue;
        if (!touched.has(id)) wrong.push(id);
      }
      for (const id of before[table]!.keys()) {
        if (after[table]!.has(id)) continue;
        c.deleted++;
        if (!touched.has(id)) wrong.push(id);
      }
      t.same(wrong, [], `${table}: only rows of changed records were written`);
    }
    for (const entity of ['users', 'classes', 'enrollments'] as const) {
      const counted = run.counts.targets.kybergate!.entities[entity] ?? { created: 0, updated: 0, deleted: 0 };
      t.same(
        { created: counted.created, updated: counted.updated, deleted: counted.deleted },
        rowsChanged[entity],
        `${entity}: the counts are the rows written`,
      );
    }
    t.ok(rowsChanged.users!.updated + rowsChanged.users!.created + rowsChanged.users!.deleted > 0, 'the delta did change users');
    const want = expectedUsers(changed);
    const rows = await users('lincoln');
    t.same([...rows.keys()].sort(), [...want.accepted.keys()].sort(), 'the users are those of the changed roster');
    t.same(await snapshot('adams'), other, 'the other tenant saw nothing');
    await writePackage(path.join(root, 'lincoln-package'), changed);
    const full = await sync('lincoln');
    t.equal(
      Object.values(full.counts.source).reduce((a, s) => a + s!.created + s!.updated + s!.deleted, 0),
      0,
      'the delta and a full package agree',
    );
  });

  await t.test('conflicts: source wins overwrites local edits; local wins keeps the fields edited in KyberGate', async (t) => {
    const adams = expectedUsers(changed, { schools: [SCHOOL], userTypes: ['students', 'teachers'] });
    const id = [...adams.accepted.keys()].find((k) => adams.accepted.get(k)!.role === 'student')!;
    await writePackage(path.join(root, 'adams-package'), changed);
    await sync('adams');
    for (const tenantId of ['lincoln', 'adams'])
      await kg
        .updateTable('user_account')
        .set({ first_name: 'Localname', locally_edited_fields: sql`'{first_name}'::text[]` })
        .where('tenant_id', '=', tenantId)
        .where('sourced_id', '=', id)
        .execute();
    const original = [...changed.records('users')].find((u) => u.sourcedId === id)!;
    const edited = withUsers(changed, new Map([[id, { ...original, givenName: 'Sourcename', familyName: 'Sourcefamily' }]]));
    for (const tenantId of ['lincoln', 'adams']) await writePackage(path.join(root, `${tenantId}-package`), edited);
    const [lincoln, adamsRun] = [await sync('lincoln'), await sync('adams')];
    t.equal(lincoln.counts.targets.kybergate!.entities.users!.updated, 1);
    t.equal(adamsRun.counts.targets.kybergate!.entities.users!.updated, 1);
    t.match((await users('lincoln')).get(id), { first_name: 'Sourcename', last_name: 'Sourcefamily', locally_edited_fields: [] }, 'source wins');
    t.match(
      (await users('adams')).get(id),
      { first_name: 'Localname', last_name: 'Sourcefamily', locally_edited_fields: ['first_name'] },
      'local wins: only the edited field is kept',
    );
  });

  await t.test('schedules: every 6 h by default, 12 h, 24 h or manual by name', async (t) => {
    const schedule = (tenantId: string) => host.tenants.config(tenantId).targets.find((x) => x.id === 'kybergate')!.schedule;
    t.match(schedule('lincoln'), { cron: '0 2,8,14,20 * * *', timezone: 'America/Chicago', origin: /schedule "default"/ });
    t.match(schedule('adams'), { cron: '0 2,14 * * *', origin: /schedule "every-12h"/ });
    t.match(schedule('quincy'), { cron: '0 2 * * *', origin: /schedule "every-24h"/ });
    t.equal(schedule('monroe'), undefined, 'manual');
  });

  await t.test("a failed run e-mails the tenant's contacts through its SMTP server; none configured or unreachable is logged", async (t) => {
    const monroe = await sync('monroe');
    t.equal(monroe.status, 'failed');
    t.ok(monroe.errorCode && monroe.errorMessage, `${monroe.errorCode}: ${monroe.errorMessage}`);
    const quincy = await sync('quincy');
    const hayes = await sync('hayes');
    t.equal(hayes.status, 'failed');
    for (let i = 0; i < 100 && (smtp.messages.length < 1 || !/could not be sent/.test(th.logs())); i++) await sleep(100);
    t.equal(smtp.messages.length, 1, 'one e-mail: only monroe has a reachable server');
    const mail = smtp.messages[0]!;
    t.same(mail.to.sort(), ['it@monroe.example.org', 'superintendent@monroe.example.org']);
    t.equal(mail.from, 'rosterbridge@district.example.org');
    t.match(mail.text, /Subject: KyberGate roster sync failed for District monroe/);
    t.match(mail.text, new RegExp(`Run: ${monroe.id}`));
    t.match(mail.text, new RegExp(`Error code: ${monroe.errorCode}`));
    t.match(mail.text, /tenant monroe/);
    t.ok(mail.text.includes(`Reason: ${monroe.errorMessage}`), 'the reason');
    t.notOk(mail.text.includes(SMTP_PASSWORD), 'no secret');
    const logs = th.logs();
    t.match(logs, new RegExp(`"runId":"${quincy.id}".*no e-mail sent: the tenant has no KyberGate \\\\"notifications\\\\" settings`));
    t.match(logs, new RegExp(`"runId":"${hayes.id}".*could not be sent`));
    t.notOk(logs.includes(SMTP_PASSWORD), 'the SMTP password is in no log line');
    t.equal((await host.runs.get(hayes.id))!.status, 'failed', 'the failed send changed nothing of the run');
  });

  await t.test('KyberGate failing inside a partial run is e-mailed too; a success is not', async (t) => {
    smtp.messages.length = 0;
    await host.database.db.schema.withSchema(SCHEMA).alterTable('classroom_member').renameTo('classroom_member_away').execute();
    let run: SyncRun;
    try {
      run = await sync('jackson');
    } finally {
      await host.database.db.schema.withSchema(SCHEMA).alterTable('classroom_member_away').renameTo('classroom_member').execute();
    }
    t.equal(run.status, 'partial');
    t.equal(run.counts.targets.memo!.status, 'applied');
    t.equal(run.counts.targets.kybergate!.status, 'failed');
    for (let i = 0; i < 100 && smtp.messages.length < 1; i++) await sleep(100);
    t.equal(smtp.messages.length, 1);
    t.same(smtp.messages[0]!.to, ['it@jackson.example.org']);
    t.match(smtp.messages[0]!.text, new RegExp(`Run: ${run.id}`));
    t.match(smtp.messages[0]!.text, /could not update KyberGate; other products were synced/);
    t.match(smtp.messages[0]!.text, /Error code: TARGET_FAILED/);
    t.match(smtp.messages[0]!.text, /classroom_member/, 'the reason');
    const retry = await sync('jackson');
    t.equal(retry.counts.targets.kybergate!.status, 'applied', 'the next run catches up');
    await sleep(500);
    t.equal(smtp.messages.length, 1, 'no e-mail for a run where KyberGate did not fail');
  });

  await t.test('reset forgets one tenant only', async (t) => {
    const other = await snapshot('adams');
    const res = await fetch(`${host.url}/tenants/lincoln/targets/kybergate/reset`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    t.equal(res.status, 200, await res.text());
    for (const table of TABLES)
      t.equal((await kg.selectFrom(table).select('sourced_id').where('tenant_id', '=', 'lincoln').execute()).length, 0, `lincoln ${table} empty`);
    t.same(await snapshot('adams'), other, 'the other tenant is untouched');
  });
});
