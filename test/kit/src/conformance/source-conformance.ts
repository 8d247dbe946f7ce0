import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ROSTER_ENTITY_ORDER,
  ROSTER_REFERENCES,
  parseRosterRecord,
  type ConnectionCheck,
  type RawRosterRecord,
  type RosterEntity,
  type RosterIssue,
  type RosterRecord,
  type RosterSourceSession,
} from '@rosterbridge/core';
import type { Host } from '@rosterbridge/host';
import type { Test } from 'tap';
import { changeDistrict, generateDistrict, type ChangedDistrict, type GeneratedDistrict, type RosterRecordSource } from '@rosterbridge/district-generator';
import { canonicalRecordJson, recordDifferences } from '../record-differences';
import { startTestHost } from '../test-host';

/** Tenant settings of the source under test, as a tenant file's `source.settings` holds them. */
export type SourceSettings = Record<string, unknown>;

/**
 * How the conformance kit drives one source plugin. The kit owns the host, the tenants and the
 * data; the harness only turns a roster into settings of its source (writing a package, starting a
 * simulator…). Servers the harness starts are the harness's to close (`t.teardown` in its test).
 */
export interface SourceConformanceHarness {
  /** The source's contribution id, as tenants name it (`contributes.sources[].id`). */
  sourceId: string;
  /** Plugin folders the host discovers plugins in. Default: the repository's `plugins/`. */
  pluginDirs?: string[];
  /** Environment variables the settings' secret references (`{ "env": NAME }`) need; set while the kit runs. */
  env?: Record<string, string>;
  /** Settings under which the source serves `roster` in full (every entity it can supply). */
  serve(roster: RosterRecordSource): Promise<SourceSettings>;
  /** Settings with wrong credentials for a source serving `roster`; leave out for a source without credentials. */
  badCredentials?(roster: RosterRecordSource): Promise<SourceSettings>;
  /** Settings naming a location where no source is (a closed port, a path that is not a OneRoster service, a missing file). */
  badLocation(): Promise<SourceSettings[]>;
  /**
   * Settings under which the source serves, for a delta read since `base.asOf`, the change from
   * `changed.base` to `changed` (a delta package, or a server whose records carry later
   * dateLastModified, deletions as `tobedeleted`). Required when the manifest declares `supportsDelta`.
   */
  serveChange?(changed: ChangedDistrict): Promise<SourceSettings>;
  /**
   * Settings under which the source starts serving `roster` and dies part-way (a fault, a file cut
   * off), each named. A read must then throw; it may never end as if the roster were complete.
   */
  dieMidRead(roster: RosterRecordSource): Promise<Record<string, SourceSettings>>;
  /** Settings under which every response takes far longer than the kit waits: cancellation must end the wait. Optional. */
  slow?(roster: RosterRecordSource): Promise<SourceSettings>;
  /**
   * What a served record looks like once read in `mode` (a server's quirks, what a format leaves
   * out); default: unchanged. `served` is the whole roster the record is part of, for a source that
   * derives fields from other records (Clever: a course's grades from its sections). Undefined: the
   * source cannot carry this record at all (an org type it has no place for).
   */
  expectRecord?<E extends RosterEntity>(entity: E, record: RosterRecord<E>, mode: 'full' | 'delta', served: RosterRecordSource): RosterRecord<E> | undefined;
  /**
   * The records a delta read of `entity` yields for `changed`, for a source whose delta is not
   * `changed.delta` record for record (one that derives records from others, or cannot see some
   * changes); default: `changed.delta`'s records through `expectRecord`.
   */
  expectDelta?<E extends RosterEntity>(entity: E, changed: ChangedDistrict): RosterRecord<E>[];
  /** Seed of the generated district. */
  seed?: number;
  /** Most milliseconds a cancelled read may take to stop. Default 1000. */
  promptMs?: number;
  /**
   * Checks the source is known to fail, each with why: they still run and report, as `todo`
   * (visible in every run, never counted as passing). Fix the source, then remove the entry.
   */
  knownGaps?: { unreportedReferences?: string };
}

