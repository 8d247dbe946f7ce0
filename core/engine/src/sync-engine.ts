import type { Kysely } from 'kysely';
import { withDeadline } from '@rosterbridge/core';
import { Emitter, type Event } from '@rosterbridge/core';
import { boundedCall, boundedItems } from './plugin-calls';

/** How long a load that will not commit is given to roll back before its connection is left (ms). */
const RELEASE_LOAD_MS = 5000;
import type { Logger } from '@rosterbridge/core';
import { type ErrorCode, RosterbridgeError, errorMessage, isRosterbridgeError } from '@rosterbridge/core';
import { ROSTER_ENTITY_ORDER, type RosterEntity } from '@rosterbridge/core';
import { type RosterIssue, type RosterIssueTally, rosterIssue } from '@rosterbridge/core';
import type { DeletionScope, Ledger, PreparedBatch, StagedChange, StagingWriter } from './ledger';
import type { EngineDatabase } from './engine-database';
import type { RosterBatch, RosterSourceSession } from '@rosterbridge/core';
import type {
  ApplyContext,
  LoadContext,
  LoadTransaction,
  OpenLoadTransaction,
  RosterChangeEvent,
  RosterTargetOpenOptions,
  RosterTargetSession,
  TargetApplyResult,
  TargetLoader,
} from '@rosterbridge/core';
import { rosterChange, rosterContracts } from '@rosterbridge/core';
import { RunIssueLog, countAdmission } from './run-issue-log';
import type { RunStore, TargetProgress } from './run-store';
import { SCHOOL_SCOPE_ORDER, type SchoolScope, SchoolScopeBuilder } from './school-scope';
import { type RunCounts, type RunHold, type RunStatus, type SyncRun, type SyncRunEvent, emptyTargetCounts } from '@rosterbridge/core';

/** A target opened for a run, with the entities it consumes (from its manifest). */
export interface OpenedTarget {
  session: RosterTargetSession;
  consumes: ReadonlySet<RosterEntity>;
  /**
   * The version of each consumed entity's change contract the target takes (its manifest's
   * `roster.<entity>@<version>`): its envelopes name it, and a version other than 1 is derived
   * through the registered adapter ({@link rosterContracts}). An entity left out gets version 1.
   */
  versions?: ReadonlyMap<RosterEntity, number>;
  /**
   * The plugin's own schema, on the engine's database: each batch is then applied in the engine's
   * transaction bound to it ({@link ApplyContext}), with the cursor. Without it, the target writes
   * in transactions of its own (a batch may be delivered again after a crash).
   */
  schema?: string;
}

/** What the engine needs from the host, per run. */
export interface SyncEngineHost {
  openSource(tenantId: string): Promise<RosterSourceSession>;
  openTarget(tenantId: string, targetId: string, options?: RosterTargetOpenOptions): Promise<OpenedTarget>;
  thresholds(tenantId: string): { maxDeletePercent: number; maxChangePercent: number };
  /** Every target the tenant has enabled (a run may feed only some of them). */
  enabledTargets(tenantId: string): string[];
  /**
   * Opens the transaction of a target's load of one entity (on a connection of its own), in which
   * the engine also records the load: PostgreSQL servers. Without it, back-fills are applied.
   */
  readonly openLoadTransaction?: OpenLoadTransaction;
  /**
   * Runs `work` with every query the host's database serves in it (the engine's, the targets',
   * their loads') inside one transaction that is rolled back once `work` has settled: a readiness
   * preview. A transaction opened in it is a savepoint of that one. Without it, no preview runs.
   */
  readonly rolledBack?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Deadline of one target `apply` call. */
  readonly applyTimeoutMs: number;
  /**
   * Deadlines of a source's calls, in ms (default `applyTimeoutMs`): `fingerprint`, `read` (the time
   * to each next batch) and `dispose`. A call past its deadline is abandoned and the run fails with
   * DEADLINE_EXCEEDED naming the source and the call; a cancel is answered whatever the source does.
   */
  readonly sourceDeadlines?: { fingerprint?: number; read?: number; dispose?: number };
  readonly batchSize: number;
  /** How many issues of each code a run stores, from the source and from each target; the rest are counted ({@link RunIssueLog}). */
  readonly maxIssuesPerCode: number;
  readonly logger: Logger;
}

/** Live progress of a run, for the API's event stream and the CLI's bars. */
export interface RunProgress {
  runId: string;
  tenantId: string;
  phase: 'staging' | 'applying' | 'done';
  status: SyncRun['status'];
  entity?: RosterEntity;
  target?: string;
  counts: RunCounts;
}

/** The abort reason a host gives when it shuts down: the run is left resumable, not cancelled. */
export const SHUTDOWN = 'shutdown';

/** Thrown inside a run to end it with a status other than failed. */
class RunStop extends Error {
  constructor(
    readonly status: 'cancelled' | 'interrupted',
    message: string,
  ) {
    super(message);
  }

  static for(signal: AbortSignal, while_: string): RunStop {
    return signal.reason === SHUTDOWN
      ? new RunStop('interrupted', `the host shut down while ${while_}; the run resumes when a host starts`)
      : new RunStop('cancelled', `cancelled while ${while_}`);
  }
}

/**
 * Executes sync runs: stage (read the source, diff against the ledger, log the changes), check the
 * holds, commit the ledger, then feed every target from the change log by its cursor, awaiting all
 * targets before the next batch. A run can be executed again after a crash at any point: it
 * restages if it had not committed, and resumes feeding if it had.
 */
export class SyncEngine {
  private readonly onDidProgressEmitter = new Emitter<RunProgress>();
  /** Fires after each staged or applied batch and at each phase change. */
  readonly onDidProgress: Event<RunProgress> = this.onDidProgressEmitter.event;
  private readonly onDidRunEventEmitter = new Emitter<SyncRunEvent>();
  /** `sync.run.*` domain events of the runs this engine executes. */
  readonly onDidRunEvent: Event<SyncRunEvent> = this.onDidRunEventEmitter.event;

  constructor(
    private readonly runs: RunStore,
    private readonly ledger: Ledger,
    private readonly host: SyncEngineHost,
  ) {}

  /**
   * Executes a run from wherever it stands. Resolves with the run as it ended (success, partial,
   * failed, held, cancelled); never rejects for expected failures, which are recorded on the run.
   */
  async execute(runId: string, signal: AbortSignal): Promise<SyncRun> {
    let run = await this.get(runId);
    const log = this.host.logger.child({ run: runId, tenant: run.tenantId });
    this.runEvent('sync.run.started', run);
    try {
      if (run.mode !== 'backfill' && (run.phase === 'queued' || run.phase === 'staging')) run = await this.stage(run, signal, log);
      if (run.phase === 'staged') run = run.preview ? await this.preview(run, signal, log) : await this.decide(run);
      // A preview whose results were recorded before the host stopped: only its end is left.
      else if (run.preview && run.phase === 'done' && run.status === 'running') run = await this.endPreview(run);
      if (run.phase === 'applying' && !run.preview) run = await this.apply(run, signal, log);
    } catch (err) {
      // Stopped on purpose, whatever the source or a target threw on the way out (a transport's
      // CANCELLED, an aborted query): the run ends cancelled or interrupted, not failed.
      const stop = err instanceof RunStop || !signal.aborted ? err : RunStop.for(signal, run.phase === 'applying' ? 'applying' : 'reading the source');
      run = await this.end(run, stop, log);
    }
    if (run.status === 'held') this.runEvent('sync.run.held', run);
    else if (run.status === 'failed') this.runEvent('sync.run.failed', run);
    else if (run.status !== 'queued' && run.status !== 'running') this.runEvent('sync.run.completed', run);
    return run;
  }

  private runEvent(type: SyncRunEvent['type'], run: SyncRun): void {
    this.onDidRunEventEmitter.fire({
      id: `${run.id}:${type}`,
      type,
      tenantId: run.tenantId,
      runId: run.id,
      source: run.sourceId,
      occurredAt: new Date().toISOString(),
      data: run,
    });
  }

