import t from 'tap';
import { readManifest, summarizeTarget } from '@rosterbridge/core';

t.test("a target's summary: sums of counts of one entity or of all, and reported figures", async (t) => {
  const counts = {
    entities: {
      users: { created: 5, updated: 2, unchanged: 9, skipped: 1, deleted: 0, errors: 3 },
      classes: { created: 4, updated: 0, unchanged: 0, skipped: 2, deleted: 0, errors: 1 },
    },
    figures: { matchedStudents: 40, matchedTeachers: 0 },
  };
  t.same(
    summarizeTarget(
      [
        { label: 'Users created or updated', entity: 'users', counts: ['created', 'updated'] },
        { label: 'Skipped', counts: ['skipped'] },
        { label: 'Errors', counts: ['errors'] },
        { label: 'Orgs', entity: 'orgs', counts: ['created'] },
        { label: 'Matched students', figure: 'matchedStudents' },
        { label: 'Matched teachers', figure: 'matchedTeachers' },
        { label: 'Never reported', figure: 'neverReported' },
      ],
      counts,
    ),
    [
      { label: 'Users created or updated', value: 7 },
      { label: 'Skipped', value: 3 },
      { label: 'Errors', value: 4 },
      { label: 'Orgs', value: 0 },
      { label: 'Matched students', value: 40 },
      { label: 'Matched teachers', value: 0 },
    ],
    'a figure never reported is left out, a zero that was measured is shown',
  );
  t.same(summarizeTarget([{ label: 'Errors', counts: ['errors'] }], undefined), [{ label: 'Errors', value: 0 }], 'a target with no counts yet');
});

t.test('a manifest refuses a summary line it cannot sum up, naming the field', async (t) => {
  const manifest = (summary: unknown) => ({
    name: '@acme/target-x',
    version: '1.0.0',
    main: 'index.js',
    engines: { rosterbridge: '^1.0.0' },
    rosterbridge: { id: 'target-x', activationEvents: ['onTarget:x'], contributes: { targets: [{ id: 'x', consumes: ['roster.users@1'], summary }] } },
  });
  const ok = readManifest(
    manifest([
      { label: 'Users created', entity: 'users', counts: ['created'] },
      { label: 'Matched', figure: 'matched' },
    ]),
  );
  t.ok(ok.ok, 'good lines are taken');
  t.same(ok.ok && ok.manifest.contributes.targets[0]!.summary, [
    { label: 'Users created', entity: 'users', counts: ['created'] },
    { label: 'Matched', figure: 'matched' },
  ]);
  const problems = (summary: unknown) => {
    const r = readManifest(manifest(summary));
    return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`);
  };
  t.match(problems([]), [/summary: must be a list of 1 to 20 lines/]);
  t.match(problems([{ label: '', counts: ['created'] }]), [/summary\[0\]\.label: must be a text/]);
  t.match(problems([{ label: 'Widgets', entity: 'widgets', counts: ['created'] }]), [/summary\[0\]\.entity: must be a roster entity/]);
  t.match(problems([{ label: 'Odd', counts: ['invented'] }]), [/summary\[0\]\.counts: must list kinds of count/]);
  t.match(problems([{ label: 'Both', figure: 'x', counts: ['created'] }]), [/summary\[0\]: takes a figure or counts, not both/]);
  t.match(problems([{ label: 'Bad name', figure: 'Not-Camel' }]), [/summary\[0\]\.figure: must be a camelCase name/]);
  t.match(problems([{ label: 'Extra', counts: ['created'], colour: 'red' }]), [/summary\[0\]\.colour: is not a summary field/]);
});