/** The test the kit runs in: a `tap` test (`t` of `t.test(…)`). */
export type ConformanceTest = Test;

const PLUGINS_DIR = path.resolve(__dirname, '../../../../plugins');
const BATCH_SIZE = 7;
const SHOWN = 8;

/**
 * Runs the source conformance suite against one source plugin, through a real host: connection
 * check (good settings, bad credentials, bad location), a full read of a generated district
 * (canonical records that validate, unique sourcedIds, the district's ids, references resolvable
 * or reported), repeatable full reads, a delta read after a change (when the manifest declares
 * delta support), a source that dies mid-read, and cancellation.
 *
 * ```ts
 * t.test('oneroster-csv conforms', (t) => runSourceConformance(t, {
 *   sourceId: 'oneroster-csv',
 *   serve: async (roster) => ({ location: (await writeOneRosterPackage(roster, tmp())).directory }),
 *   badLocation: async () => [{ location: '/nonexistent/oneroster.zip' }],
 *   serveChange: async (changed) => ({ location: (await writeOneRosterPackage(changed.delta, tmp(), { mode: 'delta' })).directory }),
 *   dieMidRead: async (roster) => ({ 'users.csv cut off': { location: await cutUsersCsv(roster) } }),
 * }));
 * ```
 */
export async function runSourceConformance(t: ConformanceTest, harness: SourceConformanceHarness): Promise<void> {
  const district = generateDistrict({ seed: harness.seed ?? 7301, size: 'tiny' });
  const expectRecord = <E extends RosterEntity>(
    entity: E,
    record: RosterRecord<E>,
    mode: 'full' | 'delta',
    served: RosterRecordSource,
  ): RosterRecord<E> | undefined => (harness.expectRecord ? harness.expectRecord(entity, record, mode, served) : record);
  const expectAll = <E extends RosterEntity>(
    entity: E,
    records: Iterable<RosterRecord<E>>,
    mode: 'full' | 'delta',
    served: RosterRecordSource,
  ): RosterRecord<E>[] => [...records].flatMap((record) => expectRecord(entity, record, mode, served) ?? []);
  const promptMs = harness.promptMs ?? 1000;

  const savedEnv = Object.fromEntries(Object.keys(harness.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, harness.env ?? {});
  t.teardown(() => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const tenantsDir = await mkdtemp(path.join(tmpdir(), 'rb-conformance-'));
  t.teardown(() => rm(tenantsDir, { recursive: true, force: true }));
  const th = await startTestHost({ pluginDirs: harness.pluginDirs ?? [PLUGINS_DIR], tenantsDir });
  t.teardown(() => th.stop());
  const tenants = new KitTenants(th.host, tenantsDir, harness.sourceId);

  const contributor = th.host.plugins.findContributor('sources', harness.sourceId);
  const declared = contributor?.contributes.sources.find((s) => s.id === harness.sourceId);
  t.ok(declared, `a plugin contributes the source "${harness.sourceId}"`);
  if (!declared) return;
  const supportsDelta = declared.supportsDelta === true;

  const goodSettings = await harness.serve(district);
  const good = await tenants.add('good', goodSettings);

  await t.test('connection check: ok for good settings, a specific code for bad ones', async (t) => {
    const ok = await th.host.sourceSessions.check(good);
    t.equal(ok.ok, true, `good settings check ok: ${JSON.stringify(ok)}`);
    if (harness.badCredentials) {
      const id = await tenants.add('bad-credentials', await harness.badCredentials(district));
      const bad = await th.host.sourceSessions.check(id);
      t.equal(failureCode(bad), 'SOURCE_BAD_CREDENTIALS', `bad credentials: ${JSON.stringify(bad)}`);
    } else {
      t.pass('bad credentials are SOURCE_BAD_CREDENTIALS', { skip: `${harness.sourceId} takes no credentials (the harness gives no badCredentials)` });
    }
    const locations = await harness.badLocation();
    t.ok(locations.length > 0, 'the harness gives at least one bad location');
    for (const settings of locations) {
      const id = await tenants.add('bad-location', settings);
      const bad = await th.host.sourceSessions.check(id);
      t.ok(
        bad.ok === false && (bad.code === 'SOURCE_UNREACHABLE' || bad.code === 'SOURCE_NOT_FOUND'),
        `a bad location (${JSON.stringify(settings)}) is SOURCE_UNREACHABLE or SOURCE_NOT_FOUND, got ${JSON.stringify(bad)}`,
      );
      t.ok(bad.ok === false && bad.message.trim() !== '', 'with a message');
    }
  });

  let first: FullRead | undefined;
  await t.test('a full read yields the district as canonical records that validate', async (t) => {
    const read = await fullRead(th.host, good);
    first = read;
    const entities = read.entities;
    t.ok(entities.length > 0, `the source supplies entities (${entities.join(', ')})`);
    t.same(
      entities,
      ROSTER_ENTITY_ORDER.filter((e) => entities.includes(e)),
      'capabilities list the entities in referential order',
    );
    t.equal(read.delta, supportsDelta && read.delta, 'capabilities claim delta only if the manifest declares supportsDelta');
    for (const entity of entities) {
      const r = read.byEntity.get(entity)!;
      t.same(r.shapeProblems.slice(0, SHOWN), [], `${entity}: every batch is well formed (${r.batches} batches)`);
      t.same(r.records.flatMap((record) => validateCanonical(entity, record)).slice(0, SHOWN), [], `${entity}: every record is canonical and validates`);
      t.same(duplicates(r.records).slice(0, SHOWN), [], `${entity}: sourcedIds are unique`);
      t.same(r.issues.filter((i) => i.severity === 'error').slice(0, SHOWN), [], `${entity}: a clean district reads without errors`);
      t.equal(r.rowsRead, r.records.length, `${entity}: rowsRead accounts for every record`);
      const expected = expectAll(entity, district.records(entity), 'full', district);
      t.same(recordDifferences(r.records, expected).slice(0, SHOWN), [], `${entity}: the ${expected.length} records served, field for field`);
    }
    t.same(unreportedReferences(read).slice(0, SHOWN), [], 'every reference resolves or is reported');
  });

  await t.test('references to records the source does not hold are reported', async (t) => {
    const { roster, dropped } = dropSomeRecords(district);
    const id = await tenants.add('dangling', await harness.serve(roster));
    const read = await fullRead(th.host, id);
    const unresolved = read.entities.flatMap((entity) => referencesOutside(read, entity));
    t.ok(unresolved.length > 0, `dropping ${JSON.stringify(dropped)} leaves references to nothing (${unresolved.length})`);
    t.same(unreportedReferences(read).slice(0, SHOWN), [], 'each one is reported as REFERENCE_UNRESOLVED (entity, sourcedId, field)', {
      ...(harness.knownGaps?.unreportedReferences ? { todo: harness.knownGaps.unreportedReferences } : {}),
    });
  });

  await t.test('two full reads of unchanged data yield the same records', async (t) => {
    const second = await fullRead(th.host, good);
    const a = first ?? (await fullRead(th.host, good));
    for (const entity of a.entities) {
      t.same(recordDifferences(second.byEntity.get(entity)?.records ?? [], a.byEntity.get(entity)!.records).slice(0, SHOWN), [], `${entity}: the same records`);
    }
  });

  const noDelta = `${harness.sourceId} does not declare supportsDelta`;
  await t.test('a delta read after a change yields the change and nothing older', { skip: supportsDelta ? false : noDelta }, async (t) => {
    t.ok(harness.serveChange, 'the manifest declares supportsDelta, so the harness must say how to serve a change');
    if (!harness.serveChange) return;
    const changed = changeDistrict(district, { seed: 11, fraction: 0.2 });
    const since = district.asOf;
    const id = await tenants.add('delta', await harness.serveChange(changed));
    const session = await th.host.sourceSessions.open(id);
    t.teardown(() => session.dispose());
    t.equal(session.capabilities.delta, true, 'a session serving a change declares delta capability');
    let total = 0;
    for (const entity of session.capabilities.entities) {
      const r = await readEntity(session, entity, { mode: 'delta', since });
      const expected = harness.expectDelta ? harness.expectDelta(entity, changed) : expectAll(entity, changed.delta.records(entity), 'delta', changed);
      total += expected.length;
      t.same(r.shapeProblems.slice(0, SHOWN), [], `${entity}: every batch is well formed`);
      t.same(r.records.flatMap((record) => validateCanonical(entity, record)).slice(0, SHOWN), [], `${entity}: every record validates`);
      t.same(
        recordDifferences(r.records, expected).slice(0, SHOWN),
        [],
        `${entity}: exactly the ${expected.length} changed records (updated, created, tobedeleted)`,
      );
      const older = r.records.filter((record) => record.dateLastModified !== undefined && record.dateLastModified.getTime() <= since.getTime());
      t.same(older.map((record) => record.sourcedId).slice(0, SHOWN), [], `${entity}: nothing modified before the change`);
    }
    t.ok(total > 0, `the change touches records (${total})`);
  });

  await t.test('a source that dies mid-read surfaces an error, never a short roster', async (t) => {
    const scenarios = Object.entries(await harness.dieMidRead(district));
    t.ok(scenarios.length > 0, 'the harness gives at least one way to die');
    for (const [name, settings] of scenarios) {
      const id = await tenants.add('dies', settings);
      const outcome = await readUntilFailure(th.host, id, district, (entity, records) => expectAll(entity, records, 'full', district));
      t.ok(
        outcome.error !== undefined,
        `${name}: the read throws (${outcome.error ? describeError(outcome.error) : `every entity read to its end: ${outcome.completed.join(', ')}`})`,
      );
      t.ok(outcome.error !== undefined && errorCode(outcome.error) !== 'CANCELLED', `${name}: the error is not a cancellation`);
      t.same(outcome.short.slice(0, SHOWN), [], `${name}: no entity read as complete is short of records`);
    }
  });

  await t.test('cancellation stops a read promptly', async (t) => {
    const entities = first?.entities ?? [];
    const biggest = [...entities].sort((a, b) => count(district, b) - count(district, a))[0];
    if (!biggest) return t.fail('no entity to read');

    await t.test('an aborted signal: the read throws before yielding anything', async (t) => {
      const session = await th.host.sourceSessions.open(good);
      t.teardown(() => session.dispose());
      const controller = new AbortController();
      controller.abort();
      const result = await timed(drain(session.read(biggest, { mode: 'full', batchSize: BATCH_SIZE, signal: controller.signal })), promptMs * 5);
      t.equal(result.outcome, 'rejected', `the read rejects (${result.outcome}${result.error ? `: ${describeError(result.error)}` : ''})`);
      t.equal(result.batches, 0, 'no batch is yielded');
      t.ok(result.error !== undefined && isCancellation(result.error), `the error says cancelled: ${describeError(result.error)}`);
    });

    await t.test('abort after the first batch: the read stops within the time allowed', async (t) => {
      const session = await th.host.sourceSessions.open(good);
      t.teardown(() => session.dispose());
      const controller = new AbortController();
      const iterator = session.read(biggest, { mode: 'full', batchSize: 2, signal: controller.signal })[Symbol.asyncIterator]();
      const firstBatch = await iterator.next();
      t.equal(firstBatch.done, false, `${biggest}: a first batch`);
      controller.abort();
      const result = await timed(drainIterator(iterator), promptMs * 5);
      t.equal(result.outcome, 'rejected', `${biggest}: the read rejects rather than end as complete (${result.outcome} after ${result.batches} more batches)`);
      t.ok(result.ms <= promptMs, `${biggest}: within ${promptMs} ms (${result.ms} ms)`);
      t.ok(result.error !== undefined && isCancellation(result.error), `the error says cancelled: ${describeError(result.error)}`);
    });

    // Reported as skipped (never as passed) when the harness gives no slow source.
    const slow = harness.slow?.bind(harness);
    const noSlow = `the harness of ${harness.sourceId} gives no slow source (its \`slow\`)`;
    await t.test('abort while the source is slow to answer: the wait ends promptly', { skip: slow ? false : noSlow }, async (t) => {
      if (!slow) return; // skipped
      const id = await tenants.add('slow', await slow(district));
      const session = await th.host.sourceSessions.open(id);
      t.teardown(() => session.dispose());
      const controller = new AbortController();
      const reading = timed(drain(session.read(biggest, { mode: 'full', batchSize: BATCH_SIZE, signal: controller.signal })), promptMs * 10);
      await delay(200);
      const abortedAt = Date.now();
      controller.abort();
      const result = await reading;
      const afterAbort = Date.now() - abortedAt;
      t.equal(result.outcome, 'rejected', `the read rejects (${result.outcome})`);
      t.ok(afterAbort <= promptMs, `within ${promptMs} ms of the abort (${afterAbort} ms)`);
      t.ok(result.error !== undefined && isCancellation(result.error), `the error says cancelled: ${describeError(result.error)}`);

      const checkController = new AbortController();
      const checking = timed(th.host.sourceSessions.check(id, checkController.signal), promptMs * 10);
      await delay(200);
      const checkAbortedAt = Date.now();
      checkController.abort();
      const check = await checking;
      const checkAfterAbort = Date.now() - checkAbortedAt;
      t.ok(checkAfterAbort <= promptMs, `an aborted connection check settles within ${promptMs} ms (${checkAfterAbort} ms, ${check.outcome})`);
      t.ok(check.outcome !== 'resolved' || (check.value as ConnectionCheck).ok === false, 'an aborted connection check does not answer ok');
    });
  });
}

/** Tenant files the kit writes for its host, one per settings, each under a fresh id. */
class KitTenants {
  private n = 0;
  constructor(
    private readonly host: Host,
    private readonly dir: string,
    private readonly sourceId: string,
  ) {}

  async add(label: string, settings: SourceSettings): Promise<string> {
    const id = `${label}-${++this.n}`;
    await writeFile(path.join(this.dir, `${id}.json`), JSON.stringify({ displayName: id, timezone: 'UTC', source: { id: this.sourceId, settings } }));
    await this.host.tenants.load();
    const loaded = this.host.tenants.get(id);
    if (!loaded.config) throw new Error(`the kit's tenant ${id} is invalid: ${JSON.stringify(loaded.problems)} (settings ${JSON.stringify(settings)})`);
    return id;
  }
}

interface EntityRead {
  records: RosterRecord[];
  issues: RosterIssue[];
  rowsRead: number;
  batches: number;
  shapeProblems: string[];
}

interface FullRead {
  entities: RosterEntity[];
  delta: boolean;
  byEntity: Map<RosterEntity, EntityRead>;
}

async function fullRead(host: Host, tenantId: string): Promise<FullRead> {
  const session = await host.sourceSessions.open(tenantId);
  try {
    const byEntity = new Map<RosterEntity, EntityRead>();
    for (const entity of session.capabilities.entities) byEntity.set(entity, await readEntity(session, entity, { mode: 'full' }));
    return { entities: [...session.capabilities.entities], delta: session.capabilities.delta, byEntity };
  } finally {
    await session.dispose();
  }
}

async function readEntity(
  session: RosterSourceSession,
  entity: RosterEntity,
  options: { mode: 'full' | 'delta'; since?: Date; batchSize?: number },
): Promise<EntityRead> {
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const out: EntityRead = { records: [], issues: [], rowsRead: 0, batches: 0, shapeProblems: [] };
  for await (const batch of session.read(entity, {
    mode: options.mode,
    ...(options.since ? { since: options.since } : {}),
    batchSize,
    signal: new AbortController().signal,
  })) {
    out.batches++;
    const where = `${entity} batch ${out.batches}`;
    if (batch.entity !== entity) out.shapeProblems.push(`${where}: entity is ${String(batch.entity)}`);
    if (!Array.isArray(batch.records) || !Array.isArray(batch.issues)) {
      out.shapeProblems.push(`${where}: records and issues must be arrays`);
      continue;
    }
    if (batch.records.length > batchSize) out.shapeProblems.push(`${where}: ${batch.records.length} records, more than the batch size ${batchSize}`);
    if (!Number.isInteger(batch.rowsRead) || batch.rowsRead < batch.records.length)
      out.shapeProblems.push(`${where}: rowsRead ${batch.rowsRead} does not cover its ${batch.records.length} records`);
    // Each rejected row names its record when it can (the engine keeps that record); never more ids than rejected rows.
    if (!Array.isArray(batch.rejectedIds) || batch.rejectedIds.some((id) => typeof id !== 'string' || id === '')) {
      out.shapeProblems.push(`${where}: rejectedIds must be a list of the rejected rows' sourcedIds`);
    } else if (batch.rejectedIds.length > batch.rowsRead - batch.records.length) {
      out.shapeProblems.push(`${where}: ${batch.rejectedIds.length} rejectedIds for ${batch.rowsRead - batch.records.length} rejected rows`);
    }
    for (const issue of batch.issues) {
      if (typeof issue.code !== 'string' || (issue.severity !== 'error' && issue.severity !== 'warning') || typeof issue.message !== 'string') {
        out.shapeProblems.push(`${where}: malformed issue ${JSON.stringify(issue)}`);
      }
    }
    out.records.push(...batch.records);
    out.issues.push(...batch.issues);
    out.rowsRead += batch.rowsRead;
  }
  return out;
}

/**
 * What is wrong with a record as a canonical record: it must survive core's parser unchanged
 * (parsing its JSON gives no error and the same record), with a real Date for dateLastModified.
 */
export function validateCanonical(entity: RosterEntity, record: RosterRecord): string[] {
  const id = typeof record?.sourcedId === 'string' ? record.sourcedId : JSON.stringify(record?.sourcedId);
  const problems: string[] = [];
  if (typeof record?.sourcedId !== 'string' || record.sourcedId.trim() === '' || record.sourcedId !== record.sourcedId.trim())
    problems.push(`${entity} ${id}: sourcedId is not trimmed, non-blank text`);
  if (record.dateLastModified !== undefined && !(record.dateLastModified instanceof Date && !Number.isNaN(record.dateLastModified.getTime()))) {
    problems.push(`${entity} ${id}: dateLastModified is not a valid Date`);
  }
  const { record: parsed, issues } = parseRosterRecord(entity, JSON.parse(JSON.stringify(record)) as RawRosterRecord);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0 || !parsed) problems.push(`${entity} ${id}: does not validate: ${errors.map((e) => e.message).join('; ')}`);
  else if (canonicalRecordJson(parsed) !== canonicalRecordJson(record))
    problems.push(`${entity} ${id}: not canonical: ${canonicalRecordJson(record)} parses as ${canonicalRecordJson(parsed)}`);
  return problems;
}

function duplicates(records: readonly RosterRecord[]): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const r of records) (seen.has(r.sourcedId) ? dups : seen).add(r.sourcedId);
  return [...dups];
}

