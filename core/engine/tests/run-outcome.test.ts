import t from 'tap';
import type { RunCounts, RunHold } from '@rosterbridge/core';
import { type RunHappened, type RunOutcome, runOutcome } from '@rosterbridge/engine';

// How a run ends, from what happened: one row per case, every status a run can end (or pause) in,
// and the precedence between what happened. The engine writes the outcome to the run's record as it is.

type TargetState = RunCounts['targets'][string];
const applied: TargetState = { status: 'applied', entities: { users: { created: 3, updated: 0, deleted: 0, unchanged: 0, errors: 0, skipped: 0 } } };
const rejecting: TargetState = {
  status: 'applied',
  errorCode: 'KYBERGATE_NO_SCHOOL',
  entities: { users: { created: 2, updated: 0, deleted: 0, unchanged: 0, errors: 1, skipped: 0 } },
};
const failed = (code: string): TargetState => ({ status: 'failed', errorCode: code, error: `${code.toLowerCase()} happened`, entities: {} });
const skipped: TargetState = { status: 'skipped', reason: 'paused by the district', entities: {} };
const counts = (targets: Record<string, TargetState>, errors = 0): RunCounts => ({ source: {}, targets, issues: { errors, warnings: 0 } });
const ran = (targets: Record<string, TargetState>, errors = 0): RunHappened => ({
  committed: true,
  applied: { targets: Object.keys(targets), counts: counts(targets, errors) },
});
const hold: RunHold = {
  reason: '40 of 100 users (40%) would be deleted, above 10%',
  thresholds: { maxDeletePercent: 10, maxChangePercent: 50 },
  crossed: [{ entity: 'users', kind: 'delete', count: 40, of: 100, percent: 40 }],
};
const cancel = { as: 'cancelled' as const, message: 'cancelled while applying' };
const shutdown = { as: 'interrupted' as const, message: 'the host shut down while applying; the run resumes when a host starts' };
const error = { code: 'SOURCE_UNREACHABLE', message: 'the source did not answer' };
const COMMITTED_FAILURE = 'failed after the ledger was committed; targets resume from their cursors';
const NOTHING_CHANGED = 'nothing was changed: the ledger and the targets are as before';

