import type { RosterEntity, RosterTargetSession } from '@rosterbridge/core';

/** What {@link spyOnLoads} saw and lets a test switch. */
export interface LoadSpy {
  /** The entities a session answered a loader for, in the order asked. */
  readonly loaded: RosterEntity[];
  /** Takes `load` off the prototype: back-fills are then applied batch by batch (the comparison's other side). */
  disable(): void;
  /** Puts the spying `load` back. */
  enable(): void;
  /** Puts the original `load` back (a test's teardown). */
  restore(): void;
}

/**
 * Spies on a target session class's `load` (its prototype's: the host opens sessions of the same
 * module), recording the entities it answered a loader for. For tests that compare a back-fill by
 * load with the same back-fill by apply:
 *
 * ```ts
 * const loads = spyOnLoads(KybergateSession.prototype);
 * t.teardown(() => loads.restore());
 * await sync('loaded');  // loads.loaded: ['classes', 'users', 'enrollments'] on a PostgreSQL server
 * loads.disable(); await sync('applied'); loads.enable();
 * ```
 */
export function spyOnLoads(prototype: Pick<RosterTargetSession, 'load'>): LoadSpy {
  const original = prototype.load;
  if (!original) throw new Error('the session class has no load() to spy on');
  const loaded: RosterEntity[] = [];
  const spy: NonNullable<RosterTargetSession['load']> = async function (this: RosterTargetSession, entity, signal, context) {
    const loader = await original.call(this, entity, signal, context);
    if (loader) loaded.push(entity);
    return loader;
  };
  prototype.load = spy;
  return {
    loaded,
    disable: () => (prototype.load = undefined),
    enable: () => (prototype.load = spy),
    restore: () => (prototype.load = original),
  };
}
