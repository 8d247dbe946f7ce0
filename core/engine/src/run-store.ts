import { randomUUID } from 'node:crypto';
import { type Insertable, type Kysely, type Selectable, type UpdateObject, sql } from 'kysely';
import {
  type Censor,
  emptyRunCounts,
  nullCensor,
  relaxedTransaction,
  RosterbridgeError,
  type RosterEntity,
  type RosterIssue,
  type RosterIssueTally,
  type RunCounts,
  type RunHold,
  type RunPhase,
  type RunStatus,
  type SyncRun,
} from '@rosterbridge/core';
import type { EngineDatabase, RunTable } from './engine-database';

/** A stored record-level issue of a run. */
export interface StoredRunIssue extends RosterIssue {
  seq: number;
  targetId?: string;
}

/** What a target did in a run so far, as recorded with its cursor ({@link RunStore.saveTargetProgress}). */
export interface TargetProgress {
  entities: RunCounts['targets'][string]['entities'];
  /** The product's figures as it last reported them. */
  figures?: Record<string, number>;
  /** The product's own code for the records it could not take. */
  errorCode?: string;
  /** Its `finish` ran: nothing is left to do. */
  finished: boolean;
  /**
   * A back-fill under way: the entity it is at, and the last sourcedId of it applied (none: the
   * entity is to start); `complete`: every entity is in, only the cursor is left to write.
   */
  backfill?: { entity: RosterEntity | 'complete'; after?: string };
}

/** What {@link RunStore.saveTargetProgress} records: the progress, and the issues of what was just applied. */
export interface TargetProgressUpdate extends Omit<TargetProgress, 'finished'> {
  /** The issues to store. */
  issues: readonly RosterIssue[];
  /** Issues counted but not stored (past the run's cap per code), per code and severity. */
  unstoredIssues?: readonly RosterIssueTally[];
  finished?: boolean;
}

/** The code of the summary issues that say how many issues of a code a run counted but did not store. */
export const ISSUES_NOT_STORED = 'ISSUES_NOT_STORED';

/** What a new run is. */
export type NewRun = Pick<SyncRun, 'tenantId' | 'sourceId' | 'mode' | 'dryRun' | 'trigger' | 'targets' | 'jobId' | 'attempt'> &
  Partial<Pick<SyncRun, 'preview' | 'schools'>>;

/**
 * Runs and their issues in the core schema (`db` is bound to it). Every text a run records (its
 * reason and error, its targets' errors, its hold, its issues, a pause's reason) passes through
 * `censor` before it is stored, so that no secret a source or target echoed is kept.
 */
export class RunStore {
  constructor(
    private readonly db: Kysely<EngineDatabase>,
    private readonly censor: Censor = nullCensor,
  ) {}

  /**
   * Records a queued run and returns it. Throws CONFLICT when the tenant already has an active run
   * (queued, running or held), even one created by another host a moment ago.
   */
  async create(run: NewRun, id: string = randomUUID()): Promise<SyncRun> {
    try {
      await this.insert(run, id);
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      const active = await this.db
        .selectFrom('run')
        .select(['id', 'status'])
        .where('tenant_id', '=', run.tenantId)
        .where('status', 'in', ['queued', 'running', 'held'])
        .executeTakeFirst();
      throw new RosterbridgeError(
        'CONFLICT',
        active?.status === 'held'
          ? `tenant "${run.tenantId}" has a held run ${active.id}; approve or reject it first`
          : `tenant "${run.tenantId}" already has an active run${active ? ` ${active.id} (${active.status})` : ''}`,
        { tenant: run.tenantId, run: active?.id },
      );
    }
    return (await this.get(id))!;
  }

