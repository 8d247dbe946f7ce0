import {
  type Disposable,
  Emitter,
  type Event,
  type Logger,
  type OpenedTarget,
  type PluginRegistry,
  RosterbridgeError,
  type RosterEntity,
  type RunProgress,
  type RunStore,
  type SyncEngine,
  type SyncRun,
  type TargetRegistry,
  SHUTDOWN,
  errorMessage,
  withDeadline,
} from '@rosterbridge/core';
import type { TenantRegistry } from '../tenants/tenant-registry';

/** What a caller asks for when triggering a sync. */
export interface SyncRequest {
  mode?: 'full' | 'delta';
  dryRun?: boolean;
  /** A subset of the tenant's enabled targets (default: all enabled). */
  targets?: string[];
  /** Who or what asked: `api:<token name>`, `cli`, `schedule`. */
  trigger: string;
}

/**
 * Runs syncs in this host: one active run per tenant, executed in the background, cancellable,
 * with holds decided by operators. Runs left unfinished by a crash are resumed at start.
 */
export class SyncService implements Disposable {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<SyncRun> }>();
  private readonly onDidProgressEmitter = new Emitter<RunProgress>();
  /** Progress of every run this host executes. */
  readonly onDidProgress: Event<RunProgress> = this.onDidProgressEmitter.event;
  private readonly subscription: Disposable;
  private stopping = false;

  constructor(
    private readonly engine: SyncEngine,
    private readonly runs: RunStore,
    private readonly tenants: TenantRegistry,
    private readonly logger: Logger,
  ) {
    this.subscription = engine.onDidProgress((p) => this.onDidProgressEmitter.fire(p));
  }

  /** Queues a run for the tenant and starts it; rejects when the tenant already has an active run. */
  async trigger(tenantId: string, request: SyncRequest): Promise<SyncRun> {
    const config = this.tenants.config(tenantId);
    if (config.paused) throw new RosterbridgeError('TENANT_PAUSED', `tenant "${tenantId}" is paused`, { tenant: tenantId });
    if (!config.source?.enabled) throw new RosterbridgeError('TENANT_CONFIG_INVALID', `tenant "${tenantId}" has no enabled source`, { tenant: tenantId, key: 'source' });
    const enabled = config.targets.filter((t) => t.enabled).map((t) => t.id);
    const targets = request.targets ?? enabled;
    const unknown = targets.filter((t) => !enabled.includes(t));
    if (unknown.length > 0)
      throw new RosterbridgeError('BAD_REQUEST', `target(s) ${unknown.join(', ')} are not enabled for tenant "${tenantId}" (enabled: ${enabled.join(', ') || 'none'})`);
    await this.assertNoActiveRun(tenantId);
    const run = await this.runs.create({ tenantId, sourceId: config.source.id, mode: request.mode ?? 'full', dryRun: request.dryRun ?? false, trigger: request.trigger, targets });
    this.start(run.id, (signal) => this.engine.execute(run.id, signal));
    return run;
  }

  /** Resolves when the run has ended in this host (for the CLI and tests). */
  async settled(runId: string): Promise<SyncRun> {
    const active = this.running.get(runId);
    if (active) return active.done;
    const run = await this.runs.get(runId);
    if (!run) throw new RosterbridgeError('NOT_FOUND', `run ${runId} does not exist`);
    return run;
  }

  /** Cancels a queued or running run; a held run is rejected instead. */
  async cancel(runId: string, by: string): Promise<SyncRun> {
    const run = await this.get(runId);
    const active = this.running.get(runId);
    if (active) {
      active.controller.abort();
      return active.done;
    }
    if (run.status === 'held') return this.engine.reject(runId, by);
    if (run.status === 'queued' || run.status === 'running') {
      await this.runs.update(runId, { status: 'cancelled', phase: run.phase === 'applying' ? 'applying' : 'done', reason: `cancelled by ${by}`, ended: true });
      return this.get(runId);
    }
    throw new RosterbridgeError('CONFLICT', `run ${runId} has already ended (${run.status})`);
  }

  /** Approves a held run: it commits and applies. */
  async approve(runId: string, by: string): Promise<SyncRun> {
    const run = await this.get(runId);
    if (run.status !== 'held') throw new RosterbridgeError('CONFLICT', `run ${runId} is ${run.status}, not held`);
    this.start(runId, (signal) => this.engine.approve(runId, by, signal));
    return this.get(runId);
  }

  /** Rejects a held run: nothing is applied. */
  async reject(runId: string, by: string): Promise<SyncRun> {
    const run = await this.get(runId);
    if (run.status !== 'held') throw new RosterbridgeError('CONFLICT', `run ${runId} is ${run.status}, not held`);
    return this.engine.reject(runId, by);
  }

  /** Resumes the runs a previous host left queued or running (after a crash or a kill). */
  async resumeUnfinished(): Promise<string[]> {
    const unfinished = (await this.runs.unfinished()).filter((r) => !this.running.has(r.id));
    for (const run of unfinished) {
      this.logger.warn({ run: run.id, tenant: run.tenantId, phase: run.phase }, 'resuming a run left unfinished');
      this.start(run.id, (signal) => this.engine.execute(run.id, signal));
    }
    return unfinished.map((r) => r.id);
  }

  /** Interrupts what runs (their state stays resumable by the next host) and waits for them to stop. */
  async dispose(): Promise<void> {
    this.stopping = true;
    for (const r of this.running.values()) r.controller.abort(SHUTDOWN);
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    this.subscription.dispose();
    this.onDidProgressEmitter.dispose();
  }

  private start(runId: string, work: (signal: AbortSignal) => Promise<SyncRun>): void {
    if (this.stopping) throw new RosterbridgeError('CONFLICT', 'the host is shutting down');
    const controller = new AbortController();
    const done = work(controller.signal)
      .catch(async (err: unknown) => {
        this.logger.error({ run: runId, err: errorMessage(err) }, 'run crashed');
        await this.runs.update(runId, { status: 'failed', errorCode: 'INTERNAL', errorMessage: errorMessage(err), ended: true }).catch(() => undefined);
        return this.get(runId);
      })
      .finally(() => this.running.delete(runId));
    this.running.set(runId, { controller, done });
  }

  private async assertNoActiveRun(tenantId: string): Promise<void> {
    const [latest] = await this.runs.list(tenantId, { limit: 1 });
    const held = await this.runs.heldRun(tenantId);
    if (held) throw new RosterbridgeError('CONFLICT', `tenant "${tenantId}" has a held run ${held.id}; approve or reject it first`, { run: held.id });
    if (latest && (latest.status === 'queued' || latest.status === 'running'))
      throw new RosterbridgeError('CONFLICT', `tenant "${tenantId}" already has an active run ${latest.id} (${latest.status})`, { run: latest.id });
  }

  private async get(runId: string): Promise<SyncRun> {
    const run = await this.runs.get(runId);
    if (!run) throw new RosterbridgeError('NOT_FOUND', `run ${runId} does not exist`);
    return run;
  }
}