/** References of `entity` to records of an entity the source supplies but did not send. */
function referencesOutside(read: FullRead, entity: RosterEntity): { entity: RosterEntity; sourcedId: string; field: string; target: string }[] {
  const out: { entity: RosterEntity; sourcedId: string; field: string; target: string }[] = [];
  const ids = new Map(read.entities.map((e) => [e, new Set(read.byEntity.get(e)!.records.map((r) => r.sourcedId))]));
  for (const record of read.byEntity.get(entity)!.records) {
    for (const { field, target } of ROSTER_REFERENCES[entity]) {
      const known = ids.get(target);
      if (!known) continue;
      const value = (record as unknown as Record<string, unknown>)[field];
      const refs = Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
      for (const ref of refs) if (!known.has(ref)) out.push({ entity, sourcedId: record.sourcedId, field, target: ref });
    }
  }
  return out;
}

/** Unresolved references that no REFERENCE_UNRESOLVED issue of the read names. */
function unreportedReferences(read: FullRead): string[] {
  const out: string[] = [];
  for (const entity of read.entities) {
    const issues = read.byEntity.get(entity)!.issues.filter((i) => i.code === 'REFERENCE_UNRESOLVED');
    for (const ref of referencesOutside(read, entity)) {
      const reported = issues.some((i) => (i.entity === undefined || i.entity === entity) && i.sourcedId === ref.sourcedId && i.field === ref.field);
      if (!reported) out.push(`${entity} ${ref.sourcedId}: ${ref.field} '${ref.target}' names nothing, and no REFERENCE_UNRESOLVED issue says so`);
    }
  }
  return out;
}

