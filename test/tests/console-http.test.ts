import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { FIXTURES_DIR, type TestHost, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';
import { ConsoleClient } from './console-kit';

// The operator console over plain HTTP (no browser): sign in and out, the session cookie's flags,
// CSRF refusal of a forged form, the Content-Security-Policy, a tenant token kept to its tenant,
// and a hostile display name shown as text. Plus the issue filters the console added to the API.

const TOKENS = { admin: 'Kd8vNq3RtW6yPb1Zs5Lm9Xc2', lincoln: 'Ge4hUj7Ko2Lp9Qw3Er6Ty1Ui', jefferson: 'Zx5cVb8Nm1Aq4Sw7De2Fr9Gt' } as const;
const HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)> & Lincoln';

t.test('the console over HTTP', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-console-http-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(generateDistrict({ seed: 3, size: 'tiny' }), path.join(root, 'package'), { mode: 'bulk' });
  const tenant = (id: string, displayName: string) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName,
        timezone: 'America/Chicago',
        source: { id: 'oneroster-csv', settings: { location: '../package' } },
        targets: [{ id: 'kamkalima' }, { id: 'kybergate' }],
      }),
    );
  tenant('lincoln', HOSTILE);
  tenant('jefferson', 'Jefferson Secret Name');
  // Adams's package is not there: its connection check fails with a code and a hint.
  writeFileSync(
    path.join(tenants, 'adams.json'),
    JSON.stringify({
      displayName: 'Adams',
      timezone: 'America/Chicago',
      source: { id: 'oneroster-csv', settings: { location: '../no-such-package' } },
      targets: [{ id: 'kybergate' }],
    }),
  );
  const th: TestHost = await startTestHost({
    pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')],
    tenantsDir: tenants,
    tokens: [
      { name: 'ops', token: TOKENS.admin, role: 'admin' },
      { name: 'lincoln-portal', token: TOKENS.lincoln, role: 'tenant', tenant: 'lincoln' },
      { name: 'jefferson-portal', token: TOKENS.jefferson, role: 'tenant', tenant: 'jefferson' },
    ],
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const runsOf = async (tenantId: string) => (await host.runs.list(tenantId, { limit: 100 })).length;

  await t.test('`/` leads to the console, which asks a signed-out browser to sign in', async (t) => {
    const c = new ConsoleClient(host.url);
    const root = await c.get('/');
    t.equal(root.status, 302);
    const home = await c.get('/console/');
    t.equal(home.status, 302);
    t.equal(home.headers.get('location'), '/console/login');
    const login = await c.get('/console/login');
    t.equal(login.status, 200);
    t.match(login.text, /<label for="token">API token<\/label>/, 'the token input has a label');
  });

  await t.test('sign in: a wrong token is refused; a right one gets an httpOnly, SameSite=Strict session cookie without the token', async (t) => {
    const c = new ConsoleClient(host.url);
    const wrong = await c.login('not-a-token-of-this-host');
    t.equal(wrong.status, 401);
    t.match(wrong.text, /That token is not valid/);
    t.notOk(c.cookies.has('rb_console'), 'no session');

    const right = await c.login(TOKENS.admin);
    t.equal(right.status, 303);
    t.equal(right.location, '/console/');
    const line = right.setCookies.find((l) => l.startsWith('rb_console='));
    t.ok(line, 'a session cookie');
    t.match(line!, /; HttpOnly/i);
    t.match(line!, /; SameSite=Strict/i);
    t.match(line!, /; Path=\/console/i);
    t.notMatch(line!, TOKENS.admin.slice(0, 8), 'the cookie does not hold the token, nor a piece of it');
    t.ok(c.cookies.get('rb_console')!.length >= 40, 'a long random id');
    const home = await c.get('/console/');
    t.equal(home.status, 200);
    t.match(home.text, /Signed in as <strong>ops<\/strong> \(admin\)/);
    t.match(home.text, /Jefferson Secret Name/, 'an admin sees every tenant');
    t.notMatch(home.text, TOKENS.admin.slice(0, 8), 'the token is not on the page');
  });

  await t.test('sign out ends the session on the server: the old cookie no longer works', async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    const session = c.cookies.get('rb_console')!;
    await c.get('/console/');
    const out = await c.post('/console/logout');
    t.equal(out.status, 303);
    t.equal(out.location, '/console/login');
    t.ok(
      out.setCookies.some((l) => l.startsWith('rb_console=;')),
      'the cookie is cleared',
    );
    const replay = new ConsoleClient(host.url);
    replay.cookies.set('rb_console', session);
    const again = await replay.get('/console/');
    t.equal(again.status, 302, 'the old session id leads to the login page');
    t.equal(again.headers.get('location'), '/console/login');
  });

  await t.test('every page has a strict Content-Security-Policy; the static files come from the host', async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    for (const page of ['/console/login', '/console/', '/console/tenants/lincoln', '/console/tenants/lincoln/runs', '/console/nowhere']) {
      const r = await c.get(page);
      const csp = r.headers.get('content-security-policy') ?? '';
      t.match(csp, /default-src 'self'/, `${page}: default-src 'self'`);
      t.match(csp, /script-src 'self'(;|$)/, `${page}: scripts from the host only`);
      t.notMatch(csp, /unsafe-inline|unsafe-eval/, `${page}: nothing unsafe`);
      t.match(csp, /frame-ancestors 'none'/);
      t.notMatch(r.text, /<script>|<style>|\sstyle="|\son[a-z]+="/i, `${page}: no inline script or style`);
      t.notMatch(r.text, /(src|href)="(https?:)?\/\//i, `${page}: nothing from another host`);
    }
    const js = await c.get('/console/assets/console.js');
    t.equal(js.status, 200);
    t.match(js.headers.get('content-type'), /javascript/);
    t.equal((await c.get('/console/assets/..%2Fconsole-routes.ts')).status, 404, 'only the named assets are served');
  });

  await t.test('CSRF: a form without the token, with a wrong one, or from another browser is refused and does nothing', async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    await c.get('/console/tenants/lincoln');
    const before = await runsOf('lincoln');

    const none = await c.post('/console/tenants/lincoln/sync', { mode: 'full' }, { csrf: false });
    t.equal(none.status, 403, 'no token');
    t.match(none.text, /CSRF_INVALID/);
    const wrong = await c.post('/console/tenants/lincoln/sync', { mode: 'full', _csrf: 'a'.repeat(40) });
    t.equal(wrong.status, 403, 'a wrong token');
    // A page of another browser (its own CSRF cookie): its token does not pass with this browser's cookie.
    const other = new ConsoleClient(host.url);
    await other.get('/console/login');
    const foreign = await c.post('/console/tenants/lincoln/sync', { mode: 'full', _csrf: other.csrf });
    t.equal(foreign.status, 403, "another browser's token");
    // A forged cross-site form carries the session cookie at most (SameSite=Strict keeps even that), never the CSRF cookie's token.
    const forged = await fetch(`${host.url}/console/tenants/lincoln/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `rb_console=${c.cookies.get('rb_console')}`, origin: 'https://evil.example' },
      body: 'mode=full',
      redirect: 'manual',
    });
    t.equal(forged.status, 403, 'a forged post');
    t.equal(await runsOf('lincoln'), before, 'no run was started');

    await c.get('/console/tenants/lincoln');
    const real = await c.post('/console/tenants/lincoln/sync', { mode: 'full' });
    t.equal(real.status, 303, real.text.slice(0, 300));
    t.match(real.location, /^\/console\/runs\/[0-9a-f-]{36}$/);
    t.equal(await runsOf('lincoln'), before + 1, 'the real form started one run');
    await host.syncs.settled(real.location!.split('/').pop()!);
  });

  await t.test("a tenant token sees its tenant only: another tenant's pages are refused with none of its data", async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.lincoln);
    const home = await c.get('/console/');
    t.equal(home.status, 200);
    t.notMatch(home.text, /Jefferson Secret Name|jefferson/, 'the list holds its tenant only');
    const other = await c.get('/console/tenants/jefferson');
    t.equal(other.status, 403);
    t.match(other.text, /AUTH_FORBIDDEN/);
    t.notMatch(other.text, /Jefferson Secret Name/);
    t.equal((await c.get('/console/tenants/jefferson/runs')).status, 403);
    t.equal((await c.get('/console/tenants/nowhere')).status, 403, 'an unknown tenant: the same refusal');

    // A run of jefferson, opened by id.
    const admin = new ConsoleClient(host.url);
    await admin.login(TOKENS.admin);
    await admin.get('/console/tenants/jefferson');
    const started = await admin.post('/console/tenants/jefferson/sync', { mode: 'full' });
    const runId = started.location!.split('/').pop()!;
    await host.syncs.settled(runId);
    for (const page of [`/console/runs/${runId}`, `/console/runs/${runId}/issues.csv`, `/console/runs/${runId}/events`]) {
      const r = await c.get(page);
      t.equal(r.status, 403, `${page}: 403`);
      t.notMatch(r.text, /Jefferson Secret Name|KAMKALIMA_|KYBERGATE_/, `${page}: none of its data`);
    }

    // Its own tenant: read and sync, but no operator button; a forged operator form is refused by the API.
    const own = await c.get('/console/tenants/lincoln');
    t.equal(own.status, 200);
    t.match(own.text, /Start sync/);
    t.notMatch(own.text, /Reset kybergate|Back-fill|>Pause<|Run kamkalima\./, 'no operator buttons for a tenant token');
    const reset = await c.post('/console/tenants/lincoln/targets/kybergate/reset', { confirm: 'kybergate' });
    t.equal(reset.status, 403, 'a forged reset is refused');
    t.match(reset.text, /AUTH_FORBIDDEN/);
    const pause = await c.post('/console/tenants/lincoln/pause', {});
    t.equal(pause.status, 403, 'a forged pause is refused');
    t.equal(await host.syncs.pausedReason('lincoln'), undefined, 'not paused');
  });

  await t.test("a hostile display name and the source's text are shown as text, never as markup", async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    for (const page of ['/console/', '/console/tenants/lincoln', '/console/tenants/lincoln/runs']) {
      const r = await c.get(page);
      t.equal(r.status, 200);
      t.notMatch(r.text, /<script>alert|<img src=x/, `${page}: no markup of the name`);
      if (page !== '/console/tenants/lincoln/runs') t.match(r.text, /&lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt;/, `${page}: the name escaped`);
    }
  });

  await t.test("test connection shows the check's answer: its code and hint when it fails", async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    await c.get('/console/tenants/lincoln');
    const ok = await c.post('/console/tenants/lincoln/check');
    t.equal(ok.status, 200);
    t.match(ok.text, /Connected: /);
    await c.get('/console/tenants/adams');
    const failed = await c.post('/console/tenants/adams/check');
    t.equal(failed.status, 200);
    const answer = (await (
      await fetch(`${host.url}/tenants/adams/source/check`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.admin}` } })
    ).json()) as { ok: boolean; code: string; message: string };
    t.equal(answer.ok, false);
    t.match(failed.text, new RegExp(`Not connected: <strong>${answer.code}</strong>`), 'the code');
    const escaped = answer.message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
    t.ok(failed.text.includes(`Hint: ${escaped}`), `the hint: ${answer.message}`);
  });

  await t.test("a console session is no key to the API, and no path under /console reaches the API's routes", async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    const cookie = `rb_console=${c.cookies.get('rb_console')}`;
    for (const url of ['/tenants/lincoln', '/console/../tenants/lincoln', '/console/%2e%2e/tenants/lincoln', '/console/x/../../tenants/lincoln']) {
      const r = await fetch(host.url + url, { headers: { cookie }, redirect: 'manual' });
      const text = await r.text();
      t.not(r.status, 200, `${url}: not answered with the tenant`);
      t.notMatch(text, /"config"|Jefferson Secret Name|oneroster-csv/, `${url}: no tenant data`);
    }
  });

  await t.test('the preview form: a tenant token may preview; unknown schools are refused naming them', async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.lincoln);
    const page = await c.get('/console/tenants/lincoln');
    t.match(page.text, /<label for="schools">/, 'the schools field has its label');
    const unknown = await c.post('/console/tenants/lincoln/preview', { schools: 'nowhere-1, nowhere-2' });
    t.equal(unknown.status, 422);
    t.match(unknown.text, /SCHOOLS_UNKNOWN/);
    t.match(unknown.text, /nowhere-1.*nowhere-2/);
    await c.get('/console/tenants/lincoln');
    const before = (await host.runs.list('lincoln', { limit: 100 }))[0]!;
    const started = await c.post('/console/tenants/lincoln/preview', { schools: '' });
    t.equal(started.status, 303, started.text.slice(0, 300));
    const runId = started.location!.split('/').pop()!;
    const run = await host.syncs.settled(runId);
    t.equal(run.preview, true, 'a preview of the whole district');
    t.equal(run.schools, undefined);
    const list = await c.get('/console/');
    t.notMatch(list.text, new RegExp(runId), "a preview is not a target's last sync");
    t.match(list.text, new RegExp(before.id), 'the last real run still is');
  });

  await t.test('the typed confirmation: a reset without the target id typed resets nothing', async (t) => {
    const c = new ConsoleClient(host.url);
    await c.login(TOKENS.admin);
    await c.get('/console/tenants/lincoln');
    const wrong = await c.post('/console/tenants/lincoln/targets/kybergate/reset', { confirm: 'kyber' });
    t.equal(wrong.status, 422);
    t.match(wrong.text, /CONFIRMATION_MISMATCH/);
    const right = await c.post('/console/tenants/lincoln/targets/kybergate/reset', { confirm: 'kybergate' });
    t.equal(right.status, 303);
    const page = await c.get(right.location!);
    t.match(page.text, /Reset kybergate: its next run is a first run/);
  });

  await t.test('the API filters issues by entity and by code, paged, within its bounds', async (t) => {
    const auth = { authorization: `Bearer ${TOKENS.admin}` };
    // Lincoln's first run, a first sync of every target: it has the most issues.
    const runId = (await host.runs.list('lincoln', { limit: 100 })).at(-1)!.id;
    const all = await host.runs.issues(runId, { limit: 1000 });
    t.ok(all.length >= 3, `${all.length} issues`);
    const get = async (q: string) => {
      const r = await fetch(`${host.url}/runs/${runId}/issues?${q}`, { headers: auth });
      return { status: r.status, body: (await r.json()) as any };
    };
    const entity = all[0]!.entity!;
    const byEntity = await get(`entity=${entity}&limit=1000`);
    t.equal(byEntity.status, 200);
    t.same(
      byEntity.body.issues.map((i: { seq: number }) => i.seq),
      all.filter((i) => i.entity === entity).map((i) => i.seq),
      'by entity',
    );
    const code = all[all.length - 1]!.code;
    const wanted = all.filter((i) => i.code === code).map((i) => i.seq);
    const seen: number[] = [];
    let after: number | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page = await get(`code=${code}&limit=1${after === null ? '' : `&after=${after}`}`);
      seen.push(...page.body.issues.map((i: { seq: number }) => i.seq));
      after = page.body.next;
      if (after === null) break;
    }
    t.same(seen, wanted, 'by code, a page of one at a time');
    const both = await get(`code=${code}&entity=no-such-entity`);
    t.same(both.body, { issues: [], next: null }, 'both filters: none');
    const long = await get(`code=${'x'.repeat(101)}`);
    t.equal(long.status, 400, 'a code longer than 100 is refused');
    t.equal(long.body.error.code, 'BAD_REQUEST');
  });
});
