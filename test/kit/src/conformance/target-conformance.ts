import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ROSTER_ENTITY_ORDER, type RosterEntity, type RosterRecord, type SyncRun, type User } from '@rosterbridge/core';
import { type Host, pluginSchemaName } from '@rosterbridge/host';
import {
  type ChangedDistrict,
  type GeneratedDistrict,
  type RosterRecordSource,
  changeDistrict,
  generateDistrict,
  writeOneRosterPackage,
} from '@rosterbridge/district-generator';
import { startTestHost } from '../test-host';
import type { ConformanceTest } from './source-conformance';

/** How the kit reads one table of the product back. Every table has a `tenant_id` column. */
export interface TargetTable {
  /** The columns that identify a row within a tenant. Default `['sourced_id']`. */
  key?: string[];
  /** Columns left out of the comparison: the product's own bookkeeping (timestamps, log positions). */
  ignore?: string[];
}

/** One end of a reference between two tables of the product. */
export interface TargetReferenceEnd {
  table: string;
  /** A column, or an SQL expression over the table's row (`record->>'userSourcedId'`). */
  column: string;
  /** True when the column holds an array of sourcedIds, each of which must resolve. */
  array?: boolean;
  /** An SQL condition on the row (`entity = 'users'`): only those rows take part. */
  where?: string;
}

/** A column of one table that names rows of another, within a tenant (a membership's user). */
export interface TargetReference {
  from: TargetReferenceEnd;
  to: TargetReferenceEnd;
}

/**
 * A reference written as `table.column → table.column`, with the pointing end's options (an array
 * column, a condition on the pointing rows): `targetReference('classroom_member.user_sourced_id', 'user_account.sourced_id')`.
 */
export function targetReference(from: string, to: string, options: { array?: boolean; where?: string } = {}): TargetReference {
  const end = (text: string) => {
    const dot = text.indexOf('.');
    if (dot <= 0) throw new Error(`"${text}" is not table.column`);
    return { table: text.slice(0, dot), column: text.slice(dot + 1) };
  };
  return { from: { ...end(from), ...options }, to: end(to) };
}

/** The checks of the target conformance kit, by the names `knownGaps` uses. */
export type TargetConformanceCheck =
  | 'firstSync'
  | 'noChangeResync'
  | 'reset'
  | 'updatesAndDeletions'
  | 'tobedeleted'
  | 'rejectedRow'
  | 'appliedTwice'
  | 'crashBeforeCursor'
  | 'reenableConverges'
  | 'references';

/**
 * How the conformance kit drives one target plugin. The kit owns the host, the tenants, the
 * district and the source (oneroster-csv packages it writes); the harness says how to read the
 * product back and which of its tables point at which.
 */
export interface TargetConformanceHarness {
  /** The target's contribution id, as tenants name it (`contributes.targets[].id`). */
  targetId: string;
  /**
   * Plugin folders the host discovers plugins in, besides the repository's `plugins/` (which holds
   * the oneroster-csv source the kit syncs from).
   */
  pluginDirs?: string[];
  /** The target's settings in every tenant the kit writes. */
  settings?: Record<string, unknown>;
  /** The product's schema. Default: the plugin's own (`plugin_<plugin id>`). */
  schema?: string;
  /** The product's tables holding roster data, each read back as rows keyed by tenant and key. */
  tables: Record<string, TargetTable>;
  /** Every column of those tables that names a row of another: the kit's anti-join of each must find nothing. */
  references: TargetReference[];
  /**
   * What the product holds before a tenant's first sync in a real deployment (its own users, an
   * academic year started), called once per tenant the kit writes; `district` is what it syncs.
   */
  prepare?(host: Host, tenantId: string, district: GeneratedDistrict): Promise<void>;
  /** Seed of the generated district. */
  seed?: number;
  /**
   * Checks the target is known to fail, each with why: they still run and report, their assertions
   * as `todo` (visible in every run, never counted as passing). Fix the target, then remove the entry.
   */
  knownGaps?: Partial<Record<TargetConformanceCheck, string>>;
}

/** A product's rows of one tenant: per table, each row's comparable value by its key. */
export type ProductRows = Record<string, Map<string, { key: string[]; value: string }>>;

const PLUGINS_DIR = path.resolve(__dirname, '../../../../plugins');
const SHOWN = 8;
const WITNESS = 'conformance-witness';
const CRASH = 'conformance kit: the cursor commit is lost (a simulated crash)';