/** The district without one course, one class with enrollments, and one student with enrollments: references to them dangle. */
function dropSomeRecords(district: GeneratedDistrict): { roster: RosterRecordSource; dropped: Partial<Record<RosterEntity, string[]>> } {
  const enrollments = [...district.records('enrollments')];
  const classes = [...district.records('classes')];
  const klass = enrollments[0]!.classSourcedId;
  const course = classes.find((c) => c.sourcedId !== klass)!.courseSourcedId;
  const student = enrollments.find((e) => e.role === 'student' && e.classSourcedId !== klass)!.userSourcedId;
  const dropped: Partial<Record<RosterEntity, string[]>> = { courses: [course], classes: [klass], users: [student] };
  return {
    dropped,
    roster: {
      *records<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>> {
        const drop = new Set(dropped[entity] ?? []);
        for (const record of district.records(entity)) if (!drop.has(record.sourcedId)) yield record;
      },
    },
  };
}

/** Reads every entity until one throws; entities read to the end must hold every served record. */
async function readUntilFailure(
  host: Host,
  tenantId: string,
  served: RosterRecordSource,
  expected: <E extends RosterEntity>(entity: E, records: Iterable<RosterRecord<E>>) => RosterRecord<E>[],
): Promise<{ error?: unknown; completed: RosterEntity[]; short: string[] }> {
  const completed: RosterEntity[] = [];
  const short: string[] = [];
  let session: RosterSourceSession;
  try {
    session = await host.sourceSessions.open(tenantId);
  } catch (error) {
    return { error, completed, short };
  }
  try {
    for (const entity of session.capabilities.entities) {
      let read: EntityRead;
      try {
        read = await readEntity(session, entity, { mode: 'full' });
      } catch (error) {
        return { error, completed, short };
      }
      completed.push(entity);
      const got = new Set(read.records.map((r) => r.sourcedId));
      const rejected = new Set(read.issues.filter((i) => i.severity === 'error' && i.sourcedId).map((i) => i.sourcedId));
      const missing = expected(entity, served.records(entity))
        .map((r) => r.sourcedId)
        .filter((id) => !got.has(id) && !rejected.has(id));
      if (missing.length > 0)
        short.push(
          `${entity}: read to its end without error, yet ${missing.length} served record(s) neither read nor reported: ${missing.slice(0, 5).join(', ')}`,
        );
    }
    return { completed, short };
  } finally {
    await session.dispose();
  }
}

