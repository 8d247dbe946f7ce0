import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROSTER_ENTITY_ORDER, RosterbridgeError } from '@rosterbridge/core';

/** What `rosterbridge new-plugin` is asked for. */
export interface NewPluginOptions {
  kind: 'source' | 'target';
  /** The contribution id (kebab-case): `clever`, `acme-lms`. The plugin is `<kind>-<id>`. */
  id: string;
  /** Folder the package goes in (default `plugins` under the current folder). */
  dir: string;
  displayName?: string;
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/**
 * The test kit the generated tests use, named in the generated package.json's devDependencies. The
 * host itself never imports it: scripts/check-imports.js allows this file to name it (its allow-list).
 */
const TEST_KIT = '@rosterbridge/test-kit';

/**
 * Writes a new plugin package: manifest, a working skeleton (a source reading canonical records from
 * a JSON Lines file, or a target keeping every record in one table of its own schema, memberships
 * whose user or class it lacks kept aside), its settings
 * schema, a README and tests that run green as generated. Returns the files written.
 */
export function newPlugin(options: NewPluginOptions): { packageDir: string; files: string[]; registered: boolean } {
  const { kind, id } = options;
  if (kind !== 'source' && kind !== 'target') throw new RosterbridgeError('BAD_REQUEST', `kind must be "source" or "target", not "${kind}"`);
  if (!KEBAB.test(id)) throw new RosterbridgeError('BAD_REQUEST', `id "${id}" must be kebab-case (lowercase letters, digits, dashes), such as "acme-sis"`);
  const pluginId = `${kind}-${id}`;
  const packageDir = path.resolve(options.dir, pluginId);
  if (existsSync(packageDir)) throw new RosterbridgeError('CONFLICT', `${packageDir} already exists; choose another id or remove it`);
  const root = findRepoRoot(path.dirname(packageDir));
  if (!root) throw new RosterbridgeError('BAD_REQUEST', `no Rosterbridge checkout (a folder with tsconfig.base.json) above ${path.dirname(packageDir)}`);
  const displayName =
    options.displayName ??
    id
      .split('-')
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join(' ');
  const rel = (to: string) => path.relative(packageDir, to).split(path.sep).join('/');
  const packageJson = manifest(kind, id, pluginId, displayName);
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        extends: `${rel(path.join(root, 'tsconfig.base.json'))}`,
        compilerOptions: { rootDir: 'src', outDir: 'dist' },
        include: ['src'],
        references: [{ path: rel(path.join(root, 'core', 'sdk')) }],
      },
      null,
      2,
    )}\n`,
    'src/index.ts': kind === 'source' ? sourceIndex(id) : targetIndex(id),
    [`tests/${pluginId}.test.ts`]: kind === 'source' ? sourceTest(id, pluginId) : targetTest(id, pluginId),
    'README.md': readme(kind, id, pluginId, displayName, rel(root) || '.'),
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(packageDir, name)), { recursive: true });
    writeFileSync(path.join(packageDir, name), text);
  }
  // A package under the checkout's plugins/ joins the solution build, and the lockfile's workspaces
  // (npm ci refuses a lockfile that lacks a workspace package).
  let registered = false;
  const solution = path.join(root, 'tsconfig.json');
  const ref = `plugins/${pluginId}`;
  if (path.dirname(packageDir) === path.join(root, 'plugins') && existsSync(solution)) {
    const tsconfig = JSON.parse(readFileSync(solution, 'utf8')) as { references?: { path: string }[] };
    if (!(tsconfig.references ?? []).some((r) => r.path === ref)) {
      const refs = (tsconfig.references ??= []);
      const host = refs.findIndex((r) => r.path === 'host');
      refs.splice(host >= 0 ? host : refs.length, 0, { path: ref });
      writeFileSync(solution, `${JSON.stringify(tsconfig, null, 2)}\n`);
      registered = true;
    }
    registerInLockfile(path.join(root, 'package-lock.json'), ref, packageJson);
  }
  return { packageDir, files: Object.keys(files), registered };
}

/** Adds a workspace package to an npm v3 lockfile as npm would: its entry and its `node_modules` link, in npm's key order. */
function registerInLockfile(lockFile: string, ref: string, packageJson: Record<string, unknown>): void {
  if (!existsSync(lockFile)) return;
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages?: Record<string, unknown> };
  if (!lock.packages || lock.packages[ref]) return;
  const { name, version, dependencies, devDependencies, engines } = packageJson as {
    name: string;
    version: string;
    dependencies: unknown;
    devDependencies: unknown;
    engines: unknown;
  };
  const added: Record<string, unknown> = {
    [`node_modules/${name}`]: { resolved: ref, link: true },
    [ref]: { name, version, dependencies, devDependencies, engines },
  };
  const packages: Record<string, unknown> = {};
  const pending = Object.keys(added).sort((a, b) => a.localeCompare(b, 'en'));
  for (const [key, value] of Object.entries(lock.packages)) {
    while (key !== '' && pending.length > 0 && pending[0]!.localeCompare(key, 'en') < 0) {
      const next = pending.shift()!;
      packages[next] = added[next];
    }
    packages[key] = value;
  }
  for (const next of pending) packages[next] = added[next];
  lock.packages = packages;
  writeFileSync(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
}

function findRepoRoot(from: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'tsconfig.base.json'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function manifest(kind: 'source' | 'target', id: string, pluginId: string, displayName: string): Record<string, unknown> {
  const configuration =
    kind === 'source'
      ? {
          type: 'object',
          additionalProperties: false,
          required: ['location'],
          properties: {
            location: {
              type: 'string',
              minLength: 1,
              description: 'A JSON Lines file of canonical records ({"entity": "users", …} per line); relative to the tenants dir.',
            },
          },
        }
      : {
          type: 'object',
          additionalProperties: false,
          properties: { skipGuardians: { type: 'boolean', default: false, description: 'Leave guardians, parents and relatives out (counted as skipped).' } },
        };
  return {
    name: `@rosterbridge/${pluginId}`,
    version: '0.1.0',
    description: `${kind === 'source' ? 'Source' : 'Target'} plugin: ${displayName}.`,
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    files: ['dist'],
    scripts: { build: 'tsc -b' },
    engines: { rosterbridge: '^1.0.0' },
    rosterbridge: {
      id: pluginId,
      displayName,
      activationEvents: [kind === 'source' ? `onSource:${id}` : `onTarget:${id}`],
      dependencies: [],
      contributes: {
        ...(kind === 'source'
          ? { sources: [{ id, displayName, supportsDelta: false, produces: ROSTER_ENTITY_ORDER.map((e) => `roster.${e}@1`) }] }
          : {
              targets: [{ id, displayName, consumes: ROSTER_ENTITY_ORDER.map((e) => `roster.${e}@1`) }],
              schedules: { default: '0 2 * * *' },
            }),
        configuration,
      },
    },
    dependencies: { '@rosterbridge/core': '1.0.0', ...(kind === 'target' ? { kysely: '0.28.18' } : {}) },
    devDependencies: { [TEST_KIT]: '1.0.0' },
  };
}

function sourceIndex(id: string): string {
  return `import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import {
  type ConnectionCheck,
  type PluginContext,
  ROSTER_ENTITY_ORDER,
  type RosterBatch,
  type RosterEntity,
  type RosterReadOptions,
  type RosterSourceSession,
  RosterbridgeError,
  type TenantContext,
  findUnresolvedReferences,
  parseRosterRecord,
} from '@rosterbridge/core';

