import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DisposableStore,
  RosterbridgeError,
  SecretCensor,
  nullLogger,
  parseRosterRecord,
  type ConnectionCheck,
  type Disposable,
  type Logger,
  type RawRosterRecord,
  type RosterBatch,
  type RosterEntity,
  type RosterIssue,
  type RosterRecord,
  type RosterRecordResult,
} from '@rosterbridge/core';
import type { BackoffOptions } from './backoff-schedule';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { createOneRosterAuthorization, type OneRosterAuthorization } from './oneroster-authorizer';
import { ONEROSTER_COLLECTIONS, type OneRosterCollectionEntity, type OneRosterCollectionName } from './oneroster-collection';
import { secretsOf, type OneRosterCredentials } from './oneroster-credentials';
import { formatOneRosterFilter, type OneRosterFilter } from './oneroster-filter';
import { emptyPagingReport, readOneRosterPages, type OneRosterPage, type OneRosterPageOpener, type OneRosterPagingReport } from './oneroster-page-reader';
import { headerValue, oneRosterResponseError, readOneRosterItem, readOneRosterList } from './oneroster-response';
import { oneRosterRestIssue } from './oneroster-rest-issue-codes';
import { displayUrl, OneRosterTransport, type OneRosterHttpResponse } from './oneroster-transport';
import { linkNextOffset, parseTotalCount } from './oneroster-paging-headers';
import { percentEncode } from './percent-encode';
import { SecretRedactor } from './secret-redactor';

/** Settings of a {@link OneRosterClient}. Only `baseUrl` and `credentials` are required. */
export interface OneRosterClientOptions {
  /**
   * The OneRoster 1.1 service root, with or without a trailing slash:
   * `https://<tenant>-<region>-v2.oneroster.com/ims/oneroster/v1p1`, or ClassLink's proxy
   * `https://oneroster-proxy.classlink.io/<applicationId>/ims/oneroster/v1p1` (the application id
   * as given, already percent-escaped: it is not encoded again).
   */
  baseUrl: string;
  credentials: OneRosterCredentials;
  /** Records asked for per page, 1 to 10,000 (ClassLink's ceiling). Default 1,000. */
  pageSize?: number;
  /** Page requests one read may make before it fails with `SOURCE_TOO_MANY_REQUESTS`. Default 100,000. */
  maxRequestsPerRead?: number;
  /** Attempts per request, the first included. Default 5. */
  maxAttempts?: number;
  /** Attempts per request of a connection check. Default 2. */
  checkAttempts?: number;
  /** Backoff between attempts; default 500 ms doubling to at most 30 s, with jitter. */
  backoff?: BackoffOptions;
  /** The longest `Retry-After` waited out; a longer one fails the request at once. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest wait for response headers, and longest silence within a body. Default 60 s. */
  responseTimeoutMs?: number;
  /** Requests in flight at once, for this client. Default 4. Ignored when `limiter` is given. */
  maxConcurrentRequests?: number;
  /**
   * Pages of one read requested at once: the page needed next and those predicted to follow it
   * (see {@link readOneRosterPages}), so that the pages of one collection overlap on a server
   * with latency. Default 1, page by page (the next page is requested while the current one is
   * parsed). Requests still wait for the concurrency limit.
   */
  pagesInFlight?: number;
  /** A limiter shared by every client of one tenant, so the cap holds across them. */
  limiter?: ConcurrencyLimiter;
  /** Retries, clamps and header disagreements are logged here; never a secret. */
  logger?: Logger;
  userAgent?: string;
  /** The clock (epoch ms), for OAuth timestamps and token expiry. */
  now?: () => number;
  /**
   * Where the client's secrets are censored: the credentials' secrets, and each access token it is
   * issued, are remembered there until the client is disposed. Give the host's (a plugin's
   * `tenant.censor`) so that its logs, API and stored runs know them too; default a censor of the
   * client's own. A secret shorter than 8 characters is refused (`SECRET_TOO_SHORT`).
   */
  censor?: SecretCensor;
}

/** What one read asks for. */
export interface OneRosterReadOptions {
  /** A filter object (encoded for you) or a filter already written as OneRoster text. */
  filter?: OneRosterFilter | string;
  /** Only these fields (`fields=`). Leaving out a required field makes every record fail to parse. */
  fields?: readonly string[];
  /** Overrides the client's page size for this read. */
  pageSize?: number;
  /** Overrides the client's {@link OneRosterClientOptions.pagesInFlight} for this read. */
  pagesInFlight?: number;
  /** Records per batch handed out; default the page size. */
  batchSize?: number;
  signal?: AbortSignal;
}