const rows: [string, RunHappened, RunOutcome][] = [
  // What the targets did, once the run applied.
  [
    'every target applied, no error: success',
    ran({ a: applied, b: applied }),
    { status: 'success', phase: 'done', reason: null, errorCode: null, ended: true },
  ],
  [
    'a target skipped, the other applied: success, saying which was skipped',
    ran({ a: applied, b: skipped }),
    { status: 'success', phase: 'done', reason: 'target b skipped: paused by the district', errorCode: null, ended: true },
  ],
  [
    'every target skipped: skipped',
    ran({ a: skipped, b: skipped }),
    {
      status: 'skipped',
      phase: 'done',
      reason: 'target a skipped: paused by the district; target b skipped: paused by the district',
      errorCode: null,
      ended: true,
    },
  ],
  [
    'records rejected: partial, with the product code of the target whose records had errors',
    ran({ a: applied, b: rejecting }, 1),
    { status: 'partial', phase: 'done', reason: "1 record(s) could not be taken; see the run's issues", errorCode: 'KYBERGATE_NO_SCHOOL', ended: true },
  ],
  [
    'records rejected by the source, no product code: partial, RECORDS_REJECTED',
    ran({ a: applied }, 2),
    { status: 'partial', phase: 'done', reason: "2 record(s) could not be taken; see the run's issues", errorCode: 'RECORDS_REJECTED', ended: true },
  ],
  [
    'a target failed, another applied: partial with the failed target code (over rejected records)',
    ran({ a: applied, b: failed('TARGET_TIMEOUT') }, 3),
    { status: 'partial', phase: 'done', reason: 'target b failed (TARGET_TIMEOUT): target_timeout happened', errorCode: 'TARGET_TIMEOUT', ended: true },
  ],
  [
    'every target failed: failed, the first failed target code',
    ran({ a: failed('TARGET_FAILED'), b: failed('TARGET_TIMEOUT') }),
    {
      status: 'failed',
      phase: 'done',
      reason: 'target a failed (TARGET_FAILED): target_failed happened; target b failed (TARGET_TIMEOUT): target_timeout happened',
      errorCode: 'TARGET_FAILED',
      ended: true,
    },
  ],
  [
    'the targets not skipped all failed: failed (a skip does not make it partial)',
    ran({ a: skipped, b: failed('TARGET_FAILED') }),
    { status: 'failed', phase: 'done', reason: 'target b failed (TARGET_FAILED): target_failed happened', errorCode: 'TARGET_FAILED', ended: true },
  ],
  // After staging.
  ['a threshold crossed: held, not ended', { committed: false, hold }, { status: 'held', reason: hold.reason, hold, ended: false }],
  [
    'a dry run: success, whatever it staged',
    { committed: false, dryRun: true },
    { status: 'success', phase: 'done', reason: 'dry run: nothing was written to any target', ended: true },
  ],
  [
    'a dry run over a threshold: success, saying a real run would be held (over held)',
    { committed: false, dryRun: true, hold },
    { status: 'success', phase: 'done', reason: `dry run; a real run would be held: ${hold.reason}`, hold, ended: true },
  ],
  // A readiness preview: it applied in a transaction rolled back, and ends as the run would.
  [
    'a preview whose targets applied: success, saying nothing was written',
    { ...ran({ a: applied, b: applied }), committed: false, preview: true },
    { status: 'success', phase: 'done', reason: 'preview: nothing was written to any target', errorCode: null, ended: true },
  ],
  [
    'a preview with records rejected: partial as the run would be, with the product code',
    { ...ran({ a: applied, b: rejecting }, 1), committed: false, preview: true },
    {
      status: 'partial',
      phase: 'done',
      reason: "preview: nothing was written to any target; 1 record(s) could not be taken; see the run's issues",
      errorCode: 'KYBERGATE_NO_SCHOOL',
      ended: true,
    },
  ],
  [
    'a preview whose every target failed: failed, the first failed target code',
    { ...ran({ a: failed('TARGET_FAILED') }), committed: false, preview: true },
    {
      status: 'failed',
      phase: 'done',
      reason: 'preview: nothing was written to any target; target a failed (TARGET_FAILED): target_failed happened',
      errorCode: 'TARGET_FAILED',
      ended: true,
    },
  ],
  [
    'a preview over a threshold: as its targets say (not held), saying a real run would be held',
    { ...ran({ a: applied }), committed: false, preview: true, hold },
    {
      status: 'success',
      phase: 'done',
      reason: `preview: nothing was written to any target (a real run would be held: ${hold.reason})`,
      errorCode: null,
      hold,
      ended: true,
    },
  ],
  [
    'a preview that threw: failed, nothing changed (the error over the preview)',
    { committed: false, preview: true, error },
    { status: 'failed', phase: 'done', errorCode: 'SOURCE_UNREACHABLE', errorMessage: 'the source did not answer', reason: NOTHING_CHANGED, ended: true },
  ],
  // A run that threw, or was stopped.
  [
    'an error before the commit: failed, nothing changed',
    { committed: false, error },
    { status: 'failed', phase: 'done', errorCode: 'SOURCE_UNREACHABLE', errorMessage: 'the source did not answer', reason: NOTHING_CHANGED, ended: true },
  ],
  [
    'an error after the commit: failed, the targets resume from their cursors (over what they did)',
    { ...ran({ a: applied }), error },
    { status: 'failed', phase: 'applying', errorCode: 'SOURCE_UNREACHABLE', errorMessage: 'the source did not answer', reason: COMMITTED_FAILURE, ended: true },
  ],
  [
    'cancelled before the commit: cancelled, done',
    { committed: false, stopped: cancel },
    { status: 'cancelled', phase: 'done', reason: cancel.message, ended: true },
  ],
  [
    'cancelled after the commit: cancelled, still applying (over an error and failed targets)',
    { ...ran({ a: failed('TARGET_FAILED') }), stopped: cancel, error },
    { status: 'cancelled', phase: 'applying', reason: cancel.message, ended: true },
  ],
  [
    'a shutdown before the commit: queued again, to restage (over a hold)',
    { committed: false, stopped: shutdown, hold },
    { status: 'queued', phase: 'queued', reason: shutdown.message, ended: false },
  ],
  [
    'a shutdown after the commit: still running, to resume applying (over an error)',
    { committed: true, stopped: shutdown, error },
    { status: 'running', phase: 'applying', reason: shutdown.message, ended: false },
  ],
];

for (const [name, happened, outcome] of rows) t.test(name, async (t) => t.strictSame(runOutcome(happened), outcome));

t.test('the table reaches every status a run can end or pause in', async (t) => {
  t.strictSame(
    new Set(rows.map(([, h]) => runOutcome(h).status)),
    new Set(['success', 'skipped', 'partial', 'failed', 'held', 'cancelled', 'queued', 'running']),
  );
});

t.test('a run that neither applied nor stopped, failed, ran dry or held has no outcome yet', async (t) => {
  t.throws(() => runOutcome({ committed: true }), { code: 'INTERNAL' });
  t.throws(() => runOutcome({ committed: false, preview: true }), { code: 'INTERNAL' }, 'nor a preview that did not apply');
});
