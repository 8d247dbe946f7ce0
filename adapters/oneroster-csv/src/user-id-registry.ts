import type { User, UserId } from '@rosterbridge/core';

/** A `userIds` identifier that another user already holds. */
export interface UserIdConflict {
  userId: UserId;
  /** The sourcedId of the user who had it first. */
  heldBy: string;
}

/**
 * Remembers which user holds each `userIds` identifier (type compared without case), to find two
 * users sharing one LDAP, SSO or state id. Memory grows with the number of identifiers.
 */
export class UserIdRegistry {
  private readonly holders = new Map<string, string>();

  /** Records `user`'s identifiers and returns those another user already holds. */
  claim(user: Pick<User, 'sourcedId' | 'userIds'>): UserIdConflict[] {
    const conflicts: UserIdConflict[] = [];
    for (const userId of user.userIds) {
      const key = `${userId.type.toLowerCase()}\u0000${userId.identifier}`;
      const heldBy = this.holders.get(key);
      if (heldBy === undefined) this.holders.set(key, user.sourcedId);
      else if (heldBy !== user.sourcedId) conflicts.push({ userId, heldBy });
    }
    return conflicts;
  }
}
