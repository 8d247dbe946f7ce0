import {
  ErrorCodes,
  RosterbridgeError,
  ROSTER_ENTITY_ORDER,
  ROSTER_REFERENCES,
  errorMessage,
  findUnresolvedReferences,
  isRosterbridgeError,
  isRosterEntity,
  rosterIssue,
  type Disposable,
  type ErrorCode,
  type RosterEntity,
  type RosterIssue,
  type RosterIssueTally,
  type RosterRecord,
  type RosterReferenceLookup,
  type User,
} from '@rosterbridge/core';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { checkCsvHeader } from './check-csv-header';
import { csvIssue } from './csv-issue-codes';
import { emptyCsvManifest, readCsvManifest, type CsvFileMode, type CsvManifest } from './csv-manifest';
import type { CsvPackageSource } from './csv-package-source';
import { currentCsvRow, MAX_CSV_FIELD_LENGTH, MAX_CSV_ROW_LENGTH, readCsvRows, tokenizeCsv, type CsvRow } from './csv-row-reader';
import { CsvRowParser } from './csv-row-parser';
import { openFolderPackageSource } from './folder-package-source';
import type { CsvPackageLimits } from './package-limits';
import { csvFileName, ONEROSTER_CSV_HEADERS, UNREAD_ONEROSTER_CSV_FILES } from './oneroster-csv-headers';
import { SourcedIdSet } from './sourced-id-set';
import { UserIdRegistry } from './user-id-registry';
import { openZipPackageSource } from './zip-package-source';

/** This reader's package version: part of every fingerprint, so a newer reader never takes an old snapshot as its own reading. */
const READER_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as { version: string }).version;
/** Options for {@link openCsvPackage}. */
export interface OpenCsvPackageOptions {
  /**
   * Check each record's references against the package's other bulk files (a class's course,
   * terms and school…) and warn about those that point at nothing. Costs one extra pass over each
   * referenced file and keeps its accepted sourcedIds in memory. Default true.
   */
  checkReferences?: boolean;
  /** Caps on the package's size and on its rows and fields (defaults: see {@link CsvPackageLimits}). */
  limits?: CsvPackageLimits;
}

/** Options for {@link CsvPackage.read}. */
export interface CsvReadOptions {
  /**
   * Records per batch; default 1000. A batch is also cut when this many issues are waiting, or
   * this many rows were rejected.
   */
  batchSize?: number;
  /** Stops reading: the iteration then throws a `CANCELLED` {@link RosterbridgeError}. */
  signal?: AbortSignal;
  /**
   * List at most this many issues of each code in this read; past it, issues of that code are only
   * counted, in {@link CsvRecordBatch.unlistedIssues}. Default: every issue is listed. A package
   * of millions of bad rows is read fast with it: the issues past the cap die young.
   */
  maxIssuesPerCode?: number;
}

/** A batch of records of one entity, with the issues found since the previous batch. */
export interface CsvRecordBatch<E extends RosterEntity = RosterEntity> {
  entity: E;
  records: RosterRecord<E>[];
  issues: RosterIssue[];
  /** The issues found since the previous batch but not listed (past `maxIssuesPerCode`): how many, per code and severity. */
  unlistedIssues: RosterIssueTally[];
  /** The sourcedIds of the batch's rejected rows, where a row's sourcedId could be read whole. */
  rejectedIds: string[];
}

/**
 * The count of one file's rows, so every row is accounted for: `rowsRead` = `recordsEmitted` +
 * `rowsRejected`. Live while reading; final once the iteration ends.
 */
export interface CsvFileTally {
  entity: RosterEntity;
  file: string;
  mode: CsvFileMode;
  /** Data rows read (the header not counted), malformed rows included. */
  rowsRead: number;
  recordsEmitted: number;
  rowsRejected: number;
  /**
   * True once the whole file was read with every row accounted for (for an absent file, at once).
   * False while reading, when reading stopped early (cancelled, failed), or when malformed CSV (a
   * stray or unclosed quote) may have hidden rows. Only a complete `bulk` file is a full snapshot:
   * records missing from anything else are not deletions.
   */
  complete: boolean;
}

/** The reading of one entity: iterate it once for batches; its tally counts as it goes. */
export interface CsvEntityReading<E extends RosterEntity> extends AsyncIterable<CsvRecordBatch<E>> {
  readonly tally: CsvFileTally;
}

const DEFAULT_BATCH_SIZE = 1000;
const MANIFEST = 'manifest.csv';

