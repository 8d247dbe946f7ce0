import { createHash } from 'node:crypto';
import { parseExpression } from 'cron-parser';
import PgBoss from 'pg-boss';
import type { Pool } from 'pg';
import { type Disposable, type Logger, type SyncRun, TRANSIENT_ERROR_CODES, errorMessage, isRosterbridgeError } from '@rosterbridge/core';
import type { TenantConfig } from '../tenants/tenant-config';
import type { TenantRegistry } from '../tenants/tenant-registry';
import type { SyncService } from './sync-service';

/** The schema pg-boss keeps its queues, jobs and cron schedules in. */
export const QUEUE_SCHEMA = 'rosterbridge_queue';
const QUEUE_PREFIX = 'rosterbridge-sync-';
/** The advisory lock key hosts take while setting up the queue ("rbqueue" in ASCII). */
const SETUP_LOCK = 0x7262717565756;

/** When a tenant's targets sync by themselves: targets sharing a cron and time zone run together. */
export interface TenantSchedule {
  tenantId: string;
  /** The pg-boss queue (and schedule) name. */
  queue: string;
  cron: string;
  timezone: string;
  targets: string[];
  /** Where the cron and time zone came from, per target. */
  origins: Record<string, string>;
}

/** What a scheduled job carries. */
interface ScheduledJobData {
  tenantId: string;
  targets: string[];
  cron: string;
  timezone: string;
}

/** How the scheduler runs. */
export interface SyncSchedulerOptions {
  /** How often each host asks the queue for due jobs. */
  pollSeconds: number;
  /** How often one host checks which cron schedules are due (pg-boss allows 1–45 s). */
  cronCheckSeconds: number;
  /** A job still active after this long is given up and retried. */
  maxRunHours: number;
  retryLimit: number;
  /** First retry delay; pg-boss doubles it each retry (with jitter). */
  retryDelaySeconds: number;
  /** Deadline for handing back active jobs on shutdown. */
  shutdownTimeoutMs: number;
  /**
   * Serialize the setup (pg-boss's schema, queues, schedules) with other hosts starting at the same
   * moment, through an advisory lock on a connection of its own; concurrent setups can deadlock.
   * Off for the embedded database: one host, one connection.
   */
  lockSetup: boolean;
}

/**
 * The tenants' schedules, computed from their config: each enabled target with a schedule (its own,
 * or its plugin's default), grouped by cron and time zone so targets due at the same moment share a
 * run.
 */
export function tenantSchedules(config: TenantConfig): TenantSchedule[] {
  if (!config.source?.enabled) return [];
  const groups = new Map<string, TenantSchedule>();
  for (const target of config.targets) {
    if (!target.enabled || !target.schedule) continue;
    const { cron, timezone, origin } = target.schedule;
    const key = `${cron}\u0000${timezone}`;
    let group = groups.get(key);
    if (!group) {
      const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
      group = { tenantId: config.id, queue: `${QUEUE_PREFIX}${config.id}-${hash}`, cron, timezone, targets: [], origins: {} };
      groups.set(key, group);
    }
    group.targets.push(target.id);
    group.origins[target.id] = origin;
  }
  return [...groups.values()];
}

/** The next `count` times a schedule fires, as ISO instants. */
export function nextFireTimes(cron: string, timezone: string, count: number, from: Date = new Date()): string[] {
  const interval = parseExpression(cron, { tz: timezone, currentDate: from });
  return Array.from({ length: count }, () => interval.next().toDate().toISOString());
}

/**
 * Runs the tenants' schedules on pg-boss, in the database every host shares. pg-boss evaluates the
 * crons (with their time zones) once for all hosts and puts one job on the schedule's queue when
 * one is due; whichever host fetches the job starts the run, which is then executed once under the
 * run lease like any other. A run that fails transiently (the source down, slow or rate-limited,
 * its package not uploaded yet, another run still active) makes the job fail, and pg-boss retries
 * it with exponential backoff; a job handed back by a host shutting down, or given up after
 * `maxRunHours`, finds its run on the next attempt instead of starting another.
 */
