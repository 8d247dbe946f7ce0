import * as path from 'node:path';
import t from 'tap';
import { FIXTURES_DIR, runTargetConformance } from '@rosterbridge/test-kit';

// The engine's test double: one table of every record it is given, by entity and sourcedId.
t.test('the memo fixture target conforms', (t) =>
  runTargetConformance(t, {
    targetId: 'memo',
    pluginDirs: [path.join(FIXTURES_DIR, 'plugins/sync')],
    tables: { record: { key: ['entity', 'sourced_id'], ignore: ['applied_seq'] } },
    references: [
      {
        from: { table: 'record', column: "record->>'userSourcedId'", where: "entity = 'enrollments'" },
        to: { table: 'record', column: 'sourced_id', where: "entity = 'users'" },
      },
      {
        from: { table: 'record', column: "record->>'classSourcedId'", where: "entity = 'enrollments'" },
        to: { table: 'record', column: 'sourced_id', where: "entity = 'classes'" },
      },
      {
        from: { table: 'record', column: "record->>'courseSourcedId'", where: "entity = 'classes'" },
        to: { table: 'record', column: 'sourced_id', where: "entity = 'courses'" },
      },
    ],
    knownGaps: {
      references:
        "the memo fixture is the engine's test double and keeps every record it is given: an enrollment naming a class or user the source did not send is kept",
    },
  }),
);
