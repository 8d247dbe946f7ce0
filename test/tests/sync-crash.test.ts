import t from 'tap';
import { generateDistrict } from '@rosterbridge/test-kit';
import { CRASH_TARGETS, runCrashScenario } from '../kit/src/crash-harness';

const KILLS = Number(process.env.RB_CRASH_POINTS ?? 10);
const SEED = Number(process.env.RB_CRASH_SEED ?? 20261123);

t.test(
  'a host killed at random points of a first sync (and again in recovery): a restart finishes the run with the counts, issues and product rows of a clean run',
  { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL): PGlite is not the thing under test here' },
  async (t) => {
    // Faults that make KyberGate and Kamkalima reject and skip records: the run reports issues.
    const roster = generateDistrict({
      seed: 31,
      size: 'small',
      scale: 0.5,
      faults: { duplicateEmails: 3, missingEmails: 3, studentsWithTwoGrades: 2, classesOutsideCourseGrades: 2 },
    });
    await runCrashScenario(t, { roster, kills: KILLS, seed: SEED, recoveryEvery: 3, batchSize: 500, targets: CRASH_TARGETS });
  },
);