/**
 * Runs the target conformance suite against one target plugin, through a real host (PostgreSQL when
 * DATABASE_URL is set, embedded otherwise) fed by the oneroster-csv source with a generated 'tiny'
 * district. Each check is a subtest of its own, on tenants of its own:
 * - `firstSync`: a first sync of the district is applied, and the product holds rows;
 * - `noChangeResync`: a no-change resync writes no row of the product's schema (`xmin`, `ctid`);
 * - `reset`: after a reset the next run is a first run (the first run's counts, its rows);
 * - `updatesAndDeletions`: a full sync of the changed district leaves the rows of a first sync of it,
 *   without the deleted records;
 * - `tobedeleted`: a delta package (deletions as `tobedeleted`) does the same;
 * - `rejectedRow`: a user's row the source rejects (a role outside the vocabulary) keeps the product's rows;
 * - `appliedTwice`: the engine delivering a batch again (cursor moved back) changes no row;
 * - `crashBeforeCursor`: a batch applied whose cursor commit is lost, then a run: the rows of a clean run;
 * - `reenableConverges`: disable the target, delete upstream, sync, enable, sync: the rows of a clean run;
 * - `references`: no row of any kit tenant, nor of a district with faults and dangling references,
 *   points at a row the product lacks (an anti-join per declared reference: 0).
 *
 * ```ts
 * t.test('kybergate conforms', (t) => runTargetConformance(t, {
 *   targetId: 'kybergate',
 *   tables: { user_account: {}, classroom: {}, classroom_member: {} },
 *   references: [{ from: { table: 'classroom_member', column: 'user_sourced_id' }, to: { table: 'user_account', column: 'sourced_id' } }],
 * }));
 * ```
 */
