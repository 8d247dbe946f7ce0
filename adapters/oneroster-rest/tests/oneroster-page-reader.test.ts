import t from 'tap';
import type { Logger } from '@rosterbridge/core';
import { emptyPagingReport, readOneRosterPages, type OneRosterFetchedPage, type OneRosterPageFetcher, type OneRosterPageRequest } from '../src/index';

// A pure server model: records a0..a(n-1), with a clamp and optional header behaviour. The page
// reader is pure logic over a fetch function, so no HTTP is needed to pin its rules down.
function fakeServer(
  count: number,
  options: {
    clamp?: number;
    total?: (real: number) => number | undefined;
    nextOffset?: (offset: number, limit: number) => number | undefined;
    ignoreOffset?: boolean;
  } = {},
) {
  const records = Array.from({ length: count }, (_, i) => ({ sourcedId: `a${String(i).padStart(5, '0')}` }));
  const asked: OneRosterPageRequest[] = [];
  const fetch = async (request: OneRosterPageRequest): Promise<OneRosterFetchedPage> => {
    asked.push(request);
    const limit = Math.min(request.limit, options.clamp ?? Infinity);
    const offset = options.ignoreOffset ? 0 : request.offset;
    const items = records.slice(offset, offset + limit);
    const totalCount = options.total ? options.total(count) : undefined;
    const nextOffset = options.nextOffset ? options.nextOffset(request.offset, limit) : undefined;
    return { items, ...(totalCount === undefined ? {} : { totalCount }), ...(nextOffset === undefined ? {} : { nextOffset }) };
  };
  return { records, asked, fetch };
}

async function readAll(fetch: (r: OneRosterPageRequest) => Promise<OneRosterFetchedPage>, pageSize: number, maxRequests = 1000, logger?: Logger) {
  const report = emptyPagingReport();
  const ids: string[] = [];
  for await (const page of readOneRosterPages(fetch, { pageSize, maxRequests, where: 'GET test', ...(logger ? { logger } : {}) }, report)) {
    for (const item of page.items) ids.push((item as { sourcedId: string }).sourcedId);
  }
  return { ids, report };
}