/** How a read went: the paging report plus what became of the records. */
export interface OneRosterReadReport extends OneRosterPagingReport {
  /** The path read below the base URL, e.g. `users` or `classes/cls-1/students`. */
  path: string;
  entity: RosterEntity;
  recordsAccepted: number;
  recordsRejected: number;
}

/** One read: iterate it once for batches; its report counts as it goes. */
export interface OneRosterReading<E extends RosterEntity> extends AsyncIterable<RosterBatch<E>> {
  readonly report: OneRosterReadReport;
}

/** What a connection check covers. */
export interface OneRosterCheckOptions {
  /** The collections to probe, in order; the first must exist for the server to count as OneRoster. Default: the seven entity collections. */
  collections?: readonly OneRosterCollectionName[];
  signal?: AbortSignal;
}

const DEFAULT_CHECK_COLLECTIONS: readonly OneRosterCollectionName[] = [
  'orgs',
  'academicSessions',
  'courses',
  'classes',
  'users',
  'enrollments',
  'demographics',
];
const MAX_PAGE_SIZE = 10_000;
/** Records parsed between two turns of the event loop: a few milliseconds of work. */
const ROWS_PER_TURN = 1000;

/**
 * A OneRoster 1.1 REST client on undici: OAuth 1.0a (HMAC-SHA256 or SHA1), bearer or OAuth 2
 * client-credentials auth; every rostering collection as canonical record batches, paged the way
 * real servers need (see {@link readOneRosterPages}); retries with backoff; per-tenant concurrency
 * cap; errors with stable codes and no secrets.
 *
 * ```ts
 * const client = new OneRosterClient({
 *   baseUrl: 'https://lincoln-ca-v2.oneroster.com/ims/oneroster/v1p1/',
 *   credentials: { kind: 'oauth1', consumerKey, consumerSecret },
 * });
 * try {
 *   const users = client.read('users', { filter: modifiedSinceFilter(lastRun), signal });
 *   for await (const { records, issues } of users) await ledger.take(records, issues);
 *   users.report; // { requests: 13, pages: 12, received: 11503, complete: true, … }
 * } finally {
 *   await client.dispose();
 * }
 * ```
 */
export class OneRosterClient implements Disposable {
  /** The service root, without a trailing slash. */
  readonly baseUrl: string;
  private readonly pageSize: number;
  private readonly pagesInFlight: number;
  private readonly maxRequests: number;
  private readonly checkAttempts: number;
  private readonly logger: Logger;
  private readonly redactor: SecretRedactor;
  private readonly transport: OneRosterTransport;
  private readonly authorization: OneRosterAuthorization;
  /** The client's hold on its secrets in the censor, let go on dispose. */
  private readonly secrets = new DisposableStore();