  /**
   * Approves a held run: records the decision and commits its staged changes. The run is then
   * `running` in phase `applying` with no owner, for a host to claim and {@link execute}.
   */
  async approve(runId: string, by: string): Promise<SyncRun> {
    const run = await this.get(runId);
    if (run.status !== 'held') throw new RosterbridgeError('CONFLICT', `run ${runId} is ${run.status}, not held`);
    await this.runs.update(runId, { hold: { ...run.hold!, decision: 'approved', decidedBy: by }, reason: `hold approved by ${by}: ${run.hold!.reason}` });
    await this.ledger.commit(runId, run.counts.source, async (trx) => {
      await trx
        .updateTable('run')
        .set({ status: 'running', phase: 'applying', committed_at: new Date(), owner: null, lease_until: null })
        .where('id', '=', runId)
        .execute();
    });
    return this.get(runId);
  }

  /**
   * The ids among `orgIds` that name no org of the tenant's snapshot; undefined while the snapshot
   * holds no org (before the first sync: a preview then checks them once it has read the source).
   */
  async unknownOrgs(tenantId: string, orgIds: readonly string[]): Promise<string[] | undefined> {
    if (((await this.ledger.sizes(tenantId)).orgs ?? 0) === 0) return undefined;
    const states = await this.ledger.states(tenantId, 'orgs', orgIds);
    return orgIds.filter((id) => states.get(id) !== 'current');
  }

  /** Rejects a held run: its staged changes are dropped, no target is touched. */
  async reject(runId: string, by: string): Promise<SyncRun> {
    const run = await this.get(runId);
    if (run.status !== 'held') throw new RosterbridgeError('CONFLICT', `run ${runId} is ${run.status}, not held`);
    await this.ledger.discard(runId);
    await this.runs.update(runId, {
      status: 'cancelled',
      phase: 'done',
      reason: `hold rejected by ${by}: ${run.hold!.reason}`,
      hold: { ...run.hold!, decision: 'rejected', decidedBy: by },
      ended: true,
    });
    return this.get(runId);
  }

  private async stage(run: SyncRun, signal: AbortSignal, log: Logger): Promise<SyncRun> {
    // A crash mid-staging leaves a partial log and part of the issues: start over.
    await this.ledger.discard(run.id);
    await this.runs.clearIssues(run.id);
    let issues = RunIssueLog.fresh(this.runs, run.id, this.host.maxIssuesPerCode);
    let counts = { ...run.counts, source: {}, issues: { errors: 0, warnings: 0 } } as RunCounts;
    await this.runs.update(run.id, { status: 'running', phase: 'staging', started: run.startedAt === undefined, counts });
    let session: RosterSourceSession | undefined = await this.host.openSource(run.tenantId);
    let fingerprint: string | undefined;
    try {
      if (run.mode === 'delta' && !session.capabilities.delta)
        throw new RosterbridgeError('SOURCE_MODE_MISMATCH', `source "${run.sourceId}" cannot read deltas; run a full sync`);
      // A source whose fingerprint is the one the snapshot was read from is unchanged: it is still
      // read (for counts and issues), but nothing is looked up or staged. Only if the fingerprint
      // is the same after the read; otherwise the read is done again, staging.
      const fingerprintOf = (s: RosterSourceSession) =>
        boundedCall(() => s.fingerprint!(signal), this.sourceDeadline('fingerprint'), `source "${run.sourceId}" fingerprint()`, signal);
      const before = run.mode === 'full' && session.fingerprint ? await fingerprintOf(session) : undefined;
      const unchanged = before !== undefined && before === (await this.ledger.sourceFingerprint(run.tenantId));
      counts = await this.readSource(run, session, counts, unchanged, issues, signal);
      const after = before === undefined ? undefined : await fingerprintOf(session);
      if (unchanged && after !== before) {
        log.info('the source changed while it was read: reading it again, staging every change');
        // A fresh session: nothing it kept from the first read (reference ids, a cursor) is reused.
        const used = session;
        session = undefined;
        await this.disposeSource(run, used, log);
        session = await this.host.openSource(run.tenantId);
        await this.ledger.discard(run.id);
        await this.runs.clearIssues(run.id);
        issues = RunIssueLog.fresh(this.runs, run.id, this.host.maxIssuesPerCode);
        counts = await this.readSource(run, session, { ...counts, source: {}, issues: { errors: 0, warnings: 0 } }, false, issues, signal);
      } else {
        fingerprint = after === before ? after : undefined;
      }
    } catch (err) {
      // What was read before the failure stays on record with the run ({@link end} counts its issues).
      await issues.flushSource().catch(() => undefined);
      await this.runs.update(run.id, { counts }).catch(() => undefined);
      throw err;
    } finally {
      if (session) await this.disposeSource(run, session, log);
    }
    await issues.flushSource();
    await this.runs.summarizeUnstoredIssues(run.id, this.host.maxIssuesPerCode);
    counts.issues = await this.runs.issueCounts(run.id);
    await this.runs.update(run.id, { phase: 'staged', counts, sourceFingerprint: fingerprint ?? null });
    log.info({ counts: counts.source }, 'run staged');
    return this.get(run.id);
  }

  /**
   * Reads every entity of the source, staging what changed (or, with `unchanged`, only counting:
   * the source is known to be the snapshot's), then the deletions in reverse referential order.
   */
  private async readSource(
    run: SyncRun,
    session: RosterSourceSession,
    counts: RunCounts,
    unchanged: boolean,
    issues: RunIssueLog,
    signal: AbortSignal,
  ): Promise<RunCounts> {
    // A delta pull by time asks for changes since the last committed run began (a package-based
    // delta carries its own changes and ignores it).
    const since = run.mode === 'delta' ? await this.runs.lastCommittedStart(run.tenantId, run.sourceId, run.id) : undefined;
    const entities = ROSTER_ENTITY_ORDER.filter((e) => session.capabilities.entities.includes(e));
    // What each entity's read tells its deletions (filled by readEntities).
    const scopes = new Map<RosterEntity, DeletionScope>();
    // The run's versions stream into the ledger as the source is read (one COPY on a server).
    const writer = unchanged ? undefined : this.ledger.beginStaging(run.tenantId, run.id);
    try {
      await this.readEntities(run, session, counts, entities, { since, scopes, writer, issues }, signal);
      await writer?.close();
    } catch (err) {
      await writer?.abort(errorMessage(err));
      throw err;
    }
    if (signal.aborted) throw RunStop.for(signal, 'reading the source');
    if (unchanged) {
      // Nothing is staged; a read whose absences cannot be trusted still says what it held back.
      const sizes = await this.ledger.sizes(run.tenantId);
      for (const [entity, scope] of scopes) {
        if (!scope.complete || scope.unidentified === 0) continue;
        const tally = counts.source[entity]!;
        tally.heldBack = Math.max(0, (sizes[entity] ?? 0) - scope.knownSeen);
        await issues.addSourceIssues(counts.issues, [deletionsHeld(entity, scope.unidentified, tally.heldBack)]);
      }
      return counts;
    }
    // The anti-join of a complete read's deletions needs fresh statistics of the ids it saw.
    if ([...scopes.values()].some((scope) => scope.complete)) await this.ledger.analyze();
    for (const entity of [...entities].reverse()) {
      const scope = scopes.get(entity)!;
      const tally = counts.source[entity]!;
      tally.deleted = await this.ledger.stageDeletions(run.tenantId, run.id, entity, scope);
      if (scope.complete && scope.unidentified > 0 && !scope.snapshotEmpty) {
        tally.heldBack = await this.ledger.countUnseen(run.tenantId, run.id, entity);
        await issues.addSourceIssues(counts.issues, [deletionsHeld(entity, scope.unidentified, tally.heldBack)]);
      }
    }
    return counts;
  }

