import type { RosterEntity, SyncRun } from '@rosterbridge/core';
import type { StoredRunIssue } from '@rosterbridge/engine';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';

/**
 * What the control API refused or failed with: its code (from the envelope) and its message, which
 * the CLI prints once, as `rosterbridge: CODE: message`.
 */
export class HostAnswerError extends Error {
  override readonly name = 'HostAnswerError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A running host's control API, as the CLI reaches it: base URL and bearer token (never printed). */
export interface ControlApi {
  url: string;
  /** Sends a request and answers the parsed JSON body; a non-2xx answer throws with the API's code and message. */
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  /** Opens a streaming GET (server-sent events); the caller reads `body`. */
  open(path: string, signal: AbortSignal): Promise<Response>;
}

/** Connects to the host at `url` (or env RB_URL) with the token in env RB_TOKEN. */
export function controlApi(url: string | undefined): ControlApi {
  const base = url ?? process.env.RB_URL;
  if (!base) throw new Error('no host to talk to: pass --url or set RB_URL to the control API of a running host (and RB_TOKEN to a token)');
  const token = process.env.RB_TOKEN;
  if (!token) throw new Error('set RB_TOKEN to a control API token to talk to a running host');
  const call = async (path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(new URL(path, base), { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach the host at ${base} (RB_URL/--url): ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
    }
  };
  const failure = async (res: Response): Promise<Error> => {
    const text = await res.text();
    let error: { code?: string; message?: string } | undefined;
    try {
      error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    } catch {
      // not JSON (a proxy's page): report the status only
    }
    const hint = res.status === 401 ? ' (check RB_TOKEN)' : '';
    return new HostAnswerError(res.status, error?.code, `${error?.message ?? (res.statusText || 'no message')} (the host answered ${res.status})${hint}`);
  };
  return {
    url: base,
    async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      const res = await call(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      if (!res.ok) throw await failure(res);
      return (await res.json()) as T;
    },
    async open(path: string, signal: AbortSignal): Promise<Response> {
      const res = await call(path, { headers: { accept: 'text/event-stream' }, signal });
      if (!res.ok || !res.body) throw await failure(res);
      return res;
    },
  };
}

/** Lays out rows under a header as aligned columns; numbers are right-aligned. */
export function formatTable(header: string[], rows: (string | number | undefined)[][]): string {
  const cells = rows.map((row) => row.map((c) => (c === undefined ? '' : typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number' || row[i] === undefined));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : i === row.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** A duration a person reads: `850 ms`, `12.3 s`, `4 min 05 s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function formatTime(iso: string | undefined): string {
  return iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '';
}

/** The exit code for a finished run: 0 success, 2 partial, held or skipped, 1 failed or cancelled. */
export function exitCodeFor(status: SyncRun['status']): number {
  if (status === 'success') return 0;
  if (status === 'partial' || status === 'held' || status === 'skipped') return 2;
  return 1;
}

/** Whether a run has ended (a held run has ended until someone approves it). */
export function isFinished(status: SyncRun['status']): boolean {
  return status !== 'queued' && status !== 'running';
}

const entityOrder = (entities: string[]) =>
  [...entities].sort((a, b) => ROSTER_ENTITY_ORDER.indexOf(a as RosterEntity) - ROSTER_ENTITY_ORDER.indexOf(b as RosterEntity));

/** The label of issues that name no entity (a package's manifest, a producer's summary). */
const NO_ENTITY = '(none)';

/**
 * A run's stored warnings counted per producer (`''` for the source, else the target id) and
 * entity ({@link NO_ENTITY} for those that name none).
 */
export type RunWarnings = Map<string, Map<string, number>>;

/** Counts a run's stored warnings per producer and entity, reading every page of them. */
export async function countWarnings(api: ControlApi, runId: string): Promise<RunWarnings> {
  const warnings: RunWarnings = new Map();
  for (const issue of await allIssues(api, runId, 'warning')) {
    const byEntity = warnings.get(issue.targetId ?? '') ?? new Map<string, number>();
    const entity = issue.entity ?? NO_ENTITY;
    byEntity.set(entity, (byEntity.get(entity) ?? 0) + 1);
    warnings.set(issue.targetId ?? '', byEntity);
  }
  return warnings;
}

/**
 * The run's reason, less what the target lines say (the parts "target X failed (CODE): …" and
 * "target X skipped: …" that a run's outcome joins together), and less its own code in brackets:
 * each reason is printed once.
 */
function ownReason(run: SyncRun): string {
  if (!run.reason) return '';
  const targets = new Set(Object.keys(run.counts.targets));
  return run.reason
    .split('; ')
    .filter((part) => {
      const m = /^target (\S+) (failed|skipped)\b/.exec(part);
      return !(m && targets.has(m[1]!));
    })
    .join('; ');
}

/** A run's code and reason on one line, the code once: `TARGET_FAILED: target flaky failed: …`. */
export function reasonLine(run: { errorCode?: string; reason?: string }): string {
  const reason = run.errorCode && run.reason ? run.reason.split(` (${run.errorCode})`).join('') : run.reason;
  return [run.errorCode, reason].filter(Boolean).join(': ');
}

/** Why a target ended as it did, when it did not simply apply: its code and error, or its reason. */
function targetWhy(t: SyncRun['counts']['targets'][string]): string {
  if (t.status === 'skipped') return t.reason ?? '';
  if (t.errorCode || t.error) return [t.errorCode, t.error].filter(Boolean).join(': ');
  return '';
}

/**
 * One run as text: what it was, how it ended, its counts per entity on the source side, its counts
 * per target and entity (created, updated, deleted, unchanged, skipped, errors; and, when
 * `warnings` are given, warnings), each target's outcome with its reason, and its issue totals.
 */
export function describeRun(run: SyncRun, warnings?: RunWarnings): string {
  const targets = Object.entries(run.counts.targets);
  const failedCodes = new Set(targets.filter(([, t]) => t.status === 'failed').map(([, t]) => t.errorCode));
  // The run's code is the first failed target's: printed with that target, not again up here.
  const ownError =
    run.errorCode && !(failedCodes.has(run.errorCode) && !run.errorMessage)
      ? `${run.errorCode}${run.errorMessage && run.errorMessage !== run.reason ? `: ${run.errorMessage}` : ''}`
      : '';
  const facts: [string, string][] = [
    ['run', run.id],
    ['tenant', run.tenantId],
    ['status', `${run.status} (phase ${run.phase})`],
    ['mode', `${run.mode}${run.dryRun ? ', dry run' : ''}${run.preview ? ', preview (nothing written)' : ''}`],
    ['schools', run.schools ? run.schools.join(', ') : ''],
    ['trigger', run.trigger],
    ['source', run.sourceId],
    ['queued', formatTime(run.queuedAt)],
    ['started', formatTime(run.startedAt)],
    ['committed', formatTime(run.committedAt)],
    ['ended', formatTime(run.endedAt)],
    ['duration', formatDuration(run.durationMs)],
    ['error', ownError],
  ];
  if (run.hold) {
    // The reason names every threshold crossed with its figures (run.hold.crossed says it again).
    facts.push(['hold', `${run.hold.reason}${run.hold.decision ? ` — ${run.hold.decision} by ${run.hold.decidedBy ?? '?'}` : ''}`]);
    if (run.status === 'held') facts.push(['next', `rosterbridge approve ${run.tenantId} ${run.id}   (or: rosterbridge reject ${run.tenantId} ${run.id})`]);
  }
  // The hold's reason and decision are on the hold line; the run's reason only repeats them.
  let reason = ownReason(run);
  if (run.hold) reason = reason === run.hold.reason || /^hold (approved|rejected) by /.test(reason) ? '' : reason.replace(`: ${run.hold.reason}`, '');
  facts.push(['reason', reason]);
  let text = facts
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k.padEnd(10)} ${v}\n`)
    .join('');

  const warningsOf = (producer: string, entity: string) => (warnings ? (warnings.get(producer)?.get(entity) ?? 0) : undefined);
  const withWarnings = (header: string[]) => (warnings ? [...header, 'warnings'] : header);
  const sourceWarnings = warnings?.get('') ?? new Map<string, number>();
  const entities = entityOrder([...new Set([...Object.keys(run.counts.source), ...[...sourceWarnings.keys()].filter((e) => e !== NO_ENTITY)])]);
  if (sourceWarnings.has(NO_ENTITY)) entities.push(NO_ENTITY);
  text += '\n';
  text +=
    entities.length === 0
      ? 'no records read\n'
      : formatTable(
          withWarnings(['entity', 'read', 'created', 'updated', 'unchanged', 'deleted', 'rejected', 'skipped', 'held back']),
          entities.map((e) => {
            const c = run.counts.source[e as RosterEntity];
            // Runs recorded before the skipped and held-back counts existed have neither.
            const row: (string | number | undefined)[] = c
              ? [e, c.read, c.created, c.updated, c.unchanged, c.deleted, c.rejected, c.skipped ?? 0, c.heldBack ?? 0]
              : [e, 0, 0, 0, 0, 0, 0, 0, 0];
            return warnings ? [...row, warningsOf('', e)] : row;
          }),
        );

  if (targets.length > 0) {
    const rows: (string | number | undefined)[][] = [];
    for (const [id, t] of targets) {
      const byEntity = warnings?.get(id) ?? new Map<string, number>();
      const names = entityOrder([...new Set([...Object.keys(t.entities), ...[...byEntity.keys()].filter((e) => e !== NO_ENTITY)])]);
      if (byEntity.has(NO_ENTITY)) names.push(NO_ENTITY);
      for (const e of names) {
        const c = t.entities[e as RosterEntity];
        const row: (string | number | undefined)[] = [
          id,
          e,
          c?.created ?? 0,
          c?.updated ?? 0,
          c?.deleted ?? 0,
          c?.unchanged ?? 0,
          c?.skipped ?? 0,
          c?.errors ?? 0,
        ];
        rows.push(warnings ? [...row, warningsOf(id, e)] : row);
      }
    }
    if (rows.length > 0)
      text += `\n${formatTable(withWarnings(['target', 'entity', 'created', 'updated', 'deleted', 'unchanged', 'skipped', 'errors']), rows)}`;
    text += `\n${formatTable(
      ['target', 'status', 'why'],
      targets.map(([id, t]) => [id, t.status, targetWhy(t)]),
    )}`;
  }
  const { errors, warnings: warningTotal, notStored } = run.counts.issues;
  text += `\nissues     ${errors} errors, ${warningTotal} warnings\n`;
  if (notStored && notStored.errors + notStored.warnings > 0) {
    const byCode = Object.entries(notStored.byCode)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    text += `           of which counted, not stored: ${notStored.errors} errors, ${notStored.warnings} warnings (${byCode})${warnings ? '; the warnings per row are the stored ones' : ''}\n`;
  }
  return text;
}

/** A run as the history endpoint answers it. */
interface RunHistoryLine {
  id: string;
  status: SyncRun['status'];
  mode: SyncRun['mode'];
  dryRun: boolean;
  queuedAt: string;
  startedAt?: string;
  durationMs?: number;
  recordsProcessed: number;
  errors: number;
  warnings: number;
  errorCode?: string;
  reason?: string;
}

/** `rosterbridge runs <tenant>`: the tenant's run history, newest first. */
export async function listRuns(options: { tenant: string; limit?: number; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
  const { runs } = await api.request<{ runs: RunHistoryLine[] }>('GET', `/tenants/${encodeURIComponent(options.tenant)}/runs${query}`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return;
  }
  if (runs.length === 0) {
    process.stdout.write(`no runs for tenant ${options.tenant}\n`);
    return;
  }
  process.stdout.write(
    formatTable(
      ['run', 'started', 'duration', 'status', 'mode', 'records', 'errors', 'warnings', 'reason'],
      runs.map((r) => [
        r.id,
        formatTime(r.startedAt ?? r.queuedAt),
        formatDuration(r.durationMs),
        r.status,
        `${r.mode}${r.dryRun ? ' (dry)' : ''}`,
        r.recordsProcessed,
        r.errors,
        r.warnings,
        reasonLine(r),
      ]),
    ),
  );
}

/** Every issue of a run matching `severity`, following the `next` cursor page by page. */
async function allIssues(api: ControlApi, runId: string, severity: 'error' | 'warning' | undefined): Promise<StoredRunIssue[]> {
  const issues: StoredRunIssue[] = [];
  let after: number | null = null;
  do {
    const params = new URLSearchParams({ limit: '1000' });
    if (severity) params.set('severity', severity);
    if (after !== null) params.set('after', String(after));
    const page: { issues: StoredRunIssue[]; next: number | null } = await api.request('GET', `/runs/${encodeURIComponent(runId)}/issues?${params}`);
    issues.push(...page.issues);
    after = page.next;
  } while (after !== null);
  return issues;
}

/** `rosterbridge run <id>`: one run's detail and, with `issues`, its record-level issues. */
export async function showRun(options: { runId: string; issues: boolean; severity?: 'error' | 'warning'; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const run = await api.request<SyncRun>('GET', `/runs/${encodeURIComponent(options.runId)}`);
  const wantIssues = options.issues || options.severity !== undefined;
  const issues = wantIssues ? await allIssues(api, run.id, options.severity) : undefined;
  if (options.json) {
    process.stdout.write(`${JSON.stringify(issues ? { ...run, issues } : run, null, 2)}\n`);
    return;
  }
  process.stdout.write(describeRun(run, await countWarnings(api, run.id)));
  if (!issues) return;
  process.stdout.write('\n');
  if (issues.length === 0) {
    process.stdout.write(`no ${options.severity ? `${options.severity} ` : ''}issues\n`);
    return;
  }
  process.stdout.write(
    formatTable(
      ['severity', 'entity', 'sourcedId', 'location', 'target', 'code', 'message'],
      issues.map((i) => [
        i.severity,
        i.entity,
        i.sourcedId,
        i.file ? `${i.file}${i.line !== undefined ? `:${i.line}` : ''}` : '',
        i.targetId,
        i.code,
        i.message,
      ]),
    ),
  );
}
