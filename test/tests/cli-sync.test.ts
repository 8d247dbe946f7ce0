import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER, type SyncRun } from '@rosterbridge/core';
import { FIXTURES_DIR, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const TOKEN = 'cli-sync-admin-token-0123456789abcdef';
const district = generateDistrict({ seed: 31, size: 'tiny' });
/** One user's email, for the flaky target to refuse. */
const refusedEmail = [...district.records('users')].map((u) => (u as { email?: string }).email).find(Boolean)!;

/** Runs the CLI to its end (asynchronously: the host answering it lives in this process). */
function cli(args: string[], env: NodeJS.ProcessEnv = { RB_TOKEN: TOKEN }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

t.test('sync, runs and run against a running host', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-cli-sync-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const tenant = (id: string, targets: unknown[]) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({ displayName: id, timezone: 'America/Chicago', source: { id: 'oneroster-csv', settings: { location: `../${id}-package` } }, targets }),
    );
  tenant('lincoln', [{ id: 'memo' }]);
  tenant('jefferson', [{ id: 'memo' }, { id: 'flaky', settings: { failOnBatch: 2, rejectEmailsEndingWith: refusedEmail } }, { id: 'gated' }]);
  for (const id of ['lincoln', 'jefferson']) await writeOneRosterPackage(district, path.join(root, `${id}-package`), { mode: 'bulk' });

  const th = await startTestHost({
    pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')],
    tenantsDir: tenants,
    tokens: [{ name: 'ops', token: TOKEN, role: 'admin' }],
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const url = th.host.url;
  let runId = '';

  await t.test('sync follows the run and prints a summary with the created counts per entity', async (t) => {
    const r = await cli(['sync', 'lincoln', '--url', url]);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^run \S+ (queued|running)$/m, 'a plain first progress line (not a TTY)');
    t.match(r.stdout, /^staging users: read \d+/m, 'plain staging lines');
    t.match(r.stdout, /^status\s+success \(phase done\)$/m);
    for (const entity of ROSTER_ENTITY_ORDER) {
      const n = district.counts[entity].toLocaleString('en-US');
      // entity  read  created  updated  unchanged  deleted  rejected  skipped  held back  warnings
      t.match(r.stdout, new RegExp(`^${entity}\\s+${n}\\s+${n}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$`, 'm'), `${entity}: ${n} read and created`);
      // target  entity  created  updated  deleted  unchanged  skipped  errors  warnings
      t.match(r.stdout, new RegExp(`^memo\\s+${entity}\\s+${n}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$`, 'm'), `memo: ${n} ${entity} created`);
    }
    t.match(r.stdout, /^memo\s+applied$/m, "the target's outcome");
    t.match(r.stdout, /^issues\s+0 errors, 0 warnings$/m);
    t.notMatch(r.stdout + r.stderr, TOKEN, 'the token is never printed');
    runId = /^run\s+(\S+)$/m.exec(r.stdout.slice(r.stdout.indexOf('\nrun ')))![1]!;

    // Off a terminal, progress is lines with numbers, none said twice.
    const progress = r.stdout.slice(0, r.stdout.indexOf('\n\nrun ')).split('\n');
    t.ok(progress.length > ROSTER_ENTITY_ORDER.length * 2, `${progress.length} progress lines`);
    t.same(
      progress.filter((line, i) => progress.indexOf(line) !== i),
      [],
      'no progress line repeats',
    );
    const staged = Object.values(district.counts).reduce((a, b) => a + b, 0);
    t.match(r.stdout, new RegExp(`^applying ${staged} staged changes to memo$`, 'm'));
    for (const entity of ROSTER_ENTITY_ORDER) {
      const n = district.counts[entity];
      t.match(r.stdout, new RegExp(`^applying ${entity} to memo: ${n} of ${n}$`, 'm'), `the last progress line of ${entity} has its figures`);
    }
  });

  await t.test('runs lists it; run --json returns it', async (t) => {
    const list = await cli(['runs', 'lincoln', '--url', url]);
    t.equal(list.status, 0, list.stderr);
    const total = Object.values(district.counts)
      .reduce((a, b) => a + b, 0)
      .toLocaleString('en-US');
    t.match(list.stdout, new RegExp(`^${runId}\\s+\\S+ \\S+\\s+[\\d.]+ m?s\\s+success\\s+full\\s+${total}\\s+0\\s+0$`, 'm'), 'records, errors and warnings');

    const one = await cli(['run', runId, '--json'], { RB_TOKEN: TOKEN, RB_URL: url });
    t.equal(one.status, 0, one.stderr);
    const run = JSON.parse(one.stdout) as SyncRun;
    t.equal(run.id, runId);
    t.equal(run.status, 'success');
    t.equal(run.counts.source.users!.created, district.counts.users);

    const json = await cli(['runs', 'lincoln', '--limit', '1', '--json'], { RB_TOKEN: TOKEN, RB_URL: url });
    t.same(
      (JSON.parse(json.stdout) as { id: string }[]).map((r) => r.id),
      [runId],
    );
  });

  await t.test('a failing target: exit 2, partial, its error and its issues paged', async (t) => {
    const r = await cli(['sync', 'jefferson', '--url', url, '--json']);
    t.equal(r.status, 2, r.stderr);
    const run = JSON.parse(r.stdout) as SyncRun;
    t.equal(run.status, 'partial');
    t.equal(run.counts.targets.flaky!.status, 'failed');

    const detail = await cli(['run', run.id, '--issues', '--url', url]);
    t.equal(detail.status, 0, detail.stderr);
    t.match(detail.stdout, /^flaky\s+failed\s+TARGET_FAILED: the product API answered 503 on batch 2$/m);
    t.equal(detail.stdout.split('503 on batch 2').length - 1, 1, 'the failure is said once');
    t.equal(detail.stdout.split('TARGET_FAILED').length - 1, 1, 'its code once');
    t.match(detail.stdout, /^gated\s+skipped\s+the product's academic year is not started for jefferson$/m, "a skipped target's reason");
    t.equal(detail.stdout.split('academic year is not started').length - 1, 1, 'said once');
    t.match(
      detail.stdout,
      new RegExp(`^flaky\\s+users\\s+\\d+\\s+0\\s+0\\s+0\\s+0\\s+${run.counts.issues.errors}\\s+0$`, 'm'),
      "flaky's errors on its users row",
    );
    const history = await cli(['runs', 'jefferson', '--url', url]);
    t.match(
      history.stdout,
      new RegExp(
        `^${run.id}\\s.*\\spartial\\s+full\\s+[\\d,]+\\s+${run.counts.issues.errors}\\s+0\\s+TARGET_FAILED: target flaky failed: the product API answered 503 on batch 2$`,
        'm',
      ),
    );
    t.equal(history.stdout.split('TARGET_FAILED').length - 1, 1, 'the history line says the code once');
    const issueLines = detail.stdout.split('\n').filter((l) => /\bFLAKY_EMAIL_REFUSED\b/.test(l));
    t.ok(issueLines.length > 0, `${issueLines.length} issues listed`);
    t.equal(issueLines.length, run.counts.issues.errors, 'every error issue listed');
    t.match(issueLines[0], new RegExp(`^error\\s+users\\s+\\S+\\s+flaky\\s+FLAKY_EMAIL_REFUSED\\s+email ${refusedEmail.replace(/[.+]/g, '\\$&')} is refused`));

    const warnings = await cli(['run', run.id, '--severity', 'warning', '--url', url]);
    t.match(warnings.stdout, /^no warning issues$/m);
  });

  await t.test('without RB_TOKEN: exit 1 naming RB_TOKEN; a wrong token: exit 1 with the API code', async (t) => {
    const r = await cli(['sync', 'lincoln', '--url', url], {});
    t.equal(r.status, 1);
    t.match(r.stderr, /RB_TOKEN/);
    const noUrl = await cli(['runs', 'lincoln']);
    t.equal(noUrl.status, 1);
    t.match(noUrl.stderr, /RB_URL/);
    const wrong = await cli(['runs', 'lincoln', '--url', url], { RB_TOKEN: 'not-the-token-0123456789' });
    t.equal(wrong.status, 1);
    t.match(wrong.stderr, /401/);
    t.notMatch(wrong.stderr, 'not-the-token');
  });
});
