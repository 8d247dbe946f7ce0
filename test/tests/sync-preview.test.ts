import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import t from 'tap';
import type { SyncRun } from '@rosterbridge/core';
import { KybergateSession } from '@rosterbridge/target-kybergate';
import { FIXTURES_DIR, changeDistrict, generateDistrict, seedProductState, spyOnLoads, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// The readiness preview (issue 18, item 3): a run that stages, runs every target's rules on the
// changes in a transaction that is rolled back, and reports the real per-target counts and issues.
// Against the four real products (and memo, the engine's fixture target, for the scope's figures),
// on the embedded database or PostgreSQL (DATABASE_URL).

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];
const PRODUCT_SCHEMAS = ['plugin_target_kamkalima', 'plugin_target_school_manager', 'plugin_target_kybergate', 'plugin_target_gradient'];
const FOUR = ['kamkalima', 'school-manager', 'kybergate', 'gradient'];
const ADMIN = 'admin-token-preview-0123456789';
const SMTP_PASSWORD_ENV = 'ROSTERBRIDGE_SECRET_PREVIEW_SMTP';
const SMTP_PASSWORD = 'pv-Smtp4Kq8Zt2Wn6Jd-3c1e';

const district = generateDistrict({ seed: 1811, size: 'tiny', faults: { duplicateEmails: 2, missingEmails: 2 } });
const changed = changeDistrict(district, { seed: 1812, fraction: 0.05 });

