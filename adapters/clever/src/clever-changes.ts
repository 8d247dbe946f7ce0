import { contentHash, issueFactory, RosterbridgeError, ROSTER_ENTITY_ORDER, type RosterEntity, type RosterIssue, type RosterRecord } from '@rosterbridge/core';
import type { CleverClient, CleverEvent } from './clever-client';
import { CleverIssueCodes, mapCleverDistrict, type CanonicalRecords, type CleverDistrictData, type CleverObject } from './clever-mapping';

/** The Clever resources events are read for, as `<resource>.created|updated|deleted`. */
const RESOURCES = ['districts', 'schools', 'terms', 'courses', 'sections', 'users'] as const;
type Resource = (typeof RESOURCES)[number];

/** How {@link readCleverChanges} reads. */
export interface CleverChangesOptions {
  /** Changes after this instant: the start of the last sync that was committed. */
  since: Date;
  /**
   * Events up to this long before `since` are read again: `since` is the host's clock and an
   * event's `created` Clever's. Reading one again changes nothing (the same records come out).
   * Default 5 minutes.
   */
  overlapMs?: number;
  /** How long Clever keeps events; an older `since` cannot be caught up with events. Default 30 days. */
  retentionMs?: number;
  /**
   * The records of changed objects depend on others (a course's sections, a student's contacts),
   * read one by one for a few changes; above about this many requests the whole district is read
   * instead (a few pages a collection). Default 200.
   */
  maxTargetedRequests?: number;
  signal?: AbortSignal;
}

/** What changed in a district since a time, as canonical records. */
export interface CleverChanges {
  /** Per entity, in sourcedId order: created and updated records, and deleted ones as `tobedeleted`. */
  records: CanonicalRecords;
  /** Issues of the records sent (rejected records have an error here and are in no list). */
  issues: RosterIssue[];
  /** Events read after `since - overlap`, and the newest one's id. */
  events: { read: number; newestId?: string };
}

const DEFAULT_OVERLAP_MS = 5 * 60_000;
const DEFAULT_RETENTION_MS = 30 * 86_400_000;
const DEFAULT_MAX_TARGETED_REQUESTS = 200;
const cleverIssue = issueFactory(CleverIssueCodes);

/** One Clever object as the events left it: before the first event read, and after the last. */
interface ObjectChange {
  resource: Resource;
  id: string;
  /** Absent: the object did not exist (it was created). */
  before?: CleverObject;
  /** Absent: the object was deleted. */
  after?: CleverObject;
  /** When the last event of the object was created. */
  at: Date;
}

/**
 * Reads what changed in a district since `since`, from Clever's events, as canonical records:
 * what a delta sync stages. Clever derives much of the canonical roster from other objects
 * (enrollments from sections, a course's grades and school from its sections, a student's
 * guardians from the contacts naming it, a guardian's schools from its students'), so records
 * are not mapped event by event: the objects the events touch are put, as they were before the
 * first event and as they are after the last, among the objects those records depend on (read
 * now from the API), both states are mapped, and the records that differ are the change. A record
 * the events leave as it was is not sent; one that disappears is sent `tobedeleted`.
 *
 * Events are listed oldest first from the start of Clever's 30-day window (Clever's own cursor is
 * an event id, and the sync engine gives a time): those created after `since - overlapMs` count.
 * Applying the same events twice gives the same records. Throws `SOURCE_MODE_MISMATCH` when
 * `since` is older than the events Clever keeps.
 */
