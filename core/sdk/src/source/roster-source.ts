import type { Disposable } from '../base/lifecycle';
import type { TenantContext } from '../plugin/plugin-context';
import type { RosterEntity } from '../roster/roster-entity';
import { serviceId } from '../instantiation/service-id';
import type { RosterIssue, RosterIssueTally } from '../roster/roster-issue';
import type { RosterRecord } from '../roster/roster-record';

/** What a source can do for a tenant. */
export interface RosterSourceCapabilities {
  /** The entities it can read, in referential order. */
  entities: RosterEntity[];
  /** True when it can read only what changed (a delta package, `dateLastModified>`, an events feed). */
  delta: boolean;
}

/** The outcome of a connection check: a real round trip, never an import. */
export type ConnectionCheck =
  | { ok: true; message: string; details?: Record<string, unknown> }
  | {
      ok: false;
      /** A stable code telling apart the failures an operator fixes differently. */
      code: 'SOURCE_UNREACHABLE' | 'SOURCE_BAD_CREDENTIALS' | 'SOURCE_FORBIDDEN' | 'SOURCE_INVALID' | 'SOURCE_NOT_FOUND';
      message: string;
      /** Record-level detail, e.g. header problems of a CSV package. */
      issues?: RosterIssue[];
      details?: Record<string, unknown>;
    };

/** What `read` is asked for. */
export interface RosterReadOptions {
  /** `full` reads everything; `delta` only what changed (since `since`, or what the package carries). */
  mode: 'full' | 'delta';
  /** For delta reads by time: changes after this instant. */
  since?: Date;
  /** Records per batch (a hint; batches may be smaller). */
  batchSize: number;
  signal: AbortSignal;
  /**
   * The engine stores at most this many issues of each code per run and counts the rest. A source
   * may stop building the issues of a code once it has listed this many in one read, and count the
   * rest in {@link RosterBatch.unlistedIssues} instead: a file of millions of bad rows is then read
   * at the speed of good ones. A source that lists every issue is right too, only slower.
   */
  maxIssuesPerCode?: number;
}

/**
 * One batch of a read: the records that were good, and the issues found on the way (a record with
 * an `error` issue is not in `records`). `rowsRead` counts what the batch consumed from the source,
 * so every input record is accounted for: rowsRead = records + rejected.
 *
 * A rejected row is never evidence that its record is gone. The engine keeps the last synced
 * version of each record whose sourcedId is in `rejectedIds`; a rejected row whose sourcedId could
 * not be read (rowsRead − records − rejectedIds) could be any record of the entity, so the engine
 * deletes nothing of that entity by absence in that run, and says how many deletions it held back.
 *
 * ```ts
 * yield { entity: 'users', records: [alice], issues: [badRoleOfBob, truncatedLine], rowsRead: 3, rejectedIds: ['bob'] };
 * // bob keeps his last synced version; one row could not be identified: no user is deleted by absence
 * ```
 */
export interface RosterBatch<E extends RosterEntity = RosterEntity> {
  entity: E;
  records: RosterRecord<E>[];
  issues: RosterIssue[];
  /**
   * Issues found since the previous batch but not listed in `issues` (see
   * {@link RosterReadOptions.maxIssuesPerCode}): how many of each code and severity. They count in
   * the run's issues like listed ones; an error among them rejected its row all the same.
   */
  unlistedIssues?: readonly RosterIssueTally[];
  rowsRead: number;
  /**
   * The sourcedIds of the rows this batch rejected, for each rejected row whose sourcedId could be
   * read whole (a truncated line whose first field may be cut short is not one of them).
   */
  rejectedIds: string[];
}

/**
 * A source opened for one tenant. Reading writes nothing anywhere. A source that cannot finish a
 * read must throw (never end early as if complete): the ledger deletes nothing after a failed read.
 */
export interface RosterSourceSession extends Disposable {
  readonly capabilities: RosterSourceCapabilities;
  /** A real round trip (credentials, URL, permissions), or a validation of a package, importing nothing. */
  check(signal?: AbortSignal): Promise<ConnectionCheck>;
  /** The entity's records as an async iterable of batches; memory is bounded by the batch size. */
  read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>>;
  /**
   * Optional: a digest of everything a full read depends on (a file's bytes, the settings that shape
   * records), such that equal fingerprints mean a full read yields the same records and issues. The
   * engine then knows an unchanged source without looking each record up: it still reads (for the
   * counts and issues) but stages nothing. It asks before and after the read, and trusts only equal
   * answers. Leave it out when no such digest is cheap (a REST API).
   */
  fingerprint?(signal?: AbortSignal): Promise<string | undefined>;
}

/**
 * What a source plugin registers for each source it contributes (`contributes.sources[].id`): a
 * factory of per-tenant sessions over the tenant's validated, secret-resolved settings.
 *
 * ```ts
 * export async function activate(context: PluginContext) {
 *   context.subscriptions.add(context.registerSource('oneroster-csv', {
 *     async open(tenant) { return new CsvSourceSession(await tenant.settings<CsvSettings>()); },
 *   }));
 * }
 * ```
 */
export interface RosterSource {
  open(tenant: TenantContext): Promise<RosterSourceSession>;
}

/**
 * Caps on what a source may read, in bytes, set by the host (config `sources.*`) so that a small
 * hostile package cannot make a read inflate without end or a row fill memory. A source plugin
 * finds them in its scope (`tenant.scope.tryGet(ISourceLimits)`); undefined: its own defaults.
 */
export interface SourceLimits {
  /** The most a package's files may add up to, inflated. */
  maxPackageBytes: number;
  /** The most one file of a package may hold, inflated. */
  maxFileBytes: number;
  /** The longest row (line) of a file. */
  maxLineBytes: number;
  /** The longest field of a row. */
  maxFieldBytes: number;
}

/** The host's {@link SourceLimits}, in the root scope. */
export const ISourceLimits = serviceId<SourceLimits>('core.sourceLimits');

/** Registers a source implementation under its contribution id; dispose to unregister. */
export type RegisterSource = (contributionId: string, source: RosterSource) => Disposable;
