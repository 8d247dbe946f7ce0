import {
  ROSTER_ENTITY_ORDER,
  RosterbridgeError,
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

  constructor(readonly client: OneRosterClient, entities: readonly RosterEntity[] = ROSTER_ENTITY_ORDER) {
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
      throw new RosterbridgeError('BAD_REQUEST', `this OneRoster source is not set up to read ${entity} (it reads ${this.capabilities.entities.join(', ')})`, { entity });
    }
    const filter = options.mode === 'delta' && options.since !== undefined ? modifiedSinceFilter(options.since) : undefined;
    const reading = this.client.readPath([oneRosterCollectionOf(entity).path], entity, {
      batchSize: options.batchSize,
      signal: options.signal,
      ...(filter === undefined ? {} : { filter }),
    });
    this.reports.push(reading.report);
    yield* reading;
  }

  /** Closes the client's connections. */
  async dispose(): Promise<void> {
    await this.client.dispose();
  }
}
