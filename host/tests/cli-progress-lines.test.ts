import t from 'tap';
import { type RunCounts, emptyRunCounts } from '@rosterbridge/core';
import { ProgressLines, type RunProgressEvent } from '../src/cli/sync-command';

// Plain-mode progress (off a terminal): lines with figures, at most one a second per entity or
// target, the last figures of each printed, nothing said twice.

const RUN = '0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d';

function lines(): { view: ProgressLines; out: string[]; at: (ms: number) => void } {
  const out: string[] = [];
  let now = 1_000_000;
  const view = new ProgressLines(
    (line) => out.push(line.replace(/\n$/, '')),
    () => now,
  );
  return { view, out, at: (ms) => (now = 1_000_000 + ms) };
}

const source = (read: number, created = read) => ({ read, created, updated: 0, unchanged: 0, deleted: 0, rejected: 0, skipped: 0, heldBack: 0 });
const target = (created: number, errors = 0) => ({ created, updated: 0, unchanged: 0, skipped: 0, deleted: 0, errors });

function staging(entity: 'users' | 'enrollments', read: number, counts: RunCounts = emptyRunCounts(['kybergate'])): RunProgressEvent {
  return { runId: RUN, phase: 'staging', status: 'running', entity, counts: { ...counts, source: { ...counts.source, [entity]: source(read) } } };
}

t.test('staging: the first figures of an entity at once, then at most one line a second, its last figures before the next entity', async (t) => {
  const { view, out, at } = lines();
  view.update({ runId: RUN, status: 'queued', counts: emptyRunCounts(['kybergate']) });
  view.update({ runId: RUN, status: 'queued', counts: emptyRunCounts(['kybergate']) });
  at(10);
  view.update(staging('users', 1000));
  at(400);
  view.update(staging('users', 2000));
  at(900);
  view.update(staging('users', 3000));
  at(1100);
  view.update(staging('users', 4000));
  at(1200);
  view.update(staging('users', 5000));
  at(1300);
  view.update(staging('enrollments', 1000));
  view.update(staging('enrollments', 1000));
  view.stop();
  t.same(out, [
    `run ${RUN} queued`,
    'staging users: read 1000, created 1000, updated 0, unchanged 0, deleted 0, rejected 0',
    'staging users: read 4000, created 4000, updated 0, unchanged 0, deleted 0, rejected 0',
    'staging users: read 5000, created 5000, updated 0, unchanged 0, deleted 0, rejected 0',
    'staging enrollments: read 1000, created 1000, updated 0, unchanged 0, deleted 0, rejected 0',
  ]);
});

t.test('applying: "applying users to kybergate: N of M", the total line at once, a failed or skipped target with its reason', async (t) => {
  const { view, out, at } = lines();
  const counts = (created: number, gradient: RunCounts['targets'][string]): RunCounts => ({
    source: { users: source(40000) },
    targets: { kybergate: { status: 'pending', entities: { users: target(created) } }, gradient },
    issues: { errors: 0, warnings: 0 },
  });
  const pending = { status: 'pending' as const, entities: {} };
  view.update({ runId: RUN, phase: 'applying', status: 'running', counts: counts(12931, pending) });
  at(300);
  view.update({ runId: RUN, phase: 'applying', status: 'running', counts: counts(20000, pending) });
  at(600);
  view.update({
    runId: RUN,
    phase: 'applying',
    status: 'running',
    counts: counts(20000, { status: 'skipped', reason: "Gradient's academic year is not started", entities: {} }),
  });
  at(700);
  view.update({
    runId: RUN,
    phase: 'applying',
    status: 'running',
    counts: counts(40000, { status: 'skipped', reason: "Gradient's academic year is not started", entities: {} }),
  });
  view.update({
    runId: RUN,
    phase: 'applying',
    status: 'running',
    counts: counts(40000, { status: 'skipped', reason: "Gradient's academic year is not started", entities: {} }),
  });
  view.stop();
  t.same(out, [
    'applying 40000 staged changes to kybergate, gradient',
    'applying users to kybergate: 12931 of 40000',
    // held back (under a second after the last), and printed when something new comes
    'applying users to kybergate: 20000 of 40000',
    "target gradient skipped: Gradient's academic year is not started",
    'applying users to kybergate: 40000 of 40000',
  ]);
});

t.test('a back-fill (nothing staged): the numbers without a total; stop prints the last figures held back', async (t) => {
  const { view, out, at } = lines();
  const counts = (created: number): RunCounts => ({
    source: {},
    targets: { memo: { status: 'pending', entities: { users: target(created) } } },
    issues: { errors: 0, warnings: 0 },
  });
  view.update({ runId: RUN, phase: 'applying', status: 'running', counts: counts(1000) });
  at(500);
  view.update({ runId: RUN, phase: 'applying', status: 'running', counts: counts(2000) });
  view.stop();
  t.same(out, ['applying to memo', 'applying users to memo: 1000', 'applying users to memo: 2000']);
});