function count(district: GeneratedDistrict, entity: RosterEntity): number {
  return district.counts[entity] ?? 0;
}

type Timed<T> = { outcome: 'resolved' | 'rejected' | 'timeout'; value?: T; error?: unknown; ms: number; batches: number };

async function drain(iterable: AsyncIterable<unknown>): Promise<number> {
  return drainIterator(iterable[Symbol.asyncIterator]());
}

async function drainIterator(iterator: AsyncIterator<unknown>): Promise<number> {
  let n = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return n;
    n++;
  }
}

async function timed<T>(promise: Promise<T>, limitMs: number): Promise<Timed<T>> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Timed<T>>((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'timeout', ms: Date.now() - start, batches: 0 }), limitMs);
  });
  const settled = promise.then(
    (value): Timed<T> => ({ outcome: 'resolved', value, ms: Date.now() - start, batches: typeof value === 'number' ? value : 0 }),
    (error: unknown): Timed<T> => ({ outcome: 'rejected', error, ms: Date.now() - start, batches: 0 }),
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function failureCode(check: ConnectionCheck): string | undefined {
  return check.ok ? undefined : check.code;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function isCancellation(error: unknown): boolean {
  return errorCode(error) === 'CANCELLED' || (error as { name?: unknown })?.name === 'AbortError';
}

function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}
