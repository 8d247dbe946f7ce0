import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { RosterEntity, RosterRecord } from '@rosterbridge/core';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { renderClassLinkRecord, resolveClassLinkQuirks } from './classlink-record-json';
import { OAuth1Verifier } from './oauth1-verifier';
import { OneRosterDataset } from './oneroster-dataset';
import { decodeOneRosterQuery, matchesOneRosterFilter, parseOneRosterQuery, type OneRosterQuery } from './oneroster-query';
import { resolveOneRosterRoute, type OneRosterRoute } from './oneroster-routes';
import type { OneRosterSimulatorOptions, SimulatorBehaviour } from './oneroster-simulator-options';
import { SimulatorFaultPlan, type SimulatorFault } from './simulator-fault';
import { SimulatorRequestError } from './simulator-request-error';

/** One API request as the simulator saw and answered it. */
export interface SimulatorRequestRecord {
  /** 1-based number among API requests (the token endpoint not counted). */
  n: number;
  method: string;
  /** The path below the base URL, decoded, without a trailing slash: `users`, `classes/cls-1/students`. */
  path: string;
  /** The decoded query parameters. */
  query: Record<string, string>;
  /** The status answered; 0 when the connection was destroyed instead. */
  status: number;
  /** The fault injected, if any. */
  fault?: SimulatorFault['kind'];
  /** How many records the page carried (collections, 200 only). */
  records?: number;
  /** The raw Authorization header's scheme (`OAuth`, `Bearer`), never its value. */
  authScheme?: string;
  /** When the request arrived (epoch ms, real clock). */
  at: number;
}

