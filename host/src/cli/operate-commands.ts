import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ErrorCodes, RosterbridgeError, type SyncRun } from '@rosterbridge/core';
import { type ControlApi, controlApi, countWarnings, describeRun, formatTable } from './runs-command';
import { followAndReport } from './sync-command';

/**
 * What an operator does to a tenant or a run on a running host, each through the control API
 * (`--url` or RB_URL, token in RB_TOKEN): approve or reject a held run, cancel a run, pause and
 * resume a tenant, reset or back-fill a target, test the source connection, list the schedules.
 * Each sets the exit code: 0 done, 1 refused or failed, 2 a followed run ended partial or held.
 */

const tenantPath = (tenant: string) => `/tenants/${encodeURIComponent(tenant)}`;
const runPath = (run: string) => `/runs/${encodeURIComponent(run)}`;

/** A tenant as `GET /tenants/:id` answers it (config redacted; absent when the tenant is invalid). */
interface TenantView {
  id: string;
  status: string;
  config?: { targets: { id: string; enabled: boolean }[] };
}

/**
 * The run, once the host has said the tenant exists (an unknown tenant answers its own 404) and the
 * run is that tenant's: a run id of another tenant is refused before anything is decided on it.
 */
async function tenantRun(api: ControlApi, tenant: string, runId: string): Promise<SyncRun> {
  await api.request<TenantView>('GET', tenantPath(tenant));
  const run = await api.request<SyncRun>('GET', runPath(runId));
  if (run.tenantId !== tenant)
    throw new RosterbridgeError('NOT_FOUND', `run ${runId} is not a run of tenant "${tenant}" (it is tenant "${run.tenantId}"'s)`, { run: runId, tenant });
  return run;
}