  constructor(options: OneRosterClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.pageSize = checkPageSize(options.pageSize ?? 1000, 'pageSize');
    this.pagesInFlight = positiveInteger(options.pagesInFlight ?? 1, 'pagesInFlight');
    this.maxRequests = positiveInteger(options.maxRequestsPerRead ?? 100_000, 'maxRequestsPerRead');
    this.checkAttempts = positiveInteger(options.checkAttempts ?? 2, 'checkAttempts');
    this.logger = options.logger ?? nullLogger;
    const censor = options.censor ?? new SecretCensor();
    this.redactor = new SecretRedactor(censor);
    this.transport = new OneRosterTransport({
      connectTimeoutMs: positiveInteger(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs'),
      responseTimeoutMs: positiveInteger(options.responseTimeoutMs ?? 60_000, 'responseTimeoutMs'),
      maxAttempts: positiveInteger(options.maxAttempts ?? 5, 'maxAttempts'),
      backoff: options.backoff ?? {},
      maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
      limiter: options.limiter ?? new ConcurrencyLimiter(positiveInteger(options.maxConcurrentRequests ?? 4, 'maxConcurrentRequests')),
      redactor: this.redactor,
      logger: this.logger,
      userAgent: options.userAgent ?? 'rosterbridge-oneroster-rest/1.0',
    });
    this.authorization = createOneRosterAuthorization(
      options.credentials,
      (request) => this.transport.send(request),
      this.redactor,
      options.now,
      (secret) => this.secrets.add(censor.remember(secret)),
    );
    try {
      for (const secret of secretsOf(options.credentials)) this.secrets.add(censor.remember(secret));
    } catch (err) {
      void this.secrets.dispose();
      throw err;
    }
  }

  /**
   * Reads a whole collection (`users`, `students`, `schools`, `terms`…) as canonical record batches.
   * The iteration ends only after the server confirmed the end with an empty page; a read that
   * cannot finish throws a coded {@link RosterbridgeError} instead of ending early.
   */
  read<C extends OneRosterCollectionName>(collection: C, options: OneRosterReadOptions = {}): OneRosterReading<OneRosterCollectionEntity<C>> {
    const { path, entity } = ONEROSTER_COLLECTIONS[collection];
    return this.readPath([path], entity as OneRosterCollectionEntity<C>, options);
  }

  /**
   * Reads a nested collection, given as path segments (each percent-encoded for you), as canonical
   * records of `entity`; the envelope key is the entity's name.
   *
   * ```ts
   * client.readPath(['classes', classId, 'students'], 'users');
   * client.readPath(['schools', schoolId, 'enrollments'], 'enrollments');
   * ```
   */
  readPath<E extends RosterEntity>(segments: readonly string[], entity: E, options: OneRosterReadOptions = {}): OneRosterReading<E> {
    const report: OneRosterReadReport = { ...emptyPagingReport(), path: segments.join('/'), entity, recordsAccepted: 0, recordsRejected: 0 };
    const batches = (): AsyncGenerator<RosterBatch<E>> => this.readBatches(segments, entity, options, report);
    return { report, [Symbol.asyncIterator]: () => batches() };
  }

  /**
   * The raw pages of a collection: JSON items under `envelope`, before any parsing. For tools and
   * for collections outside the rostering model.
   */
  pages(
    segments: readonly string[],
    envelope: string,
    options: OneRosterReadOptions = {},
    report: OneRosterPagingReport = emptyPagingReport(),
  ): AsyncGenerator<OneRosterPage> {
    const pageSize = options.pageSize === undefined ? this.pageSize : checkPageSize(options.pageSize, 'pageSize');
    const pagesInFlight = options.pagesInFlight === undefined ? this.pagesInFlight : positiveInteger(options.pagesInFlight, 'pagesInFlight');
    const query: [string, string][] = [];
    if (options.filter !== undefined) query.push(['filter', typeof options.filter === 'string' ? options.filter : formatOneRosterFilter(options.filter)]);
    if (options.fields !== undefined && options.fields.length > 0) query.push(['fields', options.fields.join(',')]);
    const path = segments.join('/');
    const fetchPage = async ({ offset, limit }: { offset: number; limit: number }, pageSignal: AbortSignal): Promise<OneRosterPageOpener> => {
      const url = this.url(segments, [['limit', String(limit)], ['offset', String(offset)], ['sort', 'sourcedId'], ['orderBy', 'asc'], ...query]);
      const response = await this.get(url, options.signal === undefined ? pageSignal : AbortSignal.any([options.signal, pageSignal]));
      if (response.status < 200 || response.status > 299) throw oneRosterResponseError(response, { path }, this.redactor);
      // The body is parsed when the reader comes to the page: a page fetched ahead waits unparsed.
      // Once parsed, the response (and its text) is let go while the records are worked on.
      let held: OneRosterHttpResponse | undefined = response;
      return async () => {
        // The requests the reader sent on this page's arrival go out before the parse holds the loop.
        await letRequestsGo();
        const body = held!;
        held = undefined;
        const items = readOneRosterList(body, envelope, this.redactor);
        const link = headerValue(body, 'link');
        const nextOffset = linkNextOffset(link, body.url);
        const totalCount = parseTotalCount(headerValue(body, 'x-total-count'));
        return {
          items,
          ...(totalCount === undefined ? {} : { totalCount }),
          ...(nextOffset === undefined ? {} : { nextOffset }),
          hasLinkHeader: link !== undefined,
        };
      };
    };
    return readOneRosterPages(
      fetchPage,
      { pageSize, pagesInFlight, maxRequests: this.maxRequests, where: `GET ${displayUrl(this.url(segments, []))}`, logger: this.logger },
      report,
    );
  }

  /** One record by sourcedId (`/users/{id}`, `/schools/{id}`…), parsed; a missing record is `SOURCE_NOT_FOUND`. */
  async getRecord<C extends OneRosterCollectionName>(
    collection: C,
    sourcedId: string,
    signal?: AbortSignal,
  ): Promise<RosterRecordResult<OneRosterCollectionEntity<C>>> {
    const { path, entity, singleEnvelope } = ONEROSTER_COLLECTIONS[collection];
    const response = await this.get(this.url([path, sourcedId], []), signal);
    if (response.status < 200 || response.status > 299) throw oneRosterResponseError(response, { path: `${path}/${sourcedId}`, single: true }, this.redactor);
    const item = readOneRosterItem(response, singleEnvelope, this.redactor);
    return parseRosterRecord(entity as OneRosterCollectionEntity<C>, item as RawRosterRecord);
  }

  /**
   * A real, authenticated round trip that tells apart what an operator fixes differently: a host
   * that cannot be reached (`SOURCE_UNREACHABLE`), an address that answers but not as OneRoster
   * (`SOURCE_NOT_FOUND`), refused credentials (`SOURCE_BAD_CREDENTIALS`), and collections these
   * credentials may not read (`SOURCE_FORBIDDEN`, naming them). Asks each collection for one record.
   */
  async check(options: OneRosterCheckOptions = {}): Promise<ConnectionCheck> {
    const collections = options.collections ?? DEFAULT_CHECK_COLLECTIONS;
    const forbidden: OneRosterCollectionName[] = [];
    const totals: Record<string, number> = {};
    for (const [index, name] of collections.entries()) {
      const { path, envelope } = ONEROSTER_COLLECTIONS[name];
      try {
        const url = this.url(
          [path],
          [
            ['limit', '1'],
            ['offset', '0'],
          ],
        );
        const response = await this.get(url, options.signal, this.checkAttempts);
        if (response.status < 200 || response.status > 299) throw oneRosterResponseError(response, { path }, this.redactor);
        readOneRosterList(response, envelope, this.redactor);
        const total = parseTotalCount(headerValue(response, 'x-total-count'));
        if (total !== undefined) totals[name] = total;
      } catch (error) {
        if (!(error instanceof RosterbridgeError) || error.code === 'CANCELLED') throw error;
        const details = { ...error.details, errorCode: error.code, collection: name };
        switch (error.code) {
          case 'SOURCE_FORBIDDEN':
            forbidden.push(name);
            continue;
          case 'SOURCE_BAD_CREDENTIALS':
          case 'SOURCE_NOT_FOUND':
            return { ok: false, code: error.code, message: error.message, details };
          case 'SOURCE_BAD_RESPONSE':
          case 'SOURCE_TRUNCATED':
            return index === 0
              ? { ok: false, code: 'SOURCE_NOT_FOUND', message: `${this.baseUrl} answers, but not as a OneRoster 1.1 server: ${error.message}`, details }
              : { ok: false, code: 'SOURCE_INVALID', message: error.message, details };
          case 'SOURCE_REQUEST_REJECTED':
            return { ok: false, code: 'SOURCE_INVALID', message: error.message, details };
          default:
            return { ok: false, code: 'SOURCE_UNREACHABLE', message: error.message, details };
        }
      }
    }
    if (forbidden.length > 0) {
      return {
        ok: false,
        code: 'SOURCE_FORBIDDEN',
        message: `${this.baseUrl}: the credentials work, but may not read ${forbidden.join(', ')} (403); ask the district to grant the application access`,
        details: {
          forbidden,
          entities: forbidden.map((name) => ONEROSTER_COLLECTIONS[name].entity),
          readable: collections.filter((c) => !forbidden.includes(c)),
        },
      };
    }
    return {
      ok: true,
      message: `${this.baseUrl}: signed round trip succeeded; can read ${collections.join(', ')}`,
      details: { collections: [...collections], ...(Object.keys(totals).length > 0 ? { totalCounts: totals } : {}) },
    };
  }

  /** Closes the connection pool (in-flight requests fail) and lets go of the client's secrets in the censor. */
  async dispose(): Promise<void> {
    try {
      await this.transport.close();
    } finally {
      await this.secrets.dispose();
    }
  }

  private async *readBatches<E extends RosterEntity>(
    segments: readonly string[],
    entity: E,
    options: OneRosterReadOptions,
    report: OneRosterReadReport,
  ): AsyncGenerator<RosterBatch<E>> {
    const batchSize = positiveInteger(options.batchSize ?? options.pageSize ?? this.pageSize, 'batchSize');
    let records: RosterRecord<E>[] = [];
    let issues: RosterIssue[] = [];
    let rowsRead = 0;
    let rejectedIds: string[] = [];
    let sinceTurn = 0;
    const take = (): RosterBatch<E> => {
      const batch = { entity, records, issues, rowsRead, rejectedIds };
      records = [];
      issues = [];
      rowsRead = 0;
      rejectedIds = [];
      return batch;
    };
    for await (const page of this.pages(segments, entity, options, report)) {
      // The requests the reader sent before handing this page over go out before its records are read.
      await letRequestsGo();
      for (const sourcedId of page.duplicates) {
        issues.push(
          oneRosterRestIssue(
            'REST_DUPLICATE_RECORD',
            `${sourcedId} came again at offset ${page.offset} (the collection changed while it was paged); read once`,
            { entity, sourcedId },
          ),
        );
      }
      for (const item of page.items) {
        rowsRead++;
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          report.recordsRejected++;
          issues.push(
            oneRosterRestIssue(
              'REST_RECORD_NOT_OBJECT',
              `an item at offset ${page.offset} of ${report.path} is ${item === null ? 'null' : Array.isArray(item) ? 'a list' : `a ${typeof item}`}, not a record`,
              { entity },
            ),
          );
        } else {
          const result = parseRosterRecord(entity, item as RawRosterRecord);
          if (result.issues.length > 0) issues.push(...result.issues);
          if (result.record) {
            records.push(result.record);
            report.recordsAccepted++;
          } else {
            report.recordsRejected++;
            const sourcedId = (item as { sourcedId?: unknown }).sourcedId;
            if (typeof sourcedId === 'string' && sourcedId.trim() !== '') rejectedIds.push(sourcedId.trim());
          }
        }
        if (rowsRead >= batchSize) yield take();
        // A page's records are read a slice at a time, letting the event loop turn between slices:
        // the responses in flight keep being read, and whatever else the process serves (other
        // tenants' reads, its API) is not held up for a whole page.
        if (++sinceTurn === ROWS_PER_TURN) {
          sinceTurn = 0;
          await nextTurn();
        }
      }
    }
    const unique = report.received - report.duplicatesDropped;
    if (report.totalCount !== undefined && report.totalCount !== unique) {
      issues.push(
        oneRosterRestIssue(
          'REST_TOTAL_MISMATCH',
          `${report.path}: the server's X-Total-Count says ${report.totalCount} records; ${unique} were read up to its empty last page`,
          { entity },
        ),
      );
    }
    if (rowsRead > 0 || issues.length > 0) yield take();
  }

