import t from 'tap';
import type { Logger } from '@rosterbridge/core';
import { emptyPagingReport, readOneRosterPages, type OneRosterFetchedPage, type OneRosterPageRequest } from '../src/index';

// A pure server model: records a0..a(n-1), with a clamp and optional header behaviour. The page
// reader is pure logic over a fetch function, so no HTTP is needed to pin its rules down.
function fakeServer(count: number, options: { clamp?: number; total?: (real: number) => number | undefined; nextOffset?: (offset: number, limit: number) => number | undefined; ignoreOffset?: boolean } = {}) {
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
  t.same(ids, server.records.map((r) => r.sourcedId), 'every record, once, in order');
  t.same(server.asked.map((r) => r.offset), [0, 10, 20, 25], 'stops only on the empty page at offset 25');
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
  t.same(server.asked.map((r) => r.offset), [0, 5, 10, 12]);
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
  t.same(pages.flatMap((p) => p.items.map((i) => (i as { sourcedId: string }).sourcedId)), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8']);
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