/** Opens a tenant's target: activates its plugin on `onTarget:<id>`, finds what it registered. */
export async function openTenantTarget(
  plugins: PluginRegistry,
  targets: TargetRegistry,
  tenants: TenantRegistry,
  tenantId: string,
  targetId: string,
  deadlineMs: number,
): Promise<OpenedTarget> {
  const use = tenants.config(tenantId).targets.find((t) => t.id === targetId && t.enabled);
  if (!use?.pluginId) throw new RosterbridgeError('TENANT_CONFIG_INVALID', `target "${targetId}" is not enabled for tenant "${tenantId}"`);
  await plugins.activate(use.pluginId, `onTarget:${targetId}`);
  const target = targets.get(targetId);
  if (!target) throw new RosterbridgeError('PLUGIN_FAILED', `plugin "${use.pluginId}" is active but registered no implementation for target "${targetId}"`);
  const manifest = plugins.allManifests().find((m) => m.id === use.pluginId)!;
  const contribution = manifest.contributes.targets.find((t) => t.id === targetId)!;
  const consumes = new Set(contribution.consumes.map((c) => c.replace(/^roster\.|@\d+$/g, '') as RosterEntity));
  const session = await withDeadline(target.open(plugins.contextOf(use.pluginId).forTenant(tenantId)), deadlineMs, `target "${targetId}" open() for tenant ${tenantId}`);
  return { session, consumes };
}