interface Settings {
  location: string;
}

type Line = { line: number; raw: Record<string, unknown> & { entity?: string } };

/**
 * The ${id} source. This skeleton reads canonical records from a JSON Lines file (one
 * \`{"entity": "users", ...record}\` per line): replace \`lines()\` with your SIS's client, keep the rest.
 */
export function activate(context: PluginContext): void {
  context.subscriptions.add(context.registerSource('${id}', { open: async (tenant) => new Session(tenant) }));
}

class Session implements RosterSourceSession {
  readonly capabilities = { entities: [...ROSTER_ENTITY_ORDER], delta: false };
  /** Every entity's sourcedIds, to report references to records the source does not hold. */
  private sourcedIds: Promise<Map<string, Set<string>>> | undefined;

  constructor(private readonly tenant: TenantContext) {}

  async check(signal = new AbortController().signal): Promise<ConnectionCheck> {
    const file = await this.file();
    try {
      await access(file);
    } catch {
      return { ok: false, code: 'SOURCE_NOT_FOUND', message: \`\${file} cannot be read\` };
    }
    // Its first line tells a roster file from another file: a record, as the reads will take it.
    try {
      for await (const first of this.lines(signal)) {
        if (typeof first.raw.entity !== 'string') return { ok: false, code: 'SOURCE_INVALID', message: \`\${file}:\${first.line} names no entity\` };
        break;
      }
    } catch (err) {
      if (err instanceof RosterbridgeError && err.code === 'SOURCE_BAD_RESPONSE') return { ok: false, code: 'SOURCE_INVALID', message: err.message };
      throw err;
    }
    throwIfCancelled(signal);
    return { ok: true, message: \`\${file} is readable\` };
  }

  async *read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>> {
    throwIfCancelled(options.signal);
    const known = await (this.sourcedIds ??= this.readSourcedIds(options.signal));
    let batch: RosterBatch<E> = { entity, records: [], issues: [], rowsRead: 0, rejectedIds: [] };
    for await (const { line, raw } of this.lines(options.signal)) {
      if (raw.entity !== entity) continue;
      const { entity: _entity, ...fields } = raw;
      const parsed = parseRosterRecord(entity, fields);
      batch.rowsRead++;
      if (parsed.record) {
        batch.records.push(parsed.record);
        batch.issues.push(...findUnresolvedReferences(entity, parsed.record, (target, sourcedId) => known.get(target)?.has(sourcedId) ?? false));
      } else if (typeof fields.sourcedId === 'string' && fields.sourcedId.trim() !== '') {
        // A rejected line whose record can be named keeps that record's last synced version.
        batch.rejectedIds.push(fields.sourcedId.trim());
      }
      batch.issues.push(...parsed.issues.map((issue) => ({ ...issue, line })));
      if (batch.rowsRead >= options.batchSize) {
        yield batch;
        batch = { entity, records: [], issues: [], rowsRead: 0, rejectedIds: [] };
      }
    }
    // A read that stopped because it was cancelled must not end as if it were complete.
    throwIfCancelled(options.signal);
    if (batch.rowsRead > 0) yield batch;
  }

  dispose(): void {}

  private async file(): Promise<string> {
    const { location } = await this.tenant.settings<Settings>();
    return path.resolve(this.tenant.configDir, location);
  }

  private async readSourcedIds(signal: AbortSignal): Promise<Map<string, Set<string>>> {
    const ids = new Map<string, Set<string>>();
    for await (const { raw } of this.lines(signal)) {
      if (typeof raw.entity !== 'string' || typeof raw.sourcedId !== 'string') continue;
      let set = ids.get(raw.entity);
      if (!set) ids.set(raw.entity, (set = new Set()));
      set.add(raw.sourcedId.trim());
    }
    // A cancelled look-up is not the file's ids: it must not be kept for the next read.
    throwIfCancelled(signal);
    return ids;
  }

  /** Every line of the file as an object, with its line number; a line that is not one (a file cut off) ends the read in an error. */
  private async *lines(signal: AbortSignal): AsyncIterable<Line> {
    const file = await this.file();
    const input = createReadStream(file);
    // The signal closes the lines at once, even while the file gives nothing (a pipe, a slow disk).
    const lines = createInterface({ input, crlfDelay: Infinity, signal });
    try {
      let line = 0;
      for await (const text of lines) {
        throwIfCancelled(signal);
        line++;
        if (text.trim() === '') continue;
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          raw = undefined;
        }
        if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
          throw new RosterbridgeError('SOURCE_BAD_RESPONSE', \`\${file}:\${line} is not a JSON object (was the file cut off?)\`, { file, line });
        }
        yield { line, raw: raw as Line['raw'] };
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new RosterbridgeError('CANCELLED', 'the read was cancelled');
}
`;
}

function targetIndex(id: string): string {
  const code = `${id.replace(/-/g, '_').toUpperCase()}_MEMBERSHIP_INCOMPLETE`;
  return `import { type ColumnType, type Kysely, type Migration, sql } from 'kysely';
import { batchTransaction } from '@rosterbridge/core';
import type { ApplyContext, Enrollment, PluginContext, PluginStorage, RosterChangeEvent, RosterEntity, RosterIssue, RosterTargetSession, TargetApplyResult, TargetCounts, TenantContext } from '@rosterbridge/core';

interface Settings {
  skipGuardians: boolean;
}

/** A row of \`record\` or \`held_record\`. */
interface RecordTable {
  tenant_id: string;
  entity: RosterEntity;
  sourced_id: string;
  /** jsonb: read back parsed, written as JSON text. */
  record: ColumnType<unknown, string, string>;
}

/**
 * The schema's tables as the migrations below leave them: queries through \`Kysely<ProductDatabase>\`
 * are checked against it. Change it with the migrations (a migration itself keeps kysely's untyped
 * \`db\`: it builds the schema as it stood at its time).
 */
interface ProductDatabase {
  record: RecordTable;
  held_record: RecordTable;
}

/**
 * The ${id} product's schema: replace \`record\` with the product's own tables. \`held_record\` keeps
 * the class memberships the product cannot take yet (their user or class is not in \`record\`), so
 * that they arrive as soon as what they name does.
 */
export const migrations: Record<string, Migration> = {
  '001_record': {
    async up(db) {
      await db.schema
        .createTable('record')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('record', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('record_pk', ['tenant_id', 'entity', 'sourced_id'])
        .execute();
    },
  },
  '002_held_record': {
    async up(db) {
      await db.schema
        .createTable('held_record')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('record', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('held_record_pk', ['tenant_id', 'entity', 'sourced_id'])
        .execute();
    },
  },
};

/** The ${id} target: every change of a batch written in one transaction, idempotently. */
export function activate(context: PluginContext): void {
  // The host hands the storage over untyped: the plugin gives it its schema's type.
  const storage: PluginStorage<ProductDatabase> = context.storage;
  context.subscriptions.add(context.registerTarget('${id}', { open: async (tenant) => new Session(storage.db, tenant) }));
}

type Counts = Partial<Record<RosterEntity, Partial<TargetCounts>>>;

class Session implements RosterTargetSession {
  constructor(
    private readonly db: Kysely<ProductDatabase>,
    private readonly tenant: TenantContext,
  ) {}

  async apply(events: readonly RosterChangeEvent[], _signal: AbortSignal, context?: ApplyContext): Promise<TargetApplyResult> {
    const { skipGuardians } = await this.tenant.settings<Settings>();
    const counts: Counts = {};
    const issues: RosterIssue[] = [];
    const bump = (entity: RosterEntity, kind: keyof TargetCounts) => ((counts[entity] ??= {})[kind] = ((counts[entity] ??= {})[kind] ?? 0) + 1);
    const tenantId = this.tenant.tenantId;
    // In the engine's transaction when it gives one: the batch commits with the cursor, exactly once.
    return batchTransaction(this.db, context, async (trx) => {
      for (const e of events) {
        const { entity, kind, sourcedId, record } = e.data;
        // A change is typed by its entity: under \`entity === 'users'\` its record is a User, no cast needed.
        if (skipGuardians && entity === 'users' && ['guardian', 'parent', 'relative'].includes(record.role)) {
          // A guardian kept from an earlier run (before the setting) goes now.
          const r = await this.remove(trx, entity, sourcedId);
          bump(entity, 'skipped');
          issues.push({ code: 'GUARDIAN_SKIPPED', severity: 'warning', entity, sourcedId, message: \`\${sourcedId} is a \${record.role}: skipGuardians leaves guardians out\${r ? ' (removed)' : ''}\` });
          if (r) await this.holdMembershipsOf(trx, sourcedId, 'userSourcedId', issues);
          continue;
        }
        if (kind === 'deleted') {
          const removed = await this.remove(trx, entity, sourcedId);
          bump(entity, removed ? 'deleted' : 'unchanged');
          // No membership may name what the product no longer holds: those left wait for it again.
          if (entity === 'users') await this.holdMembershipsOf(trx, sourcedId, 'userSourcedId', issues);
          if (entity === 'classes') await this.holdMembershipsOf(trx, sourcedId, 'classSourcedId', issues);
          continue;
        }
        if (entity === 'enrollments') {
          const missing = await this.missing(trx, record);
          if (missing) {
            await this.remove(trx, entity, sourcedId);
            await trx.insertInto('held_record').values({ tenant_id: tenantId, entity, sourced_id: sourcedId, record: JSON.stringify(record) })
              .onConflict((oc) => oc.columns(['tenant_id', 'entity', 'sourced_id']).doUpdateSet({ record: JSON.stringify(record) })).execute();
            bump(entity, 'skipped');
            issues.push(membershipIssue(sourcedId, missing));
            continue;
          }
          await trx.deleteFrom('held_record').where('tenant_id', '=', tenantId).where('entity', '=', entity).where('sourced_id', '=', sourcedId).execute();
        }
        bump(entity, (await this.write(trx, entity, sourcedId, record)) ? kind : 'unchanged');
        if (entity === 'users' || entity === 'classes') await this.release(trx, entity === 'users' ? 'userSourcedId' : 'classSourcedId', sourcedId, counts);
      }
      return { counts, issues };
    });
  }

  async reset(): Promise<void> {
    await this.db.deleteFrom('record').where('tenant_id', '=', this.tenant.tenantId).execute();
    await this.db.deleteFrom('held_record').where('tenant_id', '=', this.tenant.tenantId).execute();
  }

  dispose(): void {}

  /** Writes a record; false when the product already held it as it is (a batch applied again changes no row). */
  private async write(trx: Kysely<ProductDatabase>, entity: RosterEntity, sourcedId: string, record: unknown): Promise<boolean> {
    const json = JSON.stringify(record);
    const r = await trx
      .insertInto('record')
      .values({ tenant_id: this.tenant.tenantId, entity, sourced_id: sourcedId, record: json })
      .onConflict((oc) => oc.columns(['tenant_id', 'entity', 'sourced_id']).doUpdateSet({ record: json }).where(sql<boolean>\`record.record is distinct from excluded.record\`))
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  private async remove(trx: Kysely<ProductDatabase>, entity: RosterEntity, sourcedId: string): Promise<boolean> {
    await trx.deleteFrom('held_record').where('tenant_id', '=', this.tenant.tenantId).where('entity', '=', entity).where('sourced_id', '=', sourcedId).execute();
    const r = await trx.deleteFrom('record').where('tenant_id', '=', this.tenant.tenantId).where('entity', '=', entity).where('sourced_id', '=', sourcedId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** What a membership names that the product does not hold (its user, its class), or undefined. */
  private async missing(trx: Kysely<ProductDatabase>, enrollment: Enrollment): Promise<string | undefined> {
    const has = async (entity: RosterEntity, sourcedId: string) =>
      (await trx.selectFrom('record').select('sourced_id').where('tenant_id', '=', this.tenant.tenantId).where('entity', '=', entity).where('sourced_id', '=', sourcedId).executeTakeFirst()) !== undefined;
    const lacks = [
      ...((await has('users', enrollment.userSourcedId)) ? [] : [\`user \${enrollment.userSourcedId}\`]),
      ...((await has('classes', enrollment.classSourcedId)) ? [] : [\`class \${enrollment.classSourcedId}\`]),
    ];
    return lacks.length > 0 ? lacks.join(' and ') : undefined;
  }

  /** Moves the memberships naming a user or class the product no longer holds to held_record. */
  private async holdMembershipsOf(trx: Kysely<ProductDatabase>, sourcedId: string, field: 'userSourcedId' | 'classSourcedId', issues: RosterIssue[]): Promise<void> {
    const moved = await trx
      .deleteFrom('record')
      .where('tenant_id', '=', this.tenant.tenantId)
      .where('entity', '=', 'enrollments')
      .where(sql<string>\`record->>\${field}\`, '=', sourcedId)
      .returning(['sourced_id', 'record'])
      .execute();
    for (const m of moved) {
      await trx.insertInto('held_record').values({ tenant_id: this.tenant.tenantId, entity: 'enrollments', sourced_id: m.sourced_id, record: JSON.stringify(m.record) })
        .onConflict((oc) => oc.columns(['tenant_id', 'entity', 'sourced_id']).doNothing()).execute();
      issues.push(membershipIssue(m.sourced_id, \`\${field === 'userSourcedId' ? 'user' : 'class'} \${sourcedId}\`));
    }
  }

  /** Takes the held memberships naming a user or class that has just arrived, once nothing they name is missing. */
  private async release(trx: Kysely<ProductDatabase>, field: 'userSourcedId' | 'classSourcedId', sourcedId: string, counts: Counts): Promise<void> {
    const held = await trx
      .selectFrom('held_record')
      .select(['sourced_id', 'record'])
      .where('tenant_id', '=', this.tenant.tenantId)
      .where('entity', '=', 'enrollments')
      .where(sql<string>\`record->>\${field}\`, '=', sourcedId)
      .execute();
    for (const h of held) {
      if (await this.missing(trx, h.record as Enrollment)) continue;
      await trx.deleteFrom('held_record').where('tenant_id', '=', this.tenant.tenantId).where('entity', '=', 'enrollments').where('sourced_id', '=', h.sourced_id).execute();
      await this.write(trx, 'enrollments', h.sourced_id, h.record);
      const c = (counts.enrollments ??= {});
      c.created = (c.created ?? 0) + 1;
    }
  }
}

function membershipIssue(sourcedId: string, missing: string): RosterIssue {
  return {
    code: '${code}',
    severity: 'warning',
    entity: 'enrollments',
    sourcedId,
    message: \`enrollment \${sourcedId} names \${missing}, which the product does not hold: it is kept aside and arrives once they do\`,
  };
}
`;
}

function targetTest(id: string, pluginId: string): string {
  return `import * as path from 'node:path';
import t from 'tap';
import { runTargetConformance } from '${TEST_KIT}';

// The target conformance kit: a first sync of a generated district, a no-change resync that writes
// no row, reset, updates and deletions (full and delta), a rejected row, a batch applied twice, a
// crash before the cursor's commit, disable/enable, and no row naming one the product lacks. When
// you replace the skeleton with the product's tables, change the harness (tables, references),
// not the kit; a check the product cannot pass yet goes in knownGaps, with why.
t.test('${pluginId} conforms', (t) =>
  runTargetConformance(t, {
    targetId: '${id}',
    // This package's folder's parent: the host discovers it there.
    pluginDirs: [path.resolve(__dirname, '../..')],
    tables: {
      record: { key: ['entity', 'sourced_id'] },
      held_record: { key: ['entity', 'sourced_id'] },
    },
    references: [
      {
        from: { table: 'record', column: "record->>'userSourcedId'", where: "entity = 'enrollments'" },
        to: { table: 'record', column: 'sourced_id', where: "entity = 'users'" },
      },
      {
        from: { table: 'record', column: "record->>'classSourcedId'", where: "entity = 'enrollments'" },
        to: { table: 'record', column: 'sourced_id', where: "entity = 'classes'" },
      },
    ],
    knownGaps: {
    },
  }),
);
`;
}

function sourceTest(id: string, pluginId: string): string {
  return `import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { type RosterRecordSource, runSourceConformance } from '${TEST_KIT}';

const dir = mkdtempSync(path.join(tmpdir(), '${pluginId}-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Writes \`roster\` as the JSON Lines file the skeleton reads; with \`cutAt\`, only that share of it, ending mid-line. */
function writeRoster(roster: RosterRecordSource, cutAt?: number): string {
  const lines: string[] = [];
  for (const entity of ROSTER_ENTITY_ORDER) for (const record of roster.records(entity)) lines.push(JSON.stringify({ entity, ...record }));
  let text = \`\${lines.join('\\n')}\\n\`;
  if (cutAt !== undefined) text = text.slice(0, text.indexOf('\\n', Math.floor(text.length * cutAt)) - 5);
  const file = path.join(dir, \`roster-\${++files}.jsonl\`);
  writeFileSync(file, text);
  return file;
}

/** A named pipe held open and never written: a read of it waits until it is cancelled. */
function silentPipe(): string {
  const pipe = path.join(dir, \`silent-\${++files}.jsonl\`);
  execFileSync('mkfifo', [pipe]);
  // Open for writing too, so that a reader waits for lines instead of reading an end.
  const fd = openSync(pipe, 'r+');
  t.teardown(() => closeSync(fd));
  return pipe;
}

// The source conformance kit: the connection check, full reads of a generated district, references
// to missing records, a source dying mid-read, cancellation (and deltas, once the manifest declares
// supportsDelta and the harness says how to serve a change). When you replace the skeleton with
// your SIS's client, change how the harness serves a roster (a simulator of your SIS), not the kit.
t.test('${pluginId} conforms', (t) =>
  runSourceConformance(t, {
    sourceId: '${id}',
    // This package's folder's parent: the host discovers it there.
    pluginDirs: [path.resolve(__dirname, '../..')],
    serve: async (roster) => ({ location: writeRoster(roster) }),
    badLocation: async () => [{ location: path.join(dir, 'nothing-here.jsonl') }],
    dieMidRead: async (roster) => ({ 'the file cut off mid-line': { location: writeRoster(roster, 0.6) } }),
    slow: async () => ({ location: silentPipe() }),
  }),
);
`;
}

function readme(kind: 'source' | 'target', id: string, pluginId: string, displayName: string, root: string): string {
  return `# ${displayName} — \`${pluginId}\`

A Rosterbridge ${kind} plugin, generated by \`rosterbridge new-plugin ${kind} ${id}\`.

${
  kind === 'source'
    ? `It contributes the source \`${id}\`. As generated it reads canonical roster records from a JSON Lines file
(\`settings.location\`, one \`{"entity": "users", …}\` per line), which is enough to run end to end, and its test
runs the source conformance kit (\`runSourceConformance\` of the test kit) green. Replace \`Session.lines()\` in
\`src/index.ts\` with your SIS client (keep paging, errors and cancellation in an adapter under \`adapters/\`), map
its entities to the canonical records of \`@rosterbridge/core\`, and change the test's harness to serve a roster
through a simulator of your SIS (\`badCredentials\`, \`slow\`, \`expectRecord\` for what your SIS cannot carry).
Declare \`supportsDelta\` in \`package.json\` once \`read(…, { mode: 'delta', since })\` works, and give the
harness \`serveChange\`. \`plugins/source-clever\` is a worked example.`
    : `It contributes the target \`${id}\`. As generated it keeps every record it receives in one table
(\`record\`) of its own schema, one transaction per batch, idempotently, and leaves guardians out when
\`settings.skipGuardians\` is on. A class membership whose user or class it does not hold is not written:
it waits in \`held_record\` (with a warning) and arrives once they do, so that no row names one the product
lacks. Its test runs the target conformance kit (\`runTargetConformance\` of the test kit). Replace the
migrations with the product's own tables and \`apply()\` with the product's rules; report records the
product cannot take as issues with codes (see the four product plugins beside it), and change the test's
harness (\`tables\`, \`references\`) to the new tables.`
}

Build and test:

\`\`\`sh
npx tsc -b plugins/${pluginId}        # from the checkout's root (${root})
npx tap plugins/${pluginId}/tests     # embedded database; DATABASE_URL=… for PostgreSQL
\`\`\`

Enable it for a tenant in \`tenants/<tenant>.json\`: ${kind === 'source' ? `\`"source": { "id": "${id}", "settings": { "location": "…" } }\`` : `\`"targets": [{ "id": "${id}", "settings": {} }]\``}.
`;
}
