import type { RosterEntity } from './roster-entity';
import { rosterIssue, type RosterIssue } from './roster-issue';
import type { RosterRecord } from './roster-record';

/** A field of a record that holds the sourcedId(s) of records of another (or the same) entity. */
export interface RosterReferenceField {
  /** The field name in the canonical record, e.g. `courseSourcedId`, `termSourcedIds`. */
  field: string;
  /** The entity the referenced records belong to. */
  target: RosterEntity;
}

/** Every reference field of each entity in the OneRoster 1.1 model. */
export const ROSTER_REFERENCES: { readonly [E in RosterEntity]: readonly RosterReferenceField[] } = {
  orgs: [{ field: 'parentSourcedId', target: 'orgs' }],
  academicSessions: [{ field: 'parentSourcedId', target: 'academicSessions' }],
  courses: [
    { field: 'schoolYearSourcedId', target: 'academicSessions' },
    { field: 'orgSourcedId', target: 'orgs' },
  ],
  classes: [
    { field: 'courseSourcedId', target: 'courses' },
    { field: 'schoolSourcedId', target: 'orgs' },
    { field: 'termSourcedIds', target: 'academicSessions' },
  ],
  users: [
    { field: 'orgSourcedIds', target: 'orgs' },
    { field: 'agentSourcedIds', target: 'users' },
  ],
  enrollments: [
    { field: 'classSourcedId', target: 'classes' },
    { field: 'schoolSourcedId', target: 'orgs' },
    { field: 'userSourcedId', target: 'users' },
  ],
  demographics: [{ field: 'sourcedId', target: 'users' }],
};

/**
 * Answers whether a record of `target` with `sourcedId` exists: true or false, or undefined when
 * it cannot be known (the source did not send that entity, or sent only changes).
 */
export type RosterReferenceLookup = (target: RosterEntity, sourcedId: string) => boolean | undefined;

/**
 * Checks every reference of `record` with `lookup`, and returns a `REFERENCE_UNRESOLVED` warning
 * for each one known to point at nothing. References that cannot be checked pass silently.
 *
 * ```ts
 * const issues = findUnresolvedReferences('classes', klass, (target, id) => ids.get(target)?.has(id));
 * ```
 */
export function findUnresolvedReferences<E extends RosterEntity>(entity: E, record: RosterRecord<E>, lookup: RosterReferenceLookup): RosterIssue[] {
  const issues: RosterIssue[] = [];
  for (const { field, target } of ROSTER_REFERENCES[entity]) {
    const value = (record as unknown as Record<string, unknown>)[field];
    const sourcedIds = Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
    for (const sourcedId of sourcedIds) {
      if (lookup(target, sourcedId) !== false) continue;
      issues.push(
        rosterIssue('REFERENCE_UNRESOLVED', `${field} '${sourcedId}' names no record in ${target}`, {
          entity,
          sourcedId: record.sourcedId,
          field,
        }),
      );
    }
  }
  return issues;
}
