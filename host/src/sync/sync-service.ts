import {
  type Disposable,
  type SyncDisposable,
  Emitter,
  type Event,
  type Logger,
  RosterbridgeError,
  type RosterEntity,
  type RosterTargetOpenOptions,
  parseRosterContract,
  type SyncRun,
  errorMessage,
  isRosterbridgeError,
  withDeadline,
} from '@rosterbridge/core';
import {
  type NewRun,
  type OpenedTarget,
  type PluginRegistry,
  type RunProgress,
  type RunStore,
  type SyncEngine,
  type TargetRegistry,
  SHUTDOWN,
} from '@rosterbridge/engine';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TenantRegistry } from '../tenants/tenant-registry';
import { type TenantOperations, busy } from './tenant-operations';

/** What a caller asks for when triggering a sync. */
export interface SyncRequest {
  mode?: 'full' | 'delta';
  dryRun?: boolean;
  /** A readiness preview: the targets' rules run on the changes, everything they write rolled back. */
  preview?: boolean;
  /** Org sourcedIds a preview is scoped to (previews only). */
  schools?: string[];
  /** A subset of the tenant's enabled targets (default: all enabled). */
  targets?: string[];
  /** Who or what asked: `api:<token name>`, `cli`, `schedule`. */
  trigger: string;
}

/** How this host takes part in executing runs. */
export interface SyncServiceOptions {
  /** This host's identity in run claims. */
  hostId: string;
  /** How long a claim holds without a heartbeat; a killed host's runs are taken over after it. */
  leaseMs: number;
  /** How often to look for runs to take (queued, or abandoned by a host that died). */
  sweepMs: number;
  /** Finished runs older than this many days are deleted with their issues, hourly; 0 keeps them. */
  retentionDays?: number;
  /** Runs this host executes at once; more wait queued for this host or another to take them. */
  maxConcurrentRuns?: number;
}

/**
 * Executes sync runs. A run is a row first (at most one active per tenant, enforced by
 * the database), then claimed by one host with a lease it keeps renewing; a host that dies stops
 * renewing and another host (or itself, restarted) takes the run over and resumes it. So any number
 * of hosts can share one database and every run is executed by one of them at a time.
 *
 * A tenant does one thing at a time: a run is started, a target reset, the tenant paused or
 * resumed each as the tenant's one operation ({@link TenantOperations}); what comes meanwhile is
 * refused (TENANT_BUSY), and a reset or a pause is refused while a run is active.
 */
