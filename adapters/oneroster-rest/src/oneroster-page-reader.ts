import { RosterbridgeError, nullLogger, type Logger } from '@rosterbridge/core';

/** The page a reader asks for. */
export interface OneRosterPageRequest {
  offset: number;
  limit: number;
}

/** A page as the server sent it, with what its paging headers said (when it sent them). */
export interface OneRosterFetchedPage {
  items: unknown[];
  /** `X-Total-Count`, when present and a number. */
  totalCount?: number;
  /** The `offset` of the `Link` header's `rel="next"` URL, when there is one. */
  nextOffset?: number;
  /** True when the `Link` header was present (with or without a `next`). */
  hasLinkHeader?: boolean;
}

/**
 * Fetches one page; throws a coded error when it cannot. `signal` aborts a page the reader no longer
 * needs: a predicted page that turned out not to be the next, or any page once the read stops.
 *
 * It may resolve to a function that gives the page (or a promise of it), throwing what reading it
 * finds wrong, instead of the page itself: the reader calls it only when it comes to use the page
 * (after sending the requests that page's arrival lets it send), so that a page fetched ahead waits
 * as its response rather than as parsed records, and a discarded page is never parsed at all.
 */
export type OneRosterPageFetcher = (request: OneRosterPageRequest, signal: AbortSignal) => Promise<OneRosterFetchedPage | OneRosterPageOpener>;

/** A page fetched and not yet read: gives it when called. See {@link OneRosterPageFetcher}. */
export type OneRosterPageOpener = () => OneRosterFetchedPage | Promise<OneRosterFetchedPage>;

/** One page handed to the caller: the new records of the page, and what was dropped. */
export interface OneRosterPage {
  offset: number;
  limit: number;
  /** Records not seen on the previous page. */
  items: unknown[];
  /** How many records the server sent, duplicates included. */
  received: number;
  /** sourcedIds of records that repeated the previous page's (left out of `items`). */
  duplicates: string[];
  totalCount?: number;
}

/** How a paged read went; live while reading, final once it ends. */
export interface OneRosterPagingReport {
  /** Page requests made (retries of one request not counted), predicted ones included. */
  requests: number;
  /** Predicted page requests whose page was not used (see {@link OneRosterPagingOptions.pagesInFlight}). */
  discardedRequests: number;
  /** Non-empty pages. */
  pages: number;
  /** Records received, duplicates included. */
  received: number;
  /** Records dropped because they repeated the previous page. */
  duplicatesDropped: number;
  /** The last `X-Total-Count` the server sent. */
  totalCount?: number;
  /** The limit the server was seen to clamp requests to, silently. */
  clampedLimit?: number;
  /** Pages whose `Link: rel="next"` disagreed with where the next page really starts. */
  linkDisagreements: number;
  /** True only once an empty page has confirmed the end. */
  complete: boolean;
}

/** How to page. */
export interface OneRosterPagingOptions {
  /** Records asked for per page. */
  pageSize: number;
  /** Page requests allowed before the read fails with `SOURCE_TOO_MANY_REQUESTS`. */
  maxRequests: number;
  /** What is being read, for messages: `GET https://…/users`. */
  where: string;
  /**
   * Pages requested at once: the page needed next and the ones predicted to follow it. Default 1,
   * page by page (the next page still goes out while the caller works on the current one). See
   * {@link readOneRosterPages}.
   */
  pagesInFlight?: number;
  logger?: Logger;
}

/** A fresh report. */
export function emptyPagingReport(): OneRosterPagingReport {
  return { requests: 0, discardedRequests: 0, pages: 0, received: 0, duplicatesDropped: 0, linkDisagreements: 0, complete: false };
}

/** A page requested and not yet consumed. */
interface PageInFlight extends OneRosterPageRequest {
  controller: AbortController;
  response: Promise<OneRosterFetchedPage | OneRosterPageOpener>;
}