  /**
   * Claims a run for `owner` until `leaseMs` from now: a queued run nobody holds, or a running run
   * whose owner stopped renewing its lease (a host that died). True when this owner now holds it.
   */
  async claim(runId: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('run')
      .set({ owner, lease_until: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
      .where('id', '=', runId)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb.or([eb('owner', 'is', null), eb('lease_until', '<', sql<Date>`now()`)])]),
          eb.and([eb('status', '=', 'running'), eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)])]),
        ]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Extends the leases of the runs `owner` executes; returns those cancelled meanwhile (by any host). */
  async renewLeases(owner: string, runIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (runIds.length === 0) return [];
    await this.db
      .updateTable('run')
      .set({ lease_until: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
      .where('owner', '=', owner)
      .where('id', 'in', runIds)
      .where('status', 'in', ['queued', 'running'])
      .execute();
    const cancelled = await this.db.selectFrom('run').select('id').where('id', 'in', runIds).where('status', '=', 'cancelled').execute();
    return cancelled.map((r) => r.id);
  }

  /** Ends `owner`'s claims (a host shutting down), so another host may take its runs at once. */
  async releaseLeases(owner: string): Promise<void> {
    await this.db.updateTable('run').set({ owner: null, lease_until: null }).where('owner', '=', owner).where('status', 'in', ['queued', 'running']).execute();
  }

  /** Runs any host may take: queued and unclaimed, or running with an expired lease. */
  async claimable(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('run')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb.or([eb('owner', 'is', null), eb('lease_until', '<', sql<Date>`now()`)])]),
          eb.and([eb('status', '=', 'running'), eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)])]),
        ]),
      )
      .orderBy('queued_at')
      .execute();
    return rows.map((r) => r.id);
  }

  private async insert(run: NewRun, id: string): Promise<void> {
    await this.db
      .insertInto('run')
      .values({
        ...runRow(run, id),
        status: 'queued',
        // A back-fill stages nothing: it starts where a committed run feeds its targets.
        phase: run.mode === 'backfill' ? 'applying' : 'queued',
        committed_at: run.mode === 'backfill' ? sql`now()` : null,
      })
      .execute();
  }

  /**
   * Records a run that did not happen, and why (a paused tenant at its scheduled time, another run
   * still active when a schedule's retries ran out): it shows in the history as `skipped`.
   */
  async createSkipped(run: NewRun, reason: string, errorCode?: string): Promise<SyncRun> {
    const id = randomUUID();
    await this.db
      .insertInto('run')
      .values({
        ...runRow(run, id),
        status: 'skipped',
        phase: 'done',
        reason: this.censor.scrub(reason),
        error_code: errorCode ?? null,
        started_at: sql`now()`,
        ended_at: sql`now()`,
      })
      .execute();
    return (await this.get(id))!;
  }

  /** The latest run started for a queue job, if any. */
  async latestForJob(jobId: string): Promise<SyncRun | undefined> {
    const row = await this.db.selectFrom('run').selectAll().where('job_id', '=', jobId).orderBy('queued_at', 'desc').limit(1).executeTakeFirst();
    return row && toRun(row);
  }

  /** One run, or undefined. */
  async get(id: string): Promise<SyncRun | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const row = await this.db.selectFrom('run').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRun(row);
  }

  /** A tenant's runs, newest first. */
  async list(tenantId: string, options: { limit: number; before?: string }): Promise<SyncRun[]> {
    let q = this.db.selectFrom('run').selectAll().where('tenant_id', '=', tenantId);
    if (options.before) q = q.where('queued_at', '<', new Date(options.before));
    const rows = await q.orderBy('queued_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toRun);
  }

  /**
   * When the tenant's last committed run of this source started (other than `exceptRunId`): what a
   * delta pull asks changes since. Undefined before any committed run.
   */
  async lastCommittedStart(tenantId: string, sourceId: string, exceptRunId: string): Promise<Date | undefined> {
    const row = await this.db
      .selectFrom('run')
      .select('started_at')
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('committed_at', 'is not', null)
      .where('mode', '!=', 'backfill')
      .where('id', '!=', exceptRunId)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.started_at ? new Date(row.started_at) : undefined;
  }

  /** Whether an operator paused the tenant, by whom and why. */
  async tenantState(tenantId: string): Promise<{ paused: boolean; changedBy: string; reason?: string; changedAt: string } | undefined> {
    const row = await this.db.selectFrom('tenant_state').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return (
      row && { paused: row.paused, changedBy: row.changed_by, ...(row.reason ? { reason: row.reason } : {}), changedAt: new Date(row.changed_at).toISOString() }
    );
  }

  /** Records an operator pausing or resuming a tenant. */
  async setPaused(tenantId: string, paused: boolean, by: string, reason?: string): Promise<void> {
    const scrubbed = reason === undefined ? null : this.censor.scrub(reason);
    await this.db
      .insertInto('tenant_state')
      .values({ tenant_id: tenantId, paused, changed_by: by, reason: scrubbed })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ paused, changed_by: by, reason: scrubbed, changed_at: sql`now()` }))
      .execute();
  }

  /** The tenant's held run, if one waits for an operator. */
  async heldRun(tenantId: string): Promise<SyncRun | undefined> {
    const row = await this.db.selectFrom('run').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'held').executeTakeFirst();
    return row && toRun(row);
  }

  /** Updates a run's state. */
  async update(
    id: string,
    patch: Partial<{
      status: RunStatus;
      phase: RunPhase;
      reason: string | null;
      errorCode: string | null;
      errorMessage: string | null;
      counts: RunCounts;
      hold: RunHold | null;
      started: boolean;
      ended: boolean;
      sourceFingerprint: string | null;
    }>,
    trx: Kysely<EngineDatabase> = this.db,
  ): Promise<void> {
    const values: UpdateObject<EngineDatabase, 'run'> = {};
    if (patch.status) values.status = patch.status;
    if (patch.phase) values.phase = patch.phase;
    if (patch.reason !== undefined) values.reason = patch.reason === null ? null : this.censor.scrub(patch.reason);
    if (patch.errorCode !== undefined) values.error_code = patch.errorCode;
    if (patch.errorMessage !== undefined) values.error_message = patch.errorMessage === null ? null : this.censor.scrub(patch.errorMessage);
    if (patch.counts) values.counts = JSON.stringify(this.censor.scrubDeep(patch.counts));
    if (patch.hold !== undefined) values.hold = patch.hold === null ? null : JSON.stringify(this.censor.scrubDeep(patch.hold));
    if (patch.started) values.started_at = sql<Date>`now()`;
    if (patch.ended) values.ended_at = sql<Date>`now()`;
    if (patch.sourceFingerprint !== undefined) values.source_fingerprint = patch.sourceFingerprint;
    await trx.updateTable('run').set(values).where('id', '=', id).execute();
  }

  /**
   * Records a running run's counts so far, for readers of the run, in a transaction whose commit
   * does not wait for the disk: progress lost to a crash of the database is recounted or
   * superseded, and the run's end ({@link update}) writes its counts durably.
   */
  async updateProgress(id: string, counts: RunCounts): Promise<void> {
    await relaxedTransaction(this.db, (trx) =>
      trx
        .updateTable('run')
        .set({ counts: JSON.stringify(this.censor.scrubDeep(counts)) })
        .where('id', '=', id)
        .execute(),
    );
  }

  /**
   * A run's issues as its `counts.issues` says them: every issue of each severity, stored or only
   * counted (past the cap per code), and, when some were not stored, how many per severity and
   * per code. The stored issues of a severity plus `notStored` of it are the total.
   */
  async issueCounts(runId: string): Promise<RunCounts['issues']> {
    const rows = await this.db
      .selectFrom('run_issue')
      .select(['severity', (eb) => eb.fn.countAll<string>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('severity')
      .execute();
    const n = (severity: string) => Number(rows.find((r) => r.severity === severity)?.n ?? 0);
    const counts: RunCounts['issues'] = { errors: n('error'), warnings: n('warning') };
    const unstored = await this.db
      .selectFrom('run_issue_unstored')
      .select(['code', 'severity', (eb) => eb.fn.sum<string>('count').as('n')])
      .where('run_id', '=', runId)
      .groupBy(['code', 'severity'])
      .orderBy('code')
      .execute();
    if (unstored.length === 0) return counts;
    counts.notStored = { errors: 0, warnings: 0, byCode: {} };
    for (const row of unstored) {
      const severity = row.severity === 'error' ? 'errors' : 'warnings';
      const count = Number(row.n);
      counts[severity] += count;
      counts.notStored[severity] += count;
      counts.notStored.byCode[row.code] = (counts.notStored.byCode[row.code] ?? 0) + count;
    }
    return counts;
  }

  /** How many issues of each code each producer (the source: no target) of a run has stored, the summaries aside. */
  async storedIssueCodes(runId: string): Promise<{ targetId?: string; code: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('run_issue')
      .select(['target_id', 'code', (eb) => eb.fn.countAll<string>().as('n')])
      .where('run_id', '=', runId)
      .where('code', '!=', ISSUES_NOT_STORED)
      .groupBy(['target_id', 'code'])
      .execute();
    return rows.map((r) => ({ ...(r.target_id === null ? {} : { targetId: r.target_id }), code: r.code, count: Number(r.n) }));
  }

  /**
   * Writes the run's summary of what it did not store: one {@link ISSUES_NOT_STORED} warning per
   * producer and code with issues counted but not stored, replacing those written before (so it can
   * be written again at each end of a phase, and after a crash, without doubling).
   */
  async summarizeUnstoredIssues(runId: string, perCode: number): Promise<void> {
    const tallies = await this.db
      .selectFrom('run_issue_unstored')
      .select(['target_id', 'code', 'severity', 'count'])
      .where('run_id', '=', runId)
      .orderBy('target_id')
      .orderBy('code')
      .orderBy('severity')
      .execute();
    const existing = await this.db.selectFrom('run_issue').select('seq').where('run_id', '=', runId).where('code', '=', ISSUES_NOT_STORED).execute();
    if (tallies.length === 0 && existing.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('run_issue').where('run_id', '=', runId).where('code', '=', ISSUES_NOT_STORED).execute();
      for (const { target_id: target, code, severity, count } of tallies) {
        const from = target === '' ? 'the source' : `target ${target}`;
        const n = Number(count);
        const message =
          `${n} more ${code} ${severity}${n === 1 ? '' : 's'} from ${from} were counted but not stored: ` +
          `a run stores the first ${perCode} issues of each code (sync.maxIssuesPerCode); the run's counts include them all`;
        await insertIssues(trx, runId, [{ code: ISSUES_NOT_STORED, severity: 'warning', message }], target === '' ? undefined : target);
      }
    });
  }

  /**
   * Records what a target did in a run so far (its counts per entity, the product's own code for
   * records it could not take) with the issues of the batch just applied, in `trx`: the transaction
   * that moves the target's cursor past that batch ({@link Ledger.advanceCursor}), or the one that
   * records its `finish` (`finished`).
   */
  async saveTargetProgress(trx: Kysely<EngineDatabase>, runId: string, targetId: string, progress: TargetProgressUpdate): Promise<void> {
    const values = {
      entities: JSON.stringify(progress.entities),
      figures: progress.figures ? JSON.stringify(progress.figures) : null,
      error_code: progress.errorCode ?? null,
      finished: progress.finished ?? false,
      backfill_entity: progress.backfill?.entity ?? null,
      backfill_after: progress.backfill?.after ?? null,
    };
    await trx
      .insertInto('run_target_progress')
      .values({ run_id: runId, target_id: targetId, ...values })
      .onConflict((oc) => oc.columns(['run_id', 'target_id']).doUpdateSet(values))
      .execute();
    await insertIssues(trx, runId, this.censor.scrubDeep(progress.issues), targetId);
    await insertUnstored(trx, runId, targetId, progress.unstoredIssues ?? []);
  }

  /**
   * Runs `work` in a transaction of the core schema whose commit does not wait for the disk (a
   * target's back-fill page and the run's record of it, say): lost whole, if at all, to a crash of
   * the database; the run's end, durable, flushes it.
   */
  transaction<T>(work: (trx: Kysely<EngineDatabase>) => Promise<T>): Promise<T> {
    return relaxedTransaction(this.db, work);
  }

  /** What each target of a run did up to its cursor ({@link saveTargetProgress}). */
  async targetProgress(runId: string): Promise<Map<string, TargetProgress>> {
    const rows = await this.db.selectFrom('run_target_progress').selectAll().where('run_id', '=', runId).execute();
    return new Map(
      rows.map((r) => [
        r.target_id,
        {
          entities: typeof r.entities === 'string' ? JSON.parse(r.entities) : r.entities,
          ...(r.figures ? { figures: typeof r.figures === 'string' ? JSON.parse(r.figures) : r.figures } : {}),
          ...(r.error_code ? { errorCode: r.error_code } : {}),
          finished: Boolean(r.finished),
          ...(r.backfill_entity
            ? {
                backfill: {
                  entity: r.backfill_entity,
                  ...(r.backfill_after === null ? {} : { after: r.backfill_after }),
                },
              }
            : {}),
        },
      ]),
    );
  }

  /**
   * Forgets what a target did in a run (a back-fill that starts over after a crash: what it wrote
   * before is written again, and counted and reported once).
   */
  async clearTargetProgress(runId: string, targetId: string): Promise<void> {
    await this.db.deleteFrom('run_issue').where('run_id', '=', runId).where('target_id', '=', targetId).execute();
    await this.db.deleteFrom('run_issue_unstored').where('run_id', '=', runId).where('target_id', '=', targetId).execute();
    await this.db.deleteFrom('run_target_progress').where('run_id', '=', runId).where('target_id', '=', targetId).execute();
  }

  /** Forgets a run's issues (a run that stages again reports what it finds anew). */
  async clearIssues(runId: string): Promise<void> {
    await this.db.deleteFrom('run_issue').where('run_id', '=', runId).execute();
    await this.db.deleteFrom('run_issue_unstored').where('run_id', '=', runId).execute();
  }

  /**
   * Appends record-level issues of a run (the source's, or a target's with its id), and adds to
   * the tally of those counted but not stored, in one transaction.
   */
  async addIssues(runId: string, issues: readonly RosterIssue[], targetId?: string, unstored: readonly RosterIssueTally[] = []): Promise<void> {
    if (unstored.length === 0) {
      await insertIssues(this.db, runId, this.censor.scrubDeep(issues), targetId);
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await insertIssues(trx, runId, this.censor.scrubDeep(issues), targetId);
      await insertUnstored(trx, runId, targetId, unstored);
    });
  }

  /** A page of a run's issues, in the order found, optionally of one severity or target. */
  async issues(runId: string, options: { severity?: 'error' | 'warning'; targetId?: string; after?: number; limit: number }): Promise<StoredRunIssue[]> {
    let q = this.db.selectFrom('run_issue').selectAll().where('run_id', '=', runId);
    if (options.severity) q = q.where('severity', '=', options.severity);
    if (options.targetId) q = q.where('target_id', '=', options.targetId);
    if (options.after !== undefined) q = q.where('seq', '>', String(options.after));
    const rows = await q.orderBy('seq').limit(options.limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      code: r.code,
      severity: r.severity,
      message: r.message,
      ...(r.target_id ? { targetId: r.target_id } : {}),
      ...(r.entity ? { entity: r.entity } : {}),
      ...(r.sourced_id ? { sourcedId: r.sourced_id } : {}),
      ...(r.file ? { file: r.file } : {}),
      ...(r.line !== null ? { line: r.line } : {}),
      ...(r.col !== null ? { column: r.col } : {}),
      ...(r.field ? { field: r.field } : {}),
    }));
  }

  /** Removes finished runs older than `days` with their issues (the ledger's versions are pruned by the ledger, not here). */
  async prune(olderThanDays: number): Promise<number> {
    const cutoff = new Date(Date.now() - olderThanDays * 86_400_000);
    const old = this.db.selectFrom('run').select('id').where('ended_at', '<', cutoff).where('status', 'not in', ['queued', 'running', 'held']);
    await this.db.deleteFrom('run_issue').where('run_id', 'in', old).execute();
    await this.db.deleteFrom('run_issue_unstored').where('run_id', 'in', old).execute();
    await this.db.deleteFrom('run_target_progress').where('run_id', 'in', old).execute();
    const result = await this.db.deleteFrom('run').where('id', 'in', old).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

async function insertIssues(db: Kysely<EngineDatabase>, runId: string, issues: readonly RosterIssue[], targetId?: string): Promise<void> {
  for (let i = 0; i < issues.length; i += 500) {
    const slice = issues.slice(i, i + 500);
    await db
      .insertInto('run_issue')
      .values(
        slice.map((issue) => ({
          run_id: runId,
          target_id: targetId ?? null,
          entity: issue.entity ?? null,
          sourced_id: issue.sourcedId ?? null,
          file: issue.file ?? null,
          line: issue.line ?? null,
          col: issue.column ?? null,
          field: issue.field ?? null,
          code: issue.code,
          severity: issue.severity,
          message: issue.message,
        })),
      )
      .execute();
  }
}

/** Adds counts of issues not stored to a run's tally, per producer ('' for the source), code and severity. */
async function insertUnstored(db: Kysely<EngineDatabase>, runId: string, targetId: string | undefined, tallies: readonly RosterIssueTally[]): Promise<void> {
  if (tallies.length === 0) return;
  await db
    .insertInto('run_issue_unstored')
    .values(tallies.map((t) => ({ run_id: runId, target_id: targetId ?? '', code: t.code, severity: t.severity, count: t.count })))
    .onConflict((oc) =>
      oc.columns(['run_id', 'target_id', 'code', 'severity']).doUpdateSet({ count: sql`${sql.ref('run_issue_unstored.count')} + excluded.count` }),
    )
    .execute();
}

/** The columns every new run row has, whatever its status. */
function runRow(run: NewRun, id: string): Omit<Insertable<RunTable>, 'status' | 'phase'> {
  return {
    id,
    tenant_id: run.tenantId,
    source_id: run.sourceId,
    mode: run.mode,
    dry_run: run.dryRun,
    preview: run.preview ?? false,
    schools: run.schools === undefined ? null : JSON.stringify(run.schools),
    trigger: run.trigger,
    targets: JSON.stringify(run.targets),
    counts: JSON.stringify(emptyRunCounts(run.targets)),
    job_id: run.jobId ?? null,
    attempt: run.attempt ?? null,
  };
}

function toRun(row: Selectable<RunTable>): SyncRun {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : undefined);
  const startedAt = iso(row.started_at);
  const endedAt = iso(row.ended_at);
  return {
    id: row.id,
    tenantId: row.tenant_id,
    sourceId: row.source_id,
    mode: row.mode,
    dryRun: row.dry_run,
    preview: Boolean(row.preview),
    ...(row.schools ? { schools: typeof row.schools === 'string' ? (JSON.parse(row.schools) as string[]) : row.schools } : {}),
    trigger: row.trigger,
    targets: typeof row.targets === 'string' ? JSON.parse(row.targets) : row.targets,
    ...(row.job_id ? { jobId: row.job_id, attempt: row.attempt ?? 0 } : {}),
    status: row.status,
    phase: row.phase,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.error_code ? { errorCode: row.error_code } : {}),
    ...(row.error_message ? { errorMessage: row.error_message } : {}),
    counts: typeof row.counts === 'string' ? JSON.parse(row.counts) : row.counts,
    ...(row.hold ? { hold: typeof row.hold === 'string' ? JSON.parse(row.hold) : row.hold } : {}),
    queuedAt: iso(row.queued_at)!,
    ...(startedAt ? { startedAt } : {}),
    ...(row.committed_at ? { committedAt: iso(row.committed_at) } : {}),
    ...(endedAt ? { endedAt } : {}),
    ...(startedAt && endedAt ? { durationMs: Date.parse(endedAt) - Date.parse(startedAt) } : {}),
  };
}
