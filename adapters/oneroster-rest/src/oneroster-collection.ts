import type { RosterEntity } from '@rosterbridge/core';

/** How one OneRoster 1.1 REST collection is served: the entity it holds and its JSON envelope keys. */
export interface OneRosterCollection<E extends RosterEntity = RosterEntity> {
  /** The path below the base URL, e.g. `schools`. */
  path: string;
  entity: E;
  /** The key of the list in a collection response, e.g. `orgs` for `/schools`. */
  envelope: string;
  /** The key of the object in a single-item response, e.g. `org` for `/schools/{id}`. */
  singleEnvelope: string;
}

function collection<E extends RosterEntity>(path: string, entity: E, singleEnvelope: string): OneRosterCollection<E> {
  return Object.freeze({ path, entity, envelope: entity, singleEnvelope });
}

/**
 * The rostering collections of OneRoster 1.1 REST. `schools`, `terms`, `gradingPeriods`,
 * `students` and `teachers` are subsets of `orgs`, `academicSessions` and `users` with the same
 * envelope; single items use the singular key, except `demographics`.
 */
export const ONEROSTER_COLLECTIONS = Object.freeze({
  orgs: collection('orgs', 'orgs', 'org'),
  schools: collection('schools', 'orgs', 'org'),
  academicSessions: collection('academicSessions', 'academicSessions', 'academicSession'),
  terms: collection('terms', 'academicSessions', 'academicSession'),
  gradingPeriods: collection('gradingPeriods', 'academicSessions', 'academicSession'),
  courses: collection('courses', 'courses', 'course'),
  classes: collection('classes', 'classes', 'class'),
  users: collection('users', 'users', 'user'),
  students: collection('students', 'users', 'user'),
  teachers: collection('teachers', 'users', 'user'),
  enrollments: collection('enrollments', 'enrollments', 'enrollment'),
  demographics: collection('demographics', 'demographics', 'demographics'),
});

/** A collection name of {@link ONEROSTER_COLLECTIONS}. */
export type OneRosterCollectionName = keyof typeof ONEROSTER_COLLECTIONS;

/** The entity a collection holds: `users` for `students`, `orgs` for `schools`… */
export type OneRosterCollectionEntity<C extends OneRosterCollectionName> = (typeof ONEROSTER_COLLECTIONS)[C]['entity'];

/** True when `name` is a collection of {@link ONEROSTER_COLLECTIONS}. */
export function isOneRosterCollectionName(name: string): name is OneRosterCollectionName {
  return Object.prototype.hasOwnProperty.call(ONEROSTER_COLLECTIONS, name);
}

/** The collection that holds all of an entity's records (`orgs` for orgs, not `schools`). */
export function oneRosterCollectionOf<E extends RosterEntity>(entity: E): OneRosterCollection<E> {
  return ONEROSTER_COLLECTIONS[entity] as unknown as OneRosterCollection<E>;
}