/**
 * Pages through a OneRoster collection by `limit` and `offset` the way real servers need:
 *
 * - the end is an empty page, and nothing else: a short page may be a silent clamp of `limit`,
 *   and `X-Total-Count` and `Link` are sometimes wrong or missing, so neither ends a read early;
 * - the next offset is the current one plus the records actually received, so a clamped server
 *   skips nothing; once a clamp is seen (a short page followed by more records) the reader asks
 *   for the clamped size;
 * - records that repeat the previous page (the collection shifted while paging) are dropped and
 *   reported; a page that repeats the previous one entirely means the server ignores `offset`,
 *   which fails the read rather than loop;
 * - `X-Total-Count` and `Link` are cross-checked and logged when they disagree;
 * - the number of requests is capped.
 *
 * The report's `complete` turns true only after the confirming empty page.
 *
 * The request for the next page goes out as soon as the current page has been checked, before
 * the page is handed over, so that the caller's work on it overlaps the next page's latency, even
 * page by page: that request is the one the rules make next whatever the caller does (if the
 * caller stops reading, it is aborted and counted as discarded). At most `pagesInFlight` requests
 * are outstanding at any time; a page whose response has come, being checked or worked on, is not
 * one of them.
 *
 * With `pagesInFlight` above 1 the pages are fetched in parallel without changing what is read.
 * Pages are still consumed one at a time, in offset order, by the rules above; what changes is
 * that the reader also requests the pages it predicts those rules will ask for next: full pages,
 * or, once the server has sent `X-Total-Count`, exactly the pages up to that total and the empty
 * page after it; a predicted request takes the slot of a page as soon as that page's response has
 * come, before the page is parsed. A predicted page whose offset and limit turn out not to be the
 * ones the rules ask for (after a short page, a clamp, a wrong total) is aborted and never used, so
 * over a collection that does not change during the read, the pages used are exactly those a
 * page-by-page read gets. Prediction starts after the first page (which tells the total), pauses
 * after a short page until a clamp is ruled in or out, and stops for the rest of the read when
 * `X-Total-Count` changes between pages: the collection is changing, and page by page a shift
 * stays visible as repeated records.
 */