  /** Reads and stages each entity in turn (see {@link readSource}); without `writer`, only counts. */
  private async readEntities(
    run: SyncRun,
    session: RosterSourceSession,
    counts: RunCounts,
    entities: readonly RosterEntity[],
    state: { since?: Date; scopes: Map<RosterEntity, DeletionScope>; writer?: StagingWriter; issues: RunIssueLog },
    signal: AbortSignal,
  ): Promise<void> {
    const { since, scopes, writer, issues } = state;
    const unchanged = writer === undefined;
    for (const entity of entities) {
      const tally = (counts.source[entity] = { read: 0, rejected: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, skipped: 0, heldBack: 0 });
      // A first sync of the entity: nothing to look up, remember or delete.
      const snapshotEmpty = !unchanged && (await this.ledger.isEmpty(run.tenantId, entity));
      const scope: DeletionScope = { complete: false, unidentified: 0, knownSeen: 0, marked: 0, snapshotEmpty };
      scopes.set(entity, scope);
      const stageBatch = async (batch: RosterBatch, prepared?: PreparedBatch): Promise<void> => {
        const rejectedIds = batch.rejectedIds ?? [];
        const rejected = batch.rowsRead - batch.records.length;
        tally.read += batch.rowsRead;
        tally.rejected += rejected;
        // A rejected row without a readable sourcedId could be any record: absences prove nothing.
        scope.unidentified += Math.max(0, rejected - rejectedIds.length);
        let kept: readonly string[];
        let ignored: readonly string[];
        if (unchanged) {
          // The snapshot is this source's reading: only tombstones and rejected rows need a look.
          const tombstones = batch.records.filter((r) => r.status === 'tobedeleted').map((r) => r.sourcedId);
          const states = await this.ledger.states(run.tenantId, entity, [...tombstones, ...rejectedIds]);
          ignored = tombstones.filter((id) => !states.has(id));
          kept = [...new Set(rejectedIds)].filter((id) => states.get(id) === 'current');
          tally.unchanged += batch.records.length - ignored.length;
          scope.knownSeen += batch.records.length - tombstones.length + kept.length;
        } else {
          const outcome = await this.ledger.stage(writer!, run.tenantId, run.id, entity, batch.records, run.mode === 'full', prepared, rejectedIds);
          tally.created += outcome.created;
          tally.updated += outcome.updated;
          tally.unchanged += outcome.unchanged;
          scope.knownSeen += outcome.known;
          scope.marked += outcome.marked;
          ignored = outcome.ignoredIds;
          kept = outcome.keptIds;
        }
        tally.skipped += ignored.length;
        await issues.addSourceIssues(
          counts.issues,
          [...keptAsLastSynced(batch.issues, kept), ...ignored.map((id) => tombstoneUnknown(entity, id))],
          batch.unlistedIssues,
        );
        this.progress(run, 'staging', counts, { entity });
      };
      const read = {
        mode: run.mode === 'delta' ? ('delta' as const) : ('full' as const),
        since,
        batchSize: this.host.batchSize,
        signal,
        maxIssuesPerCode: this.host.maxIssuesPerCode,
      };
      const ledger = this.ledger;
      const sourceDeadline = (call: 'read') => this.sourceDeadline(call);
      // Each batch's look-up is sent as it is read: hashing (the CPU's part) overlaps the previous
      // batch's writing (the database's).
      async function* prepared(): AsyncGenerator<{ batch: RosterBatch; prepared?: PreparedBatch }> {
        const batches = boundedItems(session.read(entity, read), sourceDeadline('read'), (n) => `source "${run.sourceId}" read(${entity}) batch ${n}`, signal);
        for await (const batch of batches) {
          if (signal.aborted) throw RunStop.for(signal, 'reading the source');
          yield {
            batch,
            ...(unchanged
              ? {}
              : {
                  prepared: ledger.prepare(run.tenantId, run.id, entity, batch.records, {
                    snapshotEmpty,
                    trackSeen: run.mode === 'full',
                    rejectedIds: batch.rejectedIds ?? [],
                  }),
                }),
          };
        }
      }
      // One batch is staged while the next is read and prepared; a look-up sent for a batch never
      // staged (it may write) is awaited, whatever ended the read.
      await readAhead(
        prepared(),
        (p) => stageBatch(p.batch, p.prepared),
        async (p) => p.prepared?.known,
      );
      scope.complete = run.mode === 'full';
    }
  }

  /** After staging: a dry run ends here; a run crossing a threshold is held; the rest commit. */
  private async decide(run: SyncRun): Promise<SyncRun> {
    if (run.status === 'held') return run;
    const hold = await this.holdFor(run);
    if (run.dryRun || hold) {
      // A dry run ends here (its staged changes are dropped); a held one waits for an operator.
      if (run.dryRun) await this.ledger.discard(run.id);
      await this.runs.update(run.id, runOutcome({ committed: false, dryRun: run.dryRun, ...(hold ? { hold } : {}) }));
      const ended = await this.get(run.id);
      this.progress(ended, 'done', ended.counts);
      return ended;
    }
    await this.commit(run);
    return this.get(run.id);
  }

  /**
   * A readiness preview, once staged: in one transaction that is rolled back ({@link
   * SyncEngineHost.rolledBack}), the staged changes are committed and every target of the run fed
   * them exactly as a real run would ({@link apply}: its cursor's changes, or a back-fill with its
   * loads, then `finish`), so that their counts and issues are the real ones. Then everything is
   * rolled back (the targets' rows, cursors and states, the ledger's commit), the staged changes are
   * discarded as a dry run's are, and what the targets reported (kept in memory, within the issue
   * log's caps per code) is recorded with the run. Scoped to `run.schools`, the targets receive
   * only those schools' records ({@link SchoolScope}).
   */
  private async preview(run: SyncRun, signal: AbortSignal, log: Logger): Promise<SyncRun> {
    const rolledBack = this.host.rolledBack;
    if (!rolledBack) throw new RosterbridgeError('INTERNAL', 'this host cannot run previews: its database offers no rolled-back transaction');
    const keep = new PreviewKeep();
    await rolledBack(async () => {
      // In scope: what was in the schools before the run's changes, or is after them.
      const before = run.schools ? await this.schoolScope(run) : undefined;
      await this.commit(run);
      const after = run.schools ? await this.schoolScope(run, log) : undefined;
      const applying = await this.get(run.id);
      await this.apply(applying, signal, log, { keep, ...(before && after ? { scope: before.union(after) } : {}) });
    });
    const counts = keep.counts!;
    // What the targets reported, with the run's end of applying, and the staged changes dropped:
    // all or nothing, so that a host that stops in between finds the preview staged (and runs it
    // again) or recorded (and ends it).
    await this.runs.transaction(async (trx) => {
      for (const [targetId, kept] of keep.targets) {
        const entry = counts.targets[targetId];
        await this.runs.saveTargetProgress(trx, run.id, targetId, {
          entities: entry?.entities ?? {},
          ...(entry?.errorCode ? { errorCode: entry.errorCode } : {}),
          issues: kept.issues,
          unstoredIssues: [...kept.unstored.values()],
          finished: true,
        });
      }
      await this.ledger.discard(run.id, trx);
      await this.runs.update(run.id, { phase: 'done', counts }, trx);
    });
    log.info({ targets: Object.keys(counts.targets).length }, 'preview rolled back; its counts and issues recorded');
    return this.endPreview(await this.get(run.id));
  }

  /** Ends a preview whose results are recorded: its issue counts, and its status as a real run's would be. */
  private async endPreview(run: SyncRun): Promise<SyncRun> {
    const hold = await this.holdFor(run);
    await this.runs.summarizeUnstoredIssues(run.id, this.host.maxIssuesPerCode);
    const counts: RunCounts = { ...run.counts, issues: await this.runs.issueCounts(run.id) };
    const { status, ...outcome } = runOutcome({ committed: false, preview: true, ...(hold ? { hold } : {}), applied: { targets: run.targets, counts } });
    await this.runs.update(run.id, { status, ...outcome, counts });
    const done = await this.get(run.id);
    this.progress(done, 'done', done.counts);
    return done;
  }

