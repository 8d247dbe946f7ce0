import { MultiBar, type SingleBar } from 'cli-progress';
import { ROSTER_ENTITY_ORDER, type RunCounts, type SyncRun } from '@rosterbridge/core';
import { type ControlApi, controlApi, countWarnings, describeRun, exitCodeFor, isFinished } from './runs-command';

/** A `progress` event of `GET /runs/:id/events` (the first one carries no phase). */
export interface RunProgressEvent {
  runId: string;
  phase?: 'staging' | 'applying' | 'done';
  status: SyncRun['status'];
  entity?: string;
  target?: string;
  counts: RunCounts;
}

/** How live progress is shown: bars on a terminal, lines otherwise, nothing with --json. */
interface ProgressView {
  update(event: RunProgressEvent): void;
  stop(): void;
}

/** How often the run is also polled, in case the event stream misses its end. */
const POLL_MS = 2000;

/**
 * `rosterbridge sync <tenant>`: triggers a run on a running host, follows its progress and prints
 * its summary. Exit code 0 success, 2 partial or held, 1 failed or cancelled.
 */
export async function syncTenant(options: {
  tenant: string;
  mode?: 'full' | 'delta';
  dryRun: boolean;
  /** A readiness preview, optionally scoped to `schools` (the host refuses schools without it). */
  preview?: boolean;
  schools?: string[];
  targets: string[];
  url?: string;
  json: boolean;
}): Promise<void> {
  const api = controlApi(options.url);
  const request = {
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.preview ? { preview: true } : {}),
    ...(options.schools && options.schools.length > 0 ? { schools: options.schools } : {}),
    ...(options.targets.length > 0 ? { targets: options.targets } : {}),
  };
  const queued = await api.request<SyncRun>('POST', `/tenants/${encodeURIComponent(options.tenant)}/syncs`, request);
  const run = await followAndReport(api, queued, options.json);
  if (run.preview && !options.json) process.stdout.write(await firstIssues(api, run.id));
}

/** How many issues a preview's summary lists (the rest: `rosterbridge run <id> --issues`). */
const FIRST_ISSUES = 10;

/** A preview's first issues, errors first, each with its target, entity, record and code. */
async function firstIssues(api: ControlApi, runId: string): Promise<string> {
  type Issue = { targetId?: string; code: string; severity: string; entity?: string; sourcedId?: string; message: string };
  const page = async (severity: string) =>
    (await api.request<{ issues: Issue[] }>('GET', `/runs/${encodeURIComponent(runId)}/issues?severity=${severity}&limit=${FIRST_ISSUES}`)).issues;
  const errors = await page('error');
  const issues = errors.length >= FIRST_ISSUES ? errors : [...errors, ...(await page('warning'))].slice(0, FIRST_ISSUES);
  if (issues.length === 0) return '\nno issues\n';
  const lines = issues.map(
    (i) => `  ${i.severity.padEnd(7)} ${(i.targetId ?? 'source').padEnd(15)} ${i.code} ${[i.entity, i.sourcedId].filter(Boolean).join(' ')}: ${i.message}`,
  );
  return `\nfirst issues (all: rosterbridge run ${runId} --issues)\n${lines.join('\n')}\n`;
}

/**
 * Follows a run the host has taken (a sync, an approved hold, a back-fill) to its end, showing its
 * progress (bars on a terminal, numbered lines otherwise, nothing with `json`), then prints its
 * summary (or the run as JSON) and sets the exit code: 0 success, 2 partial, held or skipped, 1
 * failed or cancelled.
 */