export async function runTargetConformance(t: ConformanceTest, harness: TargetConformanceHarness): Promise<void> {
  const seed = harness.seed ?? 7401;
  const district = generateDistrict({ seed, size: 'tiny' });
  const changed = interestingChange(district, seed);
  const faulty = generateDistrict({ seed: seed + 1, size: 'tiny', faults: 'all' });

  const root = await mkdtemp(path.join(tmpdir(), 'rb-target-conformance-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const tenantsDir = path.join(root, 'tenants');
  await mkdir(tenantsDir);
  const witnessDir = await writeWitnessPlugin(path.join(root, 'kit-plugins'));
  const pluginDirs = [...new Set([PLUGINS_DIR, ...(harness.pluginDirs ?? []).map((d) => path.resolve(d)), witnessDir])];
  const th = await startTestHost({ pluginDirs, tenantsDir });
  t.teardown(() => th.stop());
  const host = th.host;

  const contributor = host.plugins.findContributor('targets', harness.targetId);
  t.ok(contributor, `a plugin contributes the target "${harness.targetId}"`);
  if (!contributor) return;
  const schema = harness.schema ?? pluginSchemaName(contributor.id);

  const packages = {
    base: await writePackage(root, 'base', district),
    changed: await writePackage(root, 'changed', changed),
    delta: await writePackage(root, 'delta', changed.delta, 'delta'),
    faulty: await writePackage(root, 'faulty', withDanglingReferences(faulty)),
  };
  const kit = new KitTargetTenants(host, tenantsDir, harness);
  const product = new ProductReader(host, schema, harness);
  const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
    host.syncs.settled((await host.syncs.trigger(tenantId, { trigger: 'conformance', mode })).id);
  const deleted = deletedIds(changed);

  /** A tenant with the district synced once: its first run. */
  const firstSynced = async (
    label: string,
    targets: TargetUse[] = [{ id: harness.targetId }],
    source: { dir: string; district: GeneratedDistrict } = { dir: packages.base, district },
  ) => {
    const id = await kit.write(label, source.dir, targets);
    await harness.prepare?.(host, id, source.district);
    const run = await sync(id);
    return { id, run };
  };
  let reference: Promise<ProductRows> | undefined;
  /** The rows of a first sync of the changed district: what every way of reaching it must leave. */
  const referenceRows = () =>
    (reference ??= (async () => {
      const id = await kit.write('reference', packages.changed, [{ id: harness.targetId }]);
      await harness.prepare?.(host, id, district);
      const run = await sync(id);
      if (run.counts.targets[harness.targetId]?.status !== 'applied')
        throw new Error(`the reference run (a first sync of the changed district) did not apply: ${describeRun(run, harness.targetId)}`);
      return product.rows(id);
    })());
  const check = (name: string, id: TargetConformanceCheck, body: (a: Asserts) => Promise<void>) =>
    t.test(name, async (t) => {
      const gap = harness.knownGaps?.[id];
      const a = new Asserts(t, gap);
      if (gap) t.comment(`known gap (${id}): ${gap}`);
      try {
        await body(a);
      } catch (err) {
        a.fail(`the check threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      if (gap && a.failures === 0) t.comment(`${id} passes: remove it from knownGaps`);
    });

  let main: { id: string; firstRun: SyncRun; firstRows: ProductRows } | undefined;

  await check('a first sync of a generated district is applied', 'firstSync', async (a) => {
    const { id, run } = await firstSynced('main');
    a.not(run.status, 'failed', `the run does not fail: ${describeRun(run, harness.targetId)}`);
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', 'the target applied the run');
    const rows = await product.rows(id);
    a.ok(count(rows) > 0, `the product holds rows (${summary(rows)})`);
    const created = Object.values(run.counts.targets[harness.targetId]?.entities ?? {}).reduce((n, c) => n + (c?.created ?? 0), 0);
    a.ok(created > 0, `the target counts records created (${created})`);
    main = { id, firstRun: run, firstRows: rows };
  });

  await check('a no-change resync writes no row', 'noChangeResync', async (a) => {
    if (!main) return a.fail('needs the first sync');
    const before = await product.physicalRows();
    const run = await sync(main.id);
    a.not(run.status, 'failed', describeRun(run, harness.targetId));
    const changes = Object.values(run.counts.source).reduce((n, c) => n + (c ? c.created + c.updated + c.deleted : 0), 0);
    a.equal(changes, 0, 'the source reports no change');
    const after = await product.physicalRows();
    a.same(tableDifferences(after, before), [], `no table of ${schema} has a row inserted, rewritten or deleted (xmin, ctid)`);
  });

  await check('reset makes the next run a first run', 'reset', async (a) => {
    if (!main) return a.fail('needs the first sync');
    await host.syncs.resetTarget(main.id, harness.targetId, 'conformance');
    const cursor = await host.database.db
      .withSchema('rosterbridge')
      .selectFrom('target_cursor')
      .select('last_seq')
      .where('tenant_id', '=', main.id)
      .where('target_id', '=', harness.targetId)
      .executeTakeFirst();
    a.equal(cursor, undefined, 'the reset drops the cursor');
    const run = await sync(main.id);
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', describeRun(run, harness.targetId));
    // The whole snapshot is delivered again, as on the first run; the product may count what it
    // kept across its reset as unchanged rather than created.
    a.same(delivered(run, harness.targetId), delivered(main.firstRun, harness.targetId), "the target is given the first run's records, entity by entity");
    a.same(rowDifferences(await product.rows(main.id), main.firstRows), [], "the product holds the first run's rows");
  });

  await check('updates and deletions arrive', 'updatesAndDeletions', async (a) => {
    if (!main) return a.fail('needs the first sync');
    const before = await product.rows(main.id);
    const held = heldIds(before, deleted);
    a.ok(held.length > 0, `the product held records the change deletes (${held.slice(0, SHOWN).join(', ')})`);
    await kit.write('main', packages.changed, [{ id: harness.targetId }], main.id);
    const run = await sync(main.id);
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', describeRun(run, harness.targetId));
    const after = await product.rows(main.id);
    a.same(heldIds(after, deleted), [], 'no row of a deleted record is left');
    a.ok(rowDifferences(after, before).length > 0, 'the rows changed');
    a.same(rowDifferences(after, await referenceRows()), [], 'the rows of a first sync of the changed district');
  });

  await check('a delta package: `tobedeleted` removes, updates arrive', 'tobedeleted', async (a) => {
    const { id, run: first } = await firstSynced('delta');
    a.equal(first.counts.targets[harness.targetId]?.status, 'applied', describeRun(first, harness.targetId));
    const held = heldIds(await product.rows(id), deleted);
    a.ok(held.length > 0, `the product held records the delta deletes (${held.slice(0, SHOWN).join(', ')})`);
    await kit.write('delta', packages.delta, [{ id: harness.targetId }], id);
    const run = await sync(id, 'delta');
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', describeRun(run, harness.targetId));
    const deletions = Object.values(run.counts.source).reduce((n, c) => n + (c?.deleted ?? 0), 0);
    a.ok(deletions > 0, `the run deletes records (${deletions})`);
    const after = await product.rows(id);
    a.same(heldIds(after, deleted), [], 'no row of a record sent as tobedeleted is left');
    a.same(rowDifferences(after, await referenceRows()), [], 'the rows of a first sync of the changed district');
  });

  await check("a rejected row keeps the product's row", 'rejectedRow', async (a) => {
    const { id } = await firstSynced('rejected');
    const before = await product.rows(id);
    const users = [...district.records('users')];
    const user =
      users.find((u) => u.role === 'student' && rowsKeyedBy(before, u.sourcedId).length > 0) ?? users.find((u) => rowsKeyedBy(before, u.sourcedId).length > 0);
    if (!user) return a.fail('the product holds no user of the district');
    const holding = rowsKeyedBy(before, user.sourcedId);
    const bad = await writePackage(root, 'rejected', withUser(district, { ...user, role: 'wizard' } as unknown as User));
    await kit.write('rejected', bad, [{ id: harness.targetId }], id);
    const run = await sync(id);
    a.equal(run.counts.source.users?.rejected ?? 0, 1, `the source rejects the user's row (${user.sourcedId}, role "wizard")`);
    const after = await product.rows(id);
    a.same(rowsKeyedBy(after, user.sourcedId), holding, `the product still holds ${user.sourcedId} (${holding.join(', ')})`);
    a.same(rowDifferences(after, before), [], "the product's rows are as before");
  });

  await check('the same batch applied twice changes nothing', 'appliedTwice', async (a) => {
    // A second target that synced once, then is paused, keeps its cursor behind: the log keeps
    // every version after it, and the batch can be delivered again whole.
    const { id } = await firstSynced('twice', [{ id: harness.targetId }, { id: WITNESS }]);
    const from = await cursorOf(host, id, harness.targetId);
    await kit.write('twice', packages.changed, [{ id: harness.targetId }, { id: WITNESS, settings: { paused: true } }], id);
    const run = await sync(id);
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', describeRun(run, harness.targetId));
    const once = await product.rows(id);
    const to = await cursorOf(host, id, harness.targetId);
    a.ok(from !== undefined && to !== undefined && to > from, `the change moved the cursor (${from} → ${to})`);
    if (from === undefined || to === undefined) return;
    const kept = await versionsBetween(host, id, from, to);
    a.ok(kept > 0, `the log still holds the ${kept} changes after ${from}`);
    await setCursor(host, id, harness.targetId, from);
    const again = await sync(id);
    a.equal(again.counts.targets[harness.targetId]?.status, 'applied', `the batch is delivered again: ${describeRun(again, harness.targetId)}`);
    a.equal(await cursorOf(host, id, harness.targetId), to, 'the cursor is back where it was');
    a.same(rowDifferences(await product.rows(id), once), [], 'the rows are those after the first delivery');
  });

  await check("a crash between apply and the cursor's commit leaves the rows of a clean run", 'crashBeforeCursor', async (a) => {
    const { id } = await firstSynced('crash');
    await kit.write('crash', packages.changed, [{ id: harness.targetId }], id);
    await loseCursorCommits(host, id, harness.targetId);
    let crashed: SyncRun;
    try {
      crashed = await sync(id);
    } finally {
      await keepCursorCommits(host);
    }
    const target = crashed.counts.targets[harness.targetId];
    a.ok(
      target?.status === 'failed' && (target.error ?? '').includes(CRASH),
      `the cursor's commit failed after apply: ${describeRun(crashed, harness.targetId)}`,
    );
    // A target that writes through the engine's transaction (ApplyContext.trx) lost the batch with
    // the cursor (it is applied exactly once); one that writes in its own kept it (it gets it again).
    // Either way, what counts is that the next run leaves the rows of a clean run.
    const run = await sync(id);
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', `the next run resumes from the cursor: ${describeRun(run, harness.targetId)}`);
    a.same(rowDifferences(await product.rows(id), await referenceRows()), [], 'the rows of a clean run');
  });

  await check('disable → delete upstream → enable converges', 'reenableConverges', async (a) => {
    // A second target stays enabled, so that the log is pruned past the deletions meanwhile.
    const { id } = await firstSynced('reenable', [{ id: harness.targetId }, { id: WITNESS }]);
    const held = heldIds(await product.rows(id), deleted);
    a.ok(held.length > 0, `the product held records deleted while it is disabled (${held.slice(0, SHOWN).join(', ')})`);
    await kit.write('reenable', packages.changed, [{ id: WITNESS }], id);
    const meanwhile = await sync(id);
    a.equal(meanwhile.counts.targets[WITNESS]?.status, 'applied', `a run without the target: ${describeRun(meanwhile, WITNESS)}`);
    await sync(id);
    await kit.write('reenable', packages.changed, [{ id: harness.targetId }, { id: WITNESS }], id);
    const run = await sync(id);
    a.equal(run.counts.targets[harness.targetId]?.status, 'applied', describeRun(run, harness.targetId));
    const after = await product.rows(id);
    a.same(heldIds(after, deleted), [], 'the records deleted while it was disabled are gone');
    a.same(rowDifferences(after, await referenceRows()), [], 'the rows of a clean run');
  });

  await check('no row points at a row the product lacks', 'references', async (a) => {
    a.ok(harness.references.length > 0, 'the harness declares the references between its tables');
    const { id, run } = await firstSynced('faulty', [{ id: harness.targetId }], { dir: packages.faulty, district: faulty });
    a.not(run.status, 'failed', `a district with faults and references to records it lacks: ${describeRun(run, harness.targetId)}`);
    for (const tenantId of [id, ...kit.ids().filter((t) => t !== id)]) {
      for (const reference of harness.references) {
        const dangling = await product.dangling(tenantId, reference);
        a.same(dangling.slice(0, SHOWN), [], `${tenantId}: ${describeReference(reference)}: no row names a row the product lacks`);
      }
    }
  });
}

/** Assertions of one check: each carries the check's known gap as `todo`, and failures are counted. */
class Asserts {
  failures = 0;
  constructor(
    private readonly t: ConformanceTest,
    private readonly gap: string | undefined,
  ) {}

  private get extra(): { todo?: string } {
    return this.gap ? { todo: this.gap } : {};
  }

  private count(passed: boolean): boolean {
    if (!passed) this.failures++;
    return passed;
  }

  // Each assertion is judged here too: tap counts a failing `todo` assertion as passed.
  ok(value: unknown, message: string): boolean {
    this.t.ok(value, message, this.extra);
    return this.count(Boolean(value));
  }

  equal<T>(actual: T, expected: T, message: string): boolean {
    this.t.equal(actual, expected, message, this.extra);
    return this.count(actual === expected);
  }

  not<T>(actual: T, expected: T, message: string): boolean {
    this.t.not(actual, expected, message, this.extra);
    return this.count(actual !== expected);
  }

  same(actual: unknown, expected: unknown, message: string): boolean {
    this.t.same(actual, expected, message, this.extra);
    return this.count(isDeepStrictEqual(actual, expected));
  }

  fail(message: string): void {
    this.count(false);
    this.t.fail(message, this.extra);
  }
}

interface TargetUse {
  id: string;
  settings?: Record<string, unknown>;
}

/** Tenant files the kit writes, each syncing one package into the target (and the kit's witness target). */
class KitTargetTenants {
  private n = 0;
  private readonly written: string[] = [];
  constructor(
    private readonly host: Host,
    private readonly dir: string,
    private readonly harness: TargetConformanceHarness,
  ) {}

  /** Writes (or, with `id`, rewrites) a tenant and reloads the tenants; returns its id. */
  async write(label: string, location: string, targets: TargetUse[], id = `${label}-${++this.n}`): Promise<string> {
    const uses = targets.map((u) => ({ id: u.id, settings: u.id === this.harness.targetId ? (this.harness.settings ?? {}) : (u.settings ?? {}) }));
    await writeFile(
      path.join(this.dir, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'UTC',
        source: { id: 'oneroster-csv', settings: { location } },
        targets: uses,
        // A tiny district's change crosses any hold threshold; holds are not under test here.
        thresholds: { maxDeletePercent: 100, maxChangePercent: 100 },
      }),
    );
    await this.host.tenants.load();
    const loaded = this.host.tenants.get(id);
    if (!loaded.config) throw new Error(`the kit's tenant ${id} is invalid: ${JSON.stringify(loaded.problems)}`);
    if (!this.written.includes(id)) this.written.push(id);
    return id;
  }

  ids(): string[] {
    return [...this.written];
  }
}

/** Reads the product's tables back. */
class ProductReader {
  constructor(
    private readonly host: Host,
    private readonly schema: string,
    private readonly harness: TargetConformanceHarness,
  ) {}

  /** The tenant's rows of every declared table, as comparable values by key. */
  async rows(tenantId: string): Promise<ProductRows> {
    const out: ProductRows = {};
    for (const [table, spec] of Object.entries(this.harness.tables)) {
      const keyColumns = spec.key ?? ['sourced_id'];
      const leftOut = new Set(['tenant_id', ...(spec.ignore ?? [])]);
      const rows = await query<Record<string, unknown>>(this.host, `select * from ${qualified(this.schema, table)} where tenant_id = $1`, [tenantId]);
      const map = new Map<string, { key: string[]; value: string }>();
      for (const row of rows) {
        const key = keyColumns.map((c) => String(row[c]));
        const value = Object.fromEntries(
          Object.keys(row)
            .filter((c) => !leftOut.has(c))
            .sort()
            .map((c) => [c, comparable(row[c])]),
        );
        map.set(key.join(' | '), { key, value: JSON.stringify(value) });
      }
      out[table] = map;
    }
    return out;
  }

  /** Every row of every table of the schema (all tenants) as its physical version: `xmin` and `ctid`. */
  async physicalRows(): Promise<Record<string, string[]>> {
    const tables = await query<{ table_name: string }>(
      this.host,
      "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' order by table_name",
      [this.schema],
    );
    const out: Record<string, string[]> = {};
    for (const { table_name } of tables) {
      const rows = await query<{ v: string }>(this.host, `select xmin::text || ' ' || ctid::text as v from ${qualified(this.schema, table_name)}`);
      out[table_name] = rows.map((r) => r.v).sort();
    }
    return out;
  }

  /** Rows of the tenant whose reference names no row of the table it points at (a few, with the count). */
  async dangling(tenantId: string, reference: TargetReference): Promise<string[]> {
    const { from, to } = reference;
    const refs = from.array ? `unnest(${from.column})` : from.column;
    const rows = await query<{ ref: string; n: number }>(
      this.host,
      `select c.ref, count(*)::int as n from (
         select tenant_id, ${refs} as ref from ${qualified(this.schema, from.table)}
         where tenant_id = $1 and (${from.where ?? 'true'})) c
       where c.ref is not null and not exists (
         select 1 from ${qualified(this.schema, to.table)}
         where tenant_id = c.tenant_id and (${to.where ?? 'true'}) and ${to.column} = c.ref)
       group by c.ref order by c.ref`,
      [tenantId],
    );
    return rows.map((r) => `${r.n} row(s) name ${r.ref}`);
  }
}

/**
 * A value of a row as plain JSON: dates as ISO text; in a JSON value (a record kept whole), no
 * `dateLastModified`, which a bulk package leaves blank and a delta fills for the same record.
 */
function comparable(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'dateLastModified')
        .map(([k, v]) => [k, comparable(v)]),
    );
  }
  return value;
}