  private get(url: URL, signal: AbortSignal | undefined, maxAttempts?: number): Promise<OneRosterHttpResponse> {
    return this.transport.send({ method: 'GET', url, signal, authorizer: this.authorization, ...(maxAttempts === undefined ? {} : { maxAttempts }) });
  }

  private url(segments: readonly string[], query: readonly [string, string][]): URL {
    const path = segments.map(percentEncode).join('/');
    const search = query.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&');
    return new URL(`${this.baseUrl}/${path}${search === '' ? '' : `?${search}`}`);
  }
}

/**
 * Waits until requests just sent have been written, before synchronous work (parsing a page,
 * reading its records) holds the event loop, so that their latency runs meanwhile: a request is
 * dispatched over a few promise jobs, and undici writes one on an idle keep-alive connection in the
 * loop's check phase (after checking the connection), hence two turns.
 */
function letRequestsGo(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

function normalizeBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new RosterbridgeError('SETTINGS_INVALID', `the OneRoster base URL "${text}" is not a URL`, { key: 'baseUrl' });
  }
  if (url.username !== '' || url.password !== '') {
    throw new RosterbridgeError(
      'SETTINGS_INVALID',
      `the OneRoster base URL ${displayUrl(url)} carries a user name or password; put credentials in the credential settings`,
      { key: 'baseUrl' },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RosterbridgeError('SETTINGS_INVALID', `the OneRoster base URL ${url.href} must start with https://`, { key: 'baseUrl' });
  }
  if (url.search !== '' || url.hash !== '') {
    throw new RosterbridgeError('SETTINGS_INVALID', `the OneRoster base URL ${url.href} must not have a query or fragment`, { key: 'baseUrl' });
  }
  return url.href.replace(/\/+$/, '');
}

function checkPageSize(value: number, key: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw new RosterbridgeError('SETTINGS_INVALID', `${key} must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${value}`, { key });
  }
  return value;
}

function positiveInteger(value: number, key: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RosterbridgeError('SETTINGS_INVALID', `${key} must be a whole number of at least 1, got ${value}`, { key });
  return value;
}