/**
 * A OneRoster 1.1 CSV package (a folder or a zip) opened for reading. Opening reads only the
 * manifest and the list of files; {@link check} reads the headers; {@link read} streams one file's
 * records in batches, never holding the file in memory.
 *
 * ```ts
 * const pkg = await openCsvPackage('/drop/lincoln-2024-09-01.zip');
 * try {
 *   const problems = await pkg.check();          // manifest and headers; reads no rows
 *   const users = pkg.read('users', { batchSize: 500, signal });
 *   for await (const { records, issues } of users) await ledger.take(records, issues);
 *   console.log(users.tally);                     // { rowsRead: 812, recordsEmitted: 809, rowsRejected: 3, … }
 * } finally {
 *   await pkg.dispose();
 * }
 * ```
 */
export class CsvPackage implements Disposable {
  private readonly headerChecks = new Map<RosterEntity, Promise<RosterIssue | undefined>>();
  private readonly acceptedIds = new Map<RosterEntity, Promise<SourcedIdSet | undefined>>();

  private constructor(
    private readonly source: CsvPackageSource,
    /** The package's manifest as read. */
    readonly manifest: CsvManifest,
    private readonly packageIssues: readonly RosterIssue[],
    private readonly options: Required<OpenCsvPackageOptions>,
  ) {}

  /** Opens the package at `location`; see {@link openCsvPackage}. */
  static async open(location: string, options: OpenCsvPackageOptions = {}): Promise<CsvPackage> {
    const limits = options.limits ?? {};
    const source = await openSource(location, limits);
    try {
      const issues: RosterIssue[] = [];
      if (source.nestedFolder !== undefined) {
        issues.push(csvIssue('CSV_PACKAGE_NESTED', `${location} keeps its files in the folder ${source.nestedFolder}/; they were read from there`));
      }
      let manifest: CsvManifest;
      if (source.fileNames.includes(MANIFEST)) {
        const reading = await readCsvManifest(readCsvRows(await source.openFile(MANIFEST), limits));
        manifest = reading.manifest;
        issues.push(...reading.issues);
      } else {
        manifest = emptyCsvManifest();
        issues.push(csvIssue('CSV_MANIFEST_MISSING', `${location} has no manifest.csv at its root; it is not a OneRoster CSV package`));
      }
      // Which files are present matters only when the manifest can say what to expect.
      const refused = issues.some((issue) => issue.severity === 'error' && issue.entity === undefined);
      if (!refused) issues.push(...fileIssues(source.fileNames, manifest, issues));
      return new CsvPackage(source, manifest, issues, { checkReferences: options.checkReferences ?? true, limits });
    } catch (error) {
      await source.close();
      throw unreadable(`${location}: manifest.csv cannot be read`, location, error);
    }
  }

  /** Where the package is. */
  get location(): string {
    return this.source.location;
  }

  /** How the manifest supplies `entity`'s file. */
  modeOf(entity: RosterEntity): CsvFileMode {
    return this.manifest.modes[entity];
  }

  /**
   * Checks the package without importing: the manifest, which files are there, and the header of
   * each file to be read. Returns every issue found; the package can be read when none is an error
   * (an error naming an entity refuses only that entity's file).
   */
  async check(options: Pick<CsvReadOptions, 'signal'> = {}): Promise<RosterIssue[]> {
    const issues = [...this.packageIssues];
    if (this.packageRefusal()) return issues;
    for (const entity of ROSTER_ENTITY_ORDER) {
      throwIfAborted(options.signal, this.location);
      if (this.manifestRefusal(entity) || this.modeOf(entity) === 'absent') continue;
      const mismatch = await this.checkHeader(entity);
      if (mismatch) issues.push(mismatch);
    }
    return issues;
  }

