import t from 'tap';
import type { RosterEntity, RosterRecord, User } from '@rosterbridge/core';
import { type RosterRecordSource, changeDistrict, generateDistrict } from '@rosterbridge/test-kit';
import { CRASH_TARGETS, runCrashScenario } from '../kit/src/crash-harness';

const KILLS = Number(process.env.RB_CRASH_POINTS ?? 10);
const SEED = Number(process.env.RB_CRASH_SEED ?? 20261207);

t.test(
  'a host killed at random points of a sync of updates, deletions and creations (and again in recovery): a restart finishes the run with the counts, issues and product rows of a clean run',
  { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL): PGlite is not the thing under test here' },
  async (t) => {
    const before = generateDistrict({
      seed: 41,
      size: 'small',
      scale: 0.5,
      faults: { duplicateEmails: 3, missingEmails: 3, studentsWithTwoGrades: 2, classesOutsideCourseGrades: 2 },
    });
    // 5%: some 600 changes, several batches of the change log to kill between.
    const changed = changeDistrict(before, { seed: 42, fraction: 0.05 });
    // Faults of the run under test: students it updates lose their email (KyberGate rejects them)
    // or get a second grade (Kamkalima rejects them, and their memberships go with them).
    const updated = new Set(changed.report.entities.users.updated);
    const students = [...changed.records('users')].filter((u) => updated.has(u.sourcedId) && u.role === 'student').slice(0, 6);
    t.equal(students.length, 6, 'the change updates enough students');
    const faulted = new Map<string, User>(
      students.map((u, i) => [u.sourcedId, i < 3 ? { ...u, email: undefined } : { ...u, grades: [...u.grades, u.grades[0] === '12' ? '11' : '12'] }]),
    );
    const roster: RosterRecordSource = {
      records: <E extends RosterEntity>(entity: E) =>
        (entity === 'users' ? [...changed.records('users')].map((u) => faulted.get(u.sourcedId) ?? u) : changed.records(entity)) as Iterable<RosterRecord<E>>,
    };
    await runCrashScenario(t, { roster, before, kills: KILLS, seed: SEED, recoveryEvery: 3, batchSize: 250, targets: CRASH_TARGETS });
  },
);