/** What differs between two sets of rows, table by table (missing, extra, different), a few per table. */
export function rowDifferences(actual: ProductRows, expected: ProductRows): string[] {
  const out: string[] = [];
  for (const table of [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort()) {
    const got = actual[table] ?? new Map();
    const want = expected[table] ?? new Map();
    const lines: string[] = [];
    for (const [key, row] of want) {
      const other = got.get(key);
      if (!other) lines.push(`${table} ${key}: missing (${row.value})`);
      else if (other.value !== row.value) lines.push(`${table} ${key}: ${other.value}, expected ${row.value}`);
    }
    for (const [key, row] of got) if (!want.has(key)) lines.push(`${table} ${key}: unexpected (${row.value})`);
    out.push(...lines.slice(0, SHOWN));
    if (lines.length > SHOWN) out.push(`${table}: ${lines.length - SHOWN} more`);
  }
  return out;
}

function tableDifferences(actual: Record<string, string[]>, expected: Record<string, string[]>): string[] {
  const out: string[] = [];
  for (const table of [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort()) {
    const got = new Set(actual[table] ?? []);
    const want = new Set(expected[table] ?? []);
    const gone = [...want].filter((v) => !got.has(v)).length;
    const added = [...got].filter((v) => !want.has(v)).length;
    if (gone > 0 || added > 0) out.push(`${table}: ${added} row version(s) written, ${gone} gone`);
  }
  return out;
}

/** The ids among `ids` that some row's key holds. */
function heldIds(rows: ProductRows, ids: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const map of Object.values(rows)) for (const { key } of map.values()) for (const part of key) keys.add(part);
  return ids.filter((id) => keys.has(id));
}

/** The rows (table and key) whose key holds `id`. */
function rowsKeyedBy(rows: ProductRows, id: string): string[] {
  return Object.entries(rows)
    .flatMap(([table, map]) => [...map].filter(([, row]) => row.key.includes(id)).map(([key]) => `${table} ${key}`))
    .sort();
}

/** How many records the target's counts account for, per entity (whatever it did with them). */
function delivered(run: SyncRun, targetId: string): Record<string, number> {
  const entities = run.counts.targets[targetId]?.entities ?? {};
  return Object.fromEntries(
    Object.entries(entities).map(([entity, c]) => [entity, c ? c.created + c.updated + c.unchanged + c.skipped + c.deleted + c.errors : 0]),
  );
}

function count(rows: ProductRows): number {
  return Object.values(rows).reduce((n, m) => n + m.size, 0);
}

function summary(rows: ProductRows): string {
  return Object.entries(rows)
    .map(([table, m]) => `${table} ${m.size}`)
    .join(', ');
}

function describeRun(run: SyncRun, targetId: string): string {
  const target = run.counts.targets[targetId];
  return `run ${run.status}${run.errorCode ? ` ${run.errorCode}` : ''}${run.reason ? ` (${run.reason})` : ''}; target ${targetId} ${target?.status ?? 'not run'}${target?.error ? `: ${target.error}` : ''}`;
}

function describeReference({ from, to }: TargetReference): string {
  const end = (e: TargetReferenceEnd) => `${e.table}.${e.column}${e.array ? '[]' : ''}${e.where ? ` where ${e.where}` : ''}`;
  return `${end(from)} → ${end(to)}`;
}

/** The sourcedIds the change deletes (users, classes, enrollments). */
function deletedIds(changed: ChangedDistrict): string[] {
  return ROSTER_ENTITY_ORDER.flatMap((e) => changed.report.entities[e].deleted);
}

/**
 * A change of the district that deletes a student with enrollments, a teacher and a class, and
 * updates users: the first such change seed from the district's (deterministic).
 */
function interestingChange(district: GeneratedDistrict, seed: number): ChangedDistrict {
  const users = new Map([...district.records('users')].map((u) => [u.sourcedId, u]));
  const enrolled = new Set([...district.records('enrollments')].map((e) => e.userSourcedId));
  for (let s = seed; s < seed + 200; s++) {
    const changed = changeDistrict(district, { seed: s, fraction: 0.15 });
    const r = changed.report.entities;
    const deletedRoles = r.users.deleted.filter((id) => enrolled.has(id)).map((id) => users.get(id)?.role);
    if (deletedRoles.includes('student') && deletedRoles.includes('teacher') && r.classes.deleted.length > 0 && r.users.updated.length > 0) return changed;
  }
  throw new Error(`no change seed from ${seed} deletes a student, a teacher and a class of the district`);
}

/** The district without one class and one student: enrollments name a class and a user it lacks. */
function withDanglingReferences(district: GeneratedDistrict): RosterRecordSource {
  const enrollments = [...district.records('enrollments')];
  const klass = enrollments[0]!.classSourcedId;
  const student = enrollments.find((e) => e.role === 'student' && e.classSourcedId !== klass)!.userSourcedId;
  const dropped = new Set([klass, student]);
  return {
    *records<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>> {
      for (const record of district.records(entity)) if (!dropped.has(record.sourcedId)) yield record;
    },
  };
}

/** The district with one user replaced (same sourcedId). */
function withUser(district: RosterRecordSource, user: User): RosterRecordSource {
  return {
    records: <E extends RosterEntity>(entity: E) =>
      (entity === 'users' ? [...district.records('users')].map((u) => (u.sourcedId === user.sourcedId ? user : u)) : district.records(entity)) as Iterable<
        RosterRecord<E>
      >,
  };
}

/** Runs one statement on the host's database (its pool: the embedded database's one connection too). */
async function query<T>(host: Host, text: string, values: unknown[] = []): Promise<T[]> {
  const result = await host.database.pool.query(text, values);
  return result.rows as T[];
}

function qualified(schema: string, table: string): string {
  return `${identifier(schema)}.${identifier(table)}`;
}

function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

async function writePackage(root: string, name: string, source: RosterRecordSource, mode: 'bulk' | 'delta' = 'bulk'): Promise<string> {
  const dir = path.join(root, 'packages', name);
  await rm(dir, { recursive: true, force: true });
  await writeOneRosterPackage(source, dir, { mode });
  return dir;
}

async function cursorOf(host: Host, tenantId: string, targetId: string): Promise<number | undefined> {
  const row = await host.database.db
    .withSchema('rosterbridge')
    .selectFrom('target_cursor')
    .select('last_seq')
    .where('tenant_id', '=', tenantId)
    .where('target_id', '=', targetId)
    .executeTakeFirst();
  return row ? Number(row.last_seq) : undefined;
}

async function setCursor(host: Host, tenantId: string, targetId: string, lastSeq: number): Promise<void> {
  await host.database.db
    .withSchema('rosterbridge')
    .updateTable('target_cursor')
    .set({ last_seq: lastSeq })
    .where('tenant_id', '=', tenantId)
    .where('target_id', '=', targetId)
    .execute();
}

async function versionsBetween(host: Host, tenantId: string, from: number, to: number): Promise<number> {
  const rows = await query<{ n: number }>(host, 'select count(*)::int as n from rosterbridge.ledger_version where tenant_id = $1 and seq > $2 and seq <= $3', [
    tenantId,
    from,
    to,
  ]);
  return rows[0]?.n ?? 0;
}

/**
 * Makes every commit of the target's cursor for the tenant fail, as if the host died right after
 * the product's transaction committed: the target's apply has written, its cursor stays behind.
 */
async function loseCursorCommits(host: Host, tenantId: string, targetId: string): Promise<void> {
  await query(
    host,
    `create or replace function rosterbridge.conformance_lose_cursor() returns trigger language plpgsql as $$
    begin raise exception ${literal(CRASH)}; end $$`,
  );
  await query(
    host,
    `create trigger conformance_lose_cursor before insert or update on rosterbridge.target_cursor for each row
    when (new.tenant_id = ${literal(tenantId)} and new.target_id = ${literal(targetId)}) execute function rosterbridge.conformance_lose_cursor()`,
  );
}

async function keepCursorCommits(host: Host): Promise<void> {
  await query(host, 'drop trigger if exists conformance_lose_cursor on rosterbridge.target_cursor');
  await query(host, 'drop function if exists rosterbridge.conformance_lose_cursor()');
}

/**
 * Writes the kit's witness target plugin: it takes every change and keeps nothing (`paused`: it
 * takes none). Beside the target under test it moves the log's pruning on while that target is
 * disabled, or (paused after a first sync, its cursor behind) holds every version of the log.
 */
async function writeWitnessPlugin(dir: string): Promise<string> {
  const pkg = path.join(dir, 'target-conformance-witness');
  await mkdir(pkg, { recursive: true });
  const consumes = ROSTER_ENTITY_ORDER.map((e) => `roster.${e}@1`);
  await writeFile(
    path.join(pkg, 'package.json'),
    JSON.stringify({
      name: '@rosterbridge/target-conformance-witness',
      version: '1.0.0',
      main: 'index.js',
      engines: { rosterbridge: '^1.0.0' },
      rosterbridge: {
        id: 'target-conformance-witness',
        activationEvents: [`onTarget:${WITNESS}`],
        contributes: {
          targets: [{ id: WITNESS, consumes }],
          configuration: { type: 'object', additionalProperties: false, properties: { paused: { type: 'boolean', default: false } } },
        },
      },
    }),
  );
  await writeFile(
    path.join(pkg, 'index.js'),
    `exports.activate = (context) => {
  context.subscriptions.add(context.registerTarget(${JSON.stringify(WITNESS)}, {
    async open(tenant) {
      const { paused } = await tenant.settings();
      return {
        async apply() { return { counts: {}, issues: [] }; },
        async reset() {},
        async pausedReason() { return paused ? 'paused by the conformance kit' : undefined; },
        dispose() {},
      };
    },
  }));
};
`,
  );
  return dir;
}