export async function readCleverChanges(client: CleverClient, options: CleverChangesOptions): Promise<CleverChanges> {
  const { signal } = options;
  const after = options.since.getTime() - (options.overlapMs ?? DEFAULT_OVERLAP_MS);
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const issues: RosterIssue[] = [];
  const changes = new Map<string, ObjectChange>();
  let read = 0;
  let newestId: string | undefined;
  let checkedRetention = false;
  for await (const page of client.eventPages(signal)) {
    if (!checkedRetention) {
      checkedRetention = true;
      const now = page.serverTime ?? new Date();
      if (now.getTime() - options.since.getTime() > retentionMs) {
        throw new RosterbridgeError(
          'SOURCE_MODE_MISMATCH',
          `the last committed sync began ${options.since.toISOString()}, more than the ${Math.round(retentionMs / 86_400_000)} days of events Clever keeps before ${now.toISOString()}: changes since then cannot all be read; run a full sync`,
          { since: options.since.toISOString(), serverTime: now.toISOString() },
        );
      }
    }
    for (const event of page.events) {
      const created = Date.parse(event.created);
      if (Number.isNaN(created))
        throw new RosterbridgeError('SOURCE_BAD_RESPONSE', `Clever event ${event.id} has no readable created time ('${event.created}')`, { eventId: event.id });
      if (created <= after) continue;
      read++;
      newestId = event.id;
      fold(changes, event, new Date(created), issues);
    }
  }
  if (changes.size === 0) return { records: emptyRecords(), issues, events: { read, ...(newestId ? { newestId } : {}) } };

  const context = await readContext(client, changes, options.maxTargetedRequests ?? DEFAULT_MAX_TARGETED_REQUESTS, signal);
  const before = districtData(context, changes, 'before');
  const afterData = districtData(context, changes, 'after');
  const mappedBefore = mapCleverDistrict(before);
  const mappedAfter = mapCleverDistrict(afterData);
  const affected = affectedRecords(changes, context, mappedBefore.records, mappedAfter.records);

  const records = emptyRecords();
  const rejected = new Set(mappedAfter.issues.filter((i) => i.severity === 'error' && i.sourcedId).map((i) => `${i.entity}:${i.sourcedId}`));
  for (const entity of ROSTER_ENTITY_ORDER) {
    const was = new Map((mappedBefore.records[entity] as RosterRecord[]).map((r) => [r.sourcedId, r]));
    const now = new Map((mappedAfter.records[entity] as RosterRecord[]).map((r) => [r.sourcedId, r]));
    const out = records[entity] as RosterRecord[];
    for (const [sourcedId, cause] of [...affected[entity]].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const b = was.get(sourcedId);
      const a = now.get(sourcedId);
      if (a) {
        if (!b || contentHash(a) !== contentHash(b)) out.push(a);
      } else if (b && !rejected.has(`${entity}:${sourcedId}`)) {
        out.push({ ...b, status: 'tobedeleted', dateLastModified: cause.at });
      }
    }
  }
  // References to objects outside what was read are expected here (a full read reports the real ones).
  const sent = new Set(ROSTER_ENTITY_ORDER.flatMap((e) => (records[e] as RosterRecord[]).map((r) => `${e}:${r.sourcedId}`)));
  for (const issue of mappedAfter.issues) {
    if (issue.code === 'REFERENCE_UNRESOLVED') continue;
    const key = `${issue.entity}:${issue.sourcedId}`;
    if (sent.has(key) || (rejected.has(key) && affected[issue.entity!]?.has(issue.sourcedId!))) issues.push(issue);
  }
  return { records, issues, events: { read, ...(newestId ? { newestId } : {}) } };
}

/** Adds one event to the changes: the first event of an object fixes its `before`, the last its `after`. */
function fold(changes: Map<string, ObjectChange>, event: CleverEvent, at: Date, issues: RosterIssue[]): void {
  const match = /^([a-z_]+)\.(created|updated|deleted)$/.exec(event.type);
  const resource = match?.[1] as Resource | undefined;
  if (!match || !resource || !(RESOURCES as readonly string[]).includes(resource)) {
    issues.push(cleverIssue('CLEVER_NOT_MAPPED', `Clever event ${event.id} of type '${event.type}' has no canonical records; it was skipped`));
    return;
  }
  const verb = match[2] as 'created' | 'updated' | 'deleted';
  const object = event.data.object;
  const key = `${resource}:${object.id}`;
  let change = changes.get(key);
  if (!change) {
    const before = verb === 'created' ? undefined : verb === 'deleted' ? object : previousState(object, event.data.previous_attributes);
    change = { resource, id: object.id, ...(before ? { before } : {}), at };
    changes.set(key, change);
  }
  if (verb === 'deleted') delete change.after;
  else change.after = object;
  change.at = at;
}

