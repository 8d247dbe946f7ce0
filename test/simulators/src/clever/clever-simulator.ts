import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { OneRosterDataset } from '../oneroster/oneroster-dataset';
import { SimulatorFaultPlan, type SimulatorFault } from '../oneroster/simulator-fault';
import {
  CLEVER_RESOURCE_TYPES,
  cleverRolesOf,
  renderCleverResources,
  type CanonicalRecordSource,
  type CleverObject,
  type CleverRenderOptions,
  type CleverResourceType,
} from './clever-resources';

/** A request budget per window, as Clever's 1,200 requests a minute per token. */
export interface CleverRateLimit {
  /** Requests allowed per window. */
  limit: number;
  /** The window; default 60,000 ms. */
  windowMs?: number;
}

/** What can be changed on a running simulator. */
export interface CleverSimulatorBehaviour {
  /** Faults to inject (see the OneRoster simulator's {@link SimulatorFault}); `path` is matched against `users`, `sections`, `events`… Replacing them restarts their counts. */
  faults?: readonly SimulatorFault[];
  /** Off unless given. */
  rateLimit?: CleverRateLimit | null;
  /** Added before every API response. */
  latencyMs?: number;
}

/** How to start a Clever simulator. */
export interface CleverSimulatorOptions extends CleverSimulatorBehaviour, CleverRenderOptions {
  /** The roster to serve: a generated district, a OneRoster dataset, anything with `records(entity)`. */
  dataset: CanonicalRecordSource | OneRosterDataset;
  /** District app tokens accepted as `Authorization: Bearer <token>`. */
  tokens: readonly string[];
  /** `limit` when the request gives none. Default 100. */
  defaultLimit?: number;
  /** Seed of rate-based faults. Default 1. */
  seed?: number;
  /** The clock (epoch ms) for events and rate-limit windows. */
  now?: () => number;
}

/** One request as the simulator answered it. */
export interface CleverRequestRecord {
  n: number;
  /** The path below `/v3.0`, without leading slash: `users`, `sections/abc/students`, `events`. */
  path: string;
  query: Record<string, string>;
  status: number;
  fault?: SimulatorFault['kind'];
  records?: number;
  at: number;
}

/** A Clever event, as `/events` serves it. */
export interface CleverEvent {
  id: string;
  type: string;
  created: string;
  data: { object: CleverObject; previous_attributes?: Record<string, unknown> };
}

/** A running Clever simulator. */
export interface CleverSimulator {
  /** `http://127.0.0.1:<port>/v3.0` (no trailing slash). */
  readonly baseUrl: string;
  readonly origin: string;
  readonly requests: readonly CleverRequestRecord[];
  /** The objects served, by type, in id order (live: change them with upsert and remove). */
  resources(type: CleverResourceType): readonly CleverObject[];
  /** Adds or replaces an object and records a `<type>.created` or `<type>.updated` event. */
  upsert(type: CleverResourceType, object: CleverObject): CleverEvent;
  /** Removes an object and records a `<type>.deleted` event; undefined when it was not there. */
  remove(type: CleverResourceType, id: string): CleverEvent | undefined;
  /**
   * Serves `roster` from now on, as a district's SIS changing would: an event for every Clever
   * object created, changed (any attribute, `last_modified` included) or deleted, in that order.
   */
  changeTo(roster: CanonicalRecordSource | OneRosterDataset): CleverEvent[];
  /** Every event recorded so far. */
  readonly events: readonly CleverEvent[];
  faultCounts(): number[];
  configure(behaviour: CleverSimulatorBehaviour): void;
  clearRequests(): void;
  stop(): Promise<void>;
}

