import { MultiBar, type SingleBar } from 'cli-progress';
import type { RunCounts, SyncRun } from '@rosterbridge/core';
import { type ControlApi, controlApi, describeRun, exitCodeFor, isFinished } from './runs-command';

/** A `progress` event of `GET /runs/:id/events` (the first one carries no phase). */
interface RunProgressEvent {
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
export async function syncTenant(options: { tenant: string; mode?: 'full' | 'delta'; dryRun: boolean; targets: string[]; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const request = { ...(options.mode ? { mode: options.mode } : {}), ...(options.dryRun ? { dryRun: true } : {}), ...(options.targets.length > 0 ? { targets: options.targets } : {}) };
  const queued = await api.request<SyncRun>('POST', `/tenants/${encodeURIComponent(options.tenant)}/syncs`, request);
  const view: ProgressView = options.json ? { update() {}, stop() {} } : process.stdout.isTTY ? new ProgressBars() : new ProgressLines();
  if (!options.json) view.update({ runId: queued.id, status: queued.status, counts: queued.counts });
  let run: SyncRun;
  try {
    run = await followRun(api, queued.id, (event) => view.update(event));
    // the bars end on the run's final figures, not on the last batch's
    if (view instanceof ProgressBars) view.update({ runId: run.id, status: run.status, phase: run.committedAt ? 'applying' : 'staging', counts: run.counts });
  } finally {
    view.stop();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  else process.stdout.write(`\n${describeRun(run)}`);
  process.exitCode = exitCodeFor(run.status);
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
  return Object.values(counts.targets[target]?.entities ?? {}).reduce((a, c) => a + (c ? c.created + c.updated + c.unchanged + c.skipped + c.deleted + c.errors : 0), 0);
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
 * Progress as plain lines for logs and pipes: one line when the run moves to another entity or
 * target (with the last figures of the one it leaves), and at most one a second in between.
 */
class ProgressLines implements ProgressView {
  private last: { key: string; line: string; printed: boolean } | undefined;
  private lastPrintAt = 0;

  update(event: RunProgressEvent): void {
    const line = this.describe(event);
    if (!line) return;
    const { key } = line;
    const now = Date.now();
    if (this.last && this.last.key !== key && !this.last.printed) this.print(this.last.line);
    if (!this.last || this.last.key !== key || now - this.lastPrintAt >= 1000) {
      this.print(line.text);
      this.last = { key, line: line.text, printed: true };
    } else this.last = { key, line: line.text, printed: false };
  }

  private describe(event: RunProgressEvent): { key: string; text: string } | undefined {
    if (!event.phase) return { key: 'queued', text: `run ${event.runId} ${event.status}` };
    if (event.phase === 'staging' && event.entity) {
      const c = event.counts.source[event.entity as keyof RunCounts['source']];
      return c && { key: `staging:${event.entity}`, text: `staging ${event.entity}: read ${c.read}, created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected}` };
    }
    if (event.phase === 'applying') {
      if (!event.target) return { key: 'applying', text: `applying ${stagedChanges(event.counts)} changes` };
      const t = event.counts.targets[event.target];
      return { key: `applying:${event.target}:${event.entity ?? ''}`, text: `applying to ${event.target}${event.entity ? ` ${event.entity}` : ''}: ${targetHandled(event.counts, event.target)} records handled (${t?.status ?? 'pending'})` };
    }
    return undefined;
  }

  private print(text: string): void {
    this.lastPrintAt = Date.now();
    process.stdout.write(`${text}\n`);
  }

  stop(): void {
    if (this.last && !this.last.printed) this.print(this.last.line);
  }
}