/** `rosterbridge approve <tenant> <run>`: approves a held run, then follows it as `sync` does. */
export async function approveRun(options: { tenant: string; run: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  await tenantRun(api, options.tenant, options.run);
  const approved = await api.request<SyncRun>('POST', `${runPath(options.run)}/approve`);
  if (!options.json) process.stdout.write(`approved the hold of run ${approved.id}; applying it\n`);
  await followAndReport(api, approved, options.json);
}

/** `rosterbridge reject <tenant> <run>`: rejects a held run; nothing is applied. */
export async function rejectRun(options: { tenant: string; run: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  await tenantRun(api, options.tenant, options.run);
  const rejected = await api.request<SyncRun>('POST', `${runPath(options.run)}/reject`);
  await printRun(api, rejected, options.json, `rejected the hold of run ${rejected.id}: nothing was applied`);
}

/** `rosterbridge cancel <run>`: cancels a queued or running run (a held one is rejected). */
export async function cancelRun(options: { run: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const run = await api.request<SyncRun>('POST', `${runPath(options.run)}/cancel`);
  await printRun(api, run, options.json, `run ${run.id} is ${run.status}`);
}

async function printRun(api: ControlApi, run: SyncRun, json: boolean, headline: string): Promise<void> {
  if (json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  else process.stdout.write(`${headline}\n\n${describeRun(run, await countWarnings(api, run.id))}`);
}

/** `rosterbridge pause <tenant>` and `resume <tenant>`: no run starts while a tenant is paused. */
export async function pauseOrResume(options: { action: 'pause' | 'resume'; tenant: string; reason?: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const body = options.action === 'pause' && options.reason !== undefined ? { reason: options.reason } : undefined;
  const state = await api.request<{ tenant: string; paused: boolean; reason?: string }>('POST', `${tenantPath(options.tenant)}/${options.action}`, body);
  if (options.json) process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
  else if (state.paused) process.stdout.write(`tenant ${state.tenant} is paused: ${state.reason ?? 'no reason given'}\n`);
  else process.stdout.write(`tenant ${state.tenant} is not paused: its runs start again (manual and scheduled)\n`);
}

/**
 * `rosterbridge reset <tenant> <target>`: the product forgets the tenant's sync state and the
 * target's cursor is dropped, so its next run back-fills it. Asks for the target id to be typed on
 * a terminal; `yes` skips the question; off a terminal without `yes` it refuses.
 */
export async function resetTarget(options: { tenant: string; target: string; yes: boolean; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const tenant = await api.request<TenantView>('GET', tenantPath(options.tenant));
  const targets = tenant.config?.targets.map((t) => t.id);
  if (targets && !targets.includes(options.target))
    throw new RosterbridgeError('NOT_FOUND', `tenant "${options.tenant}" has no target "${options.target}" (its targets: ${targets.join(', ') || 'none'})`, {
      tenant: options.tenant,
      target: options.target,
    });
  if (!options.yes) {
    if (!process.stdin.isTTY)
      throw new Error(
        `reset asks for a confirmation, and there is no terminal to ask on: pass --yes to reset target "${options.target}" of tenant "${options.tenant}"`,
      );
    const confirmed = await confirm(
      `Reset target ${options.target} of tenant ${options.tenant}? The product forgets what it was sent for this tenant, and the next run back-fills it from the ledger.\n` +
        `Type the target id (${options.target}) to reset it: `,
      options.target,
    );
    if (!confirmed) {
      process.stderr.write(`not reset: the answer was not "${options.target}"\n`);
      process.exitCode = 1;
      return;
    }
  }
  const done = await api.request<{ tenant: string; target: string; reset: boolean }>(
    'POST',
    `${tenantPath(options.tenant)}/targets/${encodeURIComponent(options.target)}/reset`,
  );
  if (options.json) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
  else
    process.stdout.write(
      `target ${done.target} of tenant ${done.tenant} was reset: its next run back-fills it from the ledger ` +
        `(now: rosterbridge backfill ${done.tenant} ${done.target})\n`,
    );
}

/** Asks `question` on the terminal; true when the answer, trimmed, is `expected`. */
async function confirm(question: string, expected: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim() === expected;
  } finally {
    rl.close();
  }
}

/** `rosterbridge backfill <tenant> <target>`: feeds a (new or reset) target from the ledger, then follows the run. */
export async function backfillTarget(options: { tenant: string; target: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const run = await api.request<SyncRun>('POST', `${tenantPath(options.tenant)}/targets/${encodeURIComponent(options.target)}/backfill`);
  await followAndReport(api, run, options.json);
}

/** What to do about a failed source check, by its code. */
const CHECK_HINTS: Record<string, string> = {
  SOURCE_UNREACHABLE: "check the source's address in the tenant file (source.settings) and that this host can reach it (DNS, firewall, proxy)",
  SOURCE_BAD_CREDENTIALS:
    'check the credentials the tenant file names (source.settings): the secret files or env vars they point to, and that the SIS has not rotated them',
  SOURCE_FORBIDDEN: 'the credentials were accepted but may not read the rosters: ask the SIS administrator to grant this application access to them',
  SOURCE_NOT_FOUND: "check the source's address: the OneRoster service's base URL (…/ims/oneroster/v1p1), or the package's location",
  SOURCE_INVALID: "the source answered, but not as a roster source of its kind: check the address, or the package's manifest.csv and file headers",
};

/** `rosterbridge check <tenant>`: tests the tenant's source connection; prints its code and a hint. */
export async function checkSource(options: { tenant: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const check = await api.request<{ ok: boolean; code?: string; message: string; issues?: { code: string; severity?: string; message: string }[] }>(
    'POST',
    `${tenantPath(options.tenant)}/source/check`,
  );
  process.exitCode = check.ok ? 0 : 1;
  if (options.json) {
    process.stdout.write(`${JSON.stringify(check, null, 2)}\n`);
    return;
  }
  if (check.ok) process.stdout.write(`source of tenant ${options.tenant}: ok: ${check.message}\n`);
  else {
    process.stdout.write(`source of tenant ${options.tenant}: failed: ${check.code ?? 'no code'}: ${check.message}\n`);
    const hint =
      (check.code && CHECK_HINTS[check.code]) ?? (check.code && check.code in ErrorCodes ? ErrorCodes[check.code as keyof typeof ErrorCodes].title : undefined);
    if (hint) process.stdout.write(`hint: ${hint}\n`);
  }
  for (const issue of check.issues ?? []) process.stdout.write(`  ${issue.severity ?? 'issue'} ${issue.code}: ${issue.message}\n`);
}

/** `rosterbridge schedules <tenant>`: each cron with its time zone, targets and next times; the manual targets. */
export async function showSchedules(options: { tenant: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const s = await api.request<{
    tenant: string;
    enabled: boolean;
    schedules: { cron: string; timezone: string; targets: string[]; origins: Record<string, string>; next: string[] }[];
    manual: string[];
  }>('GET', `${tenantPath(options.tenant)}/schedules`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  if (!s.enabled) process.stdout.write('this host runs no schedules (sync.schedule.enabled is off): runs start only when asked\n');
  if (s.schedules.length === 0) process.stdout.write(`no target of tenant ${s.tenant} is on a schedule\n`);
  else
    process.stdout.write(
      formatTable(
        ['cron', 'time zone', 'targets', 'next'],
        s.schedules.map((x) => [x.cron, x.timezone, x.targets.join(', '), x.next.map((n) => n.replace('T', ' ').replace(/:00(\.000)?Z$/, 'Z')).join(', ')]),
      ),
    );
  for (const x of s.schedules) for (const [target, origin] of Object.entries(x.origins)) process.stdout.write(`  ${target}: ${origin}\n`);
  process.stdout.write(`manual: ${s.manual.join(', ') || '(none)'}\n`);
}

/** What `POST /tenants/reload` answers. */
interface ReloadReport {
  at: string;
  tenants: { id: string; change: string; problems?: { key: string; message: string }[]; runInFlight?: boolean }[];
}

/**
 * `rosterbridge reload`: the running host reads the tenant files again. Prints each tenant that
 * changed (or all with --all); exit 1 when a file is invalid (kept at its last valid config or not served).
 */
export async function reloadTenants(options: { url?: string; json: boolean; all: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const report = await api.request<ReloadReport>('POST', '/tenants/reload');
  const troubled = report.tenants.filter((t) => (t.problems?.length ?? 0) > 0);
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const shown = options.all ? report.tenants : report.tenants.filter((t) => t.change !== 'unchanged');
    const unchanged = report.tenants.length - shown.length;
    process.stdout.write(`tenant files read again at ${report.at}: ${report.tenants.length} tenant(s)${unchanged > 0 ? `, ${unchanged} unchanged` : ''}\n`);
    if (shown.length > 0)
      process.stdout.write(
        formatTable(
          ['tenant', 'change', 'note'],
          shown.map((t) => [
            t.id,
            t.change,
            [
              t.change === 'kept-last-valid' ? 'the file is invalid: its last valid config stays in effect' : '',
              t.runInFlight ? 'a run in flight finishes on the config it started with' : '',
            ]
              .filter(Boolean)
              .join('; '),
          ]),
        ),
      );
    for (const t of troubled) for (const p of t.problems!) process.stdout.write(`  ${t.id}: ${p.key}: ${p.message}\n`);
  }
  if (troubled.length > 0) process.exitCode = 1;
}

const URL_OPTION = ['--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN'] as const;
const JSON_OPTION = ['--json', 'print JSON only'] as const;

/** Registers the operator's commands on the CLI (`rosterbridge approve …` and the rest). */
export function registerOperateCommands(program: Command): void {
  program
    .command('approve')
    .summary('approve a held run, then follow it')
    .description('approve a held run of a tenant on a running host, then follow it as sync does (exit 0 success, 2 partial, 1 failed or refused)')
    .argument('<tenant>', 'tenant id')
    .argument('<run>', 'id of the held run (sync and runs print it)')
    .option(...URL_OPTION)
    .option('--json', 'print the finished run as JSON only')
    .action(async (tenant: string, run: string, opts: { url?: string; json?: boolean }) =>
      approveRun({ tenant, run, url: opts.url, json: opts.json === true }),
    );

  program
    .command('reject')
    .summary('reject a held run: nothing is applied')
    .description('reject a held run of a tenant on a running host: nothing of it is applied (exit 0 rejected, 1 refused)')
    .argument('<tenant>', 'tenant id')
    .argument('<run>', 'id of the held run')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (tenant: string, run: string, opts: { url?: string; json?: boolean }) => rejectRun({ tenant, run, url: opts.url, json: opts.json === true }));

  program
    .command('cancel')
    .summary('cancel a queued or running run')
    .description('cancel a queued or running run on a running host (a held run is rejected); waits until it has stopped (exit 0 cancelled, 1 refused)')
    .argument('<run>', 'run id')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (run: string, opts: { url?: string; json?: boolean }) => cancelRun({ run, url: opts.url, json: opts.json === true }));

  program
    .command('pause')
    .summary('pause a tenant: no run starts until resumed')
    .description('pause a tenant on a running host: no run of it starts (manual or scheduled) until it is resumed; refused while a run is queued or running')
    .argument('<tenant>', 'tenant id')
    .option('--reason <text>', 'why (at most 500 characters), shown with every refusal while paused')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (tenant: string, opts: { reason?: string; url?: string; json?: boolean }) =>
      pauseOrResume({ action: 'pause', tenant, reason: opts.reason, url: opts.url, json: opts.json === true }),
    );

  program
    .command('resume')
    .summary('resume a paused tenant')
    .description('resume a paused tenant on a running host')
    .argument('<tenant>', 'tenant id')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (tenant: string, opts: { url?: string; json?: boolean }) =>
      pauseOrResume({ action: 'resume', tenant, url: opts.url, json: opts.json === true }),
    );

  program
    .command('reset')
    .summary("reset a tenant's target (asks; --yes to skip)")
    .description(
      "reset a tenant's target on a running host: the product forgets the tenant's sync state and the target's cursor is dropped, so its next run back-fills it. " +
        'Asks you to type the target id on a terminal; refuses off a terminal without --yes',
    )
    .argument('<tenant>', 'tenant id')
    .argument('<target>', "target id (one of the tenant file's targets)")
    .option('--yes', 'reset without asking')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (tenant: string, target: string, opts: { yes?: boolean; url?: string; json?: boolean }) =>
      resetTarget({ tenant, target, yes: opts.yes === true, url: opts.url, json: opts.json === true }),
    );

  program
    .command('backfill')
    .summary('back-fill a target from the ledger, then follow it')
    .description(
      "back-fill a tenant's (new or reset) target from the ledger on a running host, without reading the source, and follow the run as sync does (exit 0 success, 2 partial, 1 failed)",
    )
    .argument('<tenant>', 'tenant id')
    .argument('<target>', 'an enabled target of the tenant')
    .option(...URL_OPTION)
    .option('--json', 'print the finished run as JSON only')
    .action(async (tenant: string, target: string, opts: { url?: string; json?: boolean }) =>
      backfillTarget({ tenant, target, url: opts.url, json: opts.json === true }),
    );

  program
    .command('check')
    .summary("test a tenant's source connection")
    .description(
      "test a tenant's source connection from a running host (a real round trip, or a package's manifest and headers; imports nothing): prints ok, or the code, message and a hint (exit 0 ok, 1 not)",
    )
    .argument('<tenant>', 'tenant id')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (tenant: string, opts: { url?: string; json?: boolean }) => checkSource({ tenant, url: opts.url, json: opts.json === true }));

  program
    .command('reload')
    .summary('read the tenant files again on a running host')
    .description(
      'make a running host read its tenant files again (as SIGHUP does): new, changed and removed tenants take effect for the next runs, ' +
        'a file that became invalid keeps its last valid config, runs in flight finish on the config they started with (exit 0, 1 when a file is invalid)',
    )
    .option('--all', 'list unchanged tenants too')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (opts: { url?: string; json?: boolean; all?: boolean }) =>
      reloadTenants({ url: opts.url, json: opts.json === true, all: opts.all === true }),
    );

  program
    .command('schedules')
    .summary("a tenant's schedules and their next times")
    .description(
      "when a tenant's targets sync by themselves, from a running host: each cron with its time zone, targets, where they came from and the next three times; the manual targets",
    )
    .argument('<tenant>', 'tenant id')
    .option(...URL_OPTION)
    .option(...JSON_OPTION)
    .action(async (tenant: string, opts: { url?: string; json?: boolean }) => showSchedules({ tenant, url: opts.url, json: opts.json === true }));
}