export async function followAndReport(api: ControlApi, started: SyncRun, json: boolean): Promise<SyncRun> {
  const view: ProgressView = json ? { update() {}, stop() {} } : process.stdout.isTTY ? new ProgressBars() : new ProgressLines();
  if (!json) view.update({ runId: started.id, status: started.status, counts: started.counts });
  let run: SyncRun;
  try {
    run = isFinished(started.status) ? started : await followRun(api, started.id, (event) => view.update(event));
    // the bars end on the run's final figures, not on the last batch's
    if (view instanceof ProgressBars) view.update({ runId: run.id, status: run.status, phase: run.committedAt ? 'applying' : 'staging', counts: run.counts });
  } finally {
    view.stop();
  }
  if (json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  else process.stdout.write(`\n${describeRun(run, await countWarnings(api, run.id))}`);
  process.exitCode = exitCodeFor(run.status);
  return run;
}

/**
 * Follows a run's server-sent events until `end` and answers the finished run. A poll of the run
 * runs beside the stream so that a dropped stream, or an end the stream missed, still finishes.
 */
async function followRun(api: ControlApi, runId: string, onProgress: (event: RunProgressEvent) => void): Promise<SyncRun> {
  const abort = new AbortController();
  const never = new Promise<never>(() => {});
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  const poll = async (): Promise<SyncRun> => {
    for (;;) {
      await sleep(POLL_MS);
      if (abort.signal.aborted) return never;
      const run = await api.request<SyncRun>('GET', `/runs/${encodeURIComponent(runId)}`);
      if (isFinished(run.status)) return run;
    }
  };
  const stream = async (): Promise<SyncRun> => {
    const res = await api.open(`/runs/${encodeURIComponent(runId)}/events`, abort.signal);
    for await (const { event, data } of serverSentEvents(res.body!)) {
      if (event === 'progress') onProgress(JSON.parse(data) as RunProgressEvent);
      else if (event === 'end') {
        const run = JSON.parse(data) as SyncRun | null;
        if (run) return run;
      }
    }
    return never; // the stream closed without an end: the poll answers
  };
  try {
    // A stream that fails or drops leaves the poll to answer; the poll reports the host's own errors.
    return await Promise.race([stream().catch(() => never), poll()]);
  } finally {
    abort.abort();
  }
}

/** Parses a `text/event-stream` body into its events (`event:` and `data:` fields; comments ignored). */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  }
}

/** The total of changes staged: what the targets have to apply. */
function stagedChanges(counts: RunCounts): number {
  return Object.values(counts.source).reduce((a, c) => a + (c ? c.created + c.updated + c.deleted : 0), 0);
}

/** Records a target has handled so far, over all entities. */
function targetHandled(counts: RunCounts, target: string): number {
  return Object.values(counts.targets[target]?.entities ?? {}).reduce(
    (a, c) => a + (c ? c.created + c.updated + c.unchanged + c.skipped + c.deleted + c.errors : 0),
    0,
  );
}

/** Live bars: one per entity while staging (records read; no total is known), one per target while applying. */
class ProgressBars implements ProgressView {
  private readonly bars = new MultiBar({
    stream: process.stdout,
    hideCursor: true,
    barsize: 24,
    clearOnComplete: false,
    format: (options, params, payload: { label: string; detail: string; bar: boolean }) => {
      const label = payload.label.padEnd(22);
      if (!payload.bar) return `${label} ${payload.detail}`;
      const size = options.barsize ?? 30;
      const filled = Math.round(Math.min(1, params.total > 0 ? params.value / params.total : 1) * size);
      return `${label} ${'█'.repeat(filled)}${'░'.repeat(size - filled)} ${params.value}/${params.total}  ${payload.detail}`;
    },
  });
  private readonly byKey = new Map<string, SingleBar>();

  update(event: RunProgressEvent): void {
    for (const [entity, c] of Object.entries(event.counts.source)) {
      if (!c) continue;
      const held = c.heldBack ? `  held ${c.heldBack}` : '';
      const detail = `read ${c.read}  new ${c.created}  upd ${c.updated}  same ${c.unchanged}  del ${c.deleted}  rej ${c.rejected}${c.skipped ? `  skip ${c.skipped}` : ''}${held}`;
      this.bar(`entity:${entity}`, { label: entity, detail, bar: false }, c.read);
    }
    if (event.phase === 'applying') {
      const total = stagedChanges(event.counts);
      for (const [target, t] of Object.entries(event.counts.targets)) {
        const handled = targetHandled(event.counts, target);
        this.bar(`target:${target}`, { label: `→ ${target}`, detail: t.status, bar: true }, handled, Math.max(total, handled));
      }
    }
  }

