import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { RosterEntity, RosterRecord } from '@rosterbridge/core';
import { FIXTURES_DIR, type RosterRecordSource, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// An operator's day from the CLI alone, against a real host on loopback, the CLI a child process:
// a held run approved and another rejected, a target reset (asked on a terminal, refused off one,
// --yes) and back-filled, a tenant paused and resumed, a running run cancelled, the source checked,
// the schedules listed; and every refusal printed once with its code, exit 1.

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const TOKEN = 'Hq8rWm3ZtV6nLc1YpB9xKd4s';
const district = generateDistrict({ seed: 57, size: 'tiny' });
const users = [...district.records('users')];

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end, with `input` written to its stdin (a pipe: not a terminal). */
function cli(args: string[], options: { url?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, RB_TOKEN: TOKEN, ...(options.url ? { RB_URL: options.url } : {}) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the CLI on a terminal (a pseudo-terminal from util-linux `script`), typing `answer` once it asks. */
function cliOnTerminal(args: string[], url: string, answer: string): Promise<CliResult> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], {
      env: { PATH: process.env.PATH, RB_TOKEN: TOKEN, RB_URL: url, TERM: 'dumb' },
    });
    let stdout = '';
    let answered = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!answered && stdout.includes('to reset it: ')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr: '' }));
  });
}