export class SyncService implements Disposable {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<SyncRun> }>();
  private readonly onDidProgressEmitter = new Emitter<RunProgress>();
  /** Progress of every run this host executes. */
  readonly onDidProgress: Event<RunProgress> = this.onDidProgressEmitter.event;
  private readonly subscription: SyncDisposable;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;

  constructor(
    private readonly engine: SyncEngine,
    private readonly runs: RunStore,
    private readonly tenants: TenantRegistry,
    private readonly operations: TenantOperations,
    private readonly logger: Logger,
    private readonly options: SyncServiceOptions,
    /** Resets a target for a tenant: the product's own reset, then its cursor dropped. */
    private readonly resetter: (tenantId: string, targetId: string) => Promise<void>,
    /**
     * Called before a run executes here: activates the plugins of its targets, so that they hear the
     * run's `sync.run.*` events even when it fails before any target is opened. Never rejects.
     */
    private readonly prepare: (run: SyncRun) => Promise<void> = async () => undefined,
  ) {
    this.subscription = engine.onDidProgress((p) => this.onDidProgressEmitter.fire(p));
  }

  /** Starts the heartbeat and the sweep, and takes over what is waiting right away. */
  async start(): Promise<string[]> {
    this.timers.push(setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.options.leaseMs / 3))).unref());
    this.timers.push(setInterval(() => void this.sweep(), this.options.sweepMs).unref());
    if (this.options.retentionDays) {
      this.timers.push(setInterval(() => void this.prune(), 3_600_000).unref());
      await this.prune();
    }
    return this.sweep();
  }

  /** Deletes finished runs past the retention period, with their issues. */
  async prune(): Promise<number> {
    const days = this.options.retentionDays;
    if (!days || this.stopping) return 0;
    try {
      const pruned = await this.runs.prune(days);
      if (pruned > 0) this.logger.info({ runs: pruned, olderThanDays: days }, 'old runs deleted (retention)');
      return pruned;
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'deleting old runs failed');
      return 0;
    }
  }

  /**
   * Queues a run for the tenant and executes it here (or, when this host already runs
   * `maxConcurrentRuns`, leaves it queued for the next host with room); CONFLICT when the tenant has
   * an active run, TENANT_BUSY when it is under another operation (a reset, a pause).
   */
  async trigger(tenantId: string, request: SyncRequest): Promise<SyncRun> {
    const config = this.tenants.config(tenantId);
    if (!config.source?.enabled)
      throw new RosterbridgeError('TENANT_CONFIG_INVALID', `tenant "${tenantId}" has no enabled source`, { tenant: tenantId, key: 'source' });
    const enabled = config.targets.filter((t) => t.enabled).map((t) => t.id);
    const targets = request.targets ?? enabled;
    const unknown = targets.filter((t) => !enabled.includes(t));
    if (unknown.length > 0)
      throw new RosterbridgeError(
        'BAD_REQUEST',
        `target(s) ${unknown.join(', ')} are not enabled for tenant "${tenantId}" (enabled: ${enabled.join(', ') || 'none'})`,
      );
    const sourceId = config.source.id;
    const preview = request.preview ?? false;
    if (preview && request.dryRun)
      throw new RosterbridgeError('SYNC_OPTIONS_CONFLICT', 'a preview is a dry run already (it writes nothing): ask for "preview" or "dryRun", not both', {
        field: 'dryRun',
      });
    const schools = request.schools === undefined ? undefined : [...new Set(request.schools)];
    if (schools && !preview)
      throw new RosterbridgeError(
        'SYNC_OPTIONS_CONFLICT',
        '"schools" scopes a preview only: a sync scoped to schools is not built yet (ask for "preview": true with "schools")',
        { field: 'schools' },
      );
    if (schools) {
      // Checked here once the roster has orgs; before its first sync, by the run once it has read them.
      const unknown = await this.engine.unknownOrgs(tenantId, schools);
      if (unknown && unknown.length > 0)
        throw new RosterbridgeError(
          'SCHOOLS_UNKNOWN',
          `the roster of tenant "${tenantId}" has no org ${unknown
            .slice(0, 20)
            .map((id) => JSON.stringify(id))
            .join(', ')}${unknown.length > 20 ? ` and ${unknown.length - 20} more` : ''}`,
          { schools: unknown.slice(0, 20) },
        );
    }
    const run = await this.operations.run(tenantId, { operation: 'sync', by: request.trigger }, async () => {
      await this.assertNotPaused(tenantId);
      return this.runs.create({
        tenantId,
        sourceId,
        mode: request.mode ?? 'full',
        dryRun: request.dryRun ?? false,
        preview,
        ...(schools ? { schools } : {}),
        trigger: request.trigger,
        targets,
      });
    });
    await this.take(run.id);
    return run;
  }

  /**
   * Starts a scheduled run of `targets` (those still enabled) and executes it here. A paused tenant,
   * or targets no longer enabled, give a `skipped` run with the reason instead. When the tenant has an
   * active run or is under another operation: CONFLICT or TENANT_BUSY (the queue retries later), or
   * on the last attempt a `skipped` run.
   */
  async triggerScheduled(
    tenantId: string,
    request: { targets: string[]; jobId: string; attempt: number; lastAttempt: boolean; trigger: string },
  ): Promise<SyncRun> {
    const config = this.tenants.config(tenantId);
    const enabled = new Set(config.targets.filter((t) => t.enabled).map((t) => t.id));
    const targets = request.targets.filter((t) => enabled.has(t));
    const run = {
      tenantId,
      sourceId: config.source?.id ?? '(none)',
      mode: 'full' as const,
      dryRun: false,
      trigger: request.trigger,
      targets,
      jobId: request.jobId,
      attempt: request.attempt,
    };
    let created: SyncRun;
    try {
      created = await this.operations.run(tenantId, { operation: 'sync', by: request.trigger }, async () => {
        const paused = await this.pausedReason(tenantId);
        if (paused) return this.skip(run, paused, 'TENANT_PAUSED');
        if (!config.source?.enabled) return this.skip(run, `tenant "${tenantId}" has no enabled source`, 'TENANT_CONFIG_INVALID');
        if (targets.length === 0)
          return this.skip({ ...run, targets: request.targets }, `none of the scheduled targets (${request.targets.join(', ')}) is enabled any more`);
        return this.runs.create(run);
      });
    } catch (err) {
      if (request.lastAttempt && err instanceof RosterbridgeError && (err.code === 'CONFLICT' || err.code === 'TENANT_BUSY'))
        return this.skip(run, `${err.message} (scheduled run given up after its retries)`, err.code);
      throw err;
    }
    if (created.status === 'queued') await this.take(created.id);
    return created;
  }

  private async skip(run: NewRun, reason: string, code?: string): Promise<SyncRun> {
    const skipped = await this.runs.createSkipped(run, reason, code);
    this.logger.info({ tenant: run.tenantId, run: skipped.id, reason }, 'scheduled run skipped');
    return skipped;
  }

  /** The latest run a queue job started, if any. */
  runOfJob(jobId: string): Promise<SyncRun | undefined> {
    return this.runs.latestForJob(jobId);
  }

  /**
   * Resolves when the run is no longer queued or running (it ended, or waits held for an operator),
   * whichever host executes it. Rejects with CANCELLED when `signal` aborts first.
   */
  async waitUntilSettled(runId: string, signal: AbortSignal): Promise<SyncRun> {
    for (;;) {
      const local = this.running.get(runId);
      if (local) await Promise.race([local.done.catch(() => undefined), abortion(signal)]);
      const run = await this.get(runId);
      if (run.status !== 'queued' && run.status !== 'running') return run;
      if (signal.aborted)
        throw new RosterbridgeError('CANCELLED', `stopped waiting for run ${runId}: this host is shutting down; the run goes on under its lease`);
      await sleep(local ? 50 : 1000, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Feeds one target from the ledger without reading the source: a target with no cursor (newly
   * enabled, or reset) gets the whole snapshot, one with a cursor catches up on the change log.
   */
  async backfill(tenantId: string, targetId: string, trigger: string): Promise<SyncRun> {
    const config = this.tenants.config(tenantId);
    if (!config.targets.some((t) => t.id === targetId && t.enabled))
      throw new RosterbridgeError('BAD_REQUEST', `target "${targetId}" is not enabled for tenant "${tenantId}"`);
    if (!config.source?.enabled)
      throw new RosterbridgeError('TENANT_CONFIG_INVALID', `tenant "${tenantId}" has no enabled source`, { tenant: tenantId, key: 'source' });
    const sourceId = config.source.id;
    const run = await this.operations.run(tenantId, { operation: 'backfill', target: targetId, by: trigger }, async () => {
      await this.assertNotPaused(tenantId);
      return this.runs.create({ tenantId, sourceId, mode: 'backfill', dryRun: false, trigger, targets: [targetId] });
    });
    await this.take(run.id);
    return run;
  }

  /**
   * Resets a target: the product forgets the tenant's sync state (its `reset`) and the target's
   * cursor is dropped, so its next run is a first run (a back-fill from the ledger). Refused while
   * the tenant has an active run (CONFLICT) or is under another operation (TENANT_BUSY).
   */
  async resetTarget(tenantId: string, targetId: string, by: string): Promise<void> {
    this.tenants.get(tenantId);
    await this.operations.run(tenantId, { operation: 'reset', target: targetId, by }, async () => {
      const active = await this.operations.activeRun(tenantId);
      if (active)
        throw new RosterbridgeError('CONFLICT', `tenant "${tenantId}" has an active run ${active.id} (${active.status}); reset the target after it ends`, {
          tenant: tenantId,
          run: active.id,
          status: active.status,
        });
      await this.resetter(tenantId, targetId);
    });
    this.logger.info({ tenant: tenantId, target: targetId, by }, 'target reset: its next run is a first run');
  }

  /**
   * Pauses a tenant: no run starts until it is resumed. Refused (TENANT_BUSY) while a run is queued
   * or running — cancel it, or pause after it ends — or another operation is under way; a run held
   * for an operator may wait paused.
   */
  async pause(tenantId: string, by: string, reason?: string): Promise<void> {
    this.tenants.get(tenantId);
    await this.operations.run(tenantId, { operation: 'pause', by }, async () => {
      const active = await this.operations.activeRun(tenantId);
      if (active && active.status !== 'held')
        throw busy(tenantId, `run ${active.id} (${active.status}); cancel it or pause after it ends`, { run: active.id, status: active.status });
      await this.runs.setPaused(tenantId, true, by, reason);
    });
  }

  /** Resumes a paused tenant (TENANT_BUSY while another operation is under way). */
  async resume(tenantId: string, by: string): Promise<void> {
    this.tenants.get(tenantId);
    await this.operations.run(tenantId, { operation: 'resume', by }, () => this.runs.setPaused(tenantId, false, by));
  }

  /** Why the tenant may not run now (paused in its file or by an operator), or undefined. */
  async pausedReason(tenantId: string): Promise<string | undefined> {
    if (this.tenants.config(tenantId).paused) return `tenant "${tenantId}" is paused in its config file`;
    const state = await this.runs.tenantState(tenantId);
    return state?.paused ? `tenant "${tenantId}" was paused by ${state.changedBy} at ${state.changedAt}${state.reason ? `: ${state.reason}` : ''}` : undefined;
  }

  private async assertNotPaused(tenantId: string): Promise<void> {
    const reason = await this.pausedReason(tenantId);
    if (reason) throw new RosterbridgeError('TENANT_PAUSED', reason, { tenant: tenantId });
  }

  /** Resolves when the run has ended, or at once with its state when this host does not execute it. */
  async settled(runId: string): Promise<SyncRun> {
    const active = this.running.get(runId);
    if (active) return active.done;
    return this.get(runId);
  }

  /**
   * Cancels a queued or running run (the host executing it notices at its next heartbeat); a held
   * run is rejected instead.
   */
  async cancel(runId: string, by: string): Promise<SyncRun> {
    // A run this host executes stops at once, without a query first: on the embedded database a
    // preview holds the one connection until it ends.
    const executing = this.running.get(runId);
    if (executing) {
      executing.controller.abort();
      const ended = await executing.done;
      // One that was held on the way: cancelling a held run rejects it.
      return ended.status === 'held' ? this.engine.reject(runId, by) : ended;
    }
    const run = await this.get(runId);
    if (run.status === 'held') return this.engine.reject(runId, by);
    if (run.status !== 'queued' && run.status !== 'running') throw new RosterbridgeError('CONFLICT', `run ${runId} has already ended (${run.status})`);
    const active = this.running.get(runId);
    if (active) {
      active.controller.abort();
      return active.done;
    }
    await this.runs.update(runId, { status: 'cancelled', reason: `cancelled by ${by}`, ended: true });
    return this.get(runId);
  }

  /** Approves a held run: it commits, then this host applies it. */
  async approve(runId: string, by: string): Promise<SyncRun> {
    await this.engine.approve(runId, by);
    await this.take(runId);
    return this.get(runId);
  }

  /** Rejects a held run: nothing is applied. */
  async reject(runId: string, by: string): Promise<SyncRun> {
    return this.engine.reject(runId, by);
  }

  /** Takes every run waiting for a host (queued, or abandoned by a host that died). */
  async sweep(): Promise<string[]> {
    if (this.stopping) return [];
    const taken: string[] = [];
    try {
      for (const runId of await this.runs.claimable()) {
        if (this.running.size >= (this.options.maxConcurrentRuns ?? Infinity)) break;
        if (!this.running.has(runId) && (await this.take(runId))) taken.push(runId);
      }
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'sweeping for runs failed');
    }
    return taken;
  }

  /** Resolves once the housekeeping of ended runs (pruning the ledger) is done. */
  idle(): Promise<void> {
    return this.engine.idle();
  }

  /** Interrupts what runs (their state stays resumable by the next host) and waits for them to stop. */
  async dispose(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const r of this.running.values()) r.controller.abort(SHUTDOWN);
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.engine.idle();
    // Give the runs back at once rather than waiting for their leases to expire.
    await this.runs.releaseLeases(this.options.hostId).catch(() => undefined);
    this.subscription.dispose();
    this.onDidProgressEmitter.dispose();
  }

  /** Claims a run and executes it here; false when another host holds it. */
  private async take(runId: string): Promise<boolean> {
    if (this.stopping || this.running.has(runId)) return false;
    if (this.running.size >= (this.options.maxConcurrentRuns ?? Infinity)) return false;
    if (!(await this.runs.claim(runId, this.options.hostId, this.options.leaseMs))) return false;
    this.logger.info({ run: runId, host: this.options.hostId }, 'run taken');
    const controller = new AbortController();
    // The run reads its tenant's config as it is now until it ends, whatever a reload reads meanwhile.
    let pin: Disposable | undefined;
    const done = this.get(runId)
      .then((run) => {
        pin = this.tenants.pin(run.tenantId);
        return this.prepare(run);
      })
      .then(() => this.engine.execute(runId, controller.signal))
      .catch(async (err: unknown) => {
        this.logger.error({ run: runId, err: errorMessage(err) }, 'run crashed');
        // A tenant removed by a reload while its run waited is a coded failure, not an internal one.
        const errorCode = isRosterbridgeError(err) && err.code === 'TENANT_NOT_FOUND' ? err.code : 'INTERNAL';
        await this.runs.update(runId, { status: 'failed', errorCode, errorMessage: errorMessage(err), ended: true }).catch(() => undefined);
        return this.get(runId);
      })
      .finally(() => {
        void pin?.dispose();
        this.running.delete(runId);
      });
    this.running.set(runId, { controller, done });
    return true;
  }

  /** Renews this host's leases, and stops runs another host cancelled. */
  private async heartbeat(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    try {
      const cancelled = await this.runs.renewLeases(this.options.hostId, ids, this.options.leaseMs);
      for (const id of cancelled) this.running.get(id)?.controller.abort();
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'renewing run leases failed');
    }
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
  options?: RosterTargetOpenOptions,
): Promise<OpenedTarget> {
  const use = tenants.config(tenantId).targets.find((t) => t.id === targetId && t.enabled);
  if (!use?.pluginId) throw new RosterbridgeError('TENANT_CONFIG_INVALID', `target "${targetId}" is not enabled for tenant "${tenantId}"`);
  // A preview's queries are rolled back: a plugin activated in one would lose its migrations.
  if (options?.preview && plugins.get(use.pluginId)?.state !== 'active')
    throw new RosterbridgeError(
      'PLUGIN_FAILED',
      `plugin "${use.pluginId}" is not active; a preview does not activate plugins (run a sync, or check the plugin's state)`,
      {
        plugin: use.pluginId,
      },
    );
  await plugins.activate(use.pluginId, `onTarget:${targetId}`);
  const target = targets.get(targetId);
  if (!target) throw new RosterbridgeError('PLUGIN_FAILED', `plugin "${use.pluginId}" is active but registered no implementation for target "${targetId}"`);
  const manifest = plugins.allManifests().find((m) => m.id === use.pluginId)!;
  const contribution = manifest.contributes.targets.find((t) => t.id === targetId)!;
  // The manifest was validated: every contract parses. The version is the one it is delivered.
  const versions = new Map<RosterEntity, number>();
  for (const name of contribution.consumes) {
    const parsed = parseRosterContract(name);
    if (parsed.ok) versions.set(parsed.contract.entity, parsed.contract.version);
  }
  const context = plugins.contextOf(use.pluginId);
  const session = await withDeadline(target.open(context.forTenant(tenantId), options), deadlineMs, `target "${targetId}" open() for tenant ${tenantId}`);
  // Its batches are applied in the engine's transaction, bound to the plugin's schema.
  return { session, consumes: new Set(versions.keys()), versions, schema: context.storage.schema };
}

/** A promise that resolves when `signal` aborts. */
function abortion(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
