import t from 'tap';
import { rosterIssue, type RosterIssue, type RunCounts } from '@rosterbridge/core';
import { RunIssueLog, countAdmission, type RunStore } from '@rosterbridge/engine';

// What the log stores of a run's issues, table by table; the database side (that the stored issues
// and the tallies commit together, and add up to the counts) is tested in test/tests/sync-bounds
// and sync-crash-issue-cap on a real host.

const required = (n: number): RosterIssue[] =>
  Array.from({ length: n }, (_, i) => rosterIssue('FIELD_REQUIRED', `role is required (${i})`, { entity: 'users' }));
const duplicate = (n: number): RosterIssue[] => Array.from({ length: n }, (_, i) => rosterIssue('DUPLICATE_USER_ID', `shared id (${i})`, { entity: 'users' }));

/** A log no database is asked by: `admit` is pure until the source's issues are written. */
const log = (perCode: number) => RunIssueLog.fresh(undefined as unknown as RunStore, 'run-1', perCode);

t.test('the first issues of each code are stored, per producer; the rest are tallied per code and severity', async (t) => {
  const issues = log(2);
  const first = issues.admit('kybergate', [...required(3), ...duplicate(1)]);
  t.same(
    first.stored.map((i) => i.message),
    ['role is required (0)', 'role is required (1)', 'shared id (0)'],
  );
  t.same(first.unstored, [{ code: 'FIELD_REQUIRED', severity: 'error', count: 1 }]);
  first.commit();
  const second = issues.admit('kybergate', [...required(2), ...duplicate(3)]);
  t.same(
    second.stored.map((i) => i.message),
    ['shared id (0)'],
    'what was stored before counts against the cap',
  );
  t.same(second.unstored, [
    { code: 'FIELD_REQUIRED', severity: 'error', count: 2 },
    { code: 'DUPLICATE_USER_ID', severity: 'warning', count: 2 },
  ]);
  t.same(issues.admit('kamkalima', required(2)).stored.length, 2, 'another target has a cap of its own');
  t.same(issues.admit(undefined, required(2)).stored.length, 2, 'and so has the source');
});

t.test('an admission not committed (its transaction failed) changes nothing', async (t) => {
  const issues = log(2);
  issues.admit('memo', required(2));
  t.same(issues.admit('memo', required(2)).stored.length, 2, 'the same batch, delivered again, is stored again');
});

t.test('issues a producer only counted join the tally; forgetting a target starts its cap again', async (t) => {
  const issues = log(1);
  const admission = issues.admit(undefined, required(1), [
    { code: 'FIELD_REQUIRED', severity: 'error', count: 7 },
    { code: 'BAD_VOCABULARY', severity: 'error', count: 0 },
  ]);
  t.same(admission.stored.length, 1);
  t.same(admission.unstored, [{ code: 'FIELD_REQUIRED', severity: 'error', count: 7 }], 'empty tallies are left out');
  const target = issues.admit('memo', required(1));
  target.commit();
  t.same(issues.admit('memo', required(1)).stored.length, 0);
  issues.forget('memo');
  t.same(issues.admit('memo', required(1)).stored.length, 1, 'a back-fill that starts over stores anew');
});

t.test('counting an admission adds stored and tallied issues to the totals, and the tallied ones to notStored', async (t) => {
  const counts: RunCounts['issues'] = { errors: 1, warnings: 0 };
  const admission = log(1).admit('memo', [...required(3), ...duplicate(2)]);
  countAdmission(counts, admission);
  t.same(counts, { errors: 4, warnings: 2, notStored: { errors: 2, warnings: 1, byCode: { FIELD_REQUIRED: 2, DUPLICATE_USER_ID: 1 } } });
  const none: RunCounts['issues'] = { errors: 0, warnings: 0 };
  countAdmission(none, log(5).admit('memo', required(3)));
  t.same(none, { errors: 3, warnings: 0 }, 'no notStored when everything is stored');
});