  /**
   * Reads `entity`'s file as batches of canonical records. Rows with errors are reported in the
   * batch's issues and not emitted; warnings come with their records. An absent file yields
   * nothing. Throws a {@link RosterbridgeError} (from the iteration) when the file cannot be read
   * at all: `CSV_MANIFEST_MISSING`, `CSV_MANIFEST_INVALID`, `CSV_UNSUPPORTED_VERSION`,
   * `CSV_FILE_MISSING`, `CSV_BAD_HEADER`, `CSV_PACKAGE_UNREADABLE`, or `CANCELLED`.
   */
  read<E extends RosterEntity>(entity: E, options: CsvReadOptions = {}): CsvEntityReading<E> {
    if (!isRosterEntity(entity)) throw new TypeError(`'${String(entity)}' is not a roster entity`);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
    const maxIssuesPerCode = options.maxIssuesPerCode ?? Infinity;
    if (!(maxIssuesPerCode >= 0)) throw new RangeError(`maxIssuesPerCode must be a number of issues, not ${maxIssuesPerCode}`);
    const tally: CsvFileTally = {
      entity,
      file: csvFileName(entity),
      mode: this.modeOf(entity),
      rowsRead: 0,
      recordsEmitted: 0,
      rowsRejected: 0,
      complete: false,
    };
    let started = false;
    return {
      tally,
      [Symbol.asyncIterator]: () => {
        if (started) throw new TypeError(`this reading of ${tally.file} was already iterated; call read() again`);
        started = true;
        return this.readBatches(entity, tally, batchSize, new IssueBudget(maxIssuesPerCode), options.signal);
      },
    };
  }

  /**
   * A digest of everything a full read of this package depends on: the bytes of the zip, or of each
   * file of the folder with its name, and what shapes the records (this reader's version, whether
   * references are checked). Two packages with the same fingerprint read as the same records and
   * issues. Costs one pass over the bytes (no parsing).
   */
  async fingerprint(signal?: AbortSignal): Promise<string> {
    const hash = createHash('sha256');
    const { maxLineBytes = MAX_CSV_ROW_LENGTH, maxFieldBytes = MAX_CSV_FIELD_LENGTH } = this.rowLimits;
    hash.update(
      `oneroster-csv ${READER_VERSION} checkReferences=${this.options.checkReferences} maxLineBytes=${maxLineBytes} maxFieldBytes=${maxFieldBytes}\n`,
    );
    const hashStream = async (open: () => Promise<Readable> | Readable, file?: string) => {
      try {
        const stream = await open();
        for await (const chunk of signal ? addAbortSignal(signal, stream) : stream) hash.update(chunk as Buffer);
      } catch (error) {
        if (signal?.aborted) throw cancelled(this.location, signal);
        throw unreadable(
          `${file === undefined ? this.location : `${this.location}: ${file}`} cannot be read to fingerprint the package: ${errorMessage(error)}`,
          this.location,
          error,
          file,
        );
      }
    };
    let zip: boolean;
    try {
      zip = (await stat(this.location)).isFile();
    } catch (error) {
      throw unreadable(`${this.location} cannot be read: ${errorMessage(error)}`, this.location, error);
    }
    if (zip) {
      await hashStream(() => createReadStream(this.location));
    } else {
      for (const name of [...this.source.fileNames].sort()) {
        throwIfAborted(signal, this.location);
        hash.update(`\u0000${name}\u0000`);
        await hashStream(() => this.source.openFile(name), name);
      }
    }
    return hash.digest('base64url');
  }

  /** Closes the folder or zip. */
  async dispose(): Promise<void> {
    const sets = [...this.acceptedIds.values()];
    this.acceptedIds.clear();
    for (const ids of await Promise.allSettled(sets)) if (ids.status === 'fulfilled') ids.value?.dispose();
    await this.source.close();
  }

  /** The row and field caps as given (undefined: the tokenizer's defaults). */
  private get rowLimits(): { maxLineBytes?: number; maxFieldBytes?: number } {
    const { maxLineBytes, maxFieldBytes } = this.options.limits;
    return { maxLineBytes, maxFieldBytes };
  }

