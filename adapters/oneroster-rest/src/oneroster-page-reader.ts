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

/** Fetches one page; throws a coded error when it cannot. */
export type OneRosterPageFetcher = (request: OneRosterPageRequest) => Promise<OneRosterFetchedPage>;

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
  /** Page requests made (retries of one request not counted). */
  requests: number;
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
  logger?: Logger;
}

/** A fresh report. */
export function emptyPagingReport(): OneRosterPagingReport {
  return { requests: 0, pages: 0, received: 0, duplicatesDropped: 0, linkDisagreements: 0, complete: false };
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
 */
export async function* readOneRosterPages(
  fetchPage: OneRosterPageFetcher,
  options: OneRosterPagingOptions,
  report: OneRosterPagingReport = emptyPagingReport(),
): AsyncGenerator<OneRosterPage> {
  const logger = options.logger ?? nullLogger;
  let limit = options.pageSize;
  let offset = 0;
  let previousIds = new Set<string>();
  let shortPage: { offset: number; received: number; asked: number } | undefined;
  for (;;) {
    if (report.requests >= options.maxRequests) {
      throw new RosterbridgeError(
        'SOURCE_TOO_MANY_REQUESTS',
        `${options.where}: the read made ${report.requests} page requests, the cap, and has not reached the end (offset ${offset}); raise the page size or the request cap`,
        { requests: report.requests, offset },
      );
    }
    report.requests++;
    const page = await fetchPage({ offset, limit });
    if (page.totalCount !== undefined) report.totalCount = page.totalCount;
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

    const ids = page.items.map(sourcedIdOf);
    const duplicates: string[] = [];
    const items: unknown[] = [];
    page.items.forEach((item, i) => {
      const id = ids[i];
      if (id !== undefined && previousIds.has(id)) duplicates.push(id);
      else items.push(item);
    });
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
      logger.warn({ where: options.where, offset, linkNext: page.nextOffset, next: expectedNext }, 'OneRoster Link rel="next" disagrees with the records received; ignoring it');
    }
    report.pages++;
    report.received += received;
    report.duplicatesDropped += duplicates.length;
    yield { offset, limit, items, received, duplicates, ...(page.totalCount === undefined ? {} : { totalCount: page.totalCount }) };
    previousIds = new Set(ids.filter((id): id is string => id !== undefined));
    offset = expectedNext;
  }
}

function sourcedIdOf(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const id = (item as { sourcedId?: unknown }).sourcedId;
  return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
}
