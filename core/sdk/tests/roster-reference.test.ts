import t from 'tap';
import { findUnresolvedReferences, parseRosterRecord, ROSTER_ENTITY_ORDER, ROSTER_REFERENCES, type RosterEntity } from '@rosterbridge/core';

t.test('every reference points at its own entity or an earlier one', async (t) => {
  for (const entity of ROSTER_ENTITY_ORDER) {
    for (const { field, target } of ROSTER_REFERENCES[entity]) {
      const ok = ROSTER_ENTITY_ORDER.indexOf(target) <= ROSTER_ENTITY_ORDER.indexOf(entity);
      t.ok(ok, `${entity}.${field} → ${target}`);
    }
  }
});

t.test('findUnresolvedReferences warns only for references known to be missing', async (t) => {
  const klass = parseRosterRecord('classes', {
    sourcedId: 'cls-1',
    title: 'T',
    courseSourcedId: 'crs-1',
    classType: 'scheduled',
    schoolSourcedId: 'sch-9',
    termSourcedIds: 'as-1,as-9',
  }).record!;
  const known: Partial<Record<RosterEntity, Set<string>>> = {
    orgs: new Set(['sch-1']),
    academicSessions: new Set(['as-1']),
    // courses unknown: the source did not send them
  };
  const issues = findUnresolvedReferences('classes', klass, (target, id) => known[target]?.has(id));
  t.same(
    issues.map((issue) => [issue.code, issue.severity, issue.field, issue.sourcedId]),
    [
      ['REFERENCE_UNRESOLVED', 'warning', 'schoolSourcedId', 'cls-1'],
      ['REFERENCE_UNRESOLVED', 'warning', 'termSourcedIds', 'cls-1'],
    ],
  );
  t.match(issues[1]!.message, /'as-9' names no record in academicSessions/);
});

t.test('demographics refer to their user by sourcedId', async (t) => {
  const demographics = parseRosterRecord('demographics', { sourcedId: 'u-7' }).record!;
  const issues = findUnresolvedReferences('demographics', demographics, () => false);
  t.same(
    issues.map((issue) => issue.field),
    ['sourcedId'],
  );
});
