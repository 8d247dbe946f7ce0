import { RosterbridgeError, isRosterbridgeError, type ConnectionCheck, type RosterEntity, type RosterIssue } from '@rosterbridge/core';
import { CLEVER_USER_ROLES, cleverIssue, mapCleverDistrict, type CanonicalRecords, type CleverDistrictData, type CleverObject } from './clever-mapping';
import { CleverTransport, type CleverJsonResponse, type CleverTransportOptions } from './clever-transport';

/** Clever's production API root. */
export const CLEVER_API_BASE_URL = 'https://api.clever.com/v3.0';
const MAX_PAGE_SIZE = 10_000;

/** Settings of a {@link CleverClient}. Only `token` is required. */
export interface CleverClientOptions extends CleverTransportOptions {
  /** The district app token, sent as `Authorization: Bearer <token>`. A secret. */
  token: string;
  /** The API root, default `https://api.clever.com/v3.0` (a simulator's `baseUrl` in tests). */
  baseUrl?: string;
  /** Objects per page, 1 to 10,000 (above that Clever answers 413). Default 1,000. */
  pageSize?: number;
  /** Page requests one collection read may make before failing with `SOURCE_TOO_MANY_REQUESTS`. Default 100,000. */
  maxRequestsPerRead?: number;
  /** Attempts per request of a connection check. Default 2. */
  checkAttempts?: number;
}

/** How one pull went. */
export interface CleverPullReport {
  /** Pages read per path (`users?role=student` counts as `users:student`). */
  pages: Record<string, number>;
  /** Objects read per path. */
  objects: Record<string, number>;
  /** Objects without an id per path (left out: they cannot be named). */
  unidentified: Record<string, number>;
}

/** A whole district read from Clever and mapped to canonical records. */
export interface CleverDistrictPull {
  records: CanonicalRecords;
  issues: RosterIssue[];
  /** The Clever objects as read (users merged across role lists). */
  raw: CleverDistrictData;
  report: CleverPullReport;
  /** Per entity, the Clever objects left out because they have no id (each has a CLEVER_NO_ID issue). */
  unidentified: Partial<Record<RosterEntity, number>>;
}

/**
 * A Clever API v3.0 client for a district app token: pages through collections by the `links`
 * `next` link (falling back to `starting_after` with the last id when a server sends no links),
 * retries and backs off as {@link CleverTransport} does, and never returns a partial collection:
 * every failure that ends a read throws a RosterbridgeError.
 *
 * ```ts
 * const client = new CleverClient({ token: process.env.CLEVER_TOKEN! });
 * try {
 *   const { records, issues } = await client.pullDistrict();
 * } finally {
 *   await client.close();
 * }
 * ```
 */
export class CleverClient {
  private readonly transport: CleverTransport;
  private readonly baseUrl: string;
  private readonly pageSize: number;