/**
 * The object before an update: its changed top-level attributes as `previous_attributes` gives
 * them (null: absent before). Attributes are replaced whole, never merged, so that a change is
 * never lost (a partial nested value only makes more look changed).
 */
function previousState(object: CleverObject, previous: Record<string, unknown> | undefined): CleverObject {
  const before: Record<string, unknown> = { ...object };
  for (const [key, value] of Object.entries(previous ?? {})) {
    if (value === null || value === undefined) delete before[key];
    else before[key] = value;
  }
  return before as CleverObject;
}

/** The objects, read now, that the records of the changed objects are derived from. */
interface ChangeContext {
  objects: Map<Resource, Map<string, CleverObject>>;
  /** Courses whose records may change: changed ones and those of changed sections. */
  courses: Set<string>;
  /** Students whose guardians may change, and contacts whose schools may change. */
  students: Set<string>;
  contacts: Set<string>;
}

async function readContext(
  client: CleverClient,
  changes: Map<string, ObjectChange>,
  maxTargetedRequests: number,
  signal: AbortSignal | undefined,
): Promise<ChangeContext> {
  const objects = new Map<Resource, Map<string, CleverObject>>(RESOURCES.map((r) => [r, new Map()]));
  const put = (resource: Resource, list: readonly CleverObject[] | undefined) => {
    for (const o of list ?? []) objects.get(resource)!.set(o.id, o);
  };
  const changed = (resource: Resource, id: string) => changes.get(`${resource}:${id}`);
  const states = (c: ObjectChange) => [c.before, c.after].filter((o): o is CleverObject => o !== undefined);

  const courses = new Set<string>();
  const students = new Set<string>();
  const contacts = new Set<string>();
  for (const c of changes.values()) {
    if (c.resource === 'courses') courses.add(c.id);
    if (c.resource === 'sections') for (const s of states(c)) if (typeof s.course === 'string') courses.add(s.course);
    if (c.resource === 'users') {
      for (const u of states(c)) {
        const roles = rolesOf(u);
        if (roles.student) students.add(c.id);
        if (roles.contact) {
          contacts.add(c.id);
          for (const student of relatedStudents(u)) students.add(student);
        }
      }
    }
  }
  // About two requests per course and per student, one per contact: past the limit, one read of everything is cheaper.
  if (2 * courses.size + 2 * students.size + contacts.size > maxTargetedRequests) {
    const whole = await client.pullDistrict(signal);
    for (const resource of RESOURCES) put(resource, whole.raw[resource]);
    return { objects, courses, students, contacts };
  }
  put('districts', await client.readAll('districts', {}, signal));
  for (const course of courses) {
    if (!changed('courses', course)) {
      const object = await client.getObject(`courses/${encodeURIComponent(course)}`, signal);
      if (object) put('courses', [object]);
    }
    put('sections', await client.readAllIfFound(`courses/${encodeURIComponent(course)}/sections`, {}, signal));
  }
  // Every contact of a student whose guardians may change; those of a changed student may change schools.
  const changedStudents = [...students].filter((id) => changed('users', id));
  for (const student of students) {
    const mine = await client.readAllIfFound(`users/${encodeURIComponent(student)}/mycontacts`, {}, signal);
    put('users', mine);
    if (changedStudents.includes(student)) for (const contact of mine ?? []) contacts.add(contact.id);
  }
  // Every student of a contact whose schools may change, and every student whose guardians may.
  const needed = new Set(students);
  for (const contact of contacts) {
    const c = changed('users', contact);
    for (const state of c ? states(c) : [objects.get('users')!.get(contact)].filter((o): o is CleverObject => o !== undefined)) {
      for (const student of relatedStudents(state)) needed.add(student);
    }
  }
  for (const student of needed) {
    if (changed('users', student) || objects.get('users')!.has(student)) continue;
    const object = await client.getObject(`users/${encodeURIComponent(student)}`, signal);
    if (object) put('users', [object]);
  }
  return { objects, courses, students, contacts };
}