export async function* readOneRosterPages(
  fetchPage: OneRosterPageFetcher,
  options: OneRosterPagingOptions,
  report: OneRosterPagingReport = emptyPagingReport(),
): AsyncGenerator<OneRosterPage> {
  const logger = options.logger ?? nullLogger;
  const pagesInFlight = options.pagesInFlight ?? 1;
  if (!Number.isSafeInteger(pagesInFlight) || pagesInFlight < 1) {
    throw new RosterbridgeError('SETTINGS_INVALID', `pagesInFlight must be a whole number of at least 1, got ${pagesInFlight}`, { key: 'pagesInFlight' });
  }
  let limit = options.pageSize;
  let offset = 0;
  let previous = new PageIds([]);
  let shortPage: { offset: number; received: number; asked: number } | undefined;
  let predicting = pagesInFlight > 1;
  const inFlight: PageInFlight[] = [];

  const send = (request: OneRosterPageRequest): void => {
    report.requests++;
    const controller = new AbortController();
    const response = fetchPage(request, controller.signal);
    // A page that is discarded may fail (it is aborted); only a page that is used reports its failure.
    response.catch(() => undefined);
    inFlight.push({ ...request, controller, response });
  };
  const discard = (): void => {
    for (const page of inFlight.splice(0)) {
      page.controller.abort();
      report.discardedRequests++;
    }
  };
  /** The request the rules make after `request` if its page holds what the total predicts; undefined at the predicted end. */
  const predictedAfter = (request: OneRosterPageRequest): OneRosterPageRequest | undefined => {
    const total = report.totalCount;
    const expected = total === undefined ? request.limit : Math.max(0, Math.min(request.limit, total - request.offset));
    return expected === 0 ? undefined : { offset: request.offset + expected, limit: request.limit };
  };

  /**
   * Tops up the pages in flight with the predicted ones, following the last in flight (or `after`,
   * a request whose page has come, when none is), while predicting. Never throws: the cap is
   * checked when a page is needed.
   */
  const topUp = (after: OneRosterPageRequest): void => {
    if (!predicting || report.pages === 0 || shortPage !== undefined) return;
    let last: OneRosterPageRequest = inFlight[inFlight.length - 1] ?? after;
    while (inFlight.length < pagesInFlight && report.requests < options.maxRequests) {
      const next = predictedAfter(last);
      if (next === undefined) break;
      send(next);
      last = next;
    }
  };

  /**
   * Sends `needed` (the request the rules ask for next) unless it is in flight, then tops up the
   * pages in flight with the predicted ones, when `needed` is the first of them. Never throws.
   */
  const predictAfter = (needed: OneRosterPageRequest): void => {
    const head = inFlight[0];
    if (head !== undefined && (head.offset !== needed.offset || head.limit !== needed.limit)) return;
    if (head === undefined) {
      if (report.requests >= options.maxRequests) return;
      send(needed);
    }
    topUp(needed);
  };

  try {
    for (;;) {
      const head = inFlight[0];
      if (head !== undefined && (head.offset !== offset || head.limit !== limit)) discard();
      if (inFlight.length === 0) {
        if (report.requests >= options.maxRequests) {
          throw new RosterbridgeError(
            'SOURCE_TOO_MANY_REQUESTS',
            `${options.where}: the read made ${report.requests} page requests, the cap, and has not reached the end (offset ${offset}); raise the page size or the request cap`,
            { requests: report.requests, offset },
          );
        }
        send({ offset, limit });
      }
      predictAfter({ offset, limit });
      const current = inFlight.shift()!;
      const fetched = await current.response;
      // Its response has come: the slot it held goes to the next predicted page before this one is parsed.
      topUp(current);
      const page = typeof fetched === 'function' ? await fetched() : fetched;
      if (page.totalCount !== undefined) {
        if (predicting && report.totalCount !== undefined && page.totalCount !== report.totalCount) {
          predicting = false;
          discard();
          logger.warn(
            { where: options.where, offset, before: report.totalCount, now: page.totalCount },
            'OneRoster X-Total-Count changed while paging: the collection is changing; reading the rest page by page',
          );
        }
        report.totalCount = page.totalCount;
      }
      const received = page.items.length;
      if (received === 0) {
        report.complete = true;
        return;
      }
      if (shortPage !== undefined && report.clampedLimit === undefined) {
        report.clampedLimit = shortPage.received;
        limit = shortPage.received;
        logger.warn(
          { where: options.where, asked: shortPage.asked, received: shortPage.received, offset: shortPage.offset },
          'OneRoster server returned fewer records than asked for, and more followed: it clamps limit silently; paging by what it sends',
        );
      }
      shortPage = received < limit ? { offset, received, asked: limit } : undefined;

      const ids: (string | undefined)[] = new Array(received);
      const duplicates: string[] = [];
      // The page's own list unless records repeat the previous page's (rare): no copy per page.
      let items = page.items;
      for (let i = 0; i < received; i++) {
        const id = (ids[i] = sourcedIdOf(page.items[i]));
        if (id === undefined || !previous.has(id)) {
          if (items !== page.items) items.push(page.items[i]);
        } else {
          if (items === page.items) items = page.items.slice(0, i);
          duplicates.push(id);
        }
      }
      if (items.length === 0) {
        throw new RosterbridgeError(
          'SOURCE_BAD_RESPONSE',
          `${options.where}: the page at offset ${offset} repeats the previous page; the server seems to ignore offset, so the collection cannot be read completely`,
          { offset },
        );
      }
      const expectedNext = offset + received;
      if (page.nextOffset !== undefined && page.nextOffset !== expectedNext) {
        report.linkDisagreements++;
        logger.warn(
          { where: options.where, offset, linkNext: page.nextOffset, next: expectedNext },
          'OneRoster Link rel="next" disagrees with the records received; ignoring it',
        );
      }
      report.pages++;
      report.received += received;
      report.duplicatesDropped += duplicates.length;
      // The pages after this one go out before it is handed over, so that the caller's work on it overlaps their latency.
      predictAfter({ offset: expectedNext, limit });
      yield { offset, limit, items, received, duplicates, ...(page.totalCount === undefined ? {} : { totalCount: page.totalCount }) };
      previous = new PageIds(ids);
      offset = expectedNext;
    }
  } finally {
    discard();
  }
}

/**
 * The sourcedIds of a page, asked whether they hold an id of the next page. An id above the
 * page's greatest cannot be among them, which settles most lookups (pages come sorted by sourcedId)
 * without building a set.
 */
class PageIds {
  private readonly greatest: string | undefined;
  private set: Set<string> | undefined;

  constructor(private readonly ids: readonly (string | undefined)[]) {
    let greatest: string | undefined;
    for (const id of ids) if (id !== undefined && (greatest === undefined || id > greatest)) greatest = id;
    this.greatest = greatest;
  }

  has(id: string): boolean {
    if (this.greatest === undefined || id > this.greatest) return false;
    this.set ??= new Set(this.ids.filter((x): x is string => x !== undefined));
    return this.set.has(id);
  }
}

function sourcedIdOf(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const id = (item as { sourcedId?: unknown }).sourcedId;
  return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
}
