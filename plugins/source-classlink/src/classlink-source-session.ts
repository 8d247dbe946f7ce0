import { type RosterBatch, type RosterEntity, type RosterReadOptions, RosterbridgeError } from '@rosterbridge/core';
import { OneRosterClient, OneRosterSourceSession, type OneRosterSourceOptions } from '@rosterbridge/oneroster-rest';

/**
 * A tenant's ClassLink Roster Server: the OneRoster REST session, except that a delta read must
 * say since when. Reading everything in delta mode would not be wrong, but it would hide a missing
 * last-run time behind a full download; the run is refused instead.
 */
export class ClassLinkSourceSession extends OneRosterSourceSession {
  /** A session over a new OneRoster client with `options`. */
  static override open(options: OneRosterSourceOptions): ClassLinkSourceSession {
    return new ClassLinkSourceSession(new OneRosterClient(options), options.entities);
  }

  /** Full: the whole collection. Delta: `dateLastModified>'since'`; without `since` it throws `SOURCE_MODE_MISMATCH`. */
  override async *read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>> {
    if (options.mode === 'delta' && options.since === undefined) {
      throw new RosterbridgeError(
        'SOURCE_MODE_MISMATCH',
        `a delta sync from ClassLink reads the ${entity} changed since the last successful run (dateLastModified>…), but this run was given no such time; run a full sync first`,
        { entity },
      );
    }
    yield* super.read(entity, options);
  }
}
