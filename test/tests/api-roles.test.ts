import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { RosterEntity, RosterRecord } from '@rosterbridge/core';
import { type Access, type ApiRole, type Principal, authorize, loadHostConfig } from '@rosterbridge/host';
import { FIXTURES_DIR, type RosterRecordSource, type TestHost, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// Roles, route by route: what each role may do, and what it is refused (403 AUTH_FORBIDDEN), with
// the table below as the oracle, independent of the host's own.

const TOKENS = {
  admin: 'Qm7xVr2LpK9zWn4Tb8Hc3Jd6',
  operator: 'Yf5gRs1NwE8uXa3Mk7Pq2Zc9',
  tenant: 'Bh4jTe6LvO2yGi9Sd1Fw8Ur5',
  other: 'Cn3kWq7HxI5mDz0Aj4Vs6Et2',
} as const;
type Who = keyof typeof TOKENS;
const WHO: readonly Who[] = ['admin', 'operator', 'tenant', 'other'];
const ANY: readonly Who[] = WHO;
const READ_SYNC: readonly Who[] = ['admin', 'operator', 'tenant'];
const OPERATE: readonly Who[] = ['admin', 'operator'];

/** Who may call each route on tenant lincoln (and its runs). `other` is a tenant token of jefferson. */
const MAY: Record<string, readonly Who[]> = {
  'GET /plugins': ANY,
  'GET /plugins/{id}': ANY,
  'GET /tenants': ANY,
  'GET /tenants/{id}': READ_SYNC,
  'GET /tenants/{id}/schedules': READ_SYNC,
  'POST /tenants/{id}/source/check': READ_SYNC,
  'POST /tenants/{id}/syncs': READ_SYNC,
  'GET /tenants/{id}/runs': READ_SYNC,
  'GET /runs/{id}': READ_SYNC,
  'GET /runs/{id}/issues': READ_SYNC,
  'GET /runs/{id}/events': READ_SYNC,
  'POST /runs/{id}/cancel': READ_SYNC,
  'POST /runs/{id}/approve': OPERATE,
  'POST /runs/{id}/reject': OPERATE,
  'POST /tenants/{id}/targets/{target}/reset': OPERATE,
  'POST /tenants/{id}/targets/{target}/backfill': OPERATE,
  'POST /tenants/{id}/pause': OPERATE,
  'POST /tenants/{id}/resume': OPERATE,
  'GET /tenants/{id}/commands': READ_SYNC,
  'POST /tenants/{id}/commands/{command}': OPERATE,
  'POST /tenants/reload': ['admin'],
};
const PUBLIC = ['GET /healthz', 'GET /readyz'];
const ROLE_OF: Record<Who, ApiRole> = { admin: 'admin', operator: 'tenant-operator', tenant: 'tenant', other: 'tenant' };

t.test('authorize: each role, each kind of route, reached tenant or not', async (t) => {
  const principals: Record<ApiRole, Principal> = {
    admin: { name: 'a', role: 'admin' },
    'tenant-operator': { name: 'o', role: 'tenant-operator', tenants: ['lincoln', 'adams'] },
    tenant: { name: 't', role: 'tenant', tenants: ['lincoln'] },
  };
  const allowed: [ApiRole, Access, string, boolean][] = [
    ['admin', 'read', 'lincoln', true],
    ['admin', 'sync', 'anywhere', true],
    ['admin', 'operate', 'anywhere', true],
    ['tenant-operator', 'read', 'lincoln', true],
    ['tenant-operator', 'sync', 'adams', true],
    ['tenant-operator', 'operate', 'lincoln', true],
    ['tenant-operator', 'read', 'jefferson', false],
    ['tenant-operator', 'operate', 'jefferson', false],
    ['tenant', 'read', 'lincoln', true],
    ['tenant', 'sync', 'lincoln', true],
    ['tenant', 'operate', 'lincoln', false],
    ['tenant', 'read', 'adams', false],
    ['tenant', 'sync', 'jefferson', false],
  ];
  for (const [role, access, tenant, ok] of allowed) {
    const attempt = () => authorize(principals[role], access, tenant);
    if (ok) t.doesNotThrow(attempt, `${role} may ${access} ${tenant}`);
    else t.throws(attempt, { code: 'AUTH_FORBIDDEN' }, `${role} may not ${access} ${tenant}`);
  }
  t.throws(() => authorize(principals.tenant, 'operate', 'lincoln'), { message: /role "tenant".*needs role "admin" or "tenant-operator"/ });
});

t.test('token config: duplicates refused naming the key, old form still read, new roles checked', async (t) => {
  const token = 'Lr8uKp3QaZ6wNe1Xy5Tb9Gm2';
  const load = (tokens: unknown[]) => loadHostConfig({ env: { RB_API_TOKENS: JSON.stringify(tokens) } });
  try {
    load([
      { name: 'ops', token, role: 'admin' },
      { name: 'portal', token, role: 'tenant', tenant: 'lincoln' },
    ]);
    t.fail('a token given twice must be refused');
  } catch (err) {
    t.equal((err as { code?: string }).code, 'CONFIG_INVALID');
    t.match((err as Error).message, /api\.tokens \(env RB_API_TOKENS\): \[1\]\.token is the same as \[0\]\.token \(tokens "ops" and "portal"\)/);
    t.notMatch((err as Error).message, token, 'the token itself is not echoed');
    t.same((err as { details?: { keys?: string[] } }).details?.keys, ['api.tokens']);
  }
  const old = load([
    { name: 'ops', token: TOKENS.admin, role: 'admin' },
    { name: 'portal', token: TOKENS.tenant, role: 'tenant', tenant: 'lincoln' },
  ]);
  t.equal(old.api.tokens[1]!.tenant, 'lincoln', 'a token of the old form is read as it was');
  t.throws(() => load([{ name: 'x', token: TOKENS.operator, role: 'tenant-operator' }]), {
    code: 'CONFIG_INVALID',
    message: /\[0\]\.tenant \(or tenants\) is required for a tenant-operator token/,
  });
  t.throws(() => load([{ name: 'x', token: TOKENS.operator, role: 'owner', tenant: 'a' }]), {
    code: 'CONFIG_INVALID',
    message: /\[0\]\.role must be one of "admin", "tenant-operator", "tenant"/,
  });
  t.throws(() => load([{ name: 'x', token: TOKENS.operator, role: 'tenant-operator', tenants: [] }]), {
    code: 'CONFIG_INVALID',
    message: /\[0\]\.tenants must be a non-empty list/,
  });
});

t.test('a host with no tokens says so at start-up', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-api-notokens-'));
  const th = await startTestHost({ pluginDirs: [], tenantsDir: dir, tokens: [] });
  t.teardown(async () => {
    await th.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const warning = th
    .logs()
    .split('\n')
    .find((l) => l.includes('no API token is configured (api.tokens, env RB_API_TOKENS)'));
  t.ok(warning, 'a log line warns');
  t.equal(JSON.parse(warning!).level, 40, 'at level warn');
  t.equal((await fetch(`${th.host.url}/plugins`)).status, 401, 'and every route but the public ones answers 401');
});

t.test('roles, route by route', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-api-roles-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const district = generateDistrict({ seed: 7, size: 'tiny' });
  const pkg = path.join(root, 'lincoln-package');
  const writePackage = async (dropUser: (index: number) => boolean) => {
    rmSync(pkg, { recursive: true, force: true });
    const users = [...district.records('users')];
    const kept = new Set(users.filter((_, i) => !dropUser(i)).map((u) => u.sourcedId));
    const source: RosterRecordSource = {
      records: <E extends RosterEntity>(entity: E) =>
        (entity === 'users' ? users.filter((u) => kept.has(u.sourcedId)) : district.records(entity)) as Iterable<RosterRecord<E>>,
    };
    await writeOneRosterPackage(source, pkg, { mode: 'bulk' });
  };
  await writePackage(() => false);
  await writeOneRosterPackage(district, path.join(root, 'other-package'), { mode: 'bulk' });
  // Lincoln's runs wait 300 ms into their read: long enough to be cancelled by each role.
  const tenant = (id: string, location: string, readDelayMs: number) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'America/Chicago',
        source: { id: 'slow-csv', settings: { location, readDelayMs } },
        targets: [{ id: 'memo' }],
      }),
    );
  tenant('lincoln', '../lincoln-package', 300);
  tenant('jefferson', '../other-package', 0);
  tenant('adams', '../other-package', 0);
  const th: TestHost = await startTestHost({
    pluginDirs: [path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/api')],
    tenantsDir: tenants,
    tokens: [
      { name: 'ops', token: TOKENS.admin, role: 'admin' },
      { name: 'lincoln-ops', token: TOKENS.operator, role: 'tenant-operator', tenants: ['lincoln', 'adams'] },
      { name: 'lincoln-portal', token: TOKENS.tenant, role: 'tenant', tenant: 'lincoln' },
      { name: 'jefferson-portal', token: TOKENS.other, role: 'tenant', tenant: 'jefferson' },
    ],
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;

  const seen = new Map<string, Map<Who, number[]>>();
  /**
   * Calls `route` ("METHOD /path/{param}") as `who` on lincoln or its runs, and records the status
   * for the matrix (unless `record` is false: a call off the table's terms, another tenant's, say).
   */
  const call = async (who: Who | null, route: string, params: Record<string, string> = {}, body?: unknown, record = true) => {
    const [method, template] = route.split(' ') as [string, string];
    const url = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k]!));
    const res = await fetch(host.url + url, {
      method,
      headers: { ...(who ? { authorization: `Bearer ${TOKENS[who]}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text;
    if (who && record) {
      const byWho = seen.get(route) ?? new Map<Who, number[]>();
      byWho.set(who, [...(byWho.get(who) ?? []), res.status]);
      seen.set(route, byWho);
    }
    return { status: res.status, body: parsed as any };
  };
  const lincoln = { id: 'lincoln' };
  const expectRefused = (t: Test, r: { status: number; body: any }, what: string) => {
    t.equal(r.status, 403, `${what}: 403`);
    t.equal(r.body.error?.code, 'AUTH_FORBIDDEN', `${what}: AUTH_FORBIDDEN`);
  };
  const settle = async (runId: string) => host.syncs.settled(runId);
  const heldRun = async () => {
    const r = await call('admin', 'POST /tenants/{id}/syncs', lincoln, {});
    t.equal(r.status, 202, r.body.error?.message ?? 'a run to hold');
    const run = await settle(r.body.id);
    t.equal(run.status, 'held', run.reason ?? run.errorMessage ?? '');
    return run.id;
  };

  await t.test('reading: any token for plugins and the tenant list; the tenant routes for tokens reaching lincoln', async (t) => {
    for (const who of WHO) {
      t.equal((await call(who, 'GET /plugins')).status, 200, `${who} lists plugins`);
      t.equal((await call(who, 'GET /plugins/{id}', { id: 'target-memo' })).status, 200, `${who} reads a plugin`);
      const list = await call(who, 'GET /tenants');
      t.equal(list.status, 200);
      const ids = list.body.tenants.map((x: { id: string }) => x.id).sort();
      t.same(
        ids,
        { admin: ['adams', 'jefferson', 'lincoln'], operator: ['adams', 'lincoln'], tenant: ['lincoln'], other: ['jefferson'] }[who],
        `${who} lists the tenants it reaches`,
      );
      for (const route of ['GET /tenants/{id}', 'GET /tenants/{id}/schedules', 'GET /tenants/{id}/runs', 'POST /tenants/{id}/source/check']) {
        const r = await call(who, route, lincoln, route.startsWith('POST') ? {} : undefined);
        if (MAY[route]!.includes(who)) t.equal(r.status, 200, `${who}: ${route}`);
        else expectRefused(t, r, `${who}: ${route}`);
      }
    }
    for (const who of WHO) {
      const r = await call(who, 'POST /tenants/reload', {}, {});
      if (MAY['POST /tenants/reload']!.includes(who)) t.equal(r.status, 200, `${who} reloads the tenant files`);
      else expectRefused(t, r, `${who}: POST /tenants/reload (the host's, not a tenant's)`);
    }
    expectRefused(t, await call('operator', 'GET /tenants/{id}', { id: 'jefferson' }, undefined, false), 'the operator does not reach jefferson');
    t.equal((await call('operator', 'GET /tenants/{id}', { id: 'adams' }, undefined, false)).status, 200, 'it reaches adams, its other tenant');
    expectRefused(
      t,
      await call('operator', 'GET /tenants/{id}', { id: 'nowhere' }, undefined, false),
      'nor an unknown tenant (403, not 404: it learns nothing of others)',
    );
    const unknown = await call('admin', 'GET /tenants/{id}', { id: 'nowhere' }, undefined, false);
    t.equal(unknown.status, 404, 'an admin is told an unknown tenant is not there');
    t.equal(unknown.body.error.code, 'TENANT_NOT_FOUND');
  });

  let runId = '';
  await t.test('syncing: admin, operator and tenant start runs; a token of another tenant may not', async (t) => {
    for (const who of READ_SYNC) {
      const r = await call(who, 'POST /tenants/{id}/syncs', lincoln, {});
      t.equal(r.status, 202, `${who} starts a sync: ${r.body.error?.message ?? 'accepted'}`);
      t.equal(r.body.trigger, `api:${{ admin: 'ops', operator: 'lincoln-ops', tenant: 'lincoln-portal' }[who as 'admin']}`);
      runId = r.body.id;
      t.equal((await settle(runId)).status, 'success');
    }
    expectRefused(t, await call('other', 'POST /tenants/{id}/syncs', lincoln, {}), 'other starts a sync');
    for (const route of ['GET /runs/{id}', 'GET /runs/{id}/issues', 'GET /runs/{id}/events']) {
      for (const who of WHO) {
        const r = await call(who, route, { id: runId });
        if (MAY[route]!.includes(who)) t.equal(r.status, 200, `${who}: ${route}`);
        else expectRefused(t, r, `${who}: ${route}`);
      }
    }
  });

  await t.test('cancelling a run: admin, operator and tenant; not another tenant', async (t) => {
    for (const who of WHO) {
      const started = await call('admin', 'POST /tenants/{id}/syncs', lincoln, {});
      t.equal(started.status, 202);
      const r = await call(who, 'POST /runs/{id}/cancel', { id: started.body.id });
      if (MAY['POST /runs/{id}/cancel']!.includes(who)) {
        t.equal(r.status, 200, `${who} cancels: ${r.body.error?.message ?? ''}`);
        t.equal(r.body.status, 'cancelled', `${r.body.errorCode}: ${r.body.errorMessage ?? r.body.reason}`);
      } else expectRefused(t, r, `${who} cancels`);
      await settle(started.body.id);
    }
  });

  await t.test('holds: approve and reject need an operator or an admin; a tenant token may not even cancel one', async (t) => {
    await writePackage((i) => i % 3 === 0);
    const first = await heldRun();
    for (const who of ['tenant', 'other'] as const) {
      expectRefused(t, await call(who, 'POST /runs/{id}/approve', { id: first }), `${who} approves`);
      expectRefused(t, await call(who, 'POST /runs/{id}/reject', { id: first }), `${who} rejects`);
    }
    const cancel = await call('tenant', 'POST /runs/{id}/cancel', { id: first }, undefined, false);
    expectRefused(t, cancel, 'tenant cancels a held run (which rejects it)');
    t.match(cancel.body.error.message, /role "tenant".*needs role "admin" or "tenant-operator"/);
    t.equal((await host.runs.get(first))!.status, 'held', 'the hold still waits');

    const rejected = await call('operator', 'POST /runs/{id}/reject', { id: first });
    t.equal(rejected.status, 200);
    t.match(rejected.body, { status: 'cancelled', reason: /hold rejected by lincoln-ops/ });
    const second = await heldRun();
    t.match((await call('admin', 'POST /runs/{id}/reject', { id: second })).body, { status: 'cancelled', reason: /hold rejected by ops/ });

    const third = await heldRun();
    const approved = await call('admin', 'POST /runs/{id}/approve', { id: third });
    t.equal(approved.status, 200, approved.body.error?.message ?? 'approved');
    t.equal((await settle(third)).hold?.decidedBy, 'ops');
    await writePackage((i) => i % 3 === 1);
    const fourth = await heldRun();
    t.equal((await call('operator', 'POST /runs/{id}/approve', { id: fourth })).status, 200);
    t.equal((await settle(fourth)).hold?.decidedBy, 'lincoln-ops');
  });

  await t.test('reset and back-fill: admin and operator; not a tenant token', async (t) => {
    const memo = { id: 'lincoln', target: 'memo' };
    for (const who of ['tenant', 'other'] as const) {
      expectRefused(t, await call(who, 'POST /tenants/{id}/targets/{target}/reset', memo), `${who} resets`);
      expectRefused(t, await call(who, 'POST /tenants/{id}/targets/{target}/backfill', memo), `${who} back-fills`);
    }
    const rows = () => host.database.db.withSchema('plugin_target_memo').selectFrom('record').select('sourced_id').where('tenant_id', '=', 'lincoln').execute();
    t.ok((await rows()).length > 0, 'the refused resets deleted no product row');
    for (const who of OPERATE) {
      const reset = await call(who, 'POST /tenants/{id}/targets/{target}/reset', memo);
      t.equal(reset.status, 200, `${who} resets: ${reset.body.error?.message ?? ''}`);
      t.same(await rows(), [], "the product forgot the tenant's rows");
      const backfill = await call(who, 'POST /tenants/{id}/targets/{target}/backfill', memo);
      t.equal(backfill.status, 202, `${who} back-fills: ${backfill.body.error?.message ?? ''}`);
      t.equal((await settle(backfill.body.id)).status, 'success');
      t.ok((await rows()).length > 0, 'the back-fill refilled it');
    }
  });

  await t.test('pause and resume: admin and operator; not a tenant token', async (t) => {
    for (const who of ['tenant', 'other'] as const) {
      expectRefused(t, await call(who, 'POST /tenants/{id}/pause', lincoln, { reason: 'no' }), `${who} pauses`);
      expectRefused(t, await call(who, 'POST /tenants/{id}/resume', lincoln), `${who} resumes`);
    }
    for (const who of OPERATE) {
      t.same((await call(who, 'POST /tenants/{id}/pause', lincoln, { reason: `by ${who}` })).body.paused, true, `${who} pauses`);
      t.same((await call(who, 'POST /tenants/{id}/resume', lincoln)).body.paused, false, `${who} resumes`);
    }
  });

  await t.test('plugin commands: any role reaching the tenant lists them; admin and operator run them', async (t) => {
    const count = { id: 'lincoln', command: 'memo.count' };
    for (const who of WHO) {
      const listed = await call(who, 'GET /tenants/{id}/commands', lincoln);
      if (MAY['GET /tenants/{id}/commands']!.includes(who))
        t.same(
          listed.body.commands?.map((c: { id: string }) => c.id),
          ['memo.count', 'memo.hold'],
          `${who} lists them`,
        );
      else expectRefused(t, listed, `${who} lists them`);
    }
    for (const who of ['tenant', 'other'] as const) expectRefused(t, await call(who, 'POST /tenants/{id}/commands/{command}', count, {}), `${who} runs one`);
    for (const who of OPERATE) {
      const ran = await call(who, 'POST /tenants/{id}/commands/{command}', count, {});
      t.equal(ran.status, 200, `${who} runs one: ${ran.body.error?.message ?? ''}`);
      t.equal(ran.body.by, who === 'admin' ? 'ops' : 'lincoln-ops');
    }
  });

  await t.test('no token: 401 everywhere but the public routes', async (t) => {
    for (const route of Object.keys(MAY)) {
      const r = await call(
        null,
        route,
        { id: route.includes('/runs/') ? runId : 'lincoln', target: 'memo', command: 'memo.count' },
        route.startsWith('POST') ? {} : undefined,
      );
      t.equal(r.status, 401, route);
      t.equal(r.body.error.code, 'AUTH_REQUIRED');
    }
    for (const route of PUBLIC) t.equal((await call(null, route)).status, 200, route);
  });

  await t.test('the matrix: every route of the OpenAPI document, each role allowed or refused as the table says', async (t) => {
    const doc = (await call('admin', 'GET /docs/json')).body;
    const documented: string[] = [];
    for (const [p, operations] of Object.entries(doc.paths as Record<string, Record<string, { 'x-roles'?: string[] }>>))
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${p}`;
        documented.push(route);
        if (PUBLIC.includes(route)) continue;
        const expected = [...new Set(MAY[route]!.map((w) => ROLE_OF[w]))];
        t.same([...(operation['x-roles'] ?? [])].sort(), expected.sort(), `${route}: x-roles`);
      }
    t.same(documented.sort(), [...Object.keys(MAY), ...PUBLIC].sort(), 'the table covers every documented route');
    for (const [route, may] of Object.entries(MAY)) {
      for (const who of WHO) {
        const statuses = seen.get(route)?.get(who) ?? [];
        t.ok(statuses.length > 0, `${route} was called as ${who}`);
        if (may.includes(who))
          t.ok(
            statuses.every((s) => s < 300),
            `${route} as ${who}: allowed (${statuses.join(', ')})`,
          );
        else
          t.ok(
            statuses.every((s) => s === 403),
            `${route} as ${who}: refused (${statuses.join(', ')})`,
          );
      }
    }
  });
});
