import {
  ROSTER_ENTITY_ORDER,
  ROSTER_REFERENCES,
  RosterbridgeError,
  findUnresolvedReferences,
  rosterIssue,
  type RosterIssue,
  type RosterRecord,
  type ConnectionCheck,
  type RosterBatch,
  type RosterEntity,
  type RosterReadOptions,
  type RosterSourceCapabilities,
  type RosterSourceSession,
} from '@rosterbridge/core';
import { OneRosterClient, type OneRosterClientOptions, type OneRosterReadReport } from './oneroster-client';
import { oneRosterCollectionOf, type OneRosterCollectionName } from './oneroster-collection';
import { modifiedSinceFilter } from './oneroster-filter';

/** Settings of a {@link OneRosterSourceSession}: the client's, and which entities to read. */
export interface OneRosterSourceOptions extends OneRosterClientOptions {
  /** The entities this source supplies (and the connection check probes). Default all seven. */
  entities?: readonly RosterEntity[];
}

/**
 * A OneRoster 1.1 REST server as a Rosterbridge source for one tenant: the core
 * {@link RosterSourceSession} contract over a {@link OneRosterClient}, so that a source plugin
 * (ClassLink, or any 1.1 server) is a thin wrapper that maps its settings.
 *
 * A `full` read pages through the whole collection; a `delta` read with `since` asks for
 * `dateLastModified>'since'` (a `delta` read without `since` reads everything, which is safe: a
 * delta never deletes what it does not see). A read that cannot finish throws.
 *
 * ```ts
 * export async function activate(context: PluginContext) {
 *   context.subscriptions.add(context.registerSource('classlink', {
 *     async open(tenant) { return OneRosterSourceSession.open(toOneRosterOptions(await tenant.settings())); },
 *   }));
 * }
 * ```
 */
export class OneRosterSourceSession implements RosterSourceSession {
  readonly capabilities: RosterSourceCapabilities;
  private readonly reports: OneRosterReadReport[] = [];
  /** The sourcedIds of entities read in full in this session that other records may reference. */
  private readonly complete = new Map<RosterEntity, Set<string>>();

  constructor(
    readonly client: OneRosterClient,
    entities: readonly RosterEntity[] = ROSTER_ENTITY_ORDER,
  ) {
    this.capabilities = { entities: ROSTER_ENTITY_ORDER.filter((e) => entities.includes(e)), delta: true };
  }

  /** A session over a new client with `options`. */
  static open(options: OneRosterSourceOptions): OneRosterSourceSession {
    return new OneRosterSourceSession(new OneRosterClient(options), options.entities);
  }

  /** The reports of every read so far, in the order they started (requests, pages, clamps, totals). */
  get readReports(): readonly OneRosterReadReport[] {
    return this.reports;
  }

  /** A real round trip to each of the session's collections; see {@link OneRosterClient.check}. */
  check(signal?: AbortSignal): Promise<ConnectionCheck> {
    return this.client.check({ collections: this.capabilities.entities.map((e): OneRosterCollectionName => e), signal });
  }

  /** The entity's records in batches of at most `batchSize`; throws a coded error rather than end early. */
  async *read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>> {
    if (!this.capabilities.entities.includes(entity)) {
      throw new RosterbridgeError('BAD_REQUEST', `this OneRoster source is not set up to read ${entity} (it reads ${this.capabilities.entities.join(', ')})`, {
        entity,
      });
    }
    const filter = options.mode === 'delta' && options.since !== undefined ? modifiedSinceFilter(options.since) : undefined;
    const reading = this.client.readPath([oneRosterCollectionOf(entity).path], entity, {
      batchSize: options.batchSize,
      signal: options.signal,
      ...(filter === undefined ? {} : { filter }),
    });
    this.reports.push(reading.report);
    if (filter !== undefined) {
      // A delta carries only changes: what it references may be anywhere; nothing can be checked.
      yield* reading;
      return;
    }
    // A full read checks references: to entities this session already read in full (referential
    // order), at once; to its own entity (a parent org, a guardian), once the entity is all read,
    // in a last batch of issues only. References to what cannot be known pass unchecked.
    const referenced = REFERENCED.has(entity);
    const ids = new Set<string>();
    const selfFields = ROSTER_REFERENCES[entity].filter((r) => r.target === entity).map((r) => r.field);
    const pending: { sourcedId: string; field: string; target: string }[] = [];
    const lookup = (target: RosterEntity, sourcedId: string) => (target === entity ? undefined : this.complete.get(target)?.has(sourcedId));
    for await (const batch of reading) {
      for (const record of batch.records) {
        if (referenced) ids.add(record.sourcedId);
        if (!this.allKnown(entity, record)) {
          const issues = findUnresolvedReferences(entity, record, lookup);
          if (issues.length > 0) batch.issues.push(...issues);
        }
        for (const field of selfFields) for (const target of referencesIn(record, field)) pending.push({ sourcedId: record.sourcedId, field, target });
      }
      yield batch;
    }
    if (referenced) this.complete.set(entity, ids);
    const late: RosterIssue[] = pending
      .filter((p) => !ids.has(p.target))
      .map((p) =>
        rosterIssue('REFERENCE_UNRESOLVED', `${p.field} '${p.target}' names no record in ${entity}`, { entity, sourcedId: p.sourcedId, field: p.field }),
      );
    if (late.length > 0) yield { entity, records: [], issues: late, rowsRead: 0, rejectedIds: [] } as RosterBatch<E>;
  }

  /** True when every reference of `record` to another entity names a record read in full here (the common case, checked without allocating). */
  private allKnown(entity: RosterEntity, record: RosterRecord): boolean {
    for (const { field, target } of ROSTER_REFERENCES[entity]) {
      if (target === entity) continue;
      const known = this.complete.get(target);
      if (!known) continue;
      const value = (record as unknown as Record<string, unknown>)[field];
      if (typeof value === 'string') {
        if (!known.has(value)) return false;
      } else if (Array.isArray(value)) {
        for (const id of value as string[]) if (!known.has(id)) return false;
      }
    }
    return true;
  }

  /** Closes the client's connections. */
  async dispose(): Promise<void> {
    await this.client.dispose();
  }
}

/** Entities some reference points at: their ids are kept while a session reads. */
const REFERENCED = new Set<RosterEntity>(Object.values(ROSTER_REFERENCES).flatMap((refs) => refs.map((r) => r.target)));

/** The sourcedIds a record's reference field holds (one, several or none). */
function referencesIn(record: RosterRecord, field: string): string[] {
  const value = (record as unknown as Record<string, unknown>)[field];
  return Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
}
