/**
 * The OneRoster 1.1 rostering entities, named as their CSV files and REST collections are.
 */
export type RosterEntity = 'orgs' | 'academicSessions' | 'courses' | 'classes' | 'users' | 'enrollments' | 'demographics';

/**
 * Every roster entity in referential order: each entity refers only to entities before it (or to
 * itself, like an org's parent). Create and update in this order; delete in reverse.
 */
export const ROSTER_ENTITY_ORDER: readonly RosterEntity[] = Object.freeze([
  'orgs',
  'academicSessions',
  'courses',
  'classes',
  'users',
  'enrollments',
  'demographics',
] as const);

/** True when `name` is one of the {@link RosterEntity} names (case-sensitive, as in the spec). */
export function isRosterEntity(name: string): name is RosterEntity {
  return (ROSTER_ENTITY_ORDER as readonly string[]).includes(name);
}
