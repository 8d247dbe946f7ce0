import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { Test } from 'tap';
import { ROSTER_ENTITY_ORDER, type RunCounts } from '@rosterbridge/core';
import { type RosterRecordSource, SeededRandom, writeOneRosterPackage } from '@rosterbridge/district-generator';
import { type HostProcess, startHostProcess } from './host-process';
import { canonicalRecordJson, comparableRecord } from './record-differences';
import { createTestDatabase } from './test-database';
import { FIXTURES_DIR } from './test-host';

/** What a crash scenario syncs, and where it kills. */
export interface CrashScenario {
  /**
   * The roster of the run under test. With `before`, each tenant is first synced cleanly with
   * `before` and the kills hit the run that brings `roster` (updates, deletions, creations).
   */
  roster: RosterRecordSource;
  before?: RosterRecordSource;
  /** Tenants killed (each one run, killed once or twice); the clean reference tenant comes on top. */
  kills: number;
  /** Seed of the kill points. */
  seed: number;
  /** Every `recoveryEvery`-th kill also kills the restarted host while it resumes the run (0: never). */
  recoveryEvery: number;
  /** The host's RB_SYNC_BATCH_SIZE: smaller batches give a kill more cursor moves to land between. */
  batchSize: number;
  /** The targets of every tenant. */
  targets: readonly { id: string; settings?: Record<string, unknown> }[];
  /** More settings of the hosts (`RB_…`), e.g. a small cap on stored issues. */
  env?: Record<string, string>;
}

/** A run as GET /runs/:id serves it (what the crash tests read of it). */
export interface RunView {
  id: string;
  status: string;
  phase: string;
  errorCode?: string;
  errorMessage?: string;
  reason?: string;
  counts: RunCounts;
  startedAt?: string;
  committedAt?: string;
  endedAt?: string;
}

/** A stored issue as GET /runs/:id/issues serves it. */
export interface IssueView {
  seq: number;
  targetId?: string;
  entity?: string;
  sourcedId?: string;
  code: string;
  severity: string;
  message: string;
}

/**
 * The product tables a crash test compares, by schema: every column but the tenant's id,
 * timestamps and those named in `ignore` (values that legitimately differ between two tenants,
 * like the ledger seq a row was written at).
 */
export const PRODUCT_TABLES: readonly { schema: string; tables: readonly string[]; ignore?: readonly string[] }[] = [
  { schema: 'plugin_target_memo', tables: ['record'], ignore: ['applied_seq'] },
  { schema: 'plugin_target_kybergate', tables: ['district', 'school', 'user_account', 'classroom', 'classroom_member', 'sync_scope'] },
  {
    schema: 'plugin_target_kamkalima',
    tables: ['school', 'term', 'course', 'classroom', 'teacher', 'student', 'administrator', 'class_membership', 'teacher_admin_account', 'held_record'],
  },
];

/** The test target and two products, KyberGate and Kamkalima (whose school year is that of 2026-11-23). */
export const CRASH_TARGETS: CrashScenario['targets'] = [{ id: 'memo' }, { id: 'kybergate' }, { id: 'kamkalima', settings: { today: '2026-11-23' } }];

const PLUGINS = [path.resolve(__dirname, '../../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')].join(',');
const TOKEN = 'crash-admin-token-0123456789';
const REFERENCE = 'clean';

/**
 * Paths where two JSON values differ, `a.b.c: found vs wanted`, empty when equal (key order aside).
 */
export function jsonDifferences(found: unknown, wanted: unknown, at = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (isObject(found) && isObject(wanted)) {
    const keys = [...new Set([...Object.keys(found), ...Object.keys(wanted)])].sort();
    return keys.flatMap((k) => jsonDifferences(found[k], wanted[k], at ? `${at}.${k}` : k));
  }
  return JSON.stringify(found) === JSON.stringify(wanted) ? [] : [`${at}: ${JSON.stringify(found)} vs ${JSON.stringify(wanted)}`];
}