  private async *readBatches<E extends RosterEntity>(
    entity: E,
    tally: CsvFileTally,
    batchSize: number,
    budget: IssueBudget,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<CsvRecordBatch<E>> {
    throwIfAborted(signal, this.location);
    this.throwIfRefused(entity);
    if (tally.mode === 'absent') {
      tally.complete = true;
      return;
    }
    const lookup = await this.referenceLookup(entity, signal);
    const userIds = entity === 'users' ? new UserIdRegistry() : undefined;
    let records: RosterRecord<E>[] = [];
    let issues: RosterIssue[] = [];
    let rejectedIds: string[] = [];
    let rejectedRows = 0;
    let parser: CsvRowParser<E> | undefined;
    for await (const rows of this.parseFile(entity, tally.mode, signal)) {
      parser = rows;
      // The rows of a chunk are taken without awaiting: an await per row costs more than parsing it.
      for (let listed = issues.length; rows.next(issues); listed = issues.length) {
        tally.rowsRead++;
        const record = rows.record;
        if (!record) {
          tally.rowsRejected++;
          rejectedRows++;
          if (rows.sourcedId !== undefined) rejectedIds.push(rows.sourcedId);
        } else {
          if (lookup) checkReferences(entity, record, rows.line, lookup, issues);
          if (userIds && record.status !== 'tobedeleted') checkUserIds(record as User, rows.line, userIds, issues);
          records.push(record);
          tally.recordsEmitted++;
        }
        if (issues.length > listed) budget.keep(issues, listed);
        // Rejected rows cut batches too: a file of bad rows whose issues are only counted is still read in batches.
        if (records.length >= batchSize || issues.length >= batchSize || rejectedRows >= batchSize) {
          yield { entity, records, issues, unlistedIssues: budget.takeUnlisted(), rejectedIds };
          records = [];
          issues = [];
          rejectedIds = [];
          rejectedRows = 0;
          throwIfAborted(signal, this.location);
        }
      }
    }
    const end = parser!.finish();
    const listed = issues.length;
    issues.push(...end.issues);
    budget.keep(issues, listed);
    tally.complete = end.allRowsAccountedFor;
    const unlistedIssues = budget.takeUnlisted();
    if (records.length > 0 || issues.length > 0 || rejectedIds.length > 0 || unlistedIssues.length > 0 || rejectedRows > 0) {
      yield { entity, records, issues, unlistedIssues, rejectedIds };
    }
  }

  /**
   * Reads `entity`'s file after checking its header. Yields the file's row parser after each chunk
   * read (at least once, unless it throws), for the caller to take that chunk's rows from and, at
   * the end, to ask what it knows about the file as a whole.
   */
  private async *parseFile<E extends RosterEntity>(entity: E, mode: 'bulk' | 'delta', signal: AbortSignal | undefined): AsyncGenerator<CsvRowParser<E>> {
    const file = csvFileName(entity);
    const chunks = tokenizeCsv(await this.openFile(file, signal), this.rowLimits);
    try {
      let parser: CsvRowParser<E> | undefined;
      for await (const rows of chunks) {
        throwIfAborted(signal, this.location);
        if (!parser) {
          // The header is the first row; it may take more than one chunk to arrive.
          if (!rows.nextRow()) continue;
          const header = currentCsvRow(rows);
          const mismatch = headerIssue(entity, file, header);
          if (mismatch) throw refusal(mismatch, this.location);
          parser = new CsvRowParser(entity, file, mode, header.fields!, rows);
        }
        yield parser;
      }
      if (!parser) throw refusal(headerIssue(entity, file, undefined)!, this.location);
    } catch (error) {
      if (signal?.aborted) throw cancelled(this.location, signal);
      if (isRosterbridgeError(error)) throw error;
      throw unreadable(`${file} in ${this.location} cannot be read: ${errorMessage(error)}`, this.location, error, file);
    } finally {
      await chunks.return(undefined);
    }
  }

  private async openFile(file: string, signal: AbortSignal | undefined): Promise<Readable> {
    try {
      const stream = await this.source.openFile(file);
      return signal ? addAbortSignal(signal, stream) : stream;
    } catch (error) {
      throw unreadable(`${file} in ${this.location} cannot be opened: ${errorMessage(error)}`, this.location, error, file);
    }
  }

  /** Answers reference lookups from the sourcedIds accepted in the package's bulk files. */
  private async referenceLookup(entity: RosterEntity, signal: AbortSignal | undefined) {
    if (!this.options.checkReferences) return undefined;
    const known = new Map<RosterEntity, SourcedIdSet>();
    for (const { target } of ROSTER_REFERENCES[entity]) {
      if (known.has(target) || this.modeOf(target) !== 'bulk') continue;
      const ids = await this.acceptedIdsOf(target, signal);
      if (ids) known.set(target, ids);
    }
    return (target: RosterEntity, sourcedId: string): boolean | undefined => known.get(target)?.has(sourcedId);
  }

  /** The sourcedIds of the records `entity`'s bulk file yields, or undefined when the file is refused. */
  private acceptedIdsOf(entity: RosterEntity, signal: AbortSignal | undefined): Promise<SourcedIdSet | undefined> {
    let ids = this.acceptedIds.get(entity);
    if (!ids) {
      ids = (async () => {
        if (this.refusalOf(entity)) return undefined;
        const accepted = new SourcedIdSet();
        try {
          const unwanted: RosterIssue[] = [];
          let parser: CsvRowParser<RosterEntity> | undefined;
          for await (const rows of this.parseFile(entity, 'bulk', signal)) {
            parser = rows;
            while (rows.next(unwanted)) {
              if (rows.record) accepted.add(rows.record.sourcedId);
              unwanted.length = 0;
            }
          }
          // Malformed CSV may have hidden rows: then a reference to a missing id proves nothing.
          return parser!.finish().allRowsAccountedFor ? accepted : undefined;
        } catch (error) {
          // A referenced file that cannot be read leaves its references unchecked; its own read reports why.
          if (isRosterbridgeError(error) && error.code !== 'CANCELLED') return undefined;
          throw error;
        }
      })();
      ids.catch(() => this.acceptedIds.delete(entity));
      this.acceptedIds.set(entity, ids);
    }
    return ids;
  }

  private checkHeader(entity: RosterEntity): Promise<RosterIssue | undefined> {
    let check = this.headerChecks.get(entity);
    if (!check) {
      check = (async () => {
        const file = csvFileName(entity);
        const rows = readCsvRows(await this.openFile(file, undefined), this.rowLimits);
        try {
          const first = await rows.next();
          return headerIssue(entity, file, first.done ? undefined : first.value);
        } finally {
          await rows.return(undefined);
        }
      })();
      check.catch(() => this.headerChecks.delete(entity));
      this.headerChecks.set(entity, check);
    }
    return check;
  }

  private packageRefusal(): RosterIssue | undefined {
    return this.packageIssues.find((issue) => issue.severity === 'error' && issue.entity === undefined);
  }

  private manifestRefusal(entity: RosterEntity): RosterIssue | undefined {
    return this.packageIssues.find((issue) => issue.severity === 'error' && issue.entity === entity);
  }

  private refusalOf(entity: RosterEntity): RosterIssue | undefined {
    return this.packageRefusal() ?? this.manifestRefusal(entity);
  }

  private throwIfRefused(entity: RosterEntity): void {
    const issue = this.refusalOf(entity);
    if (issue) throw refusal(issue, this.location);
  }
}

/**
 * Opens a OneRoster 1.1 CSV package: a folder, or a zip (read in streaming mode, never extracted
 * whole). Reads the manifest and lists the files; problems with them are reported by
 * {@link CsvPackage.check}, not thrown. Throws a `CSV_PACKAGE_UNREADABLE` {@link RosterbridgeError}
 * only when there is nothing to read: no such path, or a file that is not a zip.
 */
export function openCsvPackage(location: string, options: OpenCsvPackageOptions = {}): Promise<CsvPackage> {
  return CsvPackage.open(location, options);
}

async function openSource(location: string, limits: CsvPackageLimits): Promise<CsvPackageSource> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(location)).isDirectory();
  } catch (error) {
    throw unreadable(`${location} cannot be opened: ${errorMessage(error)}`, location, error);
  }
  try {
    return isFolder ? await openFolderPackageSource(location, limits) : await openZipPackageSource(location, limits);
  } catch (error) {
    throw unreadable(`${location} is neither a folder nor a readable zip file: ${errorMessage(error)}`, location, error);
  }
}