/** The context with every changed object as it was `before` the events, or as it is `after` them. */
function districtData(context: ChangeContext, changes: Map<string, ObjectChange>, when: 'before' | 'after'): CleverDistrictData {
  const lists = new Map<Resource, Map<string, CleverObject>>(RESOURCES.map((r) => [r, new Map(context.objects.get(r)!)]));
  for (const c of changes.values()) {
    const state = c[when];
    if (state) lists.get(c.resource)!.set(c.id, state);
    else lists.get(c.resource)!.delete(c.id);
  }
  const list = (r: Resource) => [...lists.get(r)!.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    districts: list('districts'),
    schools: list('schools'),
    terms: list('terms'),
    courses: list('courses'),
    sections: list('sections'),
    users: list('users'),
  };
}

/** Per entity, the sourcedIds whose records may have changed, each with the change that touched it. */
function affectedRecords(
  changes: Map<string, ObjectChange>,
  context: ChangeContext,
  before: CanonicalRecords,
  after: CanonicalRecords,
): Record<RosterEntity, Map<string, ObjectChange>> {
  const affected = Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, new Map<string, ObjectChange>()])) as Record<RosterEntity, Map<string, ObjectChange>>;
  const add = (entity: RosterEntity, sourcedId: string, cause: ObjectChange) => {
    const known = affected[entity].get(sourcedId);
    if (!known || known.at < cause.at) affected[entity].set(sourcedId, cause);
  };
  const sectionChanges = new Map<string, ObjectChange>();
  for (const c of changes.values()) {
    switch (c.resource) {
      case 'districts':
      case 'schools':
        add('orgs', c.id, c);
        break;
      case 'terms':
        add('academicSessions', c.id, c);
        break;
      case 'courses':
        add('courses', c.id, c);
        break;
      case 'sections':
        add('classes', c.id, c);
        sectionChanges.set(c.id, c);
        for (const s of [c.before, c.after]) if (typeof s?.course === 'string') add('courses', s.course, c);
        break;
      case 'users':
        add('users', c.id, c);
        add('demographics', c.id, c);
        for (const s of [c.before, c.after]) for (const student of s ? relatedStudents(s) : []) add('users', student, c);
        break;
    }
  }
  for (const records of [before, after]) {
    for (const e of records.enrollments) {
      const cause = sectionChanges.get(e.classSourcedId);
      if (cause) add('enrollments', e.sourcedId, cause);
    }
  }
  // A changed student's guardians: their schools follow the student's.
  for (const student of context.students) {
    const cause = changes.get(`users:${student}`);
    if (!cause) continue;
    for (const records of [before, after]) {
      for (const user of records.users) if (user.sourcedId === student) for (const agent of user.agentSourcedIds) add('users', agent, cause);
    }
  }
  return affected;
}

function rolesOf(u: CleverObject): Record<string, Record<string, unknown> | undefined> {
  return u.roles && typeof u.roles === 'object' ? (u.roles as Record<string, Record<string, unknown>>) : {};
}

/** The students a contact's `student_relationships` name. */
function relatedStudents(u: CleverObject): string[] {
  const list = rolesOf(u).contact?.student_relationships;
  return Array.isArray(list) ? list.map((r) => (r as { student?: unknown })?.student).filter((s): s is string => typeof s === 'string') : [];
}

function emptyRecords(): CanonicalRecords {
  return Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, []])) as unknown as CanonicalRecords;
}