/** What one multiset holds more of than another: `[item, how many more]`, in item order. */
export function multisetExcess(a: readonly string[], b: readonly string[]): [string, number][] {
  const n = new Map<string, number>();
  for (const x of a) n.set(x, (n.get(x) ?? 0) + 1);
  for (const x of b) n.set(x, (n.get(x) ?? 0) - 1);
  return [...n].filter(([, k]) => k > 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

/** What one multiset has that another lacks, and the reverse (at most `limit` items of each). */
function excess(found: readonly string[], wanted: readonly string[], limit = Infinity): { extra: [string, number][]; missing: [string, number][] } {
  return { extra: multisetExcess(found, wanted).slice(0, limit), missing: multisetExcess(wanted, found).slice(0, limit) };
}

/**
 * `counts.issues` as the stored issues in `list` and the run's tally of those it counted but did
 * not store (`notStored`, past its cap per code) make it: equal to the run's own when it is exact.
 */
function severities(list: readonly IssueView[], notStored?: RunCounts['issues']['notStored']): RunCounts['issues'] {
  const stored = { errors: list.filter((i) => i.severity === 'error').length, warnings: list.filter((i) => i.severity === 'warning').length };
  if (!notStored) return stored;
  return { errors: stored.errors + notStored.errors, warnings: stored.warnings + notStored.warnings, notStored };
}

/**
 * The target counts of `found` above those of `wanted` (created, updated, deleted, errors, and the
 * records counted in all), as `target.entity.count: found vs wanted`.
 */
function countsAbove(found: RunCounts, wanted: RunCounts): string[] {
  const out: string[] = [];
  for (const [id, target] of Object.entries(found.targets)) {
    for (const [entity, c] of Object.entries(target.entities)) {
      const w = wanted.targets[id]?.entities[entity as keyof typeof target.entities];
      const total = (x: typeof w) => (x ? x.created + x.updated + x.unchanged + x.skipped + x.deleted + x.errors : 0);
      const figures: [string, number, number][] = [
        ...(['created', 'updated', 'deleted', 'errors'] as const).map((k): [string, number, number] => [k, c![k], w?.[k] ?? 0]),
        ['records', total(c), total(w)],
      ];
      for (const [k, f, v] of figures) if (f > v) out.push(`${id}.${entity}.${k}: ${f} vs ${v}`);
    }
  }
  return out;
}

/** An issue as the crash tests compare it: target, entity, sourcedId, code, severity (and optionally the message). */
export function issueKey(issue: IssueView, withMessage = false): string {
  const key = [issue.targetId ?? '-', issue.entity ?? '-', issue.sourcedId ?? '-', issue.code, issue.severity].join(' ');
  return withMessage ? `${key} ${issue.message}` : key;
}

/**
 * Kills `rosterbridge start` processes (SIGKILL) at random points of runs (and, every
 * `recoveryEvery`-th time, again while a restarted host resumes the run) and checks that a restart
 * finishes each run as a clean run of the same roster, on a tenant of its own, ends: the same
 * status and code, source counts, product rows and ledger; counts.issues equal to the run's stored
 * issues; the exact target counts and the same issues, with the same messages. Needs PostgreSQL.
 */
export async function runCrashScenario(t: Test, scenario: CrashScenario): Promise<void> {
  const database = await createTestDatabase();
  const root = mkdtempSync(path.join(tmpdir(), 'rb-crash-'));
  let host: HostProcess | undefined;
  const db = new Client({ connectionString: database.url });
  await db.connect();
  t.teardown(async () => {
    if (host && host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
    await db.end();
    rmSync(root, { recursive: true, force: true });
    await database.drop();
  });

  // Each tenant reads ../packages/<tenant>, a link to the package of the roster it is to have.
  await writeOneRosterPackage(scenario.roster, path.join(root, 'roster'));
  if (scenario.before) await writeOneRosterPackage(scenario.before, path.join(root, 'before'));
  mkdirSync(path.join(root, 'packages'));
  const point = (tenant: string, pkg: 'roster' | 'before') => {
    const link = path.join(root, 'packages', tenant);
    rmSync(link, { force: true });
    symlinkSync(path.join(root, pkg), link, 'dir');
  };
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  const ids = [REFERENCE, ...Array.from({ length: scenario.kills }, (_, i) => `crash-${i + 1}`)];
  for (const id of ids) {
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'UTC',
        source: { id: 'oneroster-csv', settings: { location: `../packages/${id}` } },
        targets: scenario.targets,
      }),
    );
    point(id, scenario.before ? 'before' : 'roster');
  }
  const env = {
    RB_HTTP_PORT: '0',
    RB_DATABASE_URL: database.url,
    RB_DATA_DIR: path.join(root, 'data'),
    RB_PLUGIN_DIRS: PLUGINS,
    RB_TENANTS_DIR: tenants,
    RB_API_TOKENS: JSON.stringify([{ name: 'crash', token: TOKEN, role: 'admin' }]),
    RB_SYNC_LEASE_MS: '1500',
    RB_SCHEDULE_ENABLED: 'false',
    RB_SYNC_SWEEP_MS: '300',
    RB_SYNC_BATCH_SIZE: String(scenario.batchSize),
    RB_LOG_LEVEL: 'info',
    ...scenario.env,
  };
  const api = async (route: string, method = 'GET', body?: unknown) => {
    const res = await fetch(host!.url + route, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const trigger = async (tenant: string): Promise<string> => {
    const res = await api(`/tenants/${tenant}/syncs`, 'POST', {});
    if (res.status !== 202) throw new Error(`POST /tenants/${tenant}/syncs: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { id: string }).id;
  };
  const settled = async (runId: string, timeoutMs = 60000): Promise<RunView> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = (await api(`/runs/${runId}`)).body as RunView;
      if ((run.status !== 'queued' && run.status !== 'running') || Date.now() > deadline) return run;
      await sleep(50);
    }
  };
  const issues = async (runId: string): Promise<IssueView[]> => {
    const all: IssueView[] = [];
    for (let after: number | null = 0; after !== null;) {
      const page = (await api(`/runs/${runId}/issues?limit=1000&after=${after}`)).body as { issues: IssueView[]; next: number | null };
      all.push(...page.issues);
      after = page.next;
    }
    return all;
  };
  const kill = async () => {
    const h = host!;
    host = undefined;
    h.child.kill('SIGKILL');
    if (h.child.exitCode === null && h.child.signalCode === null) await new Promise((r) => h.child.once('exit', r));
  };
  const runRow = async (runId: string) =>
    (await db.query('select status, phase, owner from rosterbridge.run where id = $1', [runId])).rows[0] as {
      status: string;
      phase: string;
      owner: string | null;
    };
  /** Polls the run until `until` holds of it (at most 60 s). */
  const waitFor = async (runId: string, until: (r: Awaited<ReturnType<typeof runRow>>) => boolean) => {
    const deadline = Date.now() + 60000;
    let r = await runRow(runId);
    while (!until(r)) {
      if (Date.now() > deadline) throw new Error(`run ${runId} stayed ${r.status}/${r.phase}`);
      await sleep(10);
      r = await runRow(runId);
    }
    return r;
  };

  /** Every product row of the tenant, per table, as sorted canonical JSON without what may differ. */
  const products = async (tenant: string) => {
    const out: Record<string, string[]> = {};
    for (const { schema, tables, ignore = [] } of PRODUCT_TABLES) {
      for (const table of tables) {
        const columns = (
          await db.query(
            `select column_name from information_schema.columns where table_schema = $1 and table_name = $2 and data_type not like 'timestamp%' order by column_name`,
            [schema, table],
          )
        ).rows
          .map((r) => r.column_name as string)
          .filter((c) => c !== 'tenant_id' && !ignore.includes(c));
        if (columns.length === 0) throw new Error(`${schema}.${table} has no columns to compare (is the plugin installed?)`);
        const { rows } = await db.query(`select ${columns.map((c) => `"${c}"`).join(', ')} from "${schema}"."${table}" where tenant_id = $1`, [tenant]);
        out[`${schema}.${table}`] = rows.map((r) => canonicalRecordJson(r)).sort();
      }
    }
    return out;
  };
  /** The tenant's snapshot in the ledger: each key's latest committed version that is not a deletion, with its hash. */
  const ledger = async (tenant: string) =>
    (
      await db.query(
        `select entity || '/' || sourced_id || ' ' || hash as v from (
           select distinct on (entity, sourced_id) entity, sourced_id, kind, hash from rosterbridge.ledger_version
           where tenant_id = $1 and seq <= (select committed_seq from rosterbridge.ledger_state where tenant_id = $1)
           order by entity, sourced_id, seq desc) l where kind <> 'deleted'`,
        [tenant],
      )
    ).rows
      .map((r) => r.v as string)
      .sort();
  const stray = async (tenant: string) =>
    (
      await db.query(
        'select count(*)::int as n from rosterbridge.ledger_version where tenant_id = $1 and seq > (select committed_seq from rosterbridge.ledger_state where tenant_id = $1)',
        [tenant],
      )
    ).rows[0].n as number;

  host = await startHostProcess(env);
  if (scenario.before) {
    // Every tenant first holds the earlier roster, synced without a crash.
    const runs = [];
    for (const id of ids) runs.push(await trigger(id));
    const ended = await Promise.all(runs.map((id) => settled(id, 120000)));
    const statuses = new Set(ended.map((r) => `${r.status} ${JSON.stringify(r.counts)}`));
    t.equal(statuses.size, 1, `the ${ids.length} tenants' first syncs (no crash) end alike: ${[...statuses].map((s) => s.slice(0, 200)).join(' | ')}`);
    for (const id of ids) point(id, 'roster');
  }

  // The reference: the same run without a crash, and how long its phases take here.
  const reference = await settled(await trigger(REFERENCE));
  t.ok(['success', 'partial'].includes(reference.status), `the clean run ends ${reference.status} (${reference.errorCode ?? ''})`);
  const spans = {
    staging: Date.parse(reference.committedAt!) - Date.parse(reference.startedAt!),
    applying: Date.parse(reference.endedAt!) - Date.parse(reference.committedAt!),
  };
  const referenceIssues = await issues(reference.id);
  const want = { products: await products(REFERENCE), ledger: await ledger(REFERENCE) };
  t.same(
    severities(referenceIssues, reference.counts.issues.notStored),
    reference.counts.issues,
    `the clean run's counts.issues are its ${referenceIssues.length} stored issues${reference.counts.issues.notStored ? ' and those it counted but did not store' : ''}`,
  );
  for (const product of ['kybergate', 'kamkalima'])
    t.ok(
      referenceIssues.some((i) => i.targetId === product && i.severity === 'error'),
      `the clean run reports records ${product} rejects`,
    );
  const expectedMemo: string[] = [];
  for (const entity of ROSTER_ENTITY_ORDER)
    for (const r of scenario.roster.records(entity)) expectedMemo.push(`${entity}/${r.sourcedId} ${comparableRecord(r)}`);
  const memo = (await db.query('select entity, sourced_id, record from plugin_target_memo.record where tenant_id = $1', [REFERENCE])).rows.map(
    (r) => `${r.entity}/${r.sourced_id} ${comparableRecord(r.record)}`,
  );
  t.same(
    excess(memo, expectedMemo, 5),
    { extra: [], missing: [] },
    `the clean run: the memo target holds every record of the roster as it is (${expectedMemo.length})`,
  );
  t.equal(want.ledger.length, expectedMemo.length, "the clean run: the ledger's snapshot holds every record once");
  for (const [table, rows] of Object.entries(want.products))
    if (!table.endsWith('held_record') && !table.endsWith('sync_scope')) t.ok(rows.length > 0, `the clean run wrote ${table} (${rows.length} rows)`);
  t.comment(
    `clean run: ${reference.status}, staging ${spans.staging} ms, applying ${spans.applying} ms, ${referenceIssues.length} issues; kill points from seed ${scenario.seed}`,
  );

  const random = new SeededRandom(scenario.seed);
  const killedIn: Record<string, number> = {};
  const landed = (where: string) => (killedIn[where] = (killedIn[where] ?? 0) + 1);
  for (let i = 1; i <= scenario.kills; i++) {
    const tenant = `crash-${i}`;
    // Alternate the phase aimed at; kill at a random point of that phase's clean duration.
    const aim = i % 2 === 1 ? 'staging' : 'applying';
    const delay = Math.floor(random.next() * spans[aim]);
    host ??= await startHostProcess(env);
    const runId = await trigger(tenant);
    await waitFor(runId, (r) => r.phase === aim || r.phase === 'done');
    await sleep(delay);
    const first = await runRow(runId);
    await kill();
    const kills = [`${first.status}/${first.phase}`];
    landed(`run ${kills[0]}`);

    host = await startHostProcess(env);
    if (scenario.recoveryEvery > 0 && i % scenario.recoveryEvery === 0 && first.phase !== 'done') {
      // Again while the new host resumes it: once it has claimed the run, at a random point of the phase it resumes.
      const resumed = await waitFor(runId, (r) => r.owner !== first.owner || r.status !== 'running');
      const span = resumed.phase === 'applying' ? spans.applying : spans.staging;
      await sleep(Math.floor(random.next() * span));
      const second = await runRow(runId);
      await kill();
      kills.push(`${second.status}/${second.phase}`);
      landed(`recovery ${kills[1]}`);
      host = await startHostProcess(env);
    }
    const label = `kill ${i} (${kills.join(', then in recovery ')})`;
    const after = await settled(runId);
    const got = await issues(runId);
    t.equal(
      after.status,
      reference.status,
      `${label}: the restarted host finished the run as the clean run ended (${after.errorMessage ?? after.reason ?? ''})`,
    );
    t.equal(after.errorCode, reference.errorCode, `${label}: with its error code`);
    t.same(jsonDifferences(after.counts.source, reference.counts.source), [], `${label}: source counts equal the clean run's`);
    t.same(
      after.counts.issues,
      severities(got, after.counts.issues.notStored),
      `${label}: counts.issues are the run's ${got.length} stored issues (and the tally of those not stored)`,
    );
    t.same(jsonDifferences(after.counts.issues, reference.counts.issues), [], `${label}: counts.issues equal the clean run's, exactly`);
    // Nothing counted or reported twice, whatever the crash: no target count above the clean run's
    // (unchanged and skipped aside: a write or deletion delivered again may be either), no issue the clean run lacks.
    t.same(countsAbove(after.counts, reference.counts), [], `${label}: no target count is above the clean run's`);
    const keys = got.map((x) => issueKey(x));
    const wanted = referenceIssues.map((x) => issueKey(x));
    t.same(multisetExcess(keys, wanted), [], `${label}: no stored issue is extra to the clean run's`);
    const rows = await products(tenant);
    for (const [table, wantedRows] of Object.entries(want.products))
      t.same(excess(rows[table]!, wantedRows, 5), { extra: [], missing: [] }, `${label}: ${table} equals the clean run's (${rows[table]!.length} rows)`);
    t.same(excess(await ledger(tenant), want.ledger, 5), { extra: [], missing: [] }, `${label}: the ledger's snapshot equals the clean run's`);
    t.equal(await stray(tenant), 0, `${label}: no staged version is left above the watermark`);
    // Each batch commits with its target's cursor, counts and issues: a crash changes no report.
    t.same(jsonDifferences(after.counts.targets, reference.counts.targets), [], `${label}: target counts equal the clean run's, exactly`);
    t.same(multisetExcess(wanted, keys), [], `${label}: no issue of the clean run's is missing (${got.length} vs ${wanted.length})`);
    t.same(
      excess(
        got.map((x) => issueKey(x, true)),
        referenceIssues.map((x) => issueKey(x, true)),
      ),
      { extra: [], missing: [] },
      `${label}: the issues have the clean run's messages`,
    );
  }
  if (host) await kill();
  t.comment(`killed in: ${JSON.stringify(killedIn)}`);
  if (scenario.kills >= 4)
    t.ok((killedIn['run running/staging'] ?? 0) > 0 && (killedIn['run running/applying'] ?? 0) > 0, 'kills landed in both staging and applying');
}
