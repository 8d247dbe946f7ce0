import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { type Browser, type Page, chromium } from 'playwright-core';
import type { RosterEntity, RosterRecord } from '@rosterbridge/core';
import { FIXTURES_DIR, type RosterRecordSource, type TestHost, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// The operator console in a real browser: Debian's headless Chromium driven by playwright-core (which
// downloads no browser). An operator signs in, starts a sync and watches it to the end on the run
// page (live over the event stream), filters the run's issues, approves a held run, resets a target
// through the typed confirmation; a tenant token cannot open another tenant's pages. A screenshot
// of each page is kept in .data/artifacts/console/.

const CHROMIUM = process.env.RB_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../../.data/artifacts/console');
const TOKENS = { admin: 'Wq3eRt6yUi9oPa2sDf5gHj8k', lincoln: 'Lz4xCv7bNm1qAw5sEd8rFt2g' } as const;

t.test(
  'the console in headless Chromium',
  { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set RB_CHROMIUM): the browser test skips` },
  async (t) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const root = mkdtempSync(path.join(tmpdir(), 'rb-console-browser-'));
    const tenants = path.join(root, 'tenants');
    mkdirSync(tenants);
    const district = generateDistrict({ seed: 11, size: 'tiny' });
    const users = [...district.records('users')];
    const pkg = path.join(root, 'lincoln-package');
    /** Writes lincoln's package with the users `keep` keeps. */
    const writePackage = async (keep: (index: number) => boolean) => {
      rmSync(pkg, { recursive: true, force: true });
      const kept = new Set(users.filter((_, i) => keep(i)).map((u) => u.sourcedId));
      const source: RosterRecordSource = {
        records: <E extends RosterEntity>(entity: E) =>
          (entity === 'users' ? users.filter((u) => kept.has(u.sourcedId)) : district.records(entity)) as Iterable<RosterRecord<E>>,
      };
      await writeOneRosterPackage(source, pkg, { mode: 'bulk' });
    };
    await writePackage(() => true);
    await writeOneRosterPackage(district, path.join(root, 'jefferson-package'), { mode: 'bulk' });
    // Lincoln's runs take three seconds at least, so the run page sees them go on.
    const tenant = (id: string, displayName: string, location: string, readDelayMs: number) =>
      writeFileSync(
        path.join(tenants, `${id}.json`),
        JSON.stringify({
          displayName,
          timezone: 'America/Chicago',
          source: { id: 'slow-csv', settings: { location, readDelayMs } },
          targets: [{ id: 'kamkalima' }, { id: 'kybergate' }],
        }),
      );
    tenant('lincoln', 'Lincoln Unified', '../lincoln-package', 3000);
    tenant('jefferson', 'Jefferson County', '../jefferson-package', 0);
    const th: TestHost = await startTestHost({
      pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/api')],
      tenantsDir: tenants,
      tokens: [
        { name: 'ops', token: TOKENS.admin, role: 'admin' },
        { name: 'lincoln-portal', token: TOKENS.lincoln, role: 'tenant', tenant: 'lincoln' },
      ],
    });
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    t.teardown(async () => {
      await browser.close();
      await th.stop();
      rmSync(root, { recursive: true, force: true });
    });
    const { host } = th;
    const base = host.url;
    const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    /** Requests the pages made to any other origin than the host's: there must be none. */
    const foreign: string[] = [];
    const watch = (page: Page) => {
      page.on('request', (r) => {
        if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
      });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      return problems;
    };

    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await admin.newPage();
    const consoleErrors = watch(page);

    await t.test('sign in with the API token', async (t) => {
      await page.goto(`${base}/`);
      t.equal(new URL(page.url()).pathname, '/console/login', '`/` leads to the login page');
      await shot(page, '01-login');
      await page.getByLabel('API token').fill(TOKENS.admin);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/console/`);
      t.ok(await page.getByText('Signed in as').isVisible());
      const cookie = (await admin.cookies()).find((c) => c.name === 'rb_console');
      t.ok(cookie?.httpOnly, 'the session cookie is httpOnly');
      t.equal(cookie?.sameSite, 'Strict');
      t.equal(await page.evaluate('document.cookie'), '', 'no cookie is readable from script');
      await shot(page, '02-tenants');
      t.ok(await page.getByRole('link', { name: 'Jefferson County' }).isVisible(), 'an admin sees every tenant');
    });

    /** What a run's targets did, and its issues, without the run's own numbering. */
    const outcome = async (runId: string) => {
      const run = (await host.runs.get(runId))!;
      const entities = Object.fromEntries(Object.entries(run.counts.targets).map(([target, c]) => [target, c.entities]));
      const issues = (await host.runs.issues(runId, { limit: 1000 })).map(({ seq: _seq, ...issue }) => JSON.stringify(issue)).sort();
      return { entities, issues };
    };
    let preview: Awaited<ReturnType<typeof outcome>> | undefined;
    await t.test('readiness previews before the first sync, of one school then of the district: nothing written', async (t) => {
      await page.getByRole('link', { name: 'Lincoln Unified' }).click();
      await page.waitForURL(/\/console\/tenants\/lincoln$/);
      await shot(page, '03-tenant');
      const school = [...district.records('orgs')].find((o) => o.type === 'school')!;
      await page.getByLabel(/^Only these schools/).fill(school.sourcedId);
      await page.getByRole('button', { name: 'Run a preview' }).click();
      await page.waitForURL(/\/console\/runs\/[0-9a-f-]{36}$/);
      const scopedId = page.url().split('/').pop()!;
      await page.locator('#h-summary').waitFor({ timeout: 60_000 });
      const scoped = (await host.runs.get(scopedId))!;
      // Partial, likely: one school's enrolments name users of other schools, which the scope leaves out.
      t.ok(['success', 'partial'].includes(scoped.status), `the scoped preview ran: ${scoped.status} ${scoped.errorMessage ?? ''}`);
      t.equal(scoped.preview, true, 'a preview');
      t.same(scoped.schools, [school.sourcedId], 'of the school chosen');
      t.match(await page.locator('.facts').textContent(), new RegExp(`readiness preview \\(nothing written\\), schools ${school.sourcedId}`));
      await shot(page, '03a-run-preview-one-school');

      await page.goto(`${base}/console/tenants/lincoln`);
      await page.getByRole('button', { name: 'Run a preview' }).click();
      await page.waitForURL(/\/console\/runs\/[0-9a-f-]{36}$/);
      const wholeId = page.url().split('/').pop()!;
      await page.locator('#h-summary').waitFor({ timeout: 60_000 });
      const whole = (await host.runs.get(wholeId))!;
      t.equal(whole.status, 'success', whole.errorMessage ?? '');
      t.equal(whole.preview, true);
      const created = whole.counts.targets.kybergate!.entities.users!.created!;
      t.ok(created > 0, `the preview would create ${created} KyberGate users`);
      t.ok(scoped.counts.targets.kybergate!.entities.users!.created! < created, 'one school: fewer users than the district');
      t.match(await page.locator('.card', { hasText: 'KyberGate' }).textContent(), new RegExp(`Users created\\s*${created}`));
      preview = await outcome(wholeId);
      await shot(page, '03b-run-preview');
    });

    let firstRun = '';
    await t.test('start a sync and watch it to the end on the run page', async (t) => {
      await page.getByRole('link', { name: 'Lincoln Unified' }).click();
      await page.waitForURL(/\/console\/tenants\/lincoln$/);
      await page.getByLabel('Full').check();
      await page.getByRole('button', { name: 'Start sync' }).click();
      await page.waitForURL(/\/console\/runs\/[0-9a-f-]{36}$/);
      firstRun = page.url().split('/').pop()!;
      t.match(await page.locator('#live-note').textContent(), /^Live/, 'the page follows the run live');
      await shot(page, '04-run-live');
      // The page reloads itself on the stream's `end`: the summary appears only then.
      await page.locator('#h-summary').waitFor({ timeout: 60_000 });
      t.equal(await page.locator('#run-status').textContent(), 'success');
      const run = (await host.runs.get(firstRun))!;
      t.equal(run.status, 'success');
      const sourceRows = await page.locator('#source-counts tbody tr').count();
      t.equal(sourceRows, Object.keys(run.counts.source).length, 'a row per entity');
      t.match(await page.locator('#source-counts').textContent(), new RegExp(`users\\s*${run.counts.source.users!.read}`), "users read: the run's count");
      const kybergate = page.locator('.card', { hasText: 'KyberGate' });
      const created = run.counts.targets.kybergate!.entities.users!.created!;
      t.ok(created > 0);
      t.match(await kybergate.textContent(), new RegExp(`Users created\\s*${created}`), "KyberGate's summary in its own words");
      t.ok(await page.locator('.card', { hasText: 'Kamkalima' }).isVisible(), "and Kamkalima's");
      // The preview wrote nothing: the first sync creates what the preview counted, with the same issues.
      t.same(await outcome(firstRun), preview, 'the first sync reports what the preview reported');
      await shot(page, '05-run-done');
    });

    await t.test("open the run's issues and filter them by severity, target and code", async (t) => {
      const all = await host.runs.issues(firstRun, { limit: 1000 });
      t.ok(all.length > 0, `${all.length} issues`);
      t.equal(await page.locator('#issues tbody tr').count(), Math.min(all.length, 50), 'the first page');
      await page.getByLabel('Severity').selectOption('warning');
      await page.getByLabel('Target').selectOption('kamkalima');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/severity=warning/);
      const kamkalima = all.filter((i) => i.severity === 'warning' && i.targetId === 'kamkalima');
      t.ok(kamkalima.length > 0);
      t.equal(await page.locator('#issues tbody tr').count(), Math.min(kamkalima.length, 50), "kamkalima's warnings");
      const code = kamkalima[0]!.code;
      await page.getByLabel('Code').fill(code);
      await page.getByLabel('Code').press('Enter');
      await page.waitForURL(new RegExp(`code=${code}`));
      const rows = page.locator('#issues tbody tr');
      t.equal(await rows.count(), Math.min(kamkalima.filter((i) => i.code === code).length, 50), `only ${code}`);
      for (const text of await rows.allTextContents()) t.match(text, code);
      await shot(page, '06-run-issues-filtered');
      const download = page.waitForEvent('download');
      await page.getByRole('link', { name: 'Download these issues as CSV' }).click();
      const csv = await (await download).path();
      const { readFileSync } = await import('node:fs');
      const lines = readFileSync(csv, 'utf8').trim().split('\r\n');
      t.equal(lines[0], 'seq,severity,code,targetId,entity,sourcedId,field,file,line,column,message');
      t.equal(lines.length - 1, kamkalima.filter((i) => i.code === code).length, 'the CSV holds the filtered issues');
    });

    await t.test('a held run: see what would change, approve it', async (t) => {
      await writePackage((i) => i % 3 !== 0);
      await page.goto(`${base}/console/tenants/lincoln`);
      await page.getByRole('button', { name: 'Start sync' }).click();
      await page.waitForURL(/\/console\/runs\/[0-9a-f-]{36}$/);
      const heldRun = page.url().split('/').pop()!;
      await page.locator('#h-hold').waitFor({ timeout: 60_000 });
      t.equal(await page.locator('#run-status').textContent(), 'held');
      t.match(await page.locator('section.hold').textContent(), /users\s*deleted/, 'what would change');
      t.equal(await page.locator('#h-summary').count(), 0, 'no product summary while nothing is applied');
      await shot(page, '07-run-held');
      await page.getByRole('button', { name: /^Approve/ }).click();
      await page.waitForURL(`${base}/console/runs/${heldRun}`);
      // (The page says "Approved the hold" once; it may already have reloaded itself at the run's end.)
      const settled = await host.syncs.settled(heldRun);
      t.equal(settled.status, 'success');
      t.equal(settled.hold?.decidedBy, 'ops');
      // The page follows the approved run live and reloads itself at its end.
      await page.locator('#h-summary').waitFor({ timeout: 60_000 });
      t.match(await page.locator('#h-hold').locator('..').textContent(), /approved by ops/);
      await shot(page, '08-run-approved');
    });

    await t.test('reset a target through the typed confirmation', async (t) => {
      await page.goto(`${base}/console/tenants/lincoln`);
      const before = (await host.runs.list('lincoln', { limit: 100 })).length;
      await page.getByLabel(/^Reset kybergate/).fill('kybergate');
      await shot(page, '09-tenant-reset');
      await page.getByRole('button', { name: 'Reset kybergate' }).click();
      await page.waitForURL(`${base}/console/tenants/lincoln`);
      t.match(await page.locator('.flash').textContent(), /Reset kybergate: its next run is a first run/);
      t.equal((await host.runs.list('lincoln', { limit: 100 })).length, before, 'a reset starts no run');
      // The next run is a first run of kybergate: it creates every user again.
      await page.getByRole('button', { name: 'Start sync' }).click();
      await page.waitForURL(/\/console\/runs\/[0-9a-f-]{36}$/);
      const runId = page.url().split('/').pop()!;
      const run = await host.syncs.settled(runId);
      // Partial: the enrolments of the users the approved run deleted name users no product holds (errors).
      t.equal(run.counts.targets.kybergate!.status, 'applied', run.errorMessage ?? '');
      t.ok(run.counts.targets.kybergate!.entities.users!.created! > 0, 'kybergate creates its users again after the reset');
      t.notOk(run.counts.targets.kamkalima!.entities.users?.created, 'kamkalima, not reset, creates none');
    });

    await t.test("a tenant token cannot open another tenant's pages", async (t) => {
      const tenantContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const p = await tenantContext.newPage();
      watch(p);
      await p.goto(`${base}/console/login`);
      // By keyboard alone: the token field has the focus, Enter sends the form.
      await p.keyboard.type(TOKENS.lincoln);
      await p.keyboard.press('Enter');
      await p.waitForURL(`${base}/console/`);
      t.notOk(await p.getByText('Jefferson County').count(), 'the list holds its own tenant only');
      const answer = await p.goto(`${base}/console/tenants/jefferson`);
      t.equal(answer?.status(), 403);
      t.match(await p.locator('main').textContent(), /AUTH_FORBIDDEN/);
      t.notMatch(await p.content(), /Jefferson County/, 'none of its data');
      await shot(p, '10-other-tenant-refused');
      const own = await p.goto(`${base}/console/tenants/lincoln`);
      t.equal(own?.status(), 200);
      t.equal(await p.getByRole('button', { name: /^Reset/ }).count(), 0, 'no reset button for a tenant token');
      t.equal(await p.getByRole('button', { name: /^Approve/ }).count(), 0);
      await tenantContext.close();
    });

    t.same(foreign, [], 'no request left the host');
    t.same(consoleErrors, [], 'no error in the browser console (a CSP violation would be one)');
  },
);