  private bar(key: string, payload: { label: string; detail: string; bar: boolean }, value: number, total = 0): void {
    const bar = this.byKey.get(key);
    if (!bar) this.byKey.set(key, this.bars.create(total, value, payload));
    else {
      if (total > 0) bar.setTotal(total);
      bar.update(value, payload);
    }
  }

  stop(): void {
    this.bars.stop();
  }
}

/**
 * Progress as plain lines for logs and pipes, each with its figures: `staging users: read 12000, …`
 * and `applying users to kybergate: 12931 of 40000`. A line is printed when the run moves to
 * another entity or target (with the last figures of the one it leaves) and at most once a second
 * for the same one in between; a line that would say the same as the last one is not printed. A
 * target that fails or is skipped gets a line with its reason.
 */
export class ProgressLines implements ProgressView {
  /** The last text printed per key, and the newest text not printed yet. */
  private readonly printed = new Map<string, { text: string; at: number }>();
  private readonly pending = new Map<string, string>();

  constructor(
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
    private readonly now: () => number = Date.now,
  ) {}

  update(event: RunProgressEvent): void {
    const now = this.now();
    for (const { key, text, final } of describeProgress(event)) {
      const last = this.printed.get(key);
      if (last?.text === text) {
        this.pending.delete(key);
        continue;
      }
      if (!last) {
        // The run moved on to something new: the figures it left come first.
        this.flush();
        this.print(key, text, now);
      } else if (final || now - last.at >= 1000) this.print(key, text, now);
      else this.pending.set(key, text);
    }
  }

  private flush(): void {
    for (const [key, text] of this.pending) this.print(key, text, this.now());
  }

  private print(key: string, text: string, at: number): void {
    this.pending.delete(key);
    this.printed.set(key, { text, at });
    this.write(`${text}\n`);
  }

  stop(): void {
    this.flush();
  }
}

/** What a progress event says, line by line: a key per entity or target, its text, whether it is its last. */
function describeProgress(event: RunProgressEvent): { key: string; text: string; final?: boolean }[] {
  if (!event.phase) return [{ key: 'run', text: `run ${event.runId} ${event.status}` }];
  const lines: { key: string; text: string; final?: boolean }[] = [];
  if (event.phase === 'staging' && event.entity) {
    const c = event.counts.source[event.entity as keyof RunCounts['source']];
    if (c)
      lines.push({
        key: `staging:${event.entity}`,
        text: `staging ${event.entity}: read ${c.read}, created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, deleted ${c.deleted}, rejected ${c.rejected}`,
      });
  }
  if (event.phase === 'applying') {
    const targets = Object.keys(event.counts.targets);
    lines.push({
      key: 'applying',
      text: `applying ${Object.keys(event.counts.source).length > 0 ? `${stagedChanges(event.counts)} staged changes ` : ''}to ${targets.join(', ') || 'no target'}`,
    });
    for (const [target, t] of Object.entries(event.counts.targets)) {
      for (const entity of ROSTER_ENTITY_ORDER) {
        const c = t.entities[entity];
        if (!c) continue;
        const handled = c.created + c.updated + c.unchanged + c.skipped + c.deleted + c.errors;
        const s = event.counts.source[entity];
        // What this run staged of the entity; a target catching up (or a back-fill) may get more.
        const staged = s ? s.created + s.updated + s.deleted : 0;
        const of = staged >= handled && staged > 0 ? ` of ${staged}` : '';
        lines.push({ key: `applying:${target}:${entity}`, text: `applying ${entity} to ${target}: ${handled}${of}`, final: of !== '' && handled === staged });
      }
      if (t.status === 'failed' || t.status === 'skipped') {
        const why = t.status === 'skipped' ? (t.reason ?? '') : [t.errorCode, t.error].filter(Boolean).join(': ');
        lines.push({ key: `target:${target}`, text: `target ${target} ${t.status}${why ? `: ${why}` : ''}`, final: true });
      }
    }
  }
  return lines;
}
