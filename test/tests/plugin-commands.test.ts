import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { SyncRun, User } from '@rosterbridge/core';
import { invalidCommandContributions } from '@rosterbridge/host';
import { FIXTURES_DIR, type TestHost, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// Plugin commands on a real host, through HTTP on loopback and the CLI as a child process: the
// three products' first commands, and every refusal with its code.

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const TOKENS = { admin: 'Vq8rNc3LxT6mWb1Kz9Hd4Pj7', operator: 'Gm2sYf7RkA4uXe9Dn3Lw6Tb1', tenant: 'Jx5hQp8ZvC2nMr6Ew1Uk9Sa3' } as const;
type Who = keyof typeof TOKENS;
const district = generateDistrict({ seed: 61, size: 'tiny' });
const users = [...district.records('users')] as User[];
const SM_ROLES = new Set(['student', 'teacher', 'administrator', 'aide', 'proctor']);

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, RB_TOKEN: TOKENS.admin } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A CSV field as School Manager's export writes it: quoted when it must be. */
const field = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

t.test('plugin commands', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-commands-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(district, path.join(root, 'package'), { mode: 'bulk' });
  const tenant = (id: string, targets: unknown[]) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'America/Chicago', source: { id: 'oneroster-csv', settings: { location: '../package' } }, targets }),
    );
  const today = '2026-11-23';
  tenant('lincoln', [{ id: 'gradient', settings: { today } }, { id: 'school-manager' }, { id: 'kamkalima', settings: { today } }, { id: 'memo' }]);
  tenant('adams', [{ id: 'memo' }, { id: 'mute' }]);
  const th: TestHost = await startTestHost({
    pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/commands')],
    tenantsDir: tenants,
    tokens: [
      { name: 'ops', token: TOKENS.admin, role: 'admin' },
      { name: 'lincoln-ops', token: TOKENS.operator, role: 'tenant-operator', tenants: ['lincoln', 'adams'] },
      { name: 'lincoln-portal', token: TOKENS.tenant, role: 'tenant', tenant: 'lincoln' },
    ],
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const url = host.url;
  const db = (schema: string) => host.database.db.withSchema(`plugin_target_${schema}`);
  const call = async (who: Who, method: 'GET' | 'POST', route: string, body?: unknown) => {
    const res = await fetch(url + route, {
      method,
      headers: { authorization: `Bearer ${TOKENS[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const command = (who: Who, tenantId: string, id: string, args?: unknown) =>
    call(who, 'POST', `/tenants/${tenantId}/commands/${encodeURIComponent(id)}`, args);
  const sync = async (t: Test, tenantId: string): Promise<SyncRun> => {
    const started = await call('admin', 'POST', `/tenants/${tenantId}/syncs`, {});
    t.equal(started.status, 202, started.body.error?.message ?? 'a sync starts');
    return host.syncs.settled(started.body.id);
  };

  await t.test('the commands of the plugins a tenant enables are listed, by API and CLI', async (t) => {
    const listed = await call('tenant', 'GET', '/tenants/lincoln/commands');
    t.equal(listed.status, 200, 'a tenant token may list them');
    t.same(
      listed.body.commands.map((c: { id: string; plugin: string }) => [c.id, c.plugin]),
      [
        ['gradient.startAcademicYear', 'target-gradient'],
        ['kamkalima.assignTeacherAdmin', 'target-kamkalima'],
        ['memo.count', 'target-memo'],
        ['memo.hold', 'target-memo'],
        ['school-manager.importUsers', 'target-school-manager'],
      ],
    );
    const importUsers = listed.body.commands.find((c: { id: string }) => c.id === 'school-manager.importUsers');
    t.match(importUsers, { readOnly: false, arguments: { required: ['csv'], properties: { csv: { contentMediaType: 'text/csv' } } } });
    t.same(
      (await call('admin', 'GET', '/tenants/adams/commands')).body.commands.map((c: { id: string }) => c.id),
      ['memo.count', 'memo.hold', 'mute.speak'],
      "adams's plugins only",
    );
    const printed = await cli(['commands', 'lincoln', '--url', url]);
    t.equal(printed.status, 0, printed.stderr);
    t.match(printed.stdout, /^gradient\.startAcademicYear\s+target-gradient\s+\[year \(integer\)\]\s+Start the academic year$/m);
    t.match(printed.stdout, /^school-manager\.importUsers\s+target-school-manager\s+csv \(--file text\/csv\)\s+Import existing users$/m);
  });

  await t.test('before the commands: Gradient is skipped and School Manager has no users', async (t) => {
    const first = await sync(t, 'lincoln');
    t.equal(first.counts.targets.gradient!.status, 'skipped');
    t.match(
      first.counts.targets.gradient!.reason,
      /academic year is not started.*rosterbridge command gradient\.startAcademicYear lincoln/,
      'the reason says which command starts it',
    );
    t.equal(first.counts.targets['school-manager']!.status, 'failed');
    t.match(first.counts.targets['school-manager']!.error, /SCHOOL_MANAGER_NO_USERS|School Manager has no users/);
    t.equal(first.counts.targets.kamkalima!.status, 'applied');
  });

  await t.test("rosterbridge command starts Gradient's academic year, and the next run applies", async (t) => {
    const started = await cli(['command', 'gradient.startAcademicYear', 'lincoln', '--url', url]);
    t.equal(started.status, 0, started.stderr);
    t.match(started.stdout, /^gradient\.startAcademicYear for lincoln \(plugin target-gradient, by ops, [\d.]+ m?s\)$/m);
    t.match(started.stdout, /^Gradient academic year 2027 \(2026-27\) started \(by ops at .*\); roster syncing is unpaused: the next run applies$/m);
    t.match(started.stdout, /^schoolYear\s+2027$/m, "the default is the school year of the tenant's today (2026-11-23)");
    t.match(started.stdout, /^syncing\s+unpaused$/m);
    const row = await db('gradient').selectFrom('academic_year').selectAll().where('tenant_id', '=', 'lincoln').execute();
    t.same(
      row.map((r) => [r.school_year, r.started_by, r.started_at instanceof Date]),
      [['2027', 'ops', true]],
    );

    const second = await sync(t, 'lincoln');
    t.equal(second.counts.targets.gradient!.status, 'applied', second.counts.targets.gradient!.reason ?? '');
    const staffAndStudents = users.filter((u) => u.role !== 'guardian').length;
    t.equal(second.counts.targets.gradient!.entities.users!.created, staffAndStudents, 'it caught up on every staff member and student');
    const held = await db('gradient')
      .selectFrom('student')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('tenant_id', '=', 'lincoln')
      .executeTakeFirstOrThrow();
    t.equal(Number(held.n), users.filter((u) => u.role === 'student').length);

    const again = await command('operator', 'lincoln', 'gradient.startAcademicYear', { year: 2027 });
    t.equal(again.status, 200);
    t.match(again.body, {
      tenant: 'lincoln',
      command: 'gradient.startAcademicYear',
      plugin: 'target-gradient',
      by: 'lincoln-ops',
      result: { alreadyStarted: true, startedBy: 'ops', syncing: 'unpaused' },
    });
    t.match(again.body.result.summary, /was already started \(by ops/, 'starting it again changes nothing');

    const past = await command('admin', 'lincoln', 'gradient.startAcademicYear', { year: 2025 });
    t.equal(past.status, 422);
    t.match(past.body.error, { code: 'COMMAND_REFUSED', details: { productCode: 'GRADIENT_ACADEMIC_YEAR_PAST', argument: 'year', currentSchoolYear: 2027 } });
    t.match(past.body.error.message, /academic year 2025 \(2024-25\) is over: today \(2026-11-23\) is in school year 2027/);
    const ahead = await cli(['command', 'gradient.startAcademicYear', 'lincoln', '--arg', 'year=2030', '--url', url]);
    t.equal(ahead.status, 1);
    t.match(ahead.stderr, /^rosterbridge: COMMAND_REFUSED: academic year 2030 \(2029-30\) is more than a year ahead.*\(the host answered 422\)\n$/);
  });

  // School Manager's export: a BOM, CRLF, quoted names with commas, a column it does not use.
  const eligible = users.filter((u) => SM_ROLES.has(u.role) && u.email);
  const imported = eligible.filter((_, i) => i % 5 !== 4);
  const good = imported.map((u) => `sm-${u.sourcedId},${u.email},${field(`${u.familyName}, ${u.givenName}`)},2025-08-01`);
  const firstLine = 2;
  const bad = [
    [',nobody@example.org,No Id,', 'SCHOOL_MANAGER_ACCOUNT_ID_MISSING', /has no id/],
    ['sm-bad-1,,No Email,', 'SCHOOL_MANAGER_ACCOUNT_EMAIL_MISSING', /account "sm-bad-1" has no email/],
    ['sm-bad-2,not-an-email,Bad,', 'SCHOOL_MANAGER_ACCOUNT_EMAIL_INVALID', /"not-an-email" is not an email address/],
    [
      `sm-${imported[0]!.sourcedId},again@example.org,Again,`,
      'SCHOOL_MANAGER_ACCOUNT_ID_REPEATED',
      new RegExp(`account "sm-${imported[0]!.sourcedId}" is already given on line ${firstLine}`),
    ],
    [
      `sm-bad-3, ${imported[1]!.email!.toUpperCase()} ,Same,`,
      'SCHOOL_MANAGER_ACCOUNT_EMAIL_REPEATED',
      new RegExp(`already account "sm-${imported[1]!.sourcedId}"'s, on line ${firstLine + 1}`),
    ],
    ['sm-bad-4,x4@example.org,a,b,c', 'SCHOOL_MANAGER_ACCOUNT_ROW_UNREADABLE', /has 5 fields; the header has 4/],
    [`sm-bad-5,x5@example.org,${'n'.repeat(201)},`, 'SCHOOL_MANAGER_ACCOUNT_FIELD_TOO_LONG', /display_name is 201 characters long; at most 200/],
  ] as const;
  const csv = `\uFEFFid,email,display_name,created_at\r\n${[...good, ...bad.map(([row]) => row)].join('\r\n')}\r\n`;
  const csvFile = path.join(root, 'accounts.csv');
  writeFileSync(csvFile, csv);

  await t.test("rosterbridge command loads School Manager's users from a CSV; the next sync matches them", async (t) => {
    const loaded = await cli(['command', 'school-manager.importUsers', 'lincoln', '--file', csvFile, '--url', url]);
    t.equal(loaded.status, 2, `rows were rejected: exit 2 (${loaded.stderr})`);
    t.match(
      loaded.stdout,
      new RegExp(
        `^${good.length + bad.length} rows read: ${good.length} accounts taken \\(${good.length} new, 0 updated, 0 unchanged\\), ${bad.length} rejected;`,
        'm',
      ),
    );
    t.match(loaded.stdout, /^ignoredColumns\s+created_at$/m);
    t.match(loaded.stdout, new RegExp(`^rejected: ${bad.length}$`, 'm'));
    bad.forEach(([, code], i) =>
      t.match(loaded.stdout, new RegExp(`^\\s*${firstLine + good.length + i}\\s+${code}\\s+\\S`, 'm'), `line ${firstLine + good.length + i}: ${code}`),
    );

    const accounts = await db('school_manager')
      .selectFrom('user_account')
      .select(['id', 'email', 'display_name'])
      .where('tenant_id', '=', 'lincoln')
      .orderBy('id')
      .execute();
    t.same(
      accounts,
      imported
        .map((u) => ({ id: `sm-${u.sourcedId}`, email: u.email, display_name: `${u.familyName}, ${u.givenName}` }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      'every good row is an account, the name with its comma',
    );

    const again = await command('admin', 'lincoln', 'school-manager.importUsers', { csv });
    t.equal(again.status, 200);
    t.match(again.body.result, {
      rows: good.length + bad.length,
      created: 0,
      updated: 0,
      unchanged: good.length,
      rejectedCount: bad.length,
      accounts: good.length,
    });
    t.same(
      again.body.result.rejected.map((r: { line: number; code: string }) => [r.line, r.code]),
      bad.map(([, code], i) => [firstLine + good.length + i, code]),
      'the same file again changes nothing and rejects the same rows, each with its line',
    );
    bad.forEach(([, , reason], i) => t.match(again.body.result.rejected[i].reason, reason));

    // Two accounts swap emails (both in the file: no conflict); a third may not take one of them.
    const [a, b] = [imported[2]!, imported[3]!];
    const swap = await command('admin', 'lincoln', 'school-manager.importUsers', {
      csv: `id,email\nsm-${a.sourcedId},${b.email}\nsm-${b.sourcedId},${a.email}\nsm-intruder,${imported[4]!.email}\n`,
    });
    t.match(swap.body.result, {
      created: 0,
      updated: 2,
      rejectedCount: 1,
      rejected: [
        {
          line: 4,
          code: 'SCHOOL_MANAGER_ACCOUNT_EMAIL_TAKEN',
          reason: `account "sm-intruder": ${imported[4]!.email} is already School Manager account "sm-${imported[4]!.sourcedId}"'s`,
        },
      ],
    });
    const back = await command('admin', 'lincoln', 'school-manager.importUsers', {
      csv: `id,email\nsm-${a.sourcedId},${a.email}\nsm-${b.sourcedId},${b.email}\n`,
    });
    t.match(back.body.result, { updated: 2, rejectedCount: 0, rejected: [] }, 'and back; a file without display_name keeps the names');
    t.equal(
      (await db('school_manager').selectFrom('user_account').select('display_name').where('id', '=', `sm-${a.sourcedId}`).executeTakeFirstOrThrow())
        .display_name,
      `${a.familyName}, ${a.givenName}`,
    );

    const matched = await sync(t, 'lincoln');
    const sm = matched.counts.targets['school-manager']!;
    t.equal(sm.status, 'applied', sm.error ?? '');
    t.equal(sm.entities.users!.created, imported.length, 'every imported account is matched to its roster user');
    const unmatched = await db('school_manager')
      .selectFrom('sis_user_match')
      .select('sourced_id')
      .where('tenant_id', '=', 'lincoln')
      .where('status', '=', 'unmatched')
      .orderBy('sourced_id')
      .execute();
    t.same(
      unmatched.map((u) => u.sourced_id),
      eligible
        .filter((u) => !imported.includes(u))
        .map((u) => u.sourcedId)
        .sort(),
      'the others stay unmatched',
    );
    const matches = await db('school_manager')
      .selectFrom('sis_user_match')
      .select(['sourced_id', 'user_id'])
      .where('tenant_id', '=', 'lincoln')
      .where('status', '=', 'matched')
      .orderBy('sourced_id')
      .execute();
    t.same(
      matches,
      imported.map((u) => ({ sourced_id: u.sourcedId, user_id: `sm-${u.sourcedId}` })).sort((x, y) => x.sourced_id.localeCompare(y.sourced_id)),
    );

    const header = await command('admin', 'lincoln', 'school-manager.importUsers', { csv: 'user,mail\nx,y@example.org\n' });
    t.equal(header.status, 422);
    t.match(header.body.error, {
      code: 'COMMAND_REFUSED',
      message: /line 1, the header: it names "user", "mail"; it must name the columns id and email/,
      details: { productCode: 'SCHOOL_MANAGER_ACCOUNTS_HEADER', argument: 'csv' },
    });
    const empty = await command('admin', 'lincoln', 'school-manager.importUsers', { csv: 'id,email\n' });
    t.match(empty, { status: 422, body: { error: { details: { productCode: 'SCHOOL_MANAGER_ACCOUNTS_EMPTY' } } } });
    const noFile = await cli(['command', 'school-manager.importUsers', 'lincoln', '--file', path.join(root, 'nowhere.csv'), '--url', url]);
    t.equal(noFile.status, 1);
    t.match(noFile.stderr, /--file .*nowhere\.csv: no such file/);
    const binary = path.join(root, 'accounts.xlsx');
    writeFileSync(binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe, 0x00, 0xc0]));
    const notText = await cli(['command', 'school-manager.importUsers', 'lincoln', '--file', binary, '--url', url]);
    t.equal(notText.status, 1);
    t.match(notText.stderr, /accounts\.xlsx: not UTF-8 text/);
  });

  await t.test('Kamkalima: the teacher-admin role goes to a teacher it holds, and only to one', async (t) => {
    const teachers = await db('kamkalima')
      .selectFrom('teacher')
      .select(['sourced_id', 'email', 'school_sourced_id'])
      .where('tenant_id', '=', 'lincoln')
      .where('active', '=', true)
      .orderBy('sourced_id')
      .execute();
    // A school with two teachers: the second replaces the first.
    const chosen = teachers.find((x) => teachers.some((y) => y.school_sourced_id === x.school_sourced_id && y.sourced_id !== x.sourced_id));
    const colleague = teachers.find((x) => x.school_sourced_id === chosen?.school_sourced_id && x.sourced_id !== chosen?.sourced_id);
    t.ok(chosen && colleague, `two teachers of one school among the ${teachers.length} Kamkalima holds`);
    if (!chosen || !colleague) return;
    const accountOf = () =>
      db('kamkalima')
        .selectFrom('teacher_admin_account')
        .selectAll()
        .where('tenant_id', '=', 'lincoln')
        .where('school_sourced_id', '=', chosen.school_sourced_id)
        .executeTakeFirstOrThrow();
    t.equal((await accountOf()).assigned_teacher_sourced_id, null, 'the account the sync created is not assigned yet');

    const assigned = await cli(['command', 'kamkalima.assignTeacherAdmin', 'lincoln', '--arg', `teacher=${chosen.email!.toUpperCase()}`, '--url', url]);
    t.equal(assigned.status, 0, assigned.stderr);
    t.match(
      assigned.stdout,
      new RegExp(
        `^teacher-admin\\.${chosen.school_sourced_id}, the teacher-admin account of .*\\(${chosen.school_sourced_id}\\), is now assigned to .* \\(${chosen.sourced_id}\\)$`,
        'm',
      ),
      'found by email, whatever its case',
    );
    t.match(await accountOf(), { assigned_teacher_sourced_id: chosen.sourced_id, assigned_by: 'ops' });
    t.ok((await accountOf()).assigned_at instanceof Date);

    const same = await command('admin', 'lincoln', 'kamkalima.assignTeacherAdmin', { teacher: chosen.sourced_id });
    t.match(same.body.result, { alreadyAssigned: true, teacher: chosen.sourced_id, previousTeacher: chosen.sourced_id });
    const replaced = await command('operator', 'lincoln', 'kamkalima.assignTeacherAdmin', { teacher: colleague.sourced_id });
    t.match(replaced.body.result, { alreadyAssigned: false, teacher: colleague.sourced_id, previousTeacher: chosen.sourced_id });
    t.match(await accountOf(), { assigned_teacher_sourced_id: colleague.sourced_id, assigned_by: 'lincoln-ops' });

    const student = users.find((u) => u.role === 'student')!;
    const refused = await command('admin', 'lincoln', 'kamkalima.assignTeacherAdmin', { teacher: student.sourcedId });
    t.equal(refused.status, 422);
    t.match(refused.body.error, {
      code: 'COMMAND_REFUSED',
      message: `${student.sourcedId} is a student in Kamkalima, not a teacher: the teacher-admin role goes to a teacher`,
      details: { productCode: 'KAMKALIMA_NOT_A_TEACHER', argument: 'teacher' },
    });
    const unknown = await command('admin', 'lincoln', 'kamkalima.assignTeacherAdmin', { teacher: 'nobody@example.org' });
    t.match(unknown, {
      status: 422,
      body: {
        error: {
          details: { productCode: 'KAMKALIMA_TEACHER_UNKNOWN' },
          message: /Kamkalima holds no teacher whose sourcedId or email is "nobody@example.org"/,
        },
      },
    });
  });

  await t.test('wrong arguments: 400 naming the argument', async (t) => {
    const cases: [string, unknown, string, RegExp][] = [
      ['gradient.startAcademicYear', { year: '2027' }, 'year', /argument "year" must be integer/],
      ['gradient.startAcademicYear', { year: 1999 }, 'year', /argument "year" must be >= 2000/],
      ['gradient.startAcademicYear', { yaer: 2027 }, 'yaer', /unknown argument "yaer"/],
      ['kamkalima.assignTeacherAdmin', {}, 'teacher', /missing argument "teacher"/],
      ['kamkalima.assignTeacherAdmin', { teacher: 'x'.repeat(255) }, 'teacher', /argument "teacher" must NOT have more than 254 characters/],
      ['school-manager.importUsers', { csv: 5 }, 'csv', /argument "csv" must be string/],
      ['memo.count', { entity: 'pets' }, 'entity', /argument "entity" must be equal to one of the allowed values: "orgs", /],
    ];
    for (const [id, args, argument, message] of cases) {
      const r = await command('admin', 'lincoln', id, args);
      t.equal(r.status, 400, `${id} ${JSON.stringify(args).slice(0, 40)}`);
      t.match(r.body.error, { code: 'COMMAND_ARGUMENTS_INVALID', message, details: { command: id, argument } });
    }
    const printed = await cli(['command', 'gradient.startAcademicYear', 'lincoln', '--arg', 'year=twenty', '--url', url]);
    t.equal(printed.status, 1);
    t.match(
      printed.stderr,
      /^rosterbridge: COMMAND_ARGUMENTS_INVALID: command "gradient.startAcademicYear": argument "year" must be integer.*\(the host answered 400\)\n$/,
    );
    const noKey = await cli(['command', 'gradient.startAcademicYear', 'lincoln', '--arg', '2027', '--url', url]);
    t.equal(noKey.status, 1);
    t.match(noKey.stderr, /--arg takes key=value/);
  });

  await t.test('unknown commands, commands of plugins the tenant does not enable, and declared ones with no handler', async (t) => {
    const unknown = await command('admin', 'lincoln', 'gradient.startYear', {});
    t.equal(unknown.status, 404);
    t.match(unknown.body.error, { code: 'COMMAND_UNKNOWN', message: /no installed plugin contributes command "gradient\.startYear"/ });
    const printed = await cli(['command', 'nothing.here', 'lincoln', '--url', url]);
    t.equal(printed.status, 1);
    t.match(printed.stderr, /^rosterbridge: COMMAND_UNKNOWN: no installed plugin contributes command "nothing\.here".*\(the host answered 404\)\n$/);
    const notEnabled = await command('operator', 'adams', 'gradient.startAcademicYear', {});
    t.equal(notEnabled.status, 409);
    t.match(notEnabled.body.error, {
      code: 'COMMAND_NOT_ENABLED',
      message:
        'command "gradient.startAcademicYear" belongs to plugin "target-gradient", which tenant "adams" does not enable (enable its target "gradient" in the tenant\'s file)',
    });
    const mute = await command('admin', 'adams', 'mute.speak');
    t.equal(mute.status, 503);
    t.match(mute.body.error, { code: 'COMMAND_NOT_REGISTERED', message: /plugin "target-mute" is active but registered no handler for command "mute\.speak"/ });
    const failing = await command('admin', 'lincoln', 'memo.hold', { ms: 0, fail: true });
    t.equal(failing.status, 502);
    t.match(failing.body.error, { code: 'COMMAND_FAILED', message: 'plugin "target-memo" failed running command "memo.hold": memo was told to fail' });
    const tenantOfNone = await command('admin', 'nowhere', 'memo.count');
    t.match(tenantOfNone, { status: 404, body: { error: { code: 'TENANT_NOT_FOUND' } } });
  });

  await t.test('roles: a tenant token lists commands but may not run them', async (t) => {
    const refused = await command('tenant', 'lincoln', 'memo.count');
    t.equal(refused.status, 403);
    t.match(refused.body.error, {
      code: 'AUTH_FORBIDDEN',
      message: /role "tenant", which may not .*run plugin commands; this needs role "admin" or "tenant-operator"/,
    });
    t.equal((await command('operator', 'lincoln', 'memo.count')).status, 200, 'an operator may');
    const counted = await command('admin', 'lincoln', 'memo.count', { entity: 'users' });
    t.match(counted, { status: 200, body: { result: { records: users.length, summary: `memo holds ${users.length} users of lincoln` } } });
  });

  await t.test("a command that writes holds the tenant's operation; a read-only one does not", async (t) => {
    const holding = command('operator', 'lincoln', 'memo.hold', { ms: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const blocked = await call('admin', 'POST', '/tenants/lincoln/syncs', {});
    t.equal(blocked.status, 409);
    t.match(blocked.body.error, { code: 'TENANT_BUSY', message: /tenant "lincoln" is busy with command "memo\.hold" \(by lincoln-ops, since / });
    const second = await command('admin', 'lincoln', 'memo.hold', { ms: 0 });
    t.match(second, { status: 409, body: { error: { code: 'TENANT_BUSY' } } }, 'nor another command that writes');
    t.equal((await command('admin', 'lincoln', 'memo.count')).status, 200, 'a read-only command runs meanwhile');
    const held = await holding;
    t.match(held, { status: 200, body: { result: { summary: 'held for 1500 ms' } } });
    t.ok(held.body.durationMs >= 1400, `${held.body.durationMs} ms`);
    await sync(t, 'lincoln'); // the tenant is free again: a sync starts (202)
  });
});

t.test('the host refuses a plugin whose command schema does not compile or whose command id another plugin has', async (t) => {
  const manifest = (id: string, commands: unknown[]) => ({ id, contributes: { sources: [], targets: [], schedules: {}, commands } }) as any;
  const invalid = invalidCommandContributions([
    manifest('target-a', [{ id: 'shared.run', title: 'Run', arguments: { type: 'object' }, readOnly: false }]),
    manifest('target-b', [
      { id: 'shared.run', title: 'Run', arguments: { type: 'object' }, readOnly: false },
      { id: 'b.bad', title: 'Bad', arguments: { type: 'object', properties: { x: { type: 'nonsense' } } }, readOnly: false },
    ]),
  ]);
  t.equal(invalid.length, 1);
  t.equal(invalid[0]!.pluginId, 'target-b');
  t.match(invalid[0]!.reason, /rosterbridge\.contributes\.commands\[0\]\.id: command "shared\.run" is already contributed by plugin "target-a"/);
  t.match(invalid[0]!.reason, /rosterbridge\.contributes\.commands\[1\]\.arguments is not a valid JSON Schema/);
});