export class SyncScheduler implements Disposable {
  private boss: PgBoss | undefined;
  private readonly stopping = new AbortController();
  private readonly queues = new Set<string>();
  private subscription: Disposable | undefined;
  private reconciling: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly syncs: SyncService,
    private readonly tenants: TenantRegistry,
    private readonly logger: Logger,
    private readonly options: SyncSchedulerOptions,
  ) {}

  /** Starts pg-boss (creating or migrating its schema), writes the tenants' schedules and works their queues. */
  async start(): Promise<TenantSchedule[]> {
    const pool = this.pool;
    const boss = new PgBoss({
      // pg-boss shares the host's pool: on the embedded database there is exactly one connection.
      db: { executeSql: (text: string, values: any[]) => pool.query(text, values) },
      schema: QUEUE_SCHEMA,
      cronMonitorIntervalSeconds: this.options.cronCheckSeconds,
      cronWorkerIntervalSeconds: Math.min(this.options.cronCheckSeconds, 5),
    });
    boss.on('error', (err) => this.logger.error({ err: errorMessage(err) }, 'queue (pg-boss) error'));
    const lock = this.options.lockSetup ? await pool.connect() : undefined;
    try {
      await lock?.query('select pg_advisory_lock($1)', [SETUP_LOCK]);
      await boss.start();
      this.boss = boss;
      // A reload of the tenant files (POST /tenants/reload, SIGHUP) reconciles the schedules.
      this.subscription = this.tenants.onDidReload(() => {
        if (this.stopping.signal.aborted) return;
        this.reconcile().catch((err: unknown) => this.logger.error({ err: errorMessage(err) }, 'schedules not reconciled after a reload'));
      });
      return await this.reconcile();
    } finally {
      await lock?.query('select pg_advisory_unlock($1)', [SETUP_LOCK]).catch(() => undefined);
      lock?.release();
    }
  }

  /**
   * Makes pg-boss's schedules match the tenants' config, and works every scheduled queue. Calls
   * made while one is under way run after it, in turn.
   */
  reconcile(): Promise<TenantSchedule[]> {
    const next = this.reconciling.catch(() => undefined).then(() => this.reconcileNow());
    this.reconciling = next;
    return next;
  }

  private async reconcileNow(): Promise<TenantSchedule[]> {
    const boss = this.boss!;
    const desired = this.tenants
      .latest()
      .filter((t) => t.config)
      .flatMap((t) => tenantSchedules(t.config!));
    const queueOptions = {
      retryLimit: this.options.retryLimit,
      retryDelay: this.options.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: this.options.maxRunHours * 3600,
    };
    for (const s of desired) {
      await boss.createQueue(s.queue, { name: s.queue, ...queueOptions });
      await boss.updateQueue(s.queue, { name: s.queue, ...queueOptions });
      const data: ScheduledJobData = { tenantId: s.tenantId, targets: s.targets, cron: s.cron, timezone: s.timezone };
      await boss.schedule(s.queue, s.cron, data, { tz: s.timezone });
      if (!this.queues.has(s.queue)) {
        await boss.work<ScheduledJobData>(s.queue, { pollingIntervalSeconds: this.options.pollSeconds, batchSize: 1, includeMetadata: true }, async ([job]) =>
          this.handle(job!),
        );
        this.queues.add(s.queue);
      }
    }
    const wanted = new Set(desired.map((s) => s.queue));
    for (const stale of (await boss.getSchedules()).filter((s) => s.name.startsWith(QUEUE_PREFIX) && !wanted.has(s.name))) {
      await boss.unschedule(stale.name);
      this.logger.info({ queue: stale.name }, 'schedule removed: no tenant target uses it any more');
    }
    for (const queue of [...this.queues].filter((q) => !wanted.has(q))) {
      await boss.offWork(queue);
      this.queues.delete(queue);
    }
    this.logger.info({ schedules: desired.map((s) => ({ tenant: s.tenantId, cron: s.cron, timezone: s.timezone, targets: s.targets })) }, 'schedules set');
    return desired;
  }

  /** Stops taking jobs; a job whose run is still going is handed back (its run goes on under its lease). */
  async dispose(): Promise<void> {
    this.stopping.abort();
    void this.subscription?.dispose();
    await this.reconciling.catch(() => undefined);
    await this.boss?.stop({ graceful: true, wait: true, timeout: this.options.shutdownTimeoutMs, close: false });
  }

  /**
   * One due schedule: start its run (or find the one this job already started) and wait for it to
   * settle. Throws, so that pg-boss retries the job, when the run failed transiently.
   */
  private async handle(job: PgBoss.JobWithMetadata<ScheduledJobData>): Promise<void> {
    const { tenantId, targets, cron, timezone } = job.data;
    const attempt = job.retryCount;
    const log = this.logger.child({ tenant: tenantId, job: job.id, attempt });
    const previous = await this.syncs.runOfJob(job.id);
    let run: SyncRun;
    if (previous && (isActive(previous) || !isTransientFailure(previous) || (previous.attempt ?? 0) >= attempt)) {
      // The job came back (a host shut down, or the job expired) while its run went on: follow it.
      run = previous;
    } else {
      try {
        run = await this.syncs.triggerScheduled(tenantId, {
          targets,
          jobId: job.id,
          attempt,
          lastAttempt: attempt >= job.retryLimit,
          trigger: `schedule ${cron} (${timezone})${attempt > 0 ? `, retry ${attempt} of ${job.retryLimit}` : ''}`,
        });
      } catch (err) {
        if (isRosterbridgeError(err) && (err.code === 'CONFLICT' || err.code === 'TENANT_BUSY')) {
          log.info({ reason: err.message }, 'scheduled run waits: the tenant has an active run or another operation; retrying later');
        } else {
          log.error({ err: errorMessage(err) }, 'scheduled run could not start');
        }
        throw err;
      }
    }
    const settled = await this.syncs.waitUntilSettled(run.id, this.stopping.signal);
    if (isTransientFailure(settled)) {
      const retrying = attempt < job.retryLimit;
      log.warn(
        { run: settled.id, code: settled.errorCode, retrying },
        retrying ? 'scheduled run failed transiently; the queue retries it with backoff' : 'scheduled run failed transiently; no retries left',
      );
      throw new Error(`run ${settled.id} failed with ${settled.errorCode}: ${settled.errorMessage ?? ''}`);
    }
  }
}

function isActive(run: SyncRun): boolean {
  return run.status === 'queued' || run.status === 'running';
}

function isTransientFailure(run: SyncRun): boolean {
  return run.status === 'failed' && run.errorCode !== undefined && TRANSIENT_ERROR_CODES.has(run.errorCode);
}