function recordingLogger(lines: unknown[]): Logger {
  const log = (fields: unknown, message?: string) => void lines.push({ fields, message });
  const logger: Logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

t.test('reads to the empty page, even when a page is short or the headers say it is over', async (t) => {
  const server = fakeServer(25, { total: () => 10, nextOffset: () => undefined });
  const { ids, report } = await readAll(server.fetch, 10);
  t.same(
    ids,
    server.records.map((r) => r.sourcedId),
    'every record, once, in order',
  );
  t.same(
    server.asked.map((r) => r.offset),
    [0, 10, 20, 25],
    'stops only on the empty page at offset 25',
  );
  t.equal(report.complete, true);
  t.equal(report.requests, 4);
  t.equal(report.pages, 3);
  t.equal(report.totalCount, 10, 'the wrong total is reported, not obeyed');
});

t.test('a silent clamp is detected and paged through by what the server sends', async (t) => {
  const lines: unknown[] = [];
  const server = fakeServer(23, { clamp: 5 });
  const { ids, report } = await readAll(server.fetch, 100, 1000, recordingLogger(lines));
  t.equal(ids.length, 23);
  t.same(new Set(ids).size, 23);
  t.equal(report.clampedLimit, 5);
  t.same(server.asked, [
    { offset: 0, limit: 100 },
    { offset: 5, limit: 100 },
    { offset: 10, limit: 5 },
    { offset: 15, limit: 5 },
    { offset: 20, limit: 5 },
    { offset: 23, limit: 5 },
  ]);
  t.equal(lines.length, 1, 'the clamp is logged once');
});

t.test('a clamped first page that is also the only page is not mistaken for the end', async (t) => {
  const server = fakeServer(7, { clamp: 7 });
  const { ids, report } = await readAll(server.fetch, 10);
  t.equal(ids.length, 7);
  t.equal(report.complete, true);
  t.equal(report.clampedLimit, undefined, 'a short last page is not a clamp');
});

t.test('a Link next that disagrees with the records is ignored and counted', async (t) => {
  const server = fakeServer(12, { nextOffset: (offset, limit) => offset + limit + 1 });
  const { ids, report } = await readAll(server.fetch, 5);
  t.equal(ids.length, 12);
  t.same(
    server.asked.map((r) => r.offset),
    [0, 5, 10, 12],
  );
  t.equal(report.linkDisagreements, 3);
});

t.test('records repeated from the previous page are dropped and reported', async (t) => {
  const records = Array.from({ length: 9 }, (_, i) => ({ sourcedId: `r${i}` }));
  // A record is inserted at the front between pages 1 and 2: page 2 starts with r2 again.
  const fetch = async ({ offset, limit }: OneRosterPageRequest): Promise<OneRosterFetchedPage> => {
    const view = offset === 0 ? records : [{ sourcedId: 'new' }, ...records];
    return { items: view.slice(offset, offset + limit) };
  };
  const report = emptyPagingReport();
  const pages = [];
  for await (const page of readOneRosterPages(fetch, { pageSize: 3, maxRequests: 100, where: 'GET test' }, report)) pages.push(page);
  t.same(pages[1]!.duplicates, ['r2']);
  t.same(
    pages.flatMap((p) => p.items.map((i) => (i as { sourcedId: string }).sourcedId)),
    ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'],
  );
  t.equal(report.duplicatesDropped, 1);
});

t.test('a server that ignores offset fails the read instead of looping', async (t) => {
  const server = fakeServer(10, { ignoreOffset: true });
  await t.rejects(readAll(server.fetch, 4), { name: 'RosterbridgeError', code: 'SOURCE_BAD_RESPONSE', message: /ignore offset/ });
  t.equal(server.asked.length, 2);
});

t.test('the number of requests is capped', async (t) => {
  const server = fakeServer(100);
  const report = emptyPagingReport();
  const seen: number[] = [];
  await t.rejects(
    (async () => {
      for await (const page of readOneRosterPages(server.fetch, { pageSize: 10, maxRequests: 4, where: 'GET test' }, report)) seen.push(page.items.length);
    })(),
    { name: 'RosterbridgeError', code: 'SOURCE_TOO_MANY_REQUESTS' },
  );
  t.equal(server.asked.length, 4);
  t.equal(report.complete, false, 'never complete when capped');
  t.same(seen, [10, 10, 10, 10]);
});

t.test('an error from a page propagates and leaves the report incomplete', async (t) => {
  const report = emptyPagingReport();
  let calls = 0;
  const fetch = async (): Promise<OneRosterFetchedPage> => {
    calls++;
    if (calls === 2) throw new Error('boom');
    return { items: [{ sourcedId: 'x' }] };
  };
  await t.rejects(
    (async () => {
      for await (const _ of readOneRosterPages(fetch, { pageSize: 1, maxRequests: 10, where: 'GET test' }, report));
    })(),
    /boom/,
  );
  t.equal(report.complete, false);
});

// Pages in flight: a server model that takes time per page, so that requests overlap, and counts them.
function slowServer(
  count: number,
  options: { clamp?: number; total?: (real: number, requestNumber: number) => number | undefined; failAt?: (request: OneRosterPageRequest) => boolean } = {},
) {
  const records = Array.from({ length: count }, (_, i) => ({ sourcedId: `a${String(i).padStart(5, '0')}` }));
  const asked: OneRosterPageRequest[] = [];
  const aborted: OneRosterPageRequest[] = [];
  /** How many other requests were in flight as each request started. */
  const alongside: number[] = [];
  let inFlight = 0;
  let peak = 0;
  const fetch = async (request: OneRosterPageRequest, signal?: AbortSignal): Promise<OneRosterFetchedPage> => {
    asked.push(request);
    const n = asked.length;
    alongside.push(inFlight);
    inFlight++;
    peak = Math.max(peak, inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (signal?.aborted) aborted.push(request);
      if (options.failAt?.(request)) throw new Error(`page at ${request.offset} failed`);
      const limit = Math.min(request.limit, options.clamp ?? Infinity);
      const totalCount = options.total ? options.total(count, n) : count;
      return { items: records.slice(request.offset, request.offset + limit), ...(totalCount === undefined ? {} : { totalCount }) };
    } finally {
      inFlight--;
    }
  };
  return { records, asked, aborted, alongside, fetch, peak: () => peak };
}

async function readPages(fetch: OneRosterPageFetcher, pageSize: number, pagesInFlight: number, maxRequests = 1000) {
  const report = emptyPagingReport();
  const pages: { offset: number; limit: number; ids: string[] }[] = [];
  for await (const page of readOneRosterPages(fetch, { pageSize, pagesInFlight, maxRequests, where: 'GET test' }, report)) {
    pages.push({ offset: page.offset, limit: page.limit, ids: page.items.map((item) => (item as { sourcedId: string }).sourcedId) });
  }
  return { pages, report };
}

const SCENARIOS: { name: string; count: number; pageSize: number; clamp?: number; total?: (real: number) => number | undefined }[] = [
  { name: 'a total that is right', count: 95, pageSize: 10 },
  { name: 'a count that is a multiple of the page size', count: 100, pageSize: 10 },
  { name: 'an empty collection', count: 0, pageSize: 10 },
  { name: 'a collection smaller than a page', count: 7, pageSize: 10 },
  { name: 'no total', count: 95, pageSize: 10, total: () => undefined },
  { name: 'a total too low', count: 95, pageSize: 10, total: (real) => real - 3 },
  { name: 'a total too high', count: 95, pageSize: 10, total: (real) => real + 3 },
  { name: 'a total of zero', count: 95, pageSize: 10, total: () => 0 },
  { name: 'a silent clamp', count: 95, pageSize: 20, clamp: 6 },
  { name: 'a silent clamp and no total', count: 95, pageSize: 20, clamp: 6, total: () => undefined },
];

t.test('with pages in flight, the pages used are exactly those a page-by-page read gets', async (t) => {
  for (const scenario of SCENARIOS) {
    const options = { ...(scenario.clamp === undefined ? {} : { clamp: scenario.clamp }), ...(scenario.total === undefined ? {} : { total: scenario.total }) };
    const sequential = slowServer(scenario.count, options);
    const expected = await readPages(sequential.fetch, scenario.pageSize, 1);
    const parallel = slowServer(scenario.count, options);
    const got = await readPages(parallel.fetch, scenario.pageSize, 4);
    t.same(got.pages, expected.pages, `${scenario.name}: the same pages, in order`);
    t.same(
      got.pages.flatMap((p) => p.ids),
      parallel.records.map((r) => r.sourcedId),
      `${scenario.name}: every record once`,
    );
    t.equal(got.report.complete, true, `${scenario.name}: complete`);
    t.equal(got.report.clampedLimit, expected.report.clampedLimit, `${scenario.name}: the same clamp`);
    t.equal(got.report.requests - got.report.discardedRequests, expected.report.requests, `${scenario.name}: the requests used are the page-by-page requests`);
    t.equal(sequential.peak(), 1, `${scenario.name}: page by page, one at a time`);
    t.ok(parallel.aborted.length <= got.report.discardedRequests, `${scenario.name}: only discarded pages were aborted`);
  }
});

t.test('with a right total, pages overlap up to the limit and none is wasted', async (t) => {
  const server = slowServer(1000, {});
  const { pages, report } = await readPages(server.fetch, 10, 4);
  t.equal(pages.length, 100);
  t.equal(report.requests, 101, '100 pages and the empty one');
  t.equal(report.discardedRequests, 0);
  t.equal(server.peak(), 4, 'four pages in flight');
  t.same(
    server.asked.slice(0, 2),
    [
      { offset: 0, limit: 10 },
      { offset: 10, limit: 10 },
    ],
    'the first page alone first, then the ones after it',
  );
  t.equal(server.asked.at(-1)!.offset, 1000, 'the empty page at the total ends it');
});

t.test('without a total, predicted pages past the end are aborted and the end is still an empty page', async (t) => {
  const server = slowServer(95, { total: () => undefined });
  const { report } = await readPages(server.fetch, 10, 4);
  t.equal(report.complete, true);
  t.ok(report.discardedRequests > 0, `predicted full pages past the short last one were discarded (${report.discardedRequests})`);
  t.equal(server.asked.at(-1)!.offset, 95, 'the confirming request starts where the records ended');
});

t.test('when the total changes between pages, the rest is read page by page', async (t) => {
  // The server's total grows by one from the fifth request on: the collection is changing.
  const server = slowServer(200, { total: (real, n) => (n >= 5 ? real + 1 : real) });
  const { pages, report } = await readPages(server.fetch, 10, 4);
  t.same(
    pages.flatMap((p) => p.ids),
    server.records.map((r) => r.sourcedId),
  );
  t.equal(report.complete, true);
  t.ok(
    server.alongside.slice(0, 5).some((n) => n > 0),
    'pages overlapped before the change',
  );
  t.same(server.alongside.slice(-10), Array(10).fill(0), 'after it, each request waits for the one before');
  t.notOk(
    server.asked.some((r) => r.offset > 200),
    'nothing was predicted past the end from the changed total',
  );
});

t.test('a failing predicted page that is not used does not fail the read; a used one does', async (t) => {
  // Without a total, full pages are predicted past the end; there the server fails, and those pages are discarded.
  const wrong = slowServer(95, { total: () => undefined, failAt: (r) => r.offset >= 100 });
  const ok = await readPages(wrong.fetch, 10, 4);
  t.equal(ok.pages.flatMap((p) => p.ids).length, 95);
  t.equal(ok.report.complete, true);
  t.ok(
    wrong.asked.some((r) => r.offset >= 100),
    'a failing page was asked for',
  );
  const used = slowServer(100, { failAt: (r) => r.offset === 50 });
  await t.rejects(readPages(used.fetch, 10, 4), /page at 50 failed/);
});

t.test('the request cap counts predicted requests, and stopping early aborts the pages in flight', async (t) => {
  const capped = slowServer(1000, {});
  await t.rejects(readPages(capped.fetch, 10, 4, 6), { code: 'SOURCE_TOO_MANY_REQUESTS' });
  t.equal(capped.asked.length, 6, 'never more requests than the cap');
  const server = slowServer(1000, {});
  const report = emptyPagingReport();
  for await (const page of readOneRosterPages(server.fetch, { pageSize: 10, pagesInFlight: 4, maxRequests: 1000, where: 'GET test' }, report)) {
    if (page.offset === 20) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(report.complete, false);
  t.ok(report.discardedRequests > 0 && server.aborted.length === report.discardedRequests, `pages in flight were aborted (${server.aborted.length})`);
  await t.rejects(readPages(server.fetch, 10, 0), { code: 'SETTINGS_INVALID' });
});

t.test('page by page, the next page is requested before a page is handed over, never two at once', async (t) => {
  const server = slowServer(95, { total: () => undefined });
  const report = emptyPagingReport();
  const askedWhenHanded: number[] = [];
  for await (const page of readOneRosterPages(server.fetch, { pageSize: 10, maxRequests: 1000, where: 'GET test' }, report)) {
    askedWhenHanded.push(server.asked.length);
    t.same(server.asked.at(-1), { offset: page.offset + page.received, limit: 10 }, `at offset ${page.offset} the request after it is out`);
    // The caller works on the page a while: the next request runs meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  t.same(askedWhenHanded, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.same(
    server.asked.map((r) => r.offset),
    [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    'exactly the requests of the rules',
  );
  t.equal(report.requests, 11);
  t.equal(report.discardedRequests, 0);
  t.equal(server.peak(), 1, 'one request at a time');
  t.same(server.alongside, Array(11).fill(0));
});

t.test('a caller that stops early has the request it did not need aborted and counted', async (t) => {
  const server = slowServer(100, {});
  const report = emptyPagingReport();
  for await (const page of readOneRosterPages(server.fetch, { pageSize: 10, maxRequests: 1000, where: 'GET test' }, report)) {
    if (page.offset === 20) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(report.requests, 4);
  t.equal(report.discardedRequests, 1);
  t.same(server.aborted, [{ offset: 30, limit: 10 }]);
});

t.test('a page given as an opener is read only when used; its arrival frees its slot first', async (t) => {
  const server = slowServer(100, {});
  const opened: { offset: number; asked: number }[] = [];
  const fetch = async (request: OneRosterPageRequest, signal: AbortSignal) => {
    const page = await server.fetch(request, signal);
    return () => {
      opened.push({ offset: request.offset, asked: server.asked.length });
      return page;
    };
  };
  const { pages, report } = await readPages(fetch, 10, 4);
  t.equal(pages.length, 10);
  t.equal(report.complete, true);
  t.equal(report.discardedRequests, 0);
  t.same(
    opened.map((o) => o.offset),
    [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    'every used page opened once, in order',
  );
  // From the second page on, the page predicted past the ones in flight went out when the page came, before it was opened.
  t.same(
    opened.slice(1, 6).map((o) => o.asked),
    [6, 7, 8, 9, 10],
  );
  t.ok(server.peak() <= 4, `never more than four requests at once (${server.peak()})`);
});
