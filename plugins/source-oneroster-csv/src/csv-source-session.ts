import { type CsvPackage, type CsvPackageLimits, openCsvPackage } from '@rosterbridge/oneroster-csv';
import {
  type ConnectionCheck,
  ROSTER_ENTITY_ORDER,
  type RosterBatch,
  type RosterEntity,
  RosterbridgeError,
  type RosterReadOptions,
  type RosterSourceCapabilities,
  type RosterSourceSession,
  errorMessage,
} from '@rosterbridge/core';

/** The source's per-tenant settings, as its manifest's configuration schema declares them. */
export interface CsvSourceSettings {
  /** Absolute path of the zip or folder (the plugin resolves relative paths first). */
  location: string;
  checkReferences: boolean;
  /** The host's caps on the package's size, rows and fields (the reader's defaults when absent). */
  limits?: CsvPackageLimits;
}

/**
 * A OneRoster CSV package opened for one tenant. It supplies the entities whose files the manifest
 * marks `bulk` or `delta`; an `absent` file supplies nothing (and so deletes nothing).
 */
export class CsvSourceSession implements RosterSourceSession {
  private constructor(
    private readonly csv: CsvPackage,
    readonly capabilities: RosterSourceCapabilities,
  ) {}

  /** Opens the package's manifest; a package that cannot be opened fails here with its path. */
  static async open(settings: CsvSourceSettings): Promise<CsvSourceSession> {
    const csv = await openCsvPackage(settings.location, { checkReferences: settings.checkReferences, ...(settings.limits ? { limits: settings.limits } : {}) });
    const entities = ROSTER_ENTITY_ORDER.filter((e) => csv.modeOf(e) !== 'absent');
    const delta = entities.some((e) => csv.modeOf(e) === 'delta');
    return new CsvSourceSession(csv, { entities, delta });
  }

  /** Validates the manifest and every supplied file's header, reading no rows. */
  async check(signal?: AbortSignal): Promise<ConnectionCheck> {
    let issues;
    try {
      issues = await this.csv.check({ signal });
    } catch (err) {
      return { ok: false, code: 'SOURCE_UNREACHABLE', message: errorMessage(err) };
    }
    const errors = issues.filter((i) => i.severity === 'error');
    const files = Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, this.csv.modeOf(e)]));
    if (errors.length > 0)
      return {
        ok: false,
        code: 'SOURCE_INVALID',
        message: `${this.csv.location}: ${errors.length} problem(s): ${errors.map((e) => e.message).join('; ')}`,
        issues,
        details: { files },
      };
    return { ok: true, message: `${this.csv.location}: manifest and headers are valid`, details: { files, warnings: issues } };
  }

  /**
   * Streams one entity's records. A full sync over a file the manifest marks `delta` is refused: a
   * delta file is not a snapshot, and reading it as one would delete everything it leaves out.
   */
  async *read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>> {
    const mode = this.csv.modeOf(entity);
    if (mode === 'absent') return;
    if (options.mode === 'full' && mode === 'delta')
      throw new RosterbridgeError(
        'SOURCE_MODE_MISMATCH',
        `${this.csv.location}: manifest.csv marks ${entity}.csv as delta; a full sync needs a bulk package (run a delta sync for this package)`,
        { entity },
      );
    const reading = this.csv.read(entity, {
      batchSize: options.batchSize,
      signal: options.signal,
      ...(options.maxIssuesPerCode === undefined ? {} : { maxIssuesPerCode: options.maxIssuesPerCode }),
    });
    let consumed = 0;
    for await (const batch of reading) {
      const rowsRead = reading.tally.rowsRead - consumed;
      consumed = reading.tally.rowsRead;
      yield { entity, records: batch.records, issues: batch.issues, unlistedIssues: batch.unlistedIssues, rowsRead, rejectedIds: batch.rejectedIds };
    }
    // A malformed quote can make the parser swallow the rest of a file; such a read is no snapshot.
    if (!reading.tally.complete)
      throw new RosterbridgeError(
        'SOURCE_INCOMPLETE',
        `${this.csv.location}: ${entity}.csv could not be read to its end (see its CSV_MALFORMED_ROW, CSV_ROW_TOO_LONG or CSV_BLANK_LINES issues); nothing will be deleted on it`,
        {
          entity,
        },
      );
  }

  /** The package's bytes and the settings that shape its records: equal fingerprints, equal reads. */
  fingerprint(signal?: AbortSignal): Promise<string> {
    return this.csv.fingerprint(signal);
  }

  async dispose(): Promise<void> {
    await this.csv.dispose();
  }
}