  /**
   * The records of the run's schools in the tenant's snapshot (as it stands in the transaction);
   * with `log`, schools that are not orgs of it fail the run (SCHOOLS_UNKNOWN, naming them).
   */
  private async schoolScope(run: SyncRun, log?: Logger): Promise<SchoolScope> {
    const builder = new SchoolScopeBuilder(run.schools ?? []);
    for (const entity of SCHOOL_SCOPE_ORDER) {
      for (let after: string | undefined = ''; after !== undefined;) {
        const page = await this.ledger.snapshot(run.tenantId, entity, after, this.host.batchSize);
        builder.add(entity, page.records);
        after = page.next;
      }
      if (entity === 'orgs' && log) {
        const unknown = builder.unknownSchools();
        if (unknown.length > 0)
          throw new RosterbridgeError(
            'SCHOOLS_UNKNOWN',
            `the roster has no org ${unknown
              .slice(0, 20)
              .map((id) => JSON.stringify(id))
              .join(', ')}${unknown.length > 20 ? ` and ${unknown.length - 20} more` : ''}: a preview is scoped to orgs of the roster (their sourcedIds)`,
            { schools: unknown.slice(0, 20) },
          );
      }
    }
    const scope = builder.build();
    log?.info({ sizes: scope.sizes() }, 'preview scoped to schools');
    return scope;
  }

  private async commit(run: SyncRun): Promise<void> {
    const runId = run.id;
    await this.ledger.commit(runId, run.counts.source, async (trx) => {
      await trx.updateTable('run').set({ phase: 'applying', committed_at: new Date() }).where('id', '=', runId).execute();
    });
  }

  private async holdFor(run: SyncRun): Promise<RunHold | undefined> {
    const thresholds = this.host.thresholds(run.tenantId);
    // Only updates and deletions can cross a threshold: a run with neither needs no sizes.
    if (!Object.values(run.counts.source).some((c) => c && c.updated + c.deleted > 0)) return undefined;
    const sizes = await this.ledger.sizes(run.tenantId);
    const crossed: RunHold['crossed'] = [];
    for (const entity of ['users', 'enrollments'] as const) {
      const of = sizes[entity] ?? 0;
      const count = run.counts.source[entity]?.deleted ?? 0;
      const percent = of === 0 ? 0 : (100 * count) / of;
      if (percent > thresholds.maxDeletePercent) crossed.push({ entity, kind: 'delete', count, of, percent: round(percent) });
    }
    const of = Object.values(sizes).reduce((a, b) => a + (b ?? 0), 0);
    const count = Object.values(run.counts.source).reduce((a, c) => a + (c ? c.updated + c.deleted : 0), 0);
    const percent = of === 0 ? 0 : (100 * count) / of;
    if (percent > thresholds.maxChangePercent) crossed.push({ entity: 'all', kind: 'change', count, of, percent: round(percent) });
    if (crossed.length === 0) return undefined;
    const reason = crossed
      .map((c) =>
        c.kind === 'delete'
          ? `${c.count} of ${c.of} ${c.entity} (${c.percent}%) would be deleted, above ${thresholds.maxDeletePercent}%`
          : `${c.count} of ${c.of} records (${c.percent}%) would change, above ${thresholds.maxChangePercent}%`,
      )
      .join('; ');
    return { reason, thresholds, crossed };
  }

  private async apply(run: SyncRun, signal: AbortSignal, log: Logger, preview?: { keep: PreviewKeep; scope?: SchoolScope }): Promise<SyncRun> {
    await this.runs.update(run.id, { status: 'running' });
    const counts = run.counts;
    // What this run stored already, if it resumes after a crash: the caps per code go on from there.
    const report: ApplyReport = {
      counts,
      writtenAt: 0,
      issues: await RunIssueLog.resume(this.runs, run.id, this.host.maxIssuesPerCode),
      growth: new Map(),
      ...(preview ? { keep: preview.keep } : {}),
      ...(preview?.scope ? { scope: preview.scope } : {}),
    };
    // What each target did in this run up to its cursor, if the run resumes after a crash.
    const progress = await this.runs.targetProgress(run.id);
    const prunedSeq = await this.ledger.prunedSeq(run.tenantId);
    const active = new Map<string, { target: OpenedTarget; cursor: number }>();
    // Every session opened, to dispose even those of targets that failed on the way.
    const opened: OpenedTarget[] = [];
    const toBackfill = new Map<string, OpenedTarget>();
    try {
      for (const targetId of run.targets) {
        if (counts.targets[targetId]?.status === 'applied') continue;
        const done = progress.get(targetId);
        // A target's counts are what its durable progress says; what a crash cut short comes again.
        counts.targets[targetId] = {
          status: done?.finished ? 'applied' : 'pending',
          entities: done?.entities ?? {},
          ...(done?.figures ? { figures: done.figures } : {}),
          ...(done?.errorCode ? { errorCode: done.errorCode } : {}),
        };
        if (done?.finished) continue;
        try {
          const target = await this.host.openTarget(run.tenantId, targetId, run.preview ? { preview: true } : undefined);
          opened.push(target);
          const paused = target.session.pausedReason
            ? await this.deadline(() => target.session.pausedReason!(signal), `target ${targetId} pausedReason()`, signal)
            : undefined;
          if (paused) {
            counts.targets[targetId] = { ...counts.targets[targetId]!, status: 'skipped', reason: paused };
            log.info({ target: targetId, reason: paused }, 'target paused: skipped; it catches up from its cursor once it takes changes again');
            continue;
          }
          const cursor = await this.ledger.cursor(run.tenantId, targetId);
          if (cursor && cursor.lastSeq < prunedSeq)
            throw new RosterbridgeError(
              'TARGET_BEHIND_LEDGER',
              `target ${targetId} last synced up to change ${cursor.lastSeq}, but the ledger has forgotten the changes up to ${prunedSeq}: it may hold records deleted since. Reset the target; its next run back-fills it from the snapshot`,
            );
          if (cursor) active.set(targetId, { target, cursor: cursor.lastSeq });
          else {
            // A back-fill this run began (a crash cut it short) resumes where it got to; otherwise
            // it starts with the target's report afresh.
            if (!done?.backfill) {
              await this.runs.clearTargetProgress(run.id, targetId);
              report.issues.forget(targetId);
              counts.targets[targetId]!.entities = {};
            }
            toBackfill.set(targetId, target);
          }
        } catch (err) {
          if (err instanceof RunStop) throw err;
          this.targetFailed(counts, targetId, err, log);
        }
      }
      // Targets without a cursor (a first sync, a reset, a newly enabled target) are fed the
      // snapshot together: it is read once, and they write at the same time.
      if (toBackfill.size > 0) {
        const position = await this.backfill(run, toBackfill, report, progress, signal, log);
        for (const [targetId, target] of toBackfill) active.set(targetId, { target, cursor: position });
      }
      const { ledger, host } = this;
      // The log's batches from the lowest cursor on, until every target has failed.
      async function* batches(after: number): AsyncGenerator<StagedChange[]> {
        while (active.size > 0) {
          const changes = await ledger.changesAfter(run.tenantId, after, host.batchSize);
          yield changes;
          if (changes.length < host.batchSize) return;
          after = changes[changes.length - 1]!.seq;
        }
      }
      // The next batch of the log is read while the targets apply this one.
      await readAhead(batches(Math.min(...[...active.values()].map((a) => a.cursor))), async (changes) => {
        if (active.size === 0) return;
        if (signal.aborted) throw RunStop.for(signal, 'applying (targets resume from their cursors)');
        if (changes.length === 0) return;
        const last = changes[changes.length - 1]!.seq;
        const occurredAt = new Date().toISOString();
        await Promise.all(
          [...active].map(async ([targetId, a]) => {
            const events = changes
              .filter((c) => c.seq > a.cursor && a.target.consumes.has(c.entity) && (report.scope?.has(c.entity, c.sourcedId) ?? true))
              .map((c) => deliver(a.target, this.event(run, c, occurredAt)));
            try {
              // The batch, the target's counts so far, the batch's issues and the cursor commit
              // together: a crash delivers the batch again only if none of it committed.
              await this.applyOnce(run, report, targetId, a.target, events, signal, (work) =>
                this.ledger.withCursor(run.tenantId, targetId, last, run.id, work),
              );
              a.cursor = last;
            } catch (err) {
              active.delete(targetId);
              this.targetFailed(counts, targetId, err, log);
            }
          }),
        );
        await this.flush(run.id, report);
        this.progress(run, 'applying', counts);
      });
      await Promise.all(
        [...active].map(async ([targetId, a]) => {
          if (!a.target.session.finish) return;
          try {
            const result = await this.deadline(() => a.target.session.finish!(signal), `target ${targetId} finish()`, signal);
            const take = await this.runs.transaction((trx) => this.record(run, report, targetId, trx, result, { finished: true }));
            take();
          } catch (err) {
            active.delete(targetId);
            this.targetFailed(counts, targetId, err, log);
          }
        }),
      );
      for (const targetId of active.keys()) counts.targets[targetId]!.status = 'applied';
    } catch (err) {
      // What was applied before the stop is on record (the counts are written at most once a second).
      await this.flush(run.id, report).catch(() => undefined);
      throw err;
    } finally {
      await Promise.all(
        opened.map((t) =>
          Promise.resolve()
            .then(() => t.session.dispose())
            .catch((err) => log.error({ err: errorMessage(err) }, 'a target session failed to close')),
        ),
      );
    }
    if (preview) {
      // Everything is rolled back next: the preview records what it kept ({@link preview}).
      preview.keep.counts = counts;
      return run;
    }
    await this.flush(run.id, report);
    await this.runs.summarizeUnstoredIssues(run.id, this.host.maxIssuesPerCode);
    counts.issues = await this.runs.issueCounts(run.id);
    const { status, ...outcome } = runOutcome({ committed: true, applied: { targets: run.targets, counts } });
    await this.runs.update(run.id, { status, ...outcome, counts });
    // Only what every target with a cursor has passed may go, not just this run's targets.
    // Housekeeping: it runs after the run has ended, one at a time per tenant ({@link idle} waits for it).
    this.prune(run.tenantId, log);
    const done = await this.get(run.id);
    log.info({ status, durationMs: done.durationMs }, 'run finished');
    this.progress(done, 'done', counts);
    return done;
  }