/** Issues about which files are in the package against what the manifest declares (and `manifestIssues` have not already refused). */
function fileIssues(fileNames: readonly string[], manifest: CsvManifest, manifestIssues: readonly RosterIssue[]): RosterIssue[] {
  const issues: RosterIssue[] = [];
  for (const entity of ROSTER_ENTITY_ORDER) {
    const file = csvFileName(entity);
    const mode = manifest.modes[entity];
    if (mode !== 'absent' && !fileNames.includes(file)) {
      issues.push(csvIssue('CSV_FILE_MISSING', `manifest.csv declares file.${entity} ${mode} but the package has no ${file}`, { entity, file }));
    }
  }
  for (const file of fileNames) {
    if (!file.endsWith('.csv') || file === MANIFEST) continue;
    const name = file.slice(0, -'.csv'.length);
    if (isRosterEntity(name)) {
      const refused = manifestIssues.some((issue) => issue.severity === 'error' && issue.entity === name);
      if (manifest.modes[name] === 'absent' && !refused) {
        issues.push(
          csvIssue('CSV_FILE_IGNORED', `${file} is in the package but manifest.csv does not declare it bulk or delta; it is not read`, { entity: name, file }),
        );
      }
    } else if (!UNREAD_ONEROSTER_CSV_FILES.includes(name) || manifest.declaredFiles[name] === undefined) {
      issues.push(csvIssue('CSV_FILE_IGNORED', `${file} is not a OneRoster 1.1 roster file; it is not read`, { file }));
    }
  }
  return issues;
}

