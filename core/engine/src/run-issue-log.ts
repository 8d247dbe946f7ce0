import type { RosterIssue, RosterIssueTally, RunCounts } from '@rosterbridge/core';
import type { RunStore } from './run-store';

/** Which issues of a batch a run stores, and the tally of those it does not: see {@link RunIssueLog.admit}. */
export interface IssueAdmission {
  /** The issues to store, in the order found. */
  stored: RosterIssue[];
  /** The issues counted but not stored, per code and severity. */
  unstored: RosterIssueTally[];
  /** Marks the stored issues as stored: call once the transaction that stored them has committed. */
  commit(): void;
}

/**
 * The issues of one run as it stores them: the first `perCode` issues of each code, per producer
 * (the source, or each target), and a tally of the rest per code and severity, stored in the same
 * transaction as the issues (`run_issue_unstored`). So a batch of a million bad rows writes a
 * thousand issues and one tally row, and the run's counts stay exact: `counts.issues` counts every
 * issue, stored or not, and the stored issues plus the tallies add up to it (see
 * {@link RunStore.issueCounts}), also after a crash, since what a resumed run has stored is read
 * back from the database ({@link resume}).
 *
 * One log per run execution, never shared between runs. Issues of one producer are admitted one
 * batch at a time (a target's batches are applied in turn); producers are independent.
 */
export class RunIssueLog {
  /** How many issues of each code each producer has stored: `<target or ''>\u0000<code>`. */
  private readonly stored = new Map<string, number>();
  /** Source-side tallies not yet written: staging keeps them until its end (a crash restages anyway). */
  private readonly pendingSource = new Map<string, RosterIssueTally>();

  private constructor(
    private readonly runs: RunStore,
    readonly runId: string,
    /** How many issues of each code a producer stores. */
    readonly perCode: number,
  ) {}

  /** A log of a run that has stored no issue yet (a run that stages, its issues cleared). */
  static fresh(runs: RunStore, runId: string, perCode: number): RunIssueLog {
    return new RunIssueLog(runs, runId, perCode);
  }

  /** A log of a run that may have stored issues already (one that resumes applying). */
  static async resume(runs: RunStore, runId: string, perCode: number): Promise<RunIssueLog> {
    const log = new RunIssueLog(runs, runId, perCode);
    for (const { targetId, code, count } of await runs.storedIssueCodes(runId)) log.stored.set(key(targetId, code), count);
    return log;
  }

  /**
   * Splits `issues` of a producer (undefined: the source) into those to store (the first of each
   * code up to the cap, counting those already stored) and the tally of the rest, which `unlisted`
   * (issues the producer counted without listing) joins. Changes nothing until `commit`.
   */
  admit(targetId: string | undefined, issues: readonly RosterIssue[], unlisted: readonly RosterIssueTally[] = []): IssueAdmission {
    const stored: RosterIssue[] = [];
    const unstored = new Map<string, RosterIssueTally>();
    const taken = new Map<string, number>();
    for (const issue of issues) {
      const k = key(targetId, issue.code);
      const n = taken.get(k) ?? this.stored.get(k) ?? 0;
      if (n < this.perCode) {
        taken.set(k, n + 1);
        stored.push(issue);
      } else {
        addTally(unstored, issue.code, issue.severity, 1);
      }
    }
    for (const tally of unlisted) if (tally.count > 0) addTally(unstored, tally.code, tally.severity, tally.count);
    return {
      stored,
      unstored: [...unstored.values()],
      commit: () => {
        for (const [k, n] of taken) this.stored.set(k, n);
      },
    };
  }

  /** Forgets what a target stored (its progress was cleared: a back-fill that starts over). */
  forget(targetId: string): void {
    const prefix = key(targetId, '');
    for (const k of [...this.stored.keys()]) if (k.startsWith(prefix)) this.stored.delete(k);
  }

  /**
   * Records issues the source found while the run stages: those admitted are stored now, the
   * tally of the rest is kept until {@link flushSource}. Adds them all to `counts`.
   */
  async addSourceIssues(counts: RunCounts['issues'], issues: readonly RosterIssue[], unlisted: readonly RosterIssueTally[] = []): Promise<void> {
    if (issues.length === 0 && unlisted.length === 0) return;
    const admission = this.admit(undefined, issues, unlisted);
    if (admission.stored.length > 0) await this.runs.addIssues(this.runId, admission.stored);
    admission.commit();
    for (const tally of admission.unstored) addTally(this.pendingSource, tally.code, tally.severity, tally.count);
    countAdmission(counts, admission);
  }

  /** Writes the source's tallies kept so far: at the end of staging, and before a failed staging is counted. */
  async flushSource(): Promise<void> {
    if (this.pendingSource.size === 0) return;
    const tallies = [...this.pendingSource.values()];
    this.pendingSource.clear();
    await this.runs.addIssues(this.runId, [], undefined, tallies);
  }
}

/** Adds what an admission holds, stored or only counted, to a run's issue counts. */
export function countAdmission(counts: RunCounts['issues'], admission: Pick<IssueAdmission, 'stored' | 'unstored'>): void {
  for (const issue of admission.stored) counts[issue.severity === 'error' ? 'errors' : 'warnings']++;
  if (admission.unstored.length === 0) return;
  const notStored = (counts.notStored ??= { errors: 0, warnings: 0, byCode: {} });
  for (const { code, severity, count } of admission.unstored) {
    counts[severity === 'error' ? 'errors' : 'warnings'] += count;
    notStored[severity === 'error' ? 'errors' : 'warnings'] += count;
    notStored.byCode[code] = (notStored.byCode[code] ?? 0) + count;
  }
}

function key(targetId: string | undefined, code: string): string {
  return `${targetId ?? ''}\u0000${code}`;
}

function addTally(tallies: Map<string, RosterIssueTally>, code: string, severity: RosterIssueTally['severity'], count: number): void {
  const k = `${code}\u0000${severity}`;
  const tally = tallies.get(k);
  if (tally) tally.count += count;
  else tallies.set(k, { code, severity, count });
}