  /**
   * Applies a batch to a target and records what it did (its counts so far, the batch's issues,
   * `extra`) in a transaction of `transaction`'s (one that also moves the cursor, or a back-fill's
   * position). A target that writes through {@link ApplyContext.transaction} does so inside that
   * same transaction: the batch and its record commit together, exactly once. One that writes in
   * its own has its record committed after it (a crash in between delivers the batch again).
   */
  private async applyOnce(
    run: SyncRun,
    report: ApplyReport,
    targetId: string,
    target: OpenedTarget,
    events: RosterChangeEvent[],
    signal: AbortSignal,
    transaction: (work: (trx: Kysely<EngineDatabase>) => Promise<TargetApplyResult | undefined>) => Promise<TargetApplyResult | undefined>,
    extra: { backfill?: TargetProgress['backfill'] } = {},
  ): Promise<void> {
    let take: (() => void) | undefined;
    let asked = false;
    let committed = false;
    // Set when the engine gives up on the call (a cancel, the deadline) while the target still
    // works: what the target then hands the batch's transaction is rolled back, never committed.
    // Once the engine records the batch it is past giving up: that commit is awaited.
    let gaveUp = false;
    let recording: Promise<unknown> | undefined;
    const schema = target.schema;
    const context: ApplyContext =
      schema === undefined
        ? {}
        : {
            transaction: async <DB>(work: (trx: Kysely<DB>) => Promise<TargetApplyResult>) => {
              if (asked) throw new RosterbridgeError('INTERNAL', `target ${targetId} asked for the batch's transaction twice`);
              asked = true;
              let recorded: (() => void) | undefined;
              try {
                const result = await transaction(async (trx) => {
                  // The one cast between the engine's tables and a plugin's: bound to the plugin's
                  // schema, the transaction holds the plugin's tables (`DB`, the plugin's word for
                  // them), which the engine does not know and kysely cannot retype.
                  const r = await work(trx.withSchema(schema) as unknown as Kysely<DB>);
                  if (gaveUp) throw new RosterbridgeError('CANCELLED', `target ${targetId}: its batch was abandoned; nothing of it was committed`);
                  recording = new Promise<void>((resolve) => (recorded = resolve));
                  take = await this.record(run, report, targetId, trx, r, extra);
                  return r;
                });
                committed = true;
                return result!;
              } finally {
                // After `committed` is set: whoever awaits the recording then sees the batch counted.
                recorded?.();
              }
            },
          };
    let result: TargetApplyResult | undefined;
    try {
      result =
        events.length > 0
          ? await this.deadline(() => target.session.apply(events, signal, context), `target ${targetId} apply() of ${events.length} changes`, signal)
          : undefined;
    } catch (err) {
      gaveUp = true;
      // The engine's own commit of the batch, if under way, ends before the run goes on.
      await recording;
      throw err;
    } finally {
      // What committed counts, even if the target failed after.
      if (committed) take!();
    }
    if (!committed) {
      if (asked) throw new RosterbridgeError('TARGET_FAILED', `target ${targetId} returned from apply() although the batch's transaction did not commit`);
      await transaction(async (trx) => ((take = await this.record(run, report, targetId, trx, result, extra)), result));
      take!();
    }
    if (schema !== undefined) await this.keepStatistics(report, targetId, schema, events.length);
  }

  /**
   * Refreshes the planner's statistics of a target's schema while a run fills it: each time the
   * run has applied 2,000 more changes to the target, its tables that were never analyzed (or much
   * smaller when they were) are ({@link Ledger.analyzeGrown}), as PostgreSQL advises after a bulk
   * load. Without it the four products' first sync looked up each batch's keys by scanning whole
   * tables, each batch costing more than the one before: 44 s of database time in KyberGate's
   * look-ups alone, 35-43 ms each, 5 ms after.
   */
  private async keepStatistics(report: ApplyReport, targetId: string, schema: string, applied: number): Promise<void> {
    const unchecked = (report.growth.get(targetId) ?? 0) + applied;
    report.growth.set(targetId, unchecked >= 2_000 ? 0 : unchecked);
    if (unchecked >= 2_000) await this.ledger.analyzeGrown(schema);
  }

  /**
   * Records in `trx` what the target did in the run so far, with `result` (its counts and issues)
   * added. Returns what the run's counts take once `trx` has committed (the caller calls it then):
   * a transaction that fails leaves them as they were.
   */
  private async record(
    run: SyncRun,
    report: ApplyReport,
    targetId: string,
    trx: Kysely<EngineDatabase>,
    result: TargetApplyResult | undefined,
    extra: { finished?: boolean; backfill?: TargetProgress['backfill'] } = {},
  ): Promise<() => void> {
    const counts = report.counts;
    const next = structuredClone(counts.targets[targetId]!);
    if (result) this.addTargetCounts(next, result);
    // The first issues of each code are stored, the rest counted, with the cursor: exact after a crash.
    const admission = report.issues.admit(targetId, result?.issues ?? []);
    await this.runs.saveTargetProgress(trx, run.id, targetId, {
      entities: next.entities,
      ...(next.figures ? { figures: next.figures } : {}),
      ...(next.errorCode ? { errorCode: next.errorCode } : {}),
      issues: admission.stored,
      unstoredIssues: admission.unstored,
      ...extra,
    });
    return () => {
      admission.commit();
      counts.targets[targetId] = { ...next, status: counts.targets[targetId]!.status };
      countAdmission(counts.issues, admission);
      report.keep?.add(targetId, admission.stored, admission.unstored);
    };
  }