t.test('readiness preview', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-preview-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const smtp = await startSmtp();
  process.env[SMTP_PASSWORD_ENV] = SMTP_PASSWORD;
  await writeOneRosterPackage(district, path.join(root, 'base'));
  await writeOneRosterPackage(changed, path.join(root, 'changed'));
  const tenant = (id: string, location: string, targets: unknown[], extra: Record<string, unknown> = {}) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: `District ${id}`,
        timezone: 'America/Chicago',
        region: 'US',
        source: { id: 'oneroster-csv', settings: { location } },
        targets: targets.map((target) => ({ schedule: 'manual', ...(target as object) })),
        ...extra,
      }),
    );
  const four = [{ id: 'kamkalima' }, { id: 'school-manager', settings: { syncParentData: true } }, { id: 'kybergate' }, { id: 'gradient' }];
  tenant('lincoln', '../base', four);
  tenant('adams', '../base', four);
  tenant('scoped', '../base', [{ id: 'memo' }, { id: 'kybergate' }]);
  // gated writes in transactions of its own (not the engine's); flaky is slow.
  tenant('own', '../base', [{ id: 'memo' }, { id: 'gated' }]);
  tenant('slow', '../base', [{ id: 'memo' }, { id: 'flaky', settings: { delayMs: 300 } }]);
  // Its package does not exist: its runs fail, and a real run's failure is e-mailed.
  tenant('monroe', '../missing', [{ id: 'kybergate', settings: { notifications: notifications(smtp.port) } }], { contacts: ['it@monroe.example.org'] });

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    await smtp.close();
    delete process.env[SMTP_PASSWORD_ENV];
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const db = host.database.db;
  const run = async (tenantId: string, request: { preview?: boolean; schools?: string[]; mode?: 'full' | 'delta' } = {}): Promise<SyncRun> =>
    host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'test', ...request })).id);

  /** Every table of the four product schemas: its row count and a digest of its rows. */
  const productTables = async (): Promise<Record<string, string>> => {
    const { rows: tables } = await sql<{ schema: string; name: string }>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_schema = any(${PRODUCT_SCHEMAS}::text[]) and table_type = 'BASE TABLE' order by 1, 2`.execute(db);
    const out: Record<string, string> = {};
    for (const { schema, name } of tables) {
      const { rows } = await sql<{ n: string; digest: string | null }>`
        select count(*) as n, md5(string_agg(t::text, '|' order by t::text)) as digest from ${sql.table(`${schema}.${name}`)} t`.execute(db);
      out[`${schema}.${name}`] = `${rows[0]!.n} rows ${rows[0]!.digest ?? ''}`;
    }
    return out;
  };
  const rowCount = (tables: Record<string, string>) => Object.values(tables).reduce((n, v) => n + Number(v.split(' ')[0]), 0);
  const cursors = async (tenantId: string) =>
    (
      await db
        .withSchema('rosterbridge')
        .selectFrom('target_cursor')
        .select(['target_id', 'last_seq'])
        .where('tenant_id', '=', tenantId)
        .orderBy('target_id')
        .execute()
    ).map((c: { target_id: string; last_seq: unknown }) => `${c.target_id}@${String(c.last_seq)}`);
  /** The ledger's rows of the tenant: its versions (committed or staged) and its state. */
  const ledger = async (tenantId: string) => {
    const { rows } = await sql<{ versions: string; committed: string | null }>`
      select (select count(*) from rosterbridge.ledger_version where tenant_id = ${tenantId}) as versions,
             (select committed_seq::text from rosterbridge.ledger_state where tenant_id = ${tenantId}) as committed`.execute(db);
    return { versions: Number(rows[0]!.versions), committed: rows[0]!.committed };
  };
  /** A run's issues as comparable lines: producer, code, severity, entity and record. */
  const issues = async (runId: string): Promise<string[]> =>
    (await host.runs.issues(runId, { limit: 1_000_000 }))
      .map((i) => [i.targetId ?? 'source', i.code, i.severity, i.entity ?? '', i.sourcedId ?? ''].join(' '))
      .sort();
  /** What a preview and the real run after it must share: per-target counts and states, the source's counts, the issue totals. */
  const report = (r: SyncRun) => ({
    status: r.status,
    errorCode: r.errorCode ?? null,
    source: r.counts.source,
    targets: Object.fromEntries(
      Object.entries(r.counts.targets).map(([id, c]) => [id, { status: c.status, errorCode: c.errorCode ?? null, entities: c.entities }]),
    ),
    issues: r.counts.issues,
  });
  // The products' schemas exist before the first look (a run activates its targets' plugins, which migrates them).
  for (const target of [...FOUR, 'memo', 'gated', 'flaky']) await host.plugins.activate(host.plugins.findContributor('targets', target)!.id);
  const MEMO_SCHEMA = (await sql<{ schema: string }>`select table_schema as schema from information_schema.tables where table_name = 'apply_call'`.execute(db))
    .rows[0]!.schema;
  const created = (r: SyncRun, target: string) => Object.values(r.counts.targets[target]?.entities ?? {}).reduce((n, c) => n + (c?.created ?? 0), 0);

  await t.test('a preview of a district reports what its first sync then does, and writes no product row', async (t) => {
    await seedProductState(host, 'lincoln', district);
    const loads = spyOnLoads(KybergateSession.prototype);
    t.teardown(() => loads.restore());
    const before = await productTables();
    const preview = await run('lincoln', { preview: true });
    const previewLoads = loads.loaded.splice(0);
    if (process.env.DATABASE_URL) t.ok(previewLoads.length > 0, `on PostgreSQL the preview back-fills KyberGate by its loads (${previewLoads.join(', ')})`);
    else t.same(previewLoads, [], 'the embedded database applies back-fills (no loads)');
    t.equal(preview.preview, true, 'the run is a preview');
    t.match(preview.reason, /^preview: nothing was written to any target/, `its reason says so: ${preview.reason}`);
    t.same(Object.keys(preview.counts.targets).sort(), [...FOUR].sort(), 'every enabled product ran');
    for (const target of FOUR) t.ok(created(preview, target) > 0, `${target} counts records it would create (${created(preview, target)})`);
    t.same(await productTables(), before, 'every table of the four product schemas holds what it held (rows and contents)');
    t.same(await cursors('lincoln'), [], 'no target has a cursor');
    t.same(
      await ledger('lincoln'),
      { versions: 0, committed: null },
      'the ledger holds nothing of the tenant: the staged changes are discarded, the commit rolled back',
    );
    const previewIssues = await issues(preview.id);
    t.ok(
      previewIssues.some((i) => !i.startsWith('source ')),
      'the products reported issues of their own',
    );

    const real = await run('lincoln');
    t.equal(real.preview, false);
    t.same(loads.loaded, previewLoads, 'the real sync loads what the preview loaded');
    t.same(report(preview), report(real), 'the same per-target counts, states and issue totals as the real first sync');
    t.same(previewIssues, await issues(real.id), 'the same issues (producer, code, severity, entity, record)');
    t.ok(rowCount(await productTables()) > rowCount(before), 'the real sync wrote the rows the preview did not');
    t.equal((await cursors('lincoln')).length, 4, 'the real sync moved every cursor');

    const listed = await host.api.inject({ method: 'GET', url: '/tenants/lincoln/runs', headers: { authorization: `Bearer ${ADMIN}` } });
    const line = (listed.json() as { runs: { id: string; preview: boolean }[] }).runs.find((r) => r.id === preview.id);
    t.equal(line?.preview, true, "the preview is listed with the tenant's runs, as a preview");
    const page = await host.api.inject({ method: 'GET', url: `/runs/${preview.id}/issues?limit=1000`, headers: { authorization: `Bearer ${ADMIN}` } });
    t.equal(page.statusCode, 200);
    t.ok((page.json() as { issues: unknown[] }).issues.length > 0, 'its issues are served at /runs/:id/issues');
  });

  await t.test('a preview on a tenant that synced reports the delta a real run then applies', async (t) => {
    await seedProductState(host, 'adams', district);
    t.equal((await run('adams')).preview, false);
    tenant('adams', '../changed', four);
    await host.tenants.load();
    const before = await productTables();
    const cursorsBefore = await cursors('adams');
    const ledgerBefore = await ledger('adams');
    const preview = await run('adams', { preview: true });
    const changes = Object.values(preview.counts.source).reduce((n, c) => n + (c ? c.created + c.updated + c.deleted : 0), 0);
    t.ok(changes > 0, `the source changed (${changes} changes)`);
    t.same(await productTables(), before, 'no product row was inserted, changed or deleted');
    t.same(await cursors('adams'), cursorsBefore, 'the cursors are where they were');
    t.same(await ledger('adams'), ledgerBefore, 'the ledger is as it was (the staged changes discarded)');
    // A tiny district's change crosses the default thresholds: the preview says so, and applies anyway.
    t.match(preview.reason, /^preview: nothing was written to any target \(a real run would be held: /, preview.reason ?? '');
    const held = await run('adams');
    t.equal(held.status, 'held', 'the real run is held');
    const real = await host.syncs.settled((await host.syncs.approve(held.id, 'test')).id);
    t.same(report(preview), report(real), 'the same per-target counts, states and issue totals as the real run, once approved');
    t.same(await issues(preview.id), await issues(real.id), 'the same issues');
    t.notSame(await productTables(), before, 'the real run changed the products');
  });

  await t.test("a preview scoped to a school counts that school's records only", async (t) => {
    const school = [...district.records('orgs')].find((o) => o.type === 'school')!;
    const classes = new Set([...district.records('classes')].filter((c) => c.schoolSourcedId === school.sourcedId).map((c) => c.sourcedId));
    const enrollments = [...district.records('enrollments')].filter((e) => classes.has(e.classSourcedId));
    const users = new Set([
      ...[...district.records('users')].filter((u) => u.orgSourcedIds.includes(school.sourcedId)).map((u) => u.sourcedId),
      ...enrollments.map((e) => e.userSourcedId),
    ]);
    for (const u of [...district.records('users')]) if (users.has(u.sourcedId)) for (const a of u.agentSourcedIds) users.add(a);
    t.ok(classes.size > 0 && classes.size < [...district.records('classes')].length, `the school has some of the classes (${classes.size})`);

    const preview = await run('scoped', { preview: true, schools: [school.sourcedId] });
    t.not(preview.status, 'failed', preview.reason ?? '');
    t.same(preview.schools, [school.sourcedId], 'the run records its schools');
    const memo = preview.counts.targets.memo!.entities;
    t.equal(memo.classes?.created, classes.size, "memo is given the school's classes");
    t.equal(memo.enrollments?.created, enrollments.length, 'the enrollments in them');
    t.equal(
      memo.users?.created,
      [...users].filter((id) => [...district.records('users')].some((u) => u.sourcedId === id)).length,
      'the users of the school, enrolled in it, and their agents',
    );
    t.ok((memo.orgs?.created ?? 0) < [...district.records('orgs')].length, 'not every org');
    const whole = await run('scoped', { preview: true });
    t.ok(
      created(whole, 'kybergate') > created(preview, 'kybergate'),
      `KyberGate is given less of the district (${created(preview, 'kybergate')} of ${created(whole, 'kybergate')})`,
    );
    t.equal(whole.counts.targets.memo!.entities.classes?.created, [...district.records('classes')].length, 'unscoped, memo is given every class');
    t.same(await cursors('scoped'), [], 'no cursor after either preview');

    const first = await run('scoped', { preview: true, schools: ['no-such-school'] });
    t.equal(first.status, 'failed', 'before a first sync, the schools are checked once the source is read');
    t.equal(first.errorCode, 'SCHOOLS_UNKNOWN');
    t.match(first.errorMessage, /"no-such-school"/);
  });

  await t.test('the API takes a preview and refuses bad bodies with codes', async (t) => {
    const post = (tenantId: string, body: unknown) =>
      host.api.inject({ method: 'POST', url: `/tenants/${tenantId}/syncs`, headers: { authorization: `Bearer ${ADMIN}` }, payload: body as object });
    const refused = async (body: unknown, status: number, code: string, message: RegExp) => {
      const res = await post('lincoln', body);
      t.equal(res.statusCode, status, `${JSON.stringify(body).slice(0, 80)}: ${res.body.slice(0, 200)}`);
      t.equal((res.json() as { error: { code: string } }).error.code, code);
      t.match((res.json() as { error: { message: string } }).error.message, message);
    };
    await refused({ preview: true, dryRun: true }, 422, 'SYNC_OPTIONS_CONFLICT', /"preview" or "dryRun"/);
    await refused({ schools: ['x'] }, 422, 'SYNC_OPTIONS_CONFLICT', /previews? only/);
    await refused({ preview: true, schools: ['nowhere-1', 'nowhere-2'] }, 422, 'SCHOOLS_UNKNOWN', /"nowhere-1", "nowhere-2"/);
    await refused({ preview: true, schools: [] }, 400, 'BAD_REQUEST', /schools/);
    await refused({ preview: true, schools: ['x'.repeat(101)] }, 400, 'BAD_REQUEST', /schools/);
    await refused({ preview: true, schools: Array.from({ length: 201 }, (_, i) => `s${i}`) }, 400, 'BAD_REQUEST', /schools/);
    await refused({ preview: 'yes' }, 400, 'BAD_REQUEST', /preview/);

    const school = [...district.records('orgs')].find((o) => o.type === 'school')!;
    const res = await post('lincoln', { preview: true, schools: [school.sourcedId] });
    t.equal(res.statusCode, 202, res.body.slice(0, 200));
    const queued = res.json() as SyncRun;
    t.equal(queued.preview, true);
    t.same(queued.schools, [school.sourcedId]);
    const ended = await host.syncs.settled(queued.id);
    t.match(ended.reason, /^preview: nothing was written/);
  });

  await t.test('the CLI runs a scoped preview and prints its per-target counts and first issues; the stream ends with the preview', async (t) => {
    const school = [...district.records('orgs')].find((o) => o.type === 'school')!;
    const classes = [...district.records('classes')].filter((c) => c.schoolSourcedId === school.sourcedId).length;
    const r = await cli(['sync', 'scoped', '--preview', '--school', school.sourcedId, '--url', host.url]);
    t.equal(r.status, 2, `exit 2: the preview ends partial, as the run would (the district's faults) ${r.stderr}`);
    t.match(r.stdout, /^mode\s+full, preview \(nothing written\)$/m);
    t.match(r.stdout, new RegExp(`^schools\\s+${school.sourcedId}$`, 'm'));
    t.match(r.stdout, /^reason\s+preview: nothing was written to any target/m);
    t.match(r.stdout, new RegExp(`^memo\\s+classes\\s+${classes}\\s`, 'm'), "memo's row: the school's classes, created");
    t.match(r.stdout, /^first issues \(all: rosterbridge run \S+ --issues\)$/m);
    t.match(r.stdout, /^ {2}error\s+kybergate\s+KYBERGATE_[A-Z_]+ users /m, "a product's issue with its target, code, entity and record");
    const refused = await cli(['sync', 'scoped', '--school', school.sourcedId, '--url', host.url]);
    t.equal(refused.status, 1);
    t.match(refused.stderr, /SYNC_OPTIONS_CONFLICT/);

    const started = await fetch(`${host.url}/tenants/scoped/syncs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ preview: true }),
    });
    t.equal(started.status, 202);
    const { id } = (await started.json()) as SyncRun;
    const events = await (
      await fetch(`${host.url}/runs/${id}/events`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: AbortSignal.timeout(120_000) })
    ).text();
    const end = /event: end\ndata: (.*)\n/.exec(events);
    t.ok(end, 'the stream ends');
    t.match(JSON.parse(end![1]!) as SyncRun, { id, preview: true, phase: 'done', reason: /^preview: nothing was written/ });
    await host.syncs.settled(id);
  });

  await t.test("a target's writes in transactions of its own are rolled back too", async (t) => {
    const { rows } = await sql<{ schema: string }>`select table_schema as schema from information_schema.tables where table_name = 'user_row'`.execute(db);
    const gated = rows[0]!.schema;
    await sql`insert into ${sql.table(`${gated}.gate`)} (tenant_id, open) values ('own', true)`.execute(db);
    const userRows = async () =>
      Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(`${gated}.user_row`)} where tenant_id = 'own'`.execute(db)).rows[0]!.n);
    const preview = await run('own', { preview: true });
    t.equal(preview.counts.targets.gated?.status, 'applied', preview.reason ?? '');
    t.ok(created(preview, 'gated') > 0, `gated counts rows it would write (${created(preview, 'gated')})`);
    t.equal(await userRows(), 0, 'none of them is written');
    const real = await run('own');
    t.equal(created(real, 'gated'), created(preview, 'gated'), 'the real run writes what the preview counted');
    t.equal(await userRows(), created(real, 'gated'));
  });

  await t.test('a preview cancelled while its targets apply ends cancelled, nothing written', async (t) => {
    const queued = await host.syncs.trigger('slow', { trigger: 'test', preview: true });
    await new Promise<void>((resolve) => {
      const sub = host.syncs.onDidProgress((p) => {
        if (p.runId === queued.id && p.phase === 'applying') {
          sub.dispose();
          resolve();
        }
      });
    });
    const cancelled = await host.syncs.cancel(queued.id, 'test');
    t.equal(cancelled.status, 'cancelled', cancelled.reason ?? '');
    t.same(await cursors('slow'), [], 'no cursor');
    t.same(await ledger('slow'), { versions: 0, committed: null }, 'nothing of the tenant in the ledger');
    const memoRows = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${MEMO_SCHEMA}.record`)} where tenant_id = 'slow'`.execute(db);
    t.equal(Number(memoRows.rows[0]!.n), 0, 'memo holds nothing of the tenant');
    const real = await run('slow');
    t.equal(real.status, 'success', 'a real run after it applies');
  });

  await t.test('a KyberGate preview sends no e-mail, where the real run that fails the same way does', async (t) => {
    const preview = await run('monroe', { preview: true });
    t.equal(preview.status, 'failed', 'the preview fails as the run would (its package is missing)');
    await sleep(1000);
    t.equal(smtp.messages.length, 0, 'no e-mail for the preview');
    const real = await run('monroe');
    t.equal(real.status, 'failed');
    for (let i = 0; i < 100 && smtp.messages.length < 1; i++) await sleep(100);
    t.equal(smtp.messages.length, 1, 'the real run e-mails its failure (the notifications work)');
  });
});

/** Runs the CLI to its end (asynchronously: the host answering it lives in this process). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, RB_TOKEN: ADMIN } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function notifications(port: number) {
  return {
    from: 'Rosterbridge <rosterbridge@district.example.org>',
    smtp: { host: '127.0.0.1', port, secure: false, user: 'rosterbridge', password: { env: SMTP_PASSWORD_ENV } },
  };
}

/** Captures what a loopback SMTP server receives. */
async function startSmtp() {
  const messages: { to: string[] }[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (auth.username === 'rosterbridge' && auth.password === SMTP_PASSWORD) cb(null, { user: 'rosterbridge' });
      else cb(new Error('invalid login'));
    },
    onData(stream, session, cb) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return { messages, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