const BASE_PATH = '/v3.0';
const MAX_LIMIT = 10_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Starts a Clever API v3.0 server on 127.0.0.1 serving a canonical roster as Clever resources:
 * `/districts`, `/schools`, `/terms`, `/courses`, `/sections`, `/users?role=…`, single objects
 * (`/users/{id}`), nested routes (`/schools/{id}/sections`, `/sections/{id}/students|teachers`,
 * `/users/{id}/mycontacts`…), `/me` and `/events?starting_after=`; a bearer district token (401
 * otherwise); paging with `limit` (413 above 10,000) and `starting_after`/`ending_before` and the
 * `links` `next`/`prev`; an optional rate limit answering 429 with `X-RateLimit-*` and
 * `Retry-After`; and the OneRoster simulator's faults.
 *
 * ```ts
 * const sim = await startCleverSimulator({ dataset: generateDistrict({ seed: 7 }), tokens: ['district-token'] });
 * t.teardown(() => sim.stop());
 * // sim.baseUrl → 'http://127.0.0.1:54321/v3.0'
 * ```
 */
export async function startCleverSimulator(options: CleverSimulatorOptions): Promise<CleverSimulator> {
  const resources = renderCleverResources(options.dataset, options);
  const byId = new Map<CleverResourceType, Map<string, CleverObject>>(
    CLEVER_RESOURCE_TYPES.map((type) => [type, new Map(resources.get(type)!.map((o) => [o.id, o]))]),
  );
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const defaultLimit = options.defaultLimit ?? 100;
  const events: CleverEvent[] = [];
  const requests: CleverRequestRecord[] = [];
  let faultPlan = new SimulatorFaultPlan([], seed);
  let rateLimit: CleverRateLimit | null = null;
  let latencyMs = 0;
  let window = { start: 0, used: 0 };
  const configure = (change: CleverSimulatorBehaviour): void => {
    if (change.faults !== undefined) faultPlan = new SimulatorFaultPlan(change.faults, seed);
    if (change.rateLimit !== undefined) {
      rateLimit = change.rateLimit;
      window = { start: now(), used: 0 };
    }
    if (change.latencyMs !== undefined) latencyMs = change.latencyMs;
  };
  configure(options);

  const list = (type: CleverResourceType): CleverObject[] => resources.get(type)!;

  const sockets = new Set<Socket>();
  const closing = new AbortController();
  const server = createServer((request, response) => {
    void handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, { error: 'internal simulator error' });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const path = url.pathname.startsWith(`${BASE_PATH}/`) ? url.pathname.slice(BASE_PATH.length + 1).replace(/\/+$/, '') : url.pathname;
    const entry: CleverRequestRecord = { n: requests.length + 1, path, query, status: 0, at: Date.now() };
    requests.push(entry);
    // Clever's clock, as any HTTP server gives it (a client tells from it how old its events are).
    response.setHeader('date', new Date(now()).toUTCString());
    try {
      if (latencyMs > 0) await pause(latencyMs, closing.signal);
      if (!url.pathname.startsWith(`${BASE_PATH}/`)) throw new HttpError(404, 'Not Found');
      authenticate(request);
      const limitHeaders = takeRateLimit();
      for (const [name, value] of Object.entries(limitHeaders)) response.setHeader(name, value);

      const fault = faultPlan.next(path);
      let body = route(path, query);
      if ('records' in body) entry.records = body.records as number;
      body = { data: body.data, links: body.links };
      if (fault) {
        entry.fault = fault.kind;
        if (await injectFault(fault, request, response, body, entry)) return;
      }
      entry.status = 200;
      send(response, 200, body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      entry.status = error.status;
      for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
      send(response, error.status, { error: error.message });
    }
  };

  const authenticate = (request: IncomingMessage): void => {
    const token = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    if (token === undefined) throw new HttpError(401, 'Unauthorized: no bearer token');
    if (!options.tokens.includes(token)) throw new HttpError(401, 'Unauthorized: invalid token');
  };

  /** Counts the request against the window; the headers to send, or a 429. */
  const takeRateLimit = (): Record<string, string> => {
    if (!rateLimit) return {};
    const windowMs = rateLimit.windowMs ?? 60_000;
    const t = now();
    if (t - window.start >= windowMs) window = { start: t, used: 0 };
    const resetMs = window.start + windowMs;
    const headers = {
      'x-ratelimit-bucket': 'district-token',
      'x-ratelimit-limit': String(rateLimit.limit),
      'x-ratelimit-reset': String(Math.ceil(resetMs / 1000)),
    };
    if (window.used >= rateLimit.limit) {
      const wait = Math.max(0, resetMs - t);
      throw new HttpError(429, 'Too Many Requests', {
        ...headers,
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset-ms': String(resetMs),
        'retry-after': String(Math.max(0, wait / 1000)),
      });
    }
    window.used++;
    return { ...headers, 'x-ratelimit-remaining': String(rateLimit.limit - window.used), 'x-ratelimit-reset-ms': String(resetMs) };
  };

  const route = (path: string, query: Record<string, string>): { data: unknown; links: unknown; records?: number } => {
    const parts = path.split('/').map(decodeURIComponent);
    const [head, id, nested] = parts;
    if (parts.length > 3 || !head) throw new HttpError(404, 'Not Found');
    if (head === 'me' && parts.length === 1) {
      const district = list('districts')[0]!;
      return {
        data: { id: district.id, district: district.id, type: 'district', authorized_by: 'district' },
        links: [{ rel: 'self', uri: `${BASE_PATH}/me` }],
      };
    }
    if (head === 'events') {
      if (id !== undefined) {
        const event = events.find((e) => e.id === id);
        if (!event) throw new HttpError(404, 'Not Found');
        return { data: event, links: [{ rel: 'self', uri: `${BASE_PATH}/events/${event.id}` }] };
      }
      return page('events', events as unknown as CleverObject[], query, false);
    }
    if (!(CLEVER_RESOURCE_TYPES as readonly string[]).includes(head)) throw new HttpError(404, 'Not Found');
    const type = head as CleverResourceType;
    if (id === undefined) {
      let items = list(type);
      if (type === 'users' && query.role !== undefined) {
        const role = query.role;
        if (!['student', 'teacher', 'staff', 'district_admin', 'contact'].includes(role))
          throw new HttpError(400, `role must be one of student, teacher, staff, district_admin, contact`);
        items = items.filter((user) => cleverRolesOf(user).includes(role));
      }
      return page(type, items, query);
    }
    const object = byId.get(type)!.get(id);
    if (!object) throw new HttpError(404, 'Not Found');
    if (nested === undefined) return { data: object, links: [{ rel: 'self', uri: `${BASE_PATH}/${type}/${id}` }] };
    return page(path, nestedList(type, object, nested), query);
  };

  const nestedList = (type: CleverResourceType, object: CleverObject, nested: string): CleverObject[] => {
    const users = byId.get('users')!;
    const pick = (ids: unknown): CleverObject[] =>
      ((ids as string[] | undefined) ?? []).map((id) => users.get(id)).filter((u): u is CleverObject => u !== undefined);
    if (type === 'sections' && nested === 'students') return pick(object.students);
    if (type === 'sections' && nested === 'teachers') return pick(object.teachers);
    if (type === 'sections' && (nested === 'course' || nested === 'school' || nested === 'term')) {
      const target =
        nested === 'course'
          ? byId.get('courses')!.get(object.course as string)
          : nested === 'school'
            ? byId.get('schools')!.get(object.school as string)
            : byId.get('terms')!.get(object.term_id as string);
      return target ? [target] : [];
    }
    if (type === 'schools' && nested === 'sections') return list('sections').filter((s) => s.school === object.id);
    if (type === 'schools' && nested === 'users') return list('users').filter((u) => userSchools(u).includes(object.id));
    if (type === 'courses' && nested === 'sections') return list('sections').filter((s) => s.course === object.id);
    if (type === 'terms' && nested === 'sections') return list('sections').filter((s) => s.term_id === object.id);
    if (type === 'users' && nested === 'sections')
      return list('sections').filter((s) => (s.students as string[]).includes(object.id) || (s.teachers as string[]).includes(object.id));
    if (type === 'users' && nested === 'mycontacts') return list('users').filter((u) => relationships(u).some((r) => r.student === object.id));
    if (type === 'users' && nested === 'mystudents') return pick(relationships(object).map((r) => r.student));
    throw new HttpError(404, 'Not Found');
  };

  const page = (
    path: string,
    items: readonly CleverObject[],
    query: Record<string, string>,
    wrapUri = true,
  ): { data: unknown; links: unknown; records: number } => {
    const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'limit must be a positive integer');
    if (limit > MAX_LIMIT) throw new HttpError(413, `limit must be at most ${MAX_LIMIT}`);
    if (query.starting_after !== undefined && query.ending_before !== undefined)
      throw new HttpError(400, 'starting_after and ending_before cannot be used together');
    let start = 0;
    let end: number;
    if (query.ending_before !== undefined) {
      end = items.findIndex((item) => item.id >= query.ending_before!);
      if (end < 0) end = items.length;
      start = Math.max(0, end - limit);
    } else {
      // The first object after the id given, whether or not that object still exists.
      if (query.starting_after !== undefined) {
        start = items.findIndex((item) => item.id > query.starting_after!);
        if (start < 0) start = items.length;
      }
      end = Math.min(items.length, start + limit);
    }
    const slice = items.slice(start, end);
    const uri = (extra: Record<string, string>): string => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (key !== 'starting_after' && key !== 'ending_before') params.set(key, value);
      params.set('limit', String(limit));
      for (const [key, value] of Object.entries(extra)) params.set(key, value);
      return `${BASE_PATH}/${path}?${params.toString()}`;
    };
    const links: { rel: string; uri: string }[] = [{ rel: 'self', uri: uri(query.starting_after ? { starting_after: query.starting_after } : {}) }];
    if (start > 0 && slice.length > 0) links.push({ rel: 'prev', uri: uri({ ending_before: slice[0]!.id }) });
    if (end < items.length && slice.length > 0) links.push({ rel: 'next', uri: uri({ starting_after: slice[slice.length - 1]!.id }) });
    const basePath = path.split('/')[0];
    return {
      data: slice.map((object) => ({
        data: object,
        uri: wrapUri ? `${BASE_PATH}/${basePath === 'events' ? 'events' : typeOfPath(path)}/${object.id}` : `${BASE_PATH}/events/${object.id}`,
      })),
      links,
      records: slice.length,
    };
  };

  const injectFault = async (
    fault: SimulatorFault,
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
    entry: CleverRequestRecord,
  ): Promise<boolean> => {
    switch (fault.kind) {
      case 'status': {
        entry.status = fault.status;
        if (fault.retryAfter !== undefined) response.setHeader('retry-after', String(fault.retryAfter));
        const message = fault.status === 429 ? 'Too Many Requests' : 'Internal Server Error';
        if (fault.body === 'html') sendText(response, fault.status, 'text/html', `<html><body><h1>${fault.status} ${message}</h1></body></html>`);
        else if (fault.body === 'text') sendText(response, fault.status, 'text/plain', message);
        else send(response, fault.status, { error: message });
        return true;
      }
      case 'reset':
        request.socket.destroy();
        return true;
      case 'resetMidBody': {
        entry.status = 200;
        const bytes = Buffer.from(JSON.stringify(body));
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
        response.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        setImmediate(() => request.socket.destroy());
        return true;
      }
      case 'slow':
        await pause(fault.delayMs, closing.signal);
        if (request.socket.destroyed) return true;
        return false;
      case 'truncatedJson': {
        entry.status = 200;
        const text = JSON.stringify(body);
        sendText(response, 200, 'application/json', text.slice(0, Math.floor(text.length / 2)));
        return true;
      }
      case 'missingEnvelope':
        entry.status = 200;
        send(response, 200, { links: [] });
        return true;
      case 'htmlPage': {
        const status = fault.status ?? 200;
        entry.status = status;
        sendText(response, status, 'text/html', '<html><body><h1>Service temporarily unavailable</h1></body></html>');
        return true;
      }
    }
  };

  const record = (type: CleverResourceType, verb: 'created' | 'updated' | 'deleted', object: CleverObject, previous?: CleverObject): CleverEvent => {
    const event: CleverEvent = {
      id: `evt-${String(events.length + 1).padStart(8, '0')}`,
      type: `${type}.${verb}`,
      created: new Date(now()).toISOString(),
      data: { object, ...(previous ? { previous_attributes: changedAttributes(previous, object) } : {}) },
    };
    events.push(event);
    return event;
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const upsert = (type: CleverResourceType, object: CleverObject): CleverEvent => {
    const map = byId.get(type)!;
    const previous = map.get(object.id);
    map.set(object.id, object);
    resources.set(
      type,
      [...map.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
    return record(type, previous ? 'updated' : 'created', object, previous);
  };
  const remove = (type: CleverResourceType, id: string): CleverEvent | undefined => {
    const map = byId.get(type)!;
    const previous = map.get(id);
    if (!previous) return undefined;
    map.delete(id);
    resources.set(
      type,
      list(type).filter((o) => o.id !== id),
    );
    return record(type, 'deleted', previous);
  };

  return {
    baseUrl: `${origin}${BASE_PATH}`,
    origin,
    requests,
    events,
    resources: (type) => list(type),
    upsert,
    remove,
    changeTo(roster) {
      const next = renderCleverResources(roster, options);
      const recorded: CleverEvent[] = [];
      for (const type of CLEVER_RESOURCE_TYPES) {
        const current = byId.get(type)!;
        for (const object of next.get(type)!) {
          const was = current.get(object.id);
          if (!was || JSON.stringify(was) !== JSON.stringify(object)) recorded.push(upsert(type, object));
        }
      }
      for (const type of [...CLEVER_RESOURCE_TYPES].reverse()) {
        const wanted = new Set(next.get(type)!.map((o) => o.id));
        for (const id of [...byId.get(type)!.keys()]) if (!wanted.has(id)) recorded.push(remove(type, id)!);
      }
      return recorded;
    },
    faultCounts: () => faultPlan.firedCounts(),
    configure,
    clearRequests: () => {
      requests.length = 0;
    },
    stop: async () => {
      closing.abort();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function typeOfPath(path: string): string {
  const parts = path.split('/');
  if (parts.length === 1) return parts[0]!;
  const nested = parts[2]!;
  if (['students', 'teachers', 'users', 'mycontacts', 'mystudents'].includes(nested)) return 'users';
  if (nested === 'course') return 'courses';
  if (nested === 'school') return 'schools';
  if (nested === 'term') return 'terms';
  return nested;
}

function userSchools(user: CleverObject): string[] {
  const roles = (user.roles ?? {}) as Record<string, { schools?: string[] }>;
  return [...new Set(Object.values(roles).flatMap((role) => role.schools ?? []))];
}

function relationships(user: CleverObject): { student: string }[] {
  const contact = (user.roles as Record<string, { student_relationships?: { student: string }[] }> | undefined)?.contact;
  return contact?.student_relationships ?? [];
}

/** The previous value of every top-level attribute that changed, whole; null for one that was absent. */
function changedAttributes(previous: CleverObject, next: CleverObject): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(previous), ...Object.keys(next)])) {
    if (JSON.stringify(previous[key]) !== JSON.stringify(next[key])) changed[key] = previous[key] ?? null;
  }
  return changed;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  sendText(response, status, 'application/json', JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, type: string, text: string): void {
  const bytes = Buffer.from(text);
  response.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': String(bytes.length) });
  response.end(bytes);
}

/** Waits `ms`, or until the simulator stops (a slow answer must not keep a stopped simulator's process alive). */
function pause(ms: number, stopped: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stopped.aborted) return resolve();
    const timer = setTimeout(() => {
      stopped.removeEventListener('abort', done);
      resolve();
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stopped.addEventListener('abort', done, { once: true });
  });
}