  /**
   * Feeds targets without a cursor the whole snapshot as creations, reading each page once and
   * applying it to every target that consumes its entity at the same time; a target that can load
   * an entity in bulk ({@link RosterTargetSession.load}) is streamed it instead. Each page a target
   * applies commits with the back-fill's position and the target's counts and issues, so a back-fill
   * cut short by a crash resumes after its last page (`progress`); a loaded entity counts once its
   * load has committed. A target that fails is dropped (and reported); the others go on. Returns the
   * cursor the survivors then have (in `targets`, from which failed ones are removed).
   */
  private async backfill(
    run: SyncRun,
    targets: Map<string, OpenedTarget>,
    report: ApplyReport,
    progress: Map<string, TargetProgress>,
    signal: AbortSignal,
    log: Logger,
  ): Promise<number> {
    const counts = report.counts;
    const position = await this.ledger.lastCommittedSeq(run.tenantId);
    const fail = (targetId: string, err: unknown) => {
      if (err instanceof RunStop) throw err;
      targets.delete(targetId);
      this.targetFailed(counts, targetId, err, log);
    };
    // Where each target resumes: the entity, and the last sourcedId of it it applied (if any).
    const resume = new Map<string, { entity: number; after?: string }>();
    for (const targetId of targets.keys()) {
      const at = progress.get(targetId)?.backfill;
      const entity = at === undefined ? 0 : at.entity === 'complete' ? ROSTER_ENTITY_ORDER.length : ROSTER_ENTITY_ORDER.indexOf(at.entity);
      resume.set(targetId, { entity, ...(at?.after === undefined ? {} : { after: at.after }) });
    }
    for (const [index, entity] of ROSTER_ENTITY_ORDER.entries()) {
      const takers = [...targets.keys()].filter((id) => targets.get(id)!.consumes.has(entity) && resume.get(id)!.entity <= index);
      if (takers.length === 0) continue;
      // A target that applied part of this entity before a crash waits for the page after its last key.
      const waiting = new Map(
        takers.flatMap((id) => (resume.get(id)!.entity === index && resume.get(id)!.after !== undefined ? [[id, resume.get(id)!.after!] as const] : [])),
      );
      const loaders = new Map<string, { loader: TargetLoader; tx: LoadTransaction<EngineDatabase> }>();
      for (const targetId of takers) {
        const target = targets.get(targetId)!;
        const schema = target.schema;
        const openLoad = this.host.openLoadTransaction;
        if (!target.session.load || !openLoad || schema === undefined || waiting.has(targetId)) continue;
        let tx: LoadTransaction<EngineDatabase> | undefined;
        try {
          tx = await openLoad<EngineDatabase>();
          const opened = tx;
          const context: LoadContext = {
            trx: opened.db.withSchema(schema),
            copy: (table, columns, tuples) => opened.copy(`${schema}.${table}`, columns, tuples),
          };
          const loader = await this.deadline(() => target.session.load!(entity, signal, context), `target ${targetId} load(${entity})`, signal);
          if (loader) {
            loaders.set(targetId, { loader, tx: opened });
            tx = undefined;
          }
        } catch (err) {
          fail(targetId, err);
        } finally {
          // A target that answered no loader (or failed to) is fed by apply; its load's transaction goes.
          await tx?.rollback();
        }
      }
      const drop = async (targetId: string, err: unknown) => {
        const load = loaders.get(targetId);
        loaders.delete(targetId);
        if (load) await this.releaseLoad(load, errorMessage(err), log);
        fail(targetId, err);
      };
      try {
        const { ledger, host } = this;
        // The snapshot's pages of the entity, in key order.
        async function* pages(): AsyncGenerator<Awaited<ReturnType<Ledger['snapshot']>>['records']> {
          for (let after: string | undefined = ''; after !== undefined;) {
            const page = await ledger.snapshot(run.tenantId, entity, after, host.batchSize);
            yield page.records;
            after = page.next;
          }
        }
        // The next page is read while the targets apply this one.
        await readAhead(pages(), async (page) => {
          if (signal.aborted) throw RunStop.for(signal, 'back-filling a target');
          // The page's last key is where a back-fill resumes, whatever the scope leaves of it.
          const last = page[page.length - 1]?.sourcedId;
          const scope = report.scope;
          const records = scope ? page.filter((r) => scope.has(entity, r.sourcedId)) : page;
          if (records.length === 0 || last === undefined) return;
          const occurredAt = new Date().toISOString();
          const events = records.map((record): RosterChangeEvent =>
            rosterChange({
              id: `${run.tenantId}:snapshot:${position}:${entity}:${record.sourcedId}`,
              tenantId: run.tenantId,
              runId: run.id,
              source: run.sourceId,
              occurredAt,
              seq: position,
              data: { entity, kind: 'created', sourcedId: record.sourcedId, record },
            }),
          );
          await Promise.all(
            takers.map(async (targetId) => {
              const target = targets.get(targetId);
              if (!target) return;
              // The snapshot holds still during the run: a waiting target's last key is on some page.
              let mine = events.map((e) => deliver(target, e));
              const after = waiting.get(targetId);
              if (after !== undefined) {
                const at = records.findIndex((r) => r.sourcedId === after);
                if (at < 0) return;
                waiting.delete(targetId);
                mine = mine.slice(at + 1);
                if (mine.length === 0) return;
              }
              const loader = loaders.get(targetId)?.loader;
              try {
                if (loader) await this.deadline(() => loader.write(mine), `target ${targetId} load(${entity}) of ${mine.length} records`, signal);
                else {
                  await this.applyOnce(run, report, targetId, target, mine, signal, (work) => this.runs.transaction(work), {
                    backfill: { entity, after: last },
                  });
                }
              } catch (err) {
                await drop(targetId, err);
              }
            }),
          );
          await this.flush(run.id, report);
          this.progress(run, 'applying', counts, { entity });
        });
        // A loaded entity counts once its load has committed, in one transaction with the engine's
        // record of it (counts, issues, the back-fill's position at the next entity): a crash leaves
        // both or neither, and a resumed run loads the entity again from nothing.
        const next = ROSTER_ENTITY_ORDER[index + 1];
        await Promise.all(
          [...loaders].map(async ([targetId, { loader, tx }]) => {
            try {
              const result = await this.deadline(() => loader.end(), `target ${targetId} load(${entity}) end()`, signal);
              const take = await this.record(run, report, targetId, tx.db.withSchema(this.ledger.schemaName), result, {
                backfill: { entity: next ?? 'complete' },
              });
              await tx.commit();
              loaders.delete(targetId);
              take();
            } catch (err) {
              await drop(targetId, err);
              return;
            }
            // A load fills the target's tables at once: the planner learns of it before the next
            // entity's rows look these up (as keepStatistics does while apply fills them).
            const schema = targets.get(targetId)?.schema;
            if (schema !== undefined)
              await this.ledger
                .analyzeGrown(schema)
                .catch((err: unknown) => log.warn({ target: targetId, err: errorMessage(err) }, 'analyze after a load failed'));
          }),
        );
        await this.flush(run.id, report);
        this.progress(run, 'applying', counts, { entity });
      } finally {
        // A stop (cancel, shutdown) or a failed read leaves no load half-done: its transaction goes.
        await Promise.all([...loaders.values()].map((load) => this.releaseLoad(load, 'the back-fill stopped', log)));
      }
    }
    for (const targetId of targets.keys()) {
      const take = await this.ledger.withCursor(run.tenantId, targetId, position, run.id, (trx) => this.record(run, report, targetId, trx, undefined));
      take();
    }
    return position;
  }

  /** The deadline of a source's call (see {@link SyncEngineHost.sourceDeadlines}). */
  private sourceDeadline(call: 'fingerprint' | 'read' | 'dispose'): number {
    return this.host.sourceDeadlines?.[call] ?? this.host.applyTimeoutMs;
  }

  /** Disposes a source's session within its deadline; a dispose that fails or overruns is logged, not the run's failure. */
  private async disposeSource(run: SyncRun, session: RosterSourceSession, log: Logger): Promise<void> {
    try {
      await withDeadline(() => Promise.resolve(session.dispose()), this.sourceDeadline('dispose'), `source "${run.sourceId}" dispose()`);
    } catch (err) {
      log.warn({ source: run.sourceId, err: errorMessage(err) }, 'source dispose failed or overran; abandoned');
    }
  }

  /**
   * A target's call, bounded by the apply timeout and by the run's signal: a cancel or a shutdown is
   * answered at once whatever the target does (the call is abandoned; see applyOnce for why an
   * abandoned batch cannot commit, and {@link releaseLoad} for a load's transaction).
   */
  private async deadline<T>(call: () => Promise<T>, what: string, signal: AbortSignal): Promise<T> {
    try {
      return await boundedCall(() => Promise.resolve().then(call), this.host.applyTimeoutMs, what, signal);
    } catch (err) {
      // Stopped on purpose: the run stops (cancelled or interrupted), the target is not failed.
      if (signal.aborted) throw RunStop.for(signal, what);
      throw err;
    }
  }