function headerIssue(entity: RosterEntity, file: string, header: CsvRow | undefined): RosterIssue | undefined {
  const at = { entity, file, line: 1 };
  if (header === undefined) return csvIssue('CSV_BAD_HEADER', `${file} is empty; it must start with its header row`, at);
  if (header.error !== undefined) return csvIssue('CSV_BAD_HEADER', `${file}: the header row is not valid CSV: ${header.error}`, at);
  const mismatch = checkCsvHeader(entity, header.fields, file);
  if (!mismatch) return undefined;
  return csvIssue('CSV_BAD_HEADER', mismatch.message, { ...at, line: header.line, column: mismatch.column, field: mismatch.expected });
}

/**
 * Keeps the first `limit` issues of each code of one read and counts the rest, per code and
 * severity, until they are taken. Issues are filtered as they are found, so those past the cap are
 * dropped while they are young.
 */
class IssueBudget {
  private readonly listed = new Map<string, number>();
  private unlisted = new Map<string, RosterIssueTally>();

  constructor(private readonly limit: number) {}

  /** Removes from `issues`, from index `from` on, those past their code's limit, counting them. */
  keep(issues: RosterIssue[], from: number): void {
    if (this.limit === Infinity) return;
    let kept = from;
    for (let at = from; at < issues.length; at++) {
      const issue = issues[at]!;
      const listed = this.listed.get(issue.code) ?? 0;
      if (listed < this.limit) {
        this.listed.set(issue.code, listed + 1);
        issues[kept++] = issue;
        continue;
      }
      const key = issue.severity === 'error' ? issue.code : `${issue.code} warning`;
      const tally = this.unlisted.get(key);
      if (tally) tally.count++;
      else this.unlisted.set(key, { code: issue.code, severity: issue.severity, count: 1 });
    }
    issues.length = kept;
  }

  /** The issues counted but not listed since the last call. */
  takeUnlisted(): RosterIssueTally[] {
    if (this.unlisted.size === 0) return [];
    const tallies = [...this.unlisted.values()];
    this.unlisted = new Map();
    return tallies;
  }
}

function checkReferences<E extends RosterEntity>(entity: E, record: RosterRecord<E>, line: number, lookup: RosterReferenceLookup, issues: RosterIssue[]): void {
  for (const issue of findUnresolvedReferences(entity, record, lookup)) {
    issues.push({ ...issue, file: csvFileName(entity), line, ...columnOf(entity, issue.field) });
  }
}

function checkUserIds(user: User, line: number, userIds: UserIdRegistry, issues: RosterIssue[]): void {
  for (const { userId, heldBy } of userIds.claim(user)) {
    const message = `userIds {${userId.type}:${userId.identifier}} is also held by user '${heldBy}'`;
    const where = { entity: 'users' as const, sourcedId: user.sourcedId, field: 'userIds', file: csvFileName('users'), line, ...columnOf('users', 'userIds') };
    issues.push(rosterIssue('DUPLICATE_USER_ID', message, where));
  }
}

function columnOf(entity: RosterEntity, field: string | undefined): { column?: number } {
  // Reference fields are standard columns, so the 1.1 header gives their position.
  const index = field === undefined ? -1 : ONEROSTER_CSV_HEADERS[entity].indexOf(field);
  return index < 0 ? {} : { column: index + 1 };
}

function refusal(issue: RosterIssue, location: string): RosterbridgeError {
  const code: ErrorCode = issue.code in ErrorCodes ? (issue.code as ErrorCode) : 'CSV_PACKAGE_UNREADABLE';
  const { code: _code, severity: _severity, message, ...where } = issue;
  return new RosterbridgeError(code, message, { location, ...where });
}

function unreadable(message: string, location: string, cause: unknown, file?: string): RosterbridgeError {
  if (isRosterbridgeError(cause)) return cause;
  return new RosterbridgeError('CSV_PACKAGE_UNREADABLE', message, { location, ...(file === undefined ? {} : { file }) }, { cause });
}

function cancelled(location: string, signal: AbortSignal): RosterbridgeError {
  return new RosterbridgeError('CANCELLED', `reading ${location} was cancelled`, { location }, { cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal | undefined, location: string): void {
  if (signal?.aborted) throw cancelled(location, signal);
}