  constructor(private readonly options: CleverClientOptions) {
    if (!options.token) throw new RosterbridgeError('SETTINGS_INVALID', 'A Clever district token is required');
    this.baseUrl = (options.baseUrl ?? CLEVER_API_BASE_URL).replace(/\/+$/, '');
    this.pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > MAX_PAGE_SIZE) {
      throw new RosterbridgeError('SETTINGS_INVALID', `pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${this.pageSize}`);
    }
    this.transport = new CleverTransport(options.token, options);
  }

  /**
   * The pages of a collection (`schools`, `users` with `{ role: 'student' }`, `sections/{id}/students`…),
   * each as the list of its objects. Ends only after the last page; throws otherwise.
   */
  async *pages(path: string, params: Record<string, string> = {}, signal?: AbortSignal): AsyncGenerator<CleverObject[]> {
    for await (const page of this.responses(path, params, signal)) {
      if (page.unidentified > 0) {
        throw new RosterbridgeError('SOURCE_BAD_RESPONSE', `${path}: ${page.unidentified} item(s) of a page are not Clever objects with an id`, { path });
      }
      yield page.objects;
    }
  }

  /** The pages of a collection with each response's headers (Clever's clock is its `Date`). */
  private async *responses(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): AsyncGenerator<{ objects: CleverObject[]; unidentified: number; headers: CleverJsonResponse['headers'] }> {
    const maxRequests = this.options.maxRequestsPerRead ?? 100_000;
    let url: URL | undefined = new URL(`${this.baseUrl}/${path}`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    url.searchParams.set('limit', String(this.pageSize));
    const seen = new Set<string>();
    for (let requests = 1; url; requests++) {
      if (requests > maxRequests) {
        throw new RosterbridgeError('SOURCE_TOO_MANY_REQUESTS', `Reading ${path} from Clever needed more than ${maxRequests} requests`, { path, maxRequests });
      }
      const { body, headers } = await this.transport.getJson(url, signal);
      if (!Array.isArray(body.data)) {
        throw new RosterbridgeError('SOURCE_BAD_RESPONSE', `GET ${url.pathname}${url.search} answered 200 without a 'data' list: not a Clever collection`, {
          url: url.href,
        });
      }
      // An item without an id cannot be named: it is counted, not read (the caller decides what that means).
      const objects = body.data.map((item) => unwrapOrUndefined(item)).filter((o): o is CleverObject => o !== undefined);
      yield { objects, unidentified: body.data.length - objects.length, headers };
      if (body.data.length === 0) return;
      let next: URL | undefined;
      if (Array.isArray(body.links)) {
        const link = (body.links as { rel?: unknown; uri?: unknown }[]).find((l) => l?.rel === 'next' && typeof l.uri === 'string');
        next = link ? new URL(link.uri as string, `${this.baseUrl}/`) : undefined;
      } else if (body.data.length >= this.pageSize && objects.length > 0) {
        next = new URL(url.href);
        next.searchParams.set('starting_after', objects[objects.length - 1]!.id);
      }
      if (next) {
        const cursor = next.searchParams.get('starting_after') ?? next.href;
        if (seen.has(cursor) || next.href === url.href) {
          throw new RosterbridgeError('SOURCE_BAD_RESPONSE', `Clever's next link for ${path} leads back to a page already read (${cursor})`, { path, cursor });
        }
        seen.add(cursor);
      }
      url = next;
    }
  }

  /** Every object of a collection, in the order served; duplicates (by id) across pages kept once. */
  async readAll(path: string, params: Record<string, string> = {}, signal?: AbortSignal, report?: CleverPullReport): Promise<CleverObject[]> {
    const key = params.role ? `${path}:${params.role}` : path;
    const byId = new Map<string, CleverObject>();
    // Without a report, an object without an id fails the read; with one, it is counted there.
    for await (const page of report ? this.responses(path, params, signal) : this.pagesOfObjects(path, params, signal)) {
      if (report) {
        report.pages[key] = (report.pages[key] ?? 0) + 1;
        report.objects[key] = (report.objects[key] ?? 0) + page.objects.length + page.unidentified;
        if (page.unidentified > 0) report.unidentified[key] = (report.unidentified[key] ?? 0) + page.unidentified;
      }
      for (const object of page.objects) byId.set(object.id, object);
    }
    return [...byId.values()];
  }

  /** Every object of a collection, or undefined when Clever answers 404 (a nested route of an object deleted since). */
  async readAllIfFound(path: string, params: Record<string, string> = {}, signal?: AbortSignal): Promise<CleverObject[] | undefined> {
    try {
      return await this.readAll(path, params, signal);
    } catch (error) {
      if (isRosterbridgeError(error, 'SOURCE_NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /** One object (`users/{id}`), or undefined when Clever answers 404. */
  async getObject(path: string, signal?: AbortSignal): Promise<CleverObject | undefined> {
    const url = new URL(`${this.baseUrl}/${path}`);
    try {
      const { body } = await this.transport.getJson(url, signal);
      return unwrap(body, url, 0);
    } catch (error) {
      if (isRosterbridgeError(error, 'SOURCE_NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /**
   * The district's events, oldest first, page by page (Clever keeps 30 days of them), each page
   * with Clever's clock when it answered (its `Date` header). Ends only after the last page.
   */
  async *eventPages(signal?: AbortSignal): AsyncGenerator<{ events: CleverEvent[]; serverTime: Date | undefined }> {
    for await (const { objects, headers } of this.responses('events', {}, signal)) {
      const date = typeof headers.date === 'string' ? new Date(headers.date) : undefined;
      yield { events: objects.map((o, i) => asEvent(o, i)), serverTime: date && !Number.isNaN(date.getTime()) ? date : undefined };
    }
  }

  /**
   * Reads the whole district — districts, schools, terms, courses, sections, and users role by role
   * — and maps it to canonical records. Throws (never returns a short roster) when any read fails.
   */
  private async *pagesOfObjects(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): AsyncGenerator<{ objects: CleverObject[]; unidentified: number }> {
    for await (const objects of this.pages(path, params, signal)) yield { objects, unidentified: 0 };
  }

  async pullDistrict(signal?: AbortSignal): Promise<CleverDistrictPull> {
    const report: CleverPullReport = { pages: {}, objects: {}, unidentified: {} };
    const districts = await this.readAll('districts', {}, signal, report);
    const schools = await this.readAll('schools', {}, signal, report);
    const terms = await this.readAll('terms', {}, signal, report);
    const courses = await this.readAll('courses', {}, signal, report);
    const sections = await this.readAll('sections', {}, signal, report);
    const users = new Map<string, CleverObject>();
    for (const role of CLEVER_USER_ROLES) {
      for (const user of await this.readAll('users', { role }, signal, report)) {
        // A multi-role user comes in several lists with the same object: keep it once.
        if (!users.has(user.id)) users.set(user.id, user);
      }
    }
    const raw: CleverDistrictData = { districts, schools, terms, courses, sections, users: [...users.values()] };
    const { records, issues } = mapCleverDistrict(raw);
    const unidentified: Partial<Record<RosterEntity, number>> = {};
    for (const [key, n] of Object.entries(report.unidentified)) {
      const [path] = key.split(':');
      const entity = CLEVER_PATH_ENTITY[path!];
      if (!entity) continue;
      unidentified[entity] = (unidentified[entity] ?? 0) + n;
      issues.push(
        cleverIssue(
          'CLEVER_NO_ID',
          `${n} object(s) of /${key.replace(':', '?role=')} have no id: they cannot be read or named, so no ${entity} record is deleted for its absence in this run`,
          { entity },
        ),
      );
    }
    return { records, issues, raw, report, unidentified };
  }

  /** Whether the token reads this district: one small request to `/districts`. */
  async check(signal?: AbortSignal): Promise<ConnectionCheck> {
    const url = new URL(`${this.baseUrl}/districts`);
    url.searchParams.set('limit', '1');
    try {
      const { body } = await this.transport.getJson(url, signal, this.options.checkAttempts ?? 2);
      const first = Array.isArray(body.data) ? unwrap(body.data[0] ?? {}, url, 0, true) : undefined;
      if (!Array.isArray(body.data)) return { ok: false, code: 'SOURCE_INVALID', message: `${url.href} answered 200 without a 'data' list: not a Clever API` };
      return {
        ok: true,
        message: first ? `Connected to Clever district '${String(first.name ?? first.id)}'` : 'Connected to Clever; the token sees no district',
        details: first ? { districtId: first.id } : {},
      };
    } catch (error) {
      if (!isRosterbridgeError(error)) throw error;
      const code =
        error.code === 'SOURCE_BAD_CREDENTIALS' || error.code === 'SOURCE_FORBIDDEN' || error.code === 'SOURCE_NOT_FOUND'
          ? error.code
          : error.code === 'SOURCE_BAD_RESPONSE' || error.code === 'SOURCE_REQUEST_REJECTED'
            ? 'SOURCE_INVALID'
            : error.code === 'CANCELLED'
              ? undefined
              : 'SOURCE_UNREACHABLE';
      if (!code) throw error;
      return { ok: false, code, message: error.message, details: { cause: error.code } };
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** A Clever event as `/events` serves it: `data.object` is the object as it is after the event (as it was, for a deletion). */
export interface CleverEvent {
  id: string;
  /** `<resource>.created|updated|deleted`: `users.updated`, `sections.deleted`… */
  type: string;
  created: string;
  data: { object: CleverObject; previous_attributes?: Record<string, unknown> };
}

function asEvent(object: CleverObject, index: number): CleverEvent {
  const data = object.data as CleverEvent['data'] | undefined;
  if (typeof object.type !== 'string' || typeof object.created !== 'string' || !data || typeof data.object?.id !== 'string') {
    throw new RosterbridgeError(
      'SOURCE_BAD_RESPONSE',
      `event ${index} of a page of /events ('${object.id}') has no type, created time or data.object with an id`,
      { eventId: object.id },
    );
  }
  return object as unknown as CleverEvent;
}

/** The canonical entity each Clever collection read by {@link CleverClient.pullDistrict} becomes. */
const CLEVER_PATH_ENTITY: Record<string, RosterEntity> = {
  districts: 'orgs',
  schools: 'orgs',
  terms: 'academicSessions',
  courses: 'courses',
  sections: 'classes',
  users: 'users',
};

function unwrapOrUndefined(item: unknown): CleverObject | undefined {
  const inner = item && typeof item === 'object' && 'data' in item ? (item as { data: unknown }).data : item;
  return inner && typeof inner === 'object' && typeof (inner as { id?: unknown }).id === 'string' && (inner as { id: string }).id !== ''
    ? (inner as CleverObject)
    : undefined;
}

function unwrap(item: unknown, url: URL, index: number, lenient = false): CleverObject {
  const inner = item && typeof item === 'object' && 'data' in item ? (item as { data: unknown }).data : item;
  if (inner && typeof inner === 'object' && typeof (inner as { id?: unknown }).id === 'string') return inner as CleverObject;
  if (lenient) return { id: '' };
  throw new RosterbridgeError('SOURCE_BAD_RESPONSE', `GET ${url.pathname}${url.search}: item ${index} of 'data' is not a Clever object with an id`, {
    url: url.href,
    index,
  });
}
