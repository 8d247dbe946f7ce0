import t from 'tap';
import { generateDistrict } from '@rosterbridge/test-kit';
import { CRASH_TARGETS, runCrashScenario } from '../kit/src/crash-harness';

const KILLS = Number(process.env.RB_CRASH_POINTS ?? 6);
const SEED = Number(process.env.RB_CRASH_SEED ?? 20261207);

t.test(
  'with a cap of 2 stored issues per code, a host killed at random points of a sync: a restart stores the same issues, counts the same not stored, and ends as the clean run',
  { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL): PGlite is not the thing under test here' },
  async (t) => {
    // Enough faults that KyberGate and Kamkalima report many issues of one code, past the cap, from
    // batch after batch: each batch's share is stored or counted with the target's cursor.
    const roster = generateDistrict({
      seed: 41,
      size: 'small',
      scale: 0.5,
      faults: { duplicateEmails: 12, missingEmails: 12, studentsWithTwoGrades: 6, classesOutsideCourseGrades: 6 },
    });
    await runCrashScenario(t, {
      roster,
      kills: KILLS,
      seed: SEED,
      recoveryEvery: 2,
      batchSize: 200,
      targets: CRASH_TARGETS,
      env: { RB_SYNC_MAX_ISSUES_PER_CODE: '2' },
    });
  },
);
