import { CleverClient, readCleverChanges, type CanonicalRecords, type CleverClientOptions } from '@rosterbridge/clever';
import {
  type ConnectionCheck,
  type Logger,
  ROSTER_ENTITY_ORDER,
  type RosterBatch,
  type RosterEntity,
  type RosterIssue,
  type RosterReadOptions,
  type RosterSourceSession,
  RosterbridgeError,
} from '@rosterbridge/core';

/** A read's records and issues for every entity, fetched once per session and mode. */
interface SessionRead {
  records: CanonicalRecords;
  issues: RosterIssue[];
  /** Per entity, objects read but left out for having no id (a full read). */
  unidentified?: Partial<Record<RosterEntity, number>>;
}

/**
 * A tenant's Clever district, for one run. Clever derives much of the canonical roster from other
 * objects (enrollments from sections, guardians from contacts' relationships), so the first read
 * of a mode reads what every entity needs and later reads serve from it: a full read pulls the
 * district; a delta read maps the events created since the last committed run began.
 */
export class CleverSourceSession implements RosterSourceSession {
  readonly capabilities = { entities: [...ROSTER_ENTITY_ORDER], delta: true };
  private readonly client: CleverClient;
  private full: Promise<SessionRead> | undefined;
  private delta: Promise<SessionRead> | undefined;

  constructor(
    options: CleverClientOptions,
    private readonly eventOverlapMs: number,
    private readonly logger: Logger,
  ) {
    this.client = new CleverClient(options);
  }

  check(signal?: AbortSignal): Promise<ConnectionCheck> {
    return this.client.check(signal);
  }

  /** Full: the district as it is. Delta: what Clever's events changed since `since`; without `since` it throws `SOURCE_MODE_MISMATCH`. */
  async *read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>> {
    throwIfCancelled(options.signal, entity);
    const read = await this.readFor(entity, options);
    const records = read.records[entity];
    const issues = read.issues.filter((i) => i.entity === entity || (i.entity === undefined && entity === ROSTER_ENTITY_ORDER[0]));
    // A record left out for an error is consumed all the same: rowsRead = records + rejected.
    const sent = new Set(records.map((r) => r.sourcedId));
    // Every Clever object the mapping left out has an id (its issue carries it as the sourcedId).
    const rejectedIds = [
      ...new Set(issues.filter((i) => i.severity === 'error' && i.sourcedId !== undefined && !sent.has(i.sourcedId)).map((i) => i.sourcedId!)),
    ];
    // Objects without an id were read and left out too: they count as rejected rows no one can name.
    const rejected = rejectedIds.length + (read.unidentified?.[entity] ?? 0);
    const size = Math.max(1, options.batchSize);
    if (records.length === 0 && (issues.length > 0 || rejected > 0)) yield { entity, records: [], issues, rowsRead: rejected, rejectedIds };
    for (let start = 0; start < records.length; start += size) {
      throwIfCancelled(options.signal, entity);
      const first = start === 0;
      const batch = records.slice(start, start + size);
      yield { entity, records: batch, issues: first ? issues : [], rowsRead: batch.length + (first ? rejected : 0), rejectedIds: first ? rejectedIds : [] };
    }
  }

  async dispose(): Promise<void> {
    await this.client.close();
  }

  private readFor(entity: RosterEntity, options: RosterReadOptions): Promise<SessionRead> {
    if (options.mode === 'full')
      return (this.full ??= this.client.pullDistrict(options.signal).then(({ records, issues, unidentified }) => ({ records, issues, unidentified })));
    const since = options.since;
    if (since === undefined) {
      throw new RosterbridgeError(
        'SOURCE_MODE_MISMATCH',
        `a delta sync from Clever reads the events since the last successful run, but this run was given no such time (reading ${entity}); run a full sync first`,
        { entity },
      );
    }
    return (this.delta ??= readCleverChanges(this.client, { since, overlapMs: this.eventOverlapMs, signal: options.signal }).then((changes) => {
      const changed = ROSTER_ENTITY_ORDER.reduce((n, e) => n + changes.records[e].length, 0);
      this.logger.info(
        { since: since.toISOString(), events: changes.events.read, newestEventId: changes.events.newestId, changed },
        'read the changes since the last committed sync from Clever events',
      );
      return changes;
    }));
  }
}

function throwIfCancelled(signal: AbortSignal, entity: RosterEntity): void {
  if (signal.aborted) throw new RosterbridgeError('CANCELLED', `reading ${entity} from Clever was cancelled`);
}