/** A running simulator. */
export interface OneRosterSimulator {
  /** The service root: `http://127.0.0.1:<port>/ims/oneroster/v1p1` (no trailing slash). */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The OAuth 2 client-credentials token endpoint. */
  readonly tokenUrl: string;
  readonly dataset: OneRosterDataset;
  /** Every API request so far, in order. */
  readonly requests: readonly SimulatorRequestRecord[];
  /** OAuth 2 tokens issued so far. */
  readonly tokensIssued: number;
  /** The most API requests that were in progress at one moment. */
  readonly peakConcurrency: number;
  /** How many times each configured fault has fired. */
  faultCounts(): number[];
  /** Changes paging, faults, permissions, latency or error bodies from the next request on. */
  configure(behaviour: SimulatorBehaviour): void;
  /** Forgets the request log and the peak concurrency. */
  clearRequests(): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

interface RenderCache {
  version: number;
  byEntity: Map<RosterEntity, Map<string, Record<string, unknown>>>;
  /**
   * The JSON bytes of each record of a list a route returned, by position: a page of a whole
   * collection (the dataset's own list, the same array on every request until the data changes) is
   * then its records' bytes joined, without serializing or encoding anything again.
   */
  bytesByList: WeakMap<readonly RosterRecord[], (Buffer | undefined)[]>;
  children: Map<string, string[]>;
}

const DEFAULT_BASE_PATH = '/ims/oneroster/v1p1';
const COMMA = Buffer.from(',');
const CLOSE_LIST_AND_OBJECT = Buffer.from(']}');
const TOKEN_PATH = '/oauth2/token';

/**
 * Starts a OneRoster 1.1 REST server on 127.0.0.1 that behaves like ClassLink's Roster Server,
 * serving `options.dataset` from memory: OAuth 1.0a (HMAC-SHA256/SHA1, clock tolerance, nonce
 * check), bearer and OAuth 2 client-credentials auth; every rostering collection and the nested
 * routes; limit/offset with an optional silent clamp; `X-Total-Count` and `Link` on, off or wrong;
 * filter, sort, orderBy and fields; ClassLink's payload quirks; 403 per collection; and faults
 * injected by request number or by seeded rate.
 *
 * ```ts
 * const sim = await startOneRosterSimulator({
 *   dataset: generateDistrict({ seed: 42, size: 'small' }),
 *   auth: { oauth1: [{ consumerKey: 'key', consumerSecret: 'secret' }] },
 *   paging: { maxLimit: 250 },
 *   faults: [{ kind: 'status', status: 429, retryAfter: 1, requests: [3] }],
 * });
 * t.teardown(() => sim.close());
 * // sim.baseUrl → 'http://127.0.0.1:54321/ims/oneroster/v1p1'
 * ```
 */
export async function startOneRosterSimulator(options: OneRosterSimulatorOptions): Promise<OneRosterSimulator> {
  const dataset = options.dataset instanceof OneRosterDataset ? options.dataset : OneRosterDataset.from(options.dataset);
  const basePath = normalizeBasePath(options.basePath ?? DEFAULT_BASE_PATH);
  const quirks = resolveClassLinkQuirks(options.quirks);
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const auth = options.auth === 'none' ? undefined : options.auth;
  const verifier = auth?.oauth1 && auth.oauth1.length > 0 ? new OAuth1Verifier(auth.oauth1, auth.clockToleranceSeconds ?? 300, now) : undefined;
  const issuedTokens = new Map<string, number>();
  let tokensIssued = 0;

  let behaviour: Required<Omit<SimulatorBehaviour, 'faults'>> = {
    paging: {},
    forbidden: [],
    latencyMs: 0,
    errorBodies: 'imsx',
  };
  let faultPlan = new SimulatorFaultPlan([], seed);
  const configure = (change: SimulatorBehaviour): void => {
    behaviour = {
      paging: change.paging ?? behaviour.paging,
      forbidden: change.forbidden ?? behaviour.forbidden,
      latencyMs: change.latencyMs ?? behaviour.latencyMs,
      errorBodies: change.errorBodies ?? behaviour.errorBodies,
    };
    if (change.faults !== undefined) faultPlan = new SimulatorFaultPlan(change.faults, seed);
  };
  configure(options);

  const requests: SimulatorRequestRecord[] = [];
  let inFlight = 0;
  let peakConcurrency = 0;
  let cache: RenderCache | undefined;
  let baseUrl = '';

  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const currentCache = (): RenderCache => {
    if (!cache || cache.version !== dataset.version)
      cache = { version: dataset.version, byEntity: new Map(), bytesByList: new WeakMap(), children: childIndex(dataset) };
    return cache;
  };

  /** The record's JSON object, cached unless `keep` is false (when only its bytes are kept). */
  const rendered = (entity: RosterEntity, record: RosterRecord, keep = true): Record<string, unknown> => {
    const cache = currentCache();
    let byId = cache.byEntity.get(entity);
    if (!byId) {
      byId = new Map();
      cache.byEntity.set(entity, byId);
    }
    let json = byId.get(record.sourcedId);
    if (!json) {
      const children = cache.children;
      json = renderClassLinkRecord(entity, record, { baseUrl, quirks, childrenOf: (e, id) => children.get(`${e}\n${id}`) ?? [] });
      if (keep) byId.set(record.sourcedId, json);
    }
    return json;
  };

  /**
   * The body of the page of `records` from `start` to `end`: exactly what
   * `JSON.stringify({ [envelope]: page })` of the rendered records writes, joined from each
   * record's cached JSON bytes.
   */
  const pageBody = (entity: RosterEntity, envelope: string, records: readonly RosterRecord[], start: number, end: number): Buffer => {
    const cache = currentCache();
    let bytes = cache.bytesByList.get(records);
    if (!bytes) {
      bytes = new Array<Buffer | undefined>(records.length);
      cache.bytesByList.set(records, bytes);
    }
    const parts: Buffer[] = [Buffer.from(`{${JSON.stringify(envelope)}:[`)];
    for (let i = start; i < end; i++) {
      if (i > start) parts.push(COMMA);
      parts.push((bytes[i] ??= Buffer.from(JSON.stringify(rendered(entity, records[i]!, false)))));
    }
    parts.push(CLOSE_LIST_AND_OBJECT);
    return Buffer.concat(parts);
  };

  const authenticate = (request: FastifyRequest): void => {
    if (!auth) return;
    const header = request.headers.authorization;
    if (OAuth1Verifier.applies(header)) {
      if (!verifier) throw new SimulatorRequestError(401, 'OAuth 1.0a is not accepted here', 'unauthorisedrequest');
      verifier.verify({ method: request.method, scheme: 'http', host: request.headers.host ?? '', rawUrl: request.raw.url ?? '', authorization: header });
      return;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
    if (bearer !== undefined) {
      if (auth.bearerTokens?.some((token) => safeEqual(token, bearer))) return;
      const expires = issuedTokens.get(bearer);
      if (expires !== undefined && now() < expires) return;
      throw new SimulatorRequestError(401, expires === undefined ? 'unknown bearer token' : 'the access token has expired', 'unauthorisedrequest');
    }
    throw new SimulatorRequestError(401, 'the request carries no credentials', 'unauthorisedrequest');
  };

  const issueToken = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const basic = /^Basic\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const decoded = basic === undefined ? '' : Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const clientId = colon < 0 ? '' : decoded.slice(0, colon);
    const clientSecret = colon < 0 ? '' : decoded.slice(colon + 1);
    const client = auth?.oauth2Clients?.find((c) => c.clientId === clientId && safeEqual(c.clientSecret, clientSecret));
    if (!client)
      return reply
        .code(401)
        .type('application/json')
        .send(JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }));
    const form = new Map(decodeOneRosterQuery(typeof request.body === 'string' ? request.body : ''));
    if (form.get('grant_type') !== 'client_credentials') {
      return reply
        .code(400)
        .type('application/json')
        .send(JSON.stringify({ error: 'unsupported_grant_type' }));
    }
    const lifetime = auth?.tokenLifetimeSeconds ?? 3600;
    const token = randomBytes(24).toString('hex');
    issuedTokens.set(token, now() + lifetime * 1000);
    tokensIssued++;
    return reply
      .code(200)
      .type('application/json')
      .send(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: form.get('scope') ?? '' }));
  };

  const sendError = (reply: FastifyReply, error: SimulatorRequestError, entry: SimulatorRequestRecord): FastifyReply => {
    entry.status = error.status;
    reply.code(error.status).headers(error.headers);
    if (behaviour.errorBodies === 'text') return reply.type('text/plain').send(`${error.status} ${error.message}`);
    return reply.type('application/json').send(JSON.stringify(imsxStatus(error.message, error.codeMinor)));
  };

  const answer = (request: FastifyRequest, reply: FastifyReply, route: OneRosterRoute, query: OneRosterQuery, entry: SimulatorRequestRecord): FastifyReply => {
    if (route.kind === 'single') {
      entry.status = 200;
      return reply
        .code(200)
        .type('application/json')
        .send(JSON.stringify({ [route.envelope]: rendered(route.entity, route.record) }));
    }
    const paging = behaviour.paging;
    const limit = Math.min(query.limit, paging.maxLimit ?? 10_000);
    let total: number;
    /** The page: its records' JSON objects, or (every field, in the route's order) a range of the route's records. */
    let page: { objects: Record<string, unknown>[] } | { start: number; end: number };
    // Routes list records in sourcedId order already: without a filter or another order, render only the page.
    if (!query.filter && (!query.sort || (query.sort === 'sourcedId' && query.orderBy === 'asc'))) {
      if (query.fields && route.records.length > 0) checkFields(rendered(route.entity, route.records[0]!), query.fields);
      total = route.records.length;
      page = query.fields
        ? { objects: route.records.slice(query.offset, query.offset + limit).map((record) => rendered(route.entity, record)) }
        : { start: Math.min(query.offset, total), end: Math.min(query.offset + limit, total) };
    } else {
      let list = route.records.map((record) => rendered(route.entity, record));
      if (query.filter) {
        const filter = query.filter;
        list = list.filter((record) => matchesOneRosterFilter(record, filter));
      }
      if (query.sort) list = sortRecords(list, query.sort, query.orderBy);
      if (query.fields && list.length > 0) checkFields(list[0]!, query.fields);
      page = { objects: list.slice(query.offset, query.offset + limit) };
      total = list.length;
    }
    const totalMode = paging.totalCount ?? 'correct';
    if (totalMode !== 'absent') reply.header('x-total-count', String(Math.max(0, total + (totalMode === 'wrong' ? (paging.totalCountSkew ?? -3) : 0))));
    const linkMode = paging.link ?? 'correct';
    if (linkMode !== 'absent') {
      const link = linkHeader(`${baseUrl}/${entry.path}`, request.raw.url ?? '', query.offset, limit, total, linkMode === 'wrong');
      if (link !== '') reply.header('link', link);
    }
    entry.status = 200;
    if ('start' in page) {
      entry.records = page.end - page.start;
      // Bytes, so the charset fastify adds to a text body is spelled out: the headers are the same either way.
      return reply
        .code(200)
        .type('application/json; charset=utf-8')
        .send(pageBody(route.entity, route.envelope, route.records, page.start, page.end));
    }
    const body = query.fields ? page.objects.map((record) => project(record, query.fields!)) : page.objects;
    entry.records = body.length;
    return reply
      .code(200)
      .type('application/json')
      .send(JSON.stringify({ [route.envelope]: body }));
  };

  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '*',
    handler: async (request, reply) => {
      const rawUrl = request.raw.url ?? '/';
      const q = rawUrl.indexOf('?');
      const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
      const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
      if (rawPath === TOKEN_PATH && request.method === 'POST') return issueToken(request, reply);
      if (rawPath !== basePath && !rawPath.startsWith(`${basePath}/`)) {
        return reply.code(404).type('text/html').send('<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>');
      }
      const segments = rawPath
        .slice(basePath.length)
        .split('/')
        .filter((s) => s !== '')
        .map(safeDecode);
      const entry: SimulatorRequestRecord = {
        n: requests.length + 1,
        method: request.method,
        path: segments.join('/'),
        query: Object.fromEntries(safeDecodeQuery(rawQuery)),
        status: 0,
        at: Date.now(),
      };
      inFlight++;
      peakConcurrency = Math.max(peakConcurrency, inFlight);
      reply.raw.once('close', () => inFlight--);
      const scheme = /^(\S+)\s/.exec(request.headers.authorization ?? '')?.[1];
      if (scheme !== undefined) entry.authScheme = scheme;
      requests.push(entry);

      const fault = faultPlan.next(entry.path);
      if (behaviour.latencyMs > 0) await pause(behaviour.latencyMs, request);
      if (fault) {
        entry.fault = fault.kind;
        const handled = await injectFault(fault, request, reply, entry);
        if (handled) return reply;
      }
      if (request.raw.socket.destroyed) return reply.hijack();
      try {
        if (request.method !== 'GET')
          throw new SimulatorRequestError(405, `${request.method} is not supported; OneRoster rostering is read-only`, 'unsupported');
        authenticate(request);
        const route = resolveOneRosterRoute(segments, dataset, { classStudentsIncludeTeachers: quirks.classStudentsIncludeTeachers });
        if (behaviour.forbidden.includes(route.collection) || behaviour.forbidden.includes(route.entity)) {
          throw new SimulatorRequestError(403, `these credentials may not read ${route.collection}`, 'forbidden');
        }
        const query = parseOneRosterQuery(rawQuery, behaviour.paging.defaultLimit ?? 100);
        return answer(request, reply, route, query, entry);
      } catch (error) {
        if (error instanceof SimulatorRequestError) return sendError(reply, error, entry);
        throw error;
      }
    },
  });

  /** Applies a fault; true when the response is finished (or the connection gone). */
  const injectFault = async (fault: SimulatorFault, request: FastifyRequest, reply: FastifyReply, entry: SimulatorRequestRecord): Promise<boolean> => {
    switch (fault.kind) {
      case 'status': {
        entry.status = fault.status;
        reply.code(fault.status);
        if (fault.retryAfter !== undefined) reply.header('retry-after', String(fault.retryAfter));
        const message = fault.status === 429 ? 'Too many requests; slow down' : 'The server could not complete the request';
        if (fault.body === 'html')
          reply.type('text/html').send(`<html><head><title>${fault.status} Error</title></head><body><h1>${message}</h1></body></html>`);
        else if (fault.body === 'text' || (fault.body === undefined && behaviour.errorBodies === 'text')) reply.type('text/plain').send(message);
        else reply.type('application/json').send(JSON.stringify(imsxStatus(message, fault.status === 429 ? 'server_busy' : 'internal_server_error')));
        return true;
      }
      case 'reset':
        reply.hijack();
        destroy(request);
        return true;
      case 'slow':
        await pause(fault.delayMs, request);
        if (request.raw.socket.destroyed) {
          reply.hijack();
          return true;
        }
        return false;
      case 'resetMidBody': {
        reply.hijack();
        const body = JSON.stringify({ records: [{ sourcedId: 'cut', status: 'active', padding: 'x'.repeat(2048) }] });
        const socket = request.raw.socket;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n`);
        socket.write(body.slice(0, Math.floor(body.length / 2)));
        setImmediate(() => destroy(request));
        return true;
      }
      case 'truncatedJson': {
        // Serve the real page, then cut it: the framing is right, the JSON is not closed.
        const forward = reply.send.bind(reply);
        reply.send = ((payload?: unknown) => {
          const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : JSON.stringify(payload ?? '');
          const cut = reply.statusCode === 200 ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : text;
          return forward(cut);
        }) as FastifyReply['send'];
        return false;
      }
      case 'missingEnvelope':
        entry.status = 200;
        reply
          .code(200)
          .type('application/json')
          .send(JSON.stringify({ statusInfoSet: [] }));
        return true;
      case 'htmlPage': {
        const status = fault.status ?? 200;
        entry.status = status;
        reply
          .code(status)
          .type('text/html')
          .send(
            '<!DOCTYPE html><html><head><title>Service Temporarily Unavailable</title></head><body><h1>Service Temporarily Unavailable</h1><p>Please try again later.</p></body></html>',
          );
        return true;
      }
    }
  };

  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  baseUrl = `${origin}${basePath}`;

  return {
    baseUrl,
    origin,
    tokenUrl: `${origin}${TOKEN_PATH}`,
    dataset,
    requests,
    get tokensIssued() {
      return tokensIssued;
    },
    get peakConcurrency() {
      return peakConcurrency;
    },
    faultCounts: () => faultPlan.firedCounts(),
    configure,
    clearRequests: () => {
      requests.length = 0;
      peakConcurrency = inFlight;
    },
    close: async () => {
      await app.close();
    },
  };
}

function normalizeBasePath(path: string): string {
  const trimmed = `/${path.replace(/^\/+|\/+$/g, '')}`;
  return trimmed === '/' ? '' : trimmed;
}

function childIndex(dataset: OneRosterDataset): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const entity of ['orgs', 'academicSessions'] as const) {
    for (const record of dataset.records(entity)) {
      if (record.parentSourcedId === undefined) continue;
      const key = `${entity}\n${record.parentSourcedId}`;
      const list = children.get(key) ?? [];
      list.push(record.sourcedId);
      children.set(key, list);
    }
  }
  return children;
}

function sortRecords(list: Record<string, unknown>[], field: string, orderBy: 'asc' | 'desc'): Record<string, unknown>[] {
  if (list.length > 0 && !(field in list[0]!))
    throw new SimulatorRequestError(400, `sort field "${field}" is not a field of these records`, 'invalid_sort_field');
  const key = (record: Record<string, unknown>): string => {
    const value = record[field];
    if (value !== null && typeof value === 'object' && 'sourcedId' in value) return String((value as { sourcedId: unknown }).sourcedId);
    return typeof value === 'string' ? value : JSON.stringify(value ?? '');
  };
  const direction = orderBy === 'desc' ? -1 : 1;
  return list
    .map((record, index) => ({ record, index, key: key(record) }))
    .sort((a, b) => (a.key < b.key ? -direction : a.key > b.key ? direction : a.index - b.index))
    .map((entry) => entry.record);
}

function checkFields(sample: Record<string, unknown>, fields: readonly string[]): void {
  const unknown = fields.filter((field) => !(field in sample));
  if (unknown.length > 0) throw new SimulatorRequestError(400, `fields ${unknown.join(', ')} are not fields of these records`, 'invalid_selection_field');
}

function project(record: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((field) => field in record).map((field) => [field, record[field]]));
}

/** The `Link` header of a page: next and prev where they exist, first and last; `wrong` skips a record in next and last. */
function linkHeader(resource: string, rawUrl: string, offset: number, limit: number, total: number, wrong: boolean): string {
  const q = rawUrl.indexOf('?');
  const params = safeDecodeQuery(q < 0 ? '' : rawUrl.slice(q + 1)).filter(([name]) => name !== 'limit' && name !== 'offset');
  const url = (at: number): string => {
    const query = [...params, ['limit', String(limit)], ['offset', String(at)]]
      .map(([n, v]) => `${encodeURIComponent(n!)}=${encodeURIComponent(v!)}`)
      .join('&');
    return `<${resource}?${query}>`;
  };
  const skew = wrong ? 1 : 0;
  const links: string[] = [];
  if (offset + limit < total) links.push(`${url(offset + limit + skew)}; rel="next"`);
  if (offset > 0) links.push(`${url(Math.max(0, offset - limit))}; rel="prev"`);
  links.push(`${url(0)}; rel="first"`);
  links.push(`${url(Math.max(0, Math.floor(Math.max(0, total - 1) / limit) * limit + skew))}; rel="last"`);
  return links.join(', ');
}

function imsxStatus(description: string, codeMinor: string): Record<string, unknown> {
  return {
    imsx_codeMajor: 'failure',
    imsx_severity: 'error',
    imsx_description: description,
    imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: codeMinor }] },
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function safeDecodeQuery(rawQuery: string): [string, string][] {
  try {
    return decodeOneRosterQuery(rawQuery);
  } catch {
    return [];
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function destroy(request: FastifyRequest): void {
  const socket = request.raw.socket;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/** Waits `ms`, or less if the client goes away first. */
function pause(ms: number, request: FastifyRequest): Promise<void> {
  const socket = request.raw.socket;
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once('close', done);
  });
}