  /**
   * Ends a load that will not commit: its loader is told, its transaction rolled back. Bounded: a
   * target abandoned in the middle of writing may hold its COPY open, behind which the rollback
   * would wait for ever; the connection is then left to close with the host (nothing committed).
   */
  private async releaseLoad(load: { loader: TargetLoader; tx: LoadTransaction<EngineDatabase> }, reason: string, log: Logger): Promise<void> {
    await withDeadline(
      async () => {
        await load.loader.abort?.(reason);
        await load.tx.rollback();
      },
      RELEASE_LOAD_MS,
      'rolling back an abandoned load',
    ).catch((err: unknown) =>
      log.warn({ err: errorMessage(err) }, 'a load could not be rolled back in time; its connection is left to close (nothing of it committed)'),
    );
  }

  /** A change of the log as version 1 of its contract, the version the ledger holds. */
  private event(run: SyncRun, change: StagedChange, occurredAt: string): RosterChangeEvent {
    return rosterChange({
      id: `${run.tenantId}:${change.seq}`,
      tenantId: run.tenantId,
      runId: change.runId,
      source: run.sourceId,
      occurredAt,
      seq: change.seq,
      data: { entity: change.entity, kind: change.kind, sourcedId: change.sourcedId, record: change.record },
    });
  }

  /** Adds what a target did with a batch to its entry of the run's counts (and the product's code for its errors). */
  private addTargetCounts(entry: RunCounts['targets'][string], result: TargetApplyResult): void {
    for (const [entity, c] of Object.entries(result.counts) as [RosterEntity, Partial<ReturnType<typeof emptyTargetCounts>>][]) {
      const sum = (entry.entities[entity] ??= emptyTargetCounts());
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c?.[k] ?? 0;
    }
    if (result.productCode && isProductCode(result.productCode) && result.issues.some((i) => i.severity === 'error')) entry.errorCode ??= result.productCode;
    // A figure is a measure, not a count: its last value stands. Bounded: 50 figures, finite numbers.
    for (const [name, value] of Object.entries(result.figures ?? {}).slice(0, 50))
      if (Number.isFinite(value) && /^[a-z][A-Za-z0-9]{0,63}$/.test(name)) (entry.figures ??= {})[name] = value;
  }

  /**
   * Writes the run's counts for its readers, at most once a second (the live progress events carry
   * every batch's; the run's end writes them in any case).
   */
  private async flush(runId: string, report: ApplyReport): Promise<void> {
    const now = Date.now();
    if (now - report.writtenAt < COUNTS_WRITE_INTERVAL_MS) return;
    report.writtenAt = now;
    await this.runs.updateProgress(runId, report.counts);
  }

  private targetFailed(counts: RunCounts, targetId: string, err: unknown, log: Logger): void {
    const entry = (counts.targets[targetId] ??= { status: 'pending', entities: {} });
    entry.status = 'failed';
    // A product's own code (details.productCode, e.g. SCHOOL_MANAGER_NO_USERS) says more than ours.
    const productCode = isRosterbridgeError(err) ? err.details.productCode : undefined;
    entry.errorCode = typeof productCode === 'string' && isProductCode(productCode) ? productCode : isRosterbridgeError(err) ? err.code : 'TARGET_FAILED';
    entry.error = errorMessage(err);
    log.error({ target: targetId, code: entry.errorCode, err: entry.error }, 'target failed; it resumes from its cursor on the next run');
  }

  /** Ends a run that threw: cancelled, held, or failed with the error's code; staged work is dropped before commit. */
  private async end(run: SyncRun, err: unknown, log: Logger): Promise<SyncRun> {
    const current = await this.get(run.id);
    const committed = current.phase === 'applying';
    if (!committed) await this.ledger.discard(run.id);
    // Whatever stopped the run, its counts are what it stored: the issues (with the tallies of those
    // not stored), and each target's progress as committed with its cursor (the run's record may be
    // a second behind).
    await this.runs.summarizeUnstoredIssues(run.id, this.host.maxIssuesPerCode);
    const counts: RunCounts = { ...current.counts, targets: { ...current.counts.targets }, issues: await this.runs.issueCounts(run.id) };
    for (const [targetId, done] of await this.runs.targetProgress(run.id)) {
      const entry = counts.targets[targetId] ?? { status: 'pending', entities: {} };
      counts.targets[targetId] = {
        ...entry,
        entities: done.entities,
        ...(done.figures ? { figures: done.figures } : {}),
        ...(done.errorCode && entry.status !== 'failed' ? { errorCode: done.errorCode } : {}),
      };
    }
    await this.runs.update(run.id, { counts });
    if (err instanceof RunStop) {
      await this.runs.update(run.id, runOutcome({ committed, stopped: { as: err.status, message: err.message } }));
    } else {
      const code: ErrorCode | string = isRosterbridgeError(err) ? err.code : 'INTERNAL';
      log.error({ code, err: errorMessage(err) }, 'run failed');
      await this.runs.update(run.id, runOutcome({ committed, error: { code, message: errorMessage(err) } }));
    }
    const ended = await this.get(run.id);
    this.progress(ended, 'done', ended.counts);
    return ended;
  }

  private progress(run: SyncRun, phase: RunProgress['phase'], counts: RunCounts, extra: { entity?: RosterEntity; target?: string } = {}): void {
    this.onDidProgressEmitter.fire({ runId: run.id, tenantId: run.tenantId, phase, status: phase === 'done' ? run.status : 'running', counts, ...extra });
  }

  private readonly pruning = new Map<string, Promise<void>>();

  private prune(tenantId: string, log: Logger): void {
    const previous = this.pruning.get(tenantId) ?? Promise.resolve();
    const next = previous
      .then(() => this.ledger.pruneApplied(tenantId))
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'pruning applied ledger versions failed; the next run tries again'))
      .finally(() => {
        if (this.pruning.get(tenantId) === next) this.pruning.delete(tenantId);
      });
    this.pruning.set(tenantId, next);
  }

  /** Resolves once the housekeeping of ended runs (pruning the ledger) is done. */
  async idle(): Promise<void> {
    while (this.pruning.size > 0) await Promise.all([...this.pruning.values()]);
  }

  private async get(runId: string): Promise<SyncRun> {
    const run = await this.runs.get(runId);
    if (!run) throw new RosterbridgeError('NOT_FOUND', `run ${runId} does not exist`);
    return run;
  }
}

/**
 * Works on each item while the next is read: `work(item)` of one item runs while `items` produces
 * the next (the source parses or the database reads the next batch while this one is staged or
 * applied), so at most two items are held. Each `work` starts once the previous one has finished,
 * in order, and is let send its first query before the next item is asked for. A failure of either
 * side ends the loop and is thrown; whatever ends it, no `work` is left running, and an item read
 * but not worked on is handed to `drop` (to settle what it started).
 */
