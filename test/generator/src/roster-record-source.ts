import type { RosterEntity, RosterRecord } from '@rosterbridge/core';

/**
 * Anything that yields canonical roster records per entity, each in ascending sourcedId order, one
 * record at a time: a generated district, the changed district of a delta, or the delta itself.
 * Every call starts a fresh pass.
 *
 * ```ts
 * for (const user of district.records('users')) console.log(user.sourcedId, user.role);
 * ```
 */
export interface RosterRecordSource {
  records<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>>;
}