t.test('an operator acts from the CLI alone', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-cli-operate-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const pkg = path.join(root, 'lincoln-package');
  /** Writes lincoln's package with the users `keep` keeps (every other record as generated). */
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
  await writeOneRosterPackage(district, path.join(root, 'other-package'), { mode: 'bulk' });
  const tenant = (id: string, doc: Record<string, unknown>) =>
    writeFileSync(path.join(tenants, `${id}.json`), JSON.stringify({ displayName: id, timezone: 'America/Chicago', ...doc }));
  tenant('lincoln', { source: { id: 'oneroster-csv', settings: { location: '../lincoln-package' } }, targets: [{ id: 'memo', schedule: '15 3 * * 1-5' }] });
  // Adams reads slowly (its runs can be cancelled); Polk's package is not there.
  tenant('adams', {
    source: { id: 'slow-csv', settings: { location: '../other-package', readDelayMs: 20_000 } },
    targets: [{ id: 'memo', schedule: 'manual' }],
  });
  tenant('polk', { source: { id: 'oneroster-csv', settings: { location: '../no-such-package' } }, targets: [{ id: 'memo' }] });

  const th = await startTestHost({
    pluginDirs: [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/api')],
    tenantsDir: tenants,
    tokens: [{ name: 'ops', token: TOKEN, role: 'admin' }],
  });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const url = th.host.url;
  const memoRows = async (tenantId: string, entity: string) =>
    Number(
      (
        await th.host.database.db
          .withSchema('plugin_target_memo')
          .selectFrom('record')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('tenant_id', '=', tenantId)
          .where('entity', '=', entity)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const runIdOf = (stdout: string) => /^run\s+([0-9a-f-]{36})$/m.exec(stdout)![1]!;
  /** The refusal is printed once, as `rosterbridge: CODE: message`, and nothing else is. */
  const refused = (t: Test, r: CliResult, code: string, message: RegExp) => {
    t.equal(r.status, 1, `exit 1: ${r.stderr}`);
    t.match(r.stderr, new RegExp(`^rosterbridge: ${code}: `), `the code ${code} first`);
    t.match(r.stderr, message);
    t.equal(r.stderr.split(code).length - 1, 1, `${code} printed once`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(r.stdout, '', 'nothing on stdout');
  };

  const first = await cli(['sync', 'lincoln', '--url', url]);
  t.equal(first.status, 0, first.stderr);
  t.equal(await memoRows('lincoln', 'users'), users.length);
  const firstRun = runIdOf(first.stdout.slice(first.stdout.indexOf('\nrun ')));

  await t.test('a held run: sync exits 2 naming the way out; the next sync is refused; approve applies it', async (t) => {
    await writePackage((i) => i % 2 === 0);
    const kept = users.filter((_, i) => i % 2 === 0).length;
    const held = await cli(['sync', 'lincoln', '--url', url]);
    t.equal(held.status, 2, held.stderr);
    t.match(held.stdout, /^status\s+held \(phase staged\)$/m);
    t.match(held.stdout, new RegExp(`^hold\\s+${users.length - kept} of ${users.length} users \\(\\d+(\\.\\d+)?%\\) would be deleted, above 10%`, 'm'));
    const runId = runIdOf(held.stdout.slice(held.stdout.indexOf('\nrun ')));
    t.match(held.stdout, new RegExp(`^next\\s+rosterbridge approve lincoln ${runId}\\s+\\(or: rosterbridge reject lincoln ${runId}\\)$`, 'm'));
    t.equal(await memoRows('lincoln', 'users'), users.length, 'nothing applied while held');

    refused(t, await cli(['sync', 'lincoln', '--url', url]), 'CONFLICT', /held/);

    const approved = await cli(['approve', 'lincoln', runId], { url });
    t.equal(approved.status, 0, approved.stderr);
    t.match(approved.stdout, new RegExp(`^approved the hold of run ${runId}; applying it$`, 'm'));
    t.match(approved.stdout, /^status\s+success \(phase done\)$/m);
    t.match(approved.stdout, /^hold\s+.* — approved by ops$/m);
    t.match(
      approved.stdout,
      new RegExp(`^memo\\s+users\\s+0\\s+0\\s+${users.length - kept}\\s+0\\s+0\\s+0\\s+0$`, 'm'),
      'memo deleted the users gone (created, updated, deleted, unchanged, skipped, errors, warnings)',
    );
    t.equal(await memoRows('lincoln', 'users'), kept, 'the deletions reached memo');

    const runs = await cli(['runs', 'lincoln', '--url', url]);
    t.equal(runs.status, 0, runs.stderr);
    t.match(runs.stdout, /^run\s+started\s+duration\s+status\s+mode\s+records\s+errors\s+warnings\s+reason$/m);
    t.match(runs.stdout, new RegExp(`^${runId}\\s.*\\ssuccess\\s+full\\s`, 'm'));
  });

  await t.test('another hold, rejected: nothing applied, exit 0', async (t) => {
    await writePackage((i) => i % 4 === 0);
    const held = await cli(['sync', 'lincoln', '--url', url, '--json']);
    t.equal(held.status, 2, held.stderr);
    const runId = (JSON.parse(held.stdout) as { id: string; status: string }).id;
    const before = await memoRows('lincoln', 'users');
    const rejected = await cli(['reject', 'lincoln', runId, '--url', url]);
    t.equal(rejected.status, 0, rejected.stderr);
    t.match(rejected.stdout, new RegExp(`^rejected the hold of run ${runId}: nothing was applied$`, 'm'));
    t.match(rejected.stdout, /^status\s+cancelled \(phase done\)$/m);
    t.match(rejected.stdout, /^hold\s+.* — rejected by ops$/m);
    t.notMatch(rejected.stdout, /^reason\s/m, 'the hold line says why; no reason line repeats it');
    t.equal(await memoRows('lincoln', 'users'), before, 'memo untouched');
    refused(t, await cli(['approve', 'lincoln', runId, '--url', url]), 'CONFLICT', new RegExp(`run ${runId} is cancelled, not held`));
    await writePackage((i) => i % 2 === 0);
  });

  await t.test('reset: refused off a terminal without --yes; asked on one; --yes; then back-filled', async (t) => {
    const kept = await memoRows('lincoln', 'users');
    t.ok(kept > 0);
    const noTerminal = await cli(['reset', 'lincoln', 'memo', '--url', url], { input: 'memo\n' });
    t.equal(noTerminal.status, 1);
    t.match(noTerminal.stderr, /no terminal to ask on: pass --yes/);
    t.equal(await memoRows('lincoln', 'users'), kept, 'not reset');

    const wrong = await cliOnTerminal(['reset', 'lincoln', 'memo'], url, 'mem');
    t.equal(wrong.status, 1, wrong.stdout);
    t.match(wrong.stdout, /Type the target id \(memo\) to reset it: /);
    t.match(wrong.stdout, /not reset: the answer was not "memo"/);
    t.equal(await memoRows('lincoln', 'users'), kept, 'a wrong answer resets nothing');

    const typed = await cliOnTerminal(['reset', 'lincoln', 'memo'], url, 'memo');
    t.equal(typed.status, 0, typed.stdout);
    t.match(typed.stdout, /target memo of tenant lincoln was reset: its next run back-fills it/);
    t.equal(await memoRows('lincoln', 'users'), 0, 'memo forgot the tenant');

    const backfill = await cli(['backfill', 'lincoln', 'memo', '--url', url]);
    t.equal(backfill.status, 0, backfill.stderr);
    t.match(backfill.stdout, /^mode\s+backfill$/m);
    t.match(backfill.stdout, new RegExp(`^applying users to memo: ${kept}$`, 'm'), 'plain progress with the number (no total: nothing was staged)');
    t.match(backfill.stdout, new RegExp(`^memo\\s+users\\s+${kept}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$`, 'm'));
    t.equal(await memoRows('lincoln', 'users'), kept, 'back-filled from the ledger');

    const yes = await cli(['reset', 'lincoln', 'memo', '--yes', '--json'], { url });
    t.equal(yes.status, 0, yes.stderr);
    t.same(JSON.parse(yes.stdout), { tenant: 'lincoln', target: 'memo', reset: true });
    t.equal(await memoRows('lincoln', 'users'), 0);
    const again = await cli(['sync', 'lincoln', '--url', url]);
    t.equal(again.status, 0, again.stderr);
    t.equal(await memoRows('lincoln', 'users'), kept, 'the next sync back-fills it');
  });

  await t.test('pause and resume: a paused tenant refuses a sync with the reason', async (t) => {
    const paused = await cli(['pause', 'lincoln', '--reason', 'exams week', '--url', url]);
    t.equal(paused.status, 0, paused.stderr);
    t.match(paused.stdout, /^tenant lincoln is paused: tenant "lincoln" was paused by ops at \S+: exams week$/m);
    refused(t, await cli(['sync', 'lincoln', '--url', url]), 'TENANT_PAUSED', /exams week/);
    const resumed = await cli(['resume', 'lincoln', '--url', url]);
    t.equal(resumed.status, 0, resumed.stderr);
    t.match(resumed.stdout, /^tenant lincoln is not paused/m);
    t.equal((await cli(['sync', 'lincoln', '--url', url])).status, 0);
  });

  await t.test('cancel: a running run stops; its sync exits 1', async (t) => {
    const sync = cli(['sync', 'adams', '--url', url]);
    let runId: string | undefined;
    for (let i = 0; i < 200 && !runId; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      runId = (await th.host.runs.list('adams', { limit: 1 })).find((r) => r.status === 'running')?.id;
    }
    t.ok(runId, 'the run is running');
    const cancelled = await cli(['cancel', runId!, '--url', url]);
    t.equal(cancelled.status, 0, cancelled.stderr);
    t.match(cancelled.stdout, new RegExp(`^run ${runId} is cancelled$`, 'm'));
    const followed = await sync;
    t.equal(followed.status, 1, 'the sync that followed it exits 1');
    t.match(followed.stdout, /^status\s+cancelled/m);
    refused(t, await cli(['cancel', runId!, '--url', url]), 'CONFLICT', /has already ended \(cancelled\)/);
  });

  await t.test('check: ok, or the code and a hint, exit 1', async (t) => {
    const ok = await cli(['check', 'lincoln', '--url', url]);
    t.equal(ok.status, 0, ok.stderr);
    t.match(ok.stdout, /^source of tenant lincoln: ok: /m);
    const bad = await cli(['check', 'polk', '--url', url]);
    t.equal(bad.status, 1, bad.stderr);
    t.match(bad.stdout, /^source of tenant polk: failed: [A-Z_]+: .*no-such-package/m);
    t.match(bad.stdout, /^hint: \S/m);
  });

  await t.test('schedules: the cron, its time zone and next times; the manual targets', async (t) => {
    const r = await cli(['schedules', 'lincoln', '--url', url]);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^this host runs no schedules/m, 'the test host runs none');
    t.match(r.stdout, /^15 3 \* \* 1-5\s+America\/Chicago\s+memo\s+\d{4}-\d\d-\d\d \d\d:\d\dZ, /m);
    t.match(r.stdout, /^manual: \(none\)$/m);
    const adams = await cli(['schedules', 'adams', '--url', url]);
    t.match(adams.stdout, /^no target of tenant adams is on a schedule$/m);
    t.match(adams.stdout, /^manual: memo$/m);
  });

  await t.test('refusals: unknown tenant, wrong run, unknown target — the code once, exit 1', async (t) => {
    refused(t, await cli(['approve', 'nosuch', firstRun, '--url', url]), 'TENANT_NOT_FOUND', /tenant "nosuch" is not configured/);
    refused(t, await cli(['approve', 'lincoln', 'not-a-run', '--url', url]), 'NOT_FOUND', /run "not-a-run" does not exist/);
    refused(t, await cli(['reject', 'lincoln', '00000000-0000-4000-8000-000000000000', '--url', url]), 'NOT_FOUND', /does not exist/);
    refused(
      t,
      await cli(['approve', 'adams', firstRun, '--url', url]),
      'NOT_FOUND',
      new RegExp(`run ${firstRun} is not a run of tenant "adams" \\(it is tenant "lincoln"'s\\)`),
    );
    refused(t, await cli(['approve', 'lincoln', firstRun, '--url', url]), 'CONFLICT', /is success, not held/);
    refused(t, await cli(['reset', 'lincoln', 'nosuch', '--yes', '--url', url]), 'NOT_FOUND', /tenant "lincoln" has no target "nosuch" \(its targets: memo\)/);
    refused(t, await cli(['backfill', 'lincoln', 'nosuch', '--url', url]), 'BAD_REQUEST', /target "nosuch" is not enabled/);
    for (const args of [
      ['pause', 'nosuch'],
      ['resume', 'nosuch'],
      ['check', 'nosuch'],
      ['schedules', 'nosuch'],
      ['backfill', 'nosuch', 'memo'],
      ['reset', 'nosuch', 'memo', '--yes'],
    ])
      refused(t, await cli([...args, '--url', url]), 'TENANT_NOT_FOUND', /tenant "nosuch" is not configured/);
    const noHost = await cli(['approve', 'lincoln', firstRun]);
    t.equal(noHost.status, 1);
    t.match(noHost.stderr, /pass --url or set RB_URL/);
  });
});