async function readAhead<T>(items: AsyncIterable<T>, work: (item: T) => Promise<void>, drop?: (item: T) => Promise<unknown>): Promise<void> {
  let working: Promise<void> | undefined;
  let waiting: { item: T } | undefined;
  try {
    for await (const item of items) {
      waiting = { item };
      await working;
      waiting = undefined;
      working = work(item);
      // Marked handled until awaited above: a failure surfaces there, or after the loop.
      working.catch(() => undefined);
      // Let the work's first query leave before the next item is read (a source parses a buffered
      // batch without a break, and would hold the query back until then).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await working;
  } finally {
    await working?.catch(() => undefined);
    if (waiting && drop) await drop(waiting.item).catch(() => undefined);
  }
}

/** How often an applying run's counts are written to its record at most (besides at the end). */
const COUNTS_WRITE_INTERVAL_MS = 1000;

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The source's issues, with those of a rejected row whose record the snapshot holds saying that the
 * record keeps its last synced version (in the ledger and in every product).
 */
function keptAsLastSynced(issues: readonly RosterIssue[], kept: readonly string[]): readonly RosterIssue[] {
  if (kept.length === 0) return issues;
  const ids = new Set(kept);
  return issues.map((issue) =>
    issue.severity === 'error' && issue.sourcedId !== undefined && ids.has(issue.sourcedId)
      ? { ...issue, message: `kept as last synced: ${issue.message} (the record stays as it was last synced, in the ledger and in every product)` }
      : issue,
  );
}

function tombstoneUnknown(entity: RosterEntity, sourcedId: string): RosterIssue {
  return rosterIssue(
    'TOBEDELETED_UNKNOWN',
    `${sourcedId} is marked tobedeleted, but the ledger holds no record of it (never synced, or deleted earlier): nothing to delete; skipped`,
    { entity, sourcedId },
  );
}

function deletionsHeld(entity: RosterEntity, unidentified: number, heldBack: number): RosterIssue {
  const rows = `${unidentified} rejected row${unidentified === 1 ? '' : 's'} of ${entity} ha${unidentified === 1 ? 's' : 've'} no readable sourcedId`;
  const held = `${heldBack} record${heldBack === 1 ? '' : 's'} the source no longer sent ${heldBack === 1 ? 'was' : 'were'} kept`;
  return rosterIssue(
    'DELETIONS_HELD',
    `${rows}, so no ${entity} record is deleted for its absence in this run: ${held} (deletions held back). Fix the rows and sync again.`,
    { entity },
  );
}

/**
 * What {@link SyncEngine.apply} keeps for one run while it applies: created when the run begins
 * applying, dropped when it ends. The engine, shared by every run of a host, keeps no state of a run.
 */
interface ApplyReport {
  counts: RunCounts;
  /** Which of the targets' issues the run stores. */
  issues: RunIssueLog;
  /** When the counts were last written for readers of the run. */
  writtenAt: number;
  /** How many changes each target has applied since {@link SyncEngine.keepStatistics} last looked. */
  growth: Map<string, number>;
  /** A preview's: what the targets reported, kept for after the rollback. */
  keep?: PreviewKeep;
  /** A scoped preview's: the records the targets receive. */
  scope?: SchoolScope;
}

/**
 * What a preview's targets reported in its rolled-back transaction, kept in memory to be recorded
 * after it: the issues each stored (the issue log's caps per code already bound them) and the
 * tallies of those counted but not stored, and the run's counts at the end.
 */
class PreviewKeep {
  readonly targets = new Map<string, { issues: RosterIssue[]; unstored: Map<string, RosterIssueTally> }>();
  counts?: RunCounts;

  add(targetId: string, stored: readonly RosterIssue[], unstored: readonly RosterIssueTally[]): void {
    let kept = this.targets.get(targetId);
    if (!kept) this.targets.set(targetId, (kept = { issues: [], unstored: new Map() }));
    kept.issues.push(...stored);
    for (const t of unstored) {
      const key = `${t.severity}\u0000${t.code}`;
      const sum = kept.unstored.get(key);
      kept.unstored.set(key, { ...t, count: (sum?.count ?? 0) + t.count });
    }
  }
}

/** A product's own error code: upper snake case (`SCHOOL_MANAGER_NO_USERS`). */
function isProductCode(code: string): boolean {
  return /^[A-Z][A-Z0-9_]+$/.test(code);
}

/** What happened in a run, as far as how it ends goes (see {@link runOutcome}). */
export interface RunHappened {
  /** Whether the run had committed its ledger (it was applying) when it ended. */
  committed: boolean;
  /** A stop on purpose: cancelled, or interrupted by the host shutting down (the run resumes). */
  stopped?: { as: 'cancelled' | 'interrupted'; message: string };
  /** What the run threw, when it failed as a whole. */
  error?: { code: string; message: string };
  /** A dry run that staged: it ends there. */
  dryRun?: boolean;
  /** A readiness preview that applied in a transaction rolled back: it ends as the run would, saying nothing was written. */
  preview?: boolean;
  /** The threshold a staged run crossed. */
  hold?: RunHold;
  /** The run's targets and its counts (each target's state, the issues), once it applied. */
  applied?: { targets: readonly string[]; counts: RunCounts };
}

/** How a run ends: what its record takes (a field left out stays as it was). */
export interface RunOutcome {
  status: RunStatus;
  phase?: SyncRun['phase'];
  reason: string | null;
  errorCode?: string | null;
  errorMessage?: string;
  hold?: RunHold;
  /** Whether the run has ended (its end time is set); an interrupted or held run has not. */
  ended: boolean;
}

/**
 * How a run ends, from what happened, in this order of precedence: a stop on purpose (interrupted:
 * the run goes back to `queued`, or stays `running` once committed, to resume; `cancelled`); an
 * error of the run as a whole (`failed`); a dry run (`success`, saying whether a real run would be
 * held); a preview (as its targets' results say below, its reason saying nothing was written and
 * whether a real run would be held); a threshold crossed (`held`); otherwise what its targets did: `skipped` when every target
 * was skipped (paused), `failed` when every target that was not skipped failed, `partial` when a
 * target failed or a record could not be taken, else `success`. The error code is the first failed
 * target's; else, with errors, the first code a product gave for its errors; else RECORDS_REJECTED.
 */
export function runOutcome(happened: RunHappened): RunOutcome {
  const { committed, stopped, error, hold, applied } = happened;
  if (stopped?.as === 'interrupted')
    return { status: committed ? 'running' : 'queued', phase: committed ? 'applying' : 'queued', reason: stopped.message, ended: false };
  if (stopped) return { status: 'cancelled', phase: committed ? 'applying' : 'done', reason: stopped.message, ended: true };
  if (error)
    return {
      status: 'failed',
      phase: committed ? 'applying' : 'done',
      errorCode: error.code,
      errorMessage: error.message,
      reason: committed
        ? 'failed after the ledger was committed; targets resume from their cursors'
        : 'nothing was changed: the ledger and the targets are as before',
      ended: true,
    };
  if (happened.dryRun)
    return {
      status: 'success',
      phase: 'done',
      reason: hold ? `dry run; a real run would be held: ${hold.reason}` : 'dry run: nothing was written to any target',
      ...(hold ? { hold } : {}),
      ended: true,
    };
  if (happened.preview) {
    if (!applied) throw new RosterbridgeError('INTERNAL', 'a preview ends once its targets have applied');
    const as = appliedOutcome(applied.targets, applied.counts);
    const said = hold ? `preview: nothing was written to any target (a real run would be held: ${hold.reason})` : 'preview: nothing was written to any target';
    return { ...as, reason: as.reason ? `${said}; ${as.reason}` : said, phase: 'done', ...(hold ? { hold } : {}), ended: true };
  }
  if (hold) return { status: 'held', reason: hold.reason, hold, ended: false };
  if (!applied) throw new RosterbridgeError('INTERNAL', 'a run that was not stopped, failed, dry or held ends once it has applied');
  return { ...appliedOutcome(applied.targets, applied.counts), phase: 'done', ended: true };
}

/** How a run that applied ends, from its targets' states and its issue counts (see {@link runOutcome}). */
function appliedOutcome(targets: readonly string[], counts: RunCounts): { status: RunStatus; reason: string | null; errorCode: string | null } {
  const of = (state: string) => targets.filter((t) => counts.targets[t]?.status === state);
  const failed = of('failed');
  const skipped = of('skipped');
  const skippedReason = skipped.map((t) => `target ${t} skipped: ${counts.targets[t]!.reason}`).join('; ');
  if (skipped.length === targets.length) return { status: 'skipped', reason: skippedReason, errorCode: null };
  if (failed.length > 0) {
    const reason = failed.map((t) => `target ${t} failed (${counts.targets[t]!.errorCode}): ${counts.targets[t]!.error}`).join('; ');
    const status = failed.length + skipped.length === targets.length ? 'failed' : 'partial';
    return { status, reason, errorCode: counts.targets[failed[0]!]!.errorCode ?? 'TARGET_FAILED' };
  }
  if (counts.issues.errors > 0) {
    const productCode = targets
      .map((t) => counts.targets[t])
      .find((c) => c?.errorCode && Object.values(c.entities).some((e) => (e?.errors ?? 0) > 0))?.errorCode;
    return {
      status: 'partial',
      reason: `${counts.issues.errors} record(s) could not be taken; see the run's issues`,
      errorCode: productCode ?? 'RECORDS_REJECTED',
    };
  }
  return { status: 'success', reason: skipped.length > 0 ? skippedReason : null, errorCode: null };
}

/** A version-1 change as the version of its contract `target` consumes. */
function deliver(target: OpenedTarget, change: RosterChangeEvent): RosterChangeEvent {
  const version = target.versions?.get(change.data.entity) ?? 1;
  return version === 1 ? change : rosterContracts.deliver(change, version);
}
