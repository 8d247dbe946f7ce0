import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseExpression } from 'cron-parser';
import addFormats from 'ajv-formats';
import { type JsonSchema, type PluginManifest, unmetContracts } from '@rosterbridge/core';
import { type SecretResolver, isSecretReference, redactDeep } from './secret-reference';

/** A source or target a tenant uses, with its settings as written (secret references unresolved). */
export interface TenantPluginUse {
  /** The contribution id (`oneroster-csv`, `kybergate`…). */
  id: string;
  /** The plugin contributing it. */
  pluginId?: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  /** When the target syncs by itself: resolved from the tenant file and the plugin; undefined: manual only. */
  schedule?: ResolvedSchedule;
}

/** A target's schedule with its time zone, and where each came from. */
export interface ResolvedSchedule {
  cron: string;
  /** IANA time zone the cron is read in. */
  timezone: string;
  /** `tenant file`, or `plugin <id> schedule "<name>"`; and where the time zone came from. */
  origin: string;
}

/** One tenant (a district or school), read from `<tenants dir>/<id>.json`. */
export interface TenantConfig {
  id: string;
  displayName: string;
  /** IANA time zone schedules run in. */
  timezone: string;
  /** Region code (US, NZ, AU, UK…) some products derive defaults from. */
  region?: string;
  source?: TenantPluginUse;
  targets: TenantPluginUse[];
  /** Hold thresholds, in percent of the ledger. */
  thresholds: { maxDeletePercent: number; maxChangePercent: number };
  contacts: string[];
  paused: boolean;
  /** The file it was read from. */
  file: string;
}

/** One problem with a tenant file, naming file and key. */
export interface TenantProblem {
  file: string;
  key: string;
  message: string;
}

/** A tenant as loaded: valid, or invalid with its problems (the host goes on without it). */
export interface LoadedTenant {
  id: string;
  file: string;
  config?: TenantConfig;
  problems: TenantProblem[];
}

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The largest tenant file read by default: 1 MiB, a thousand times a real one. */
export const MAX_TENANT_FILE_BYTES = 1024 * 1024;

/** Caps on what a tenant file may hold. */
export interface TenantLimits {
  /** The largest file read, in bytes (host config `tenants.maxFileBytes`); default {@link MAX_TENANT_FILE_BYTES}. */
  maxFileBytes?: number;
}

/**
 * The longest texts of a tenant file, in characters: whatever a tenant configures is shown in the
 * API, the console and logs, so none of it may be as large as the file.
 */
const MAX_NAME = 200;
const MAX_ZONE = 64;
const MAX_CRON = 200;

const envelopeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['displayName', 'timezone'],
  properties: {
    $schema: { type: 'string', maxLength: 2048 },
    id: { type: 'string', maxLength: 63 },
    displayName: { type: 'string', minLength: 1, maxLength: MAX_NAME },
    timezone: { type: 'string', minLength: 1, maxLength: MAX_ZONE },
    region: { type: 'string', enum: ['US', 'NZ', 'AU', 'UK', 'CA', 'IE', 'OTHER'] },
    source: { $ref: '#/$defs/use' },
    targets: { type: 'array', maxItems: 100, items: { $ref: '#/$defs/use' } },
    thresholds: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxDeletePercent: { type: 'number', minimum: 0, maximum: 100 },
        maxChangePercent: { type: 'number', minimum: 0, maximum: 100 },
      },
    },
    contacts: { type: 'array', maxItems: 100, items: { type: 'string', format: 'email', maxLength: 254 } },
    paused: { type: 'boolean' },
  },
  $defs: {
    use: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: {
        id: { type: 'string', maxLength: 100, pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' },
        enabled: { type: 'boolean' },
        settings: { type: 'object' },
        schedule: {
          oneOf: [
            { type: 'string', minLength: 1, maxLength: MAX_CRON },
            {
              type: 'object',
              additionalProperties: false,
              required: ['cron'],
              properties: { cron: { type: 'string', minLength: 1, maxLength: MAX_CRON }, timezone: { type: 'string', minLength: 1, maxLength: MAX_ZONE } },
            },
          ],
        },
      },
    },
  },
} as const;

/**
 * Reads and validates tenant files. Each enabled source's and target's settings are checked against
 * the configuration schema its plugin contributes; secret fields (`"x-secret": true`) must be secret
 * references, never plain values; every secret reference must stay inside the host's secret policy
 * (the secrets folder, the allowed env vars) and name a secret of at least 8 characters.
 */
export class TenantConfigLoader {
  private readonly ajv: Ajv;
  private readonly envelope: ValidateFunction;
  private readonly settingsValidators = new Map<string, ValidateFunction>();

  constructor(
    private readonly manifests: readonly PluginManifest[],
    private readonly secrets: SecretResolver,
    private readonly limits: TenantLimits = {},
  ) {
    this.ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
    addFormats(this.ajv);
    this.ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
    this.envelope = this.ajv.compile(envelopeSchema);
  }

  /** Loads every `*.json` in the folder, in name order. A missing folder means no tenants. */
  async loadDirectory(dir: string): Promise<LoadedTenant[]> {
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return Promise.all(names.map((n) => this.loadFile(path.join(dir, n))));
  }

  /** Loads one tenant file. Never throws for bad content: problems are returned, naming the key. */
  async loadFile(file: string): Promise<LoadedTenant> {
    const id = path.basename(file, '.json');
    const problems: TenantProblem[] = [];
    const problem = (key: string, message: string) => problems.push({ file, key, message });
    if (!TENANT_ID.test(id)) problem('(file name)', `tenant id "${id}" must be lowercase letters, digits and dashes`);
    let raw: unknown;
    try {
      const maxFileBytes = this.limits.maxFileBytes ?? MAX_TENANT_FILE_BYTES;
      const text = await readBounded(file, maxFileBytes);
      if (text === undefined) {
        problem(
          '(file)',
          `is larger than the cap of ${maxFileBytes} bytes a tenant file (tenants.maxFileBytes, env RB_TENANTS_MAX_FILE_BYTES); it is not read`,
        );
        return { id, file, problems };
      }
      raw = JSON.parse(text);
    } catch (err) {
      problem('(file)', err instanceof SyntaxError ? `is not valid JSON: ${err.message}` : `cannot be read: ${(err as Error).message}`);
      return { id, file, problems };
    }
    if (!this.envelope(raw)) {
      for (const e of this.envelope.errors ?? []) problem(keyOf(e), messageOf(e));
      return { id, file, problems };
    }
    const doc = raw as Record<string, any>;
    if (doc.id !== undefined && doc.id !== id) problem('id', `is "${doc.id}" but the file is named ${id}.json; they must match`);
    if (!isTimeZone(doc.timezone)) problem('timezone', `"${doc.timezone}" is not an IANA time zone such as "America/Chicago"`);

    const use = (u: any, key: string, kind: 'sources' | 'targets'): TenantPluginUse => {
      const manifest = this.manifests.find((m) => m.contributes[kind].some((c) => c.id === u.id));
      const settings = (u.settings ?? {}) as Record<string, unknown>;
      const enabled = u.enabled !== false;
      if (!manifest) {
        if (enabled) problem(`${key}.id`, `no installed plugin contributes the ${kind === 'sources' ? 'source' : 'target'} "${u.id}"`);
      } else if (enabled) {
        for (const p of this.validateSettings(manifest, settings)) problem(`${key}.settings${p.path}`, p.message);
      }
      const schedule = kind === 'targets' ? resolveSchedule(u.schedule, manifest, doc, `${key}.schedule`, problem) : undefined;
      if (kind === 'sources' && u.schedule !== undefined)
        problem(`${key}.schedule`, 'schedules belong to targets (each target syncs on its own schedule); move it to the targets that should run on it');
      return { id: u.id, pluginId: manifest?.id, enabled, settings, ...(schedule ? { schedule } : {}) };
    };
    const source = doc.source ? use(doc.source, 'source', 'sources') : undefined;
    const targets = ((doc.targets ?? []) as any[]).map((t, i) => use(t, `targets[${i}]`, 'targets'));
    const uses: [string, unknown][] = [
      ['source', doc.source?.settings],
      ...((doc.targets ?? []) as any[]).map((u, i): [string, unknown] => [`targets[${i}]`, u.settings]),
    ];
    for (const [key, settings] of uses) for (const p of await this.secrets.problems(settings, `${key}.settings`)) problem(p.key, p.message);
    // Each enabled target must be deliverable from the source's change contracts.
    const sourceContribution = source?.enabled ? this.contribution('sources', source.id) : undefined;
    if (sourceContribution)
      targets.forEach((t, i) => {
        const target = t.enabled ? this.contribution('targets', t.id) : undefined;
        if (!target) return;
        for (const u of unmetContracts(t.id, target.consumes, sourceContribution.produces))
          problem(
            `targets[${i}].id`,
            `target ${t.id} consumes ${u.contract}, which source ${sourceContribution.id} does not produce (it produces ${u.produced.join(', ')}) and no adapter derives`,
          );
      });
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      if (seen.has(t.id)) problem(`targets[${i}].id`, `target "${t.id}" is listed twice`);
      seen.add(t.id);
    });
    if (problems.length > 0) return { id, file, problems };
    return {
      id,
      file,
      problems,
      config: {
        id,
        displayName: doc.displayName,
        timezone: doc.timezone,
        region: doc.region,
        source,
        targets,
        thresholds: { maxDeletePercent: 10, maxChangePercent: 30, ...(doc.thresholds ?? {}) },
        contacts: doc.contacts ?? [],
        paused: doc.paused ?? false,
        file,
      },
    };
  }

  /** The contribution of a source or target by id, from the installed manifests. */
  private contribution<K extends 'sources' | 'targets'>(kind: K, id: string): PluginManifest['contributes'][K][number] | undefined {
    for (const m of this.manifests) {
      const found = (m.contributes[kind] as PluginManifest['contributes'][K][number][]).find((c) => c.id === id);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Validates one plugin's settings against its contributed schema. Secret references stand in for
   * strings during validation; fields marked `x-secret` must hold a reference.
   */
  validateSettings(manifest: PluginManifest, settings: Record<string, unknown>): { path: string; message: string }[] {
    const schema = manifest.contributes.configuration;
    if (!schema) {
      return Object.keys(settings).length > 0 ? [{ path: '', message: `plugin "${manifest.id}" takes no settings` }] : [];
    }
    let validate = this.settingsValidators.get(manifest.id);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.settingsValidators.set(manifest.id, validate);
    }
    const problems: { path: string; message: string }[] = [];
    const stand = standIns(settings) as Record<string, unknown>;
    if (!validate(stand)) for (const e of validate.errors ?? []) problems.push({ path: pointerToKey(e.instancePath, e), message: messageOf(e) });
    for (const secretPath of secretPaths(schema)) {
      const value = getPath(settings, secretPath);
      if (value !== undefined && !isSecretReference(value))
        problems.push({ path: `.${secretPath.join('.')}`, message: 'is a secret: give it as {"env": "NAME"} or {"file": "path"}, not as a plain value' });
    }
    // Defaults filled in by ajv on the stand-in copy are carried back (never over a reference).
    for (const [k, v] of Object.entries(stand)) if (!(k in settings)) settings[k] = v;
    return problems;
  }
}

/**
 * Compiles every contributed configuration schema once; returns the plugins whose schema is not
 * valid JSON Schema, with the compiler's reason.
 */
export function invalidConfigurationSchemas(manifests: readonly PluginManifest[]): { pluginId: string; reason: string }[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  const invalid: { pluginId: string; reason: string }[] = [];
  for (const m of manifests) {
    if (!m.contributes.configuration) continue;
    try {
      ajv.compile(m.contributes.configuration);
    } catch (err) {
      invalid.push({ pluginId: m.id, reason: `rosterbridge.contributes.configuration is not a valid JSON Schema: ${(err as Error).message}` });
    }
  }
  return invalid;
}

/** The tenant config as the API shows it: effective values, secrets redacted. */
export function redactTenant(config: TenantConfig): Record<string, unknown> {
  const { file, ...rest } = config;
  return redactDeep({ ...rest, file: path.basename(file) }) as Record<string, unknown>;
}

/**
 * A file's text, or undefined when it holds more than `maxBytes`: never more than `maxBytes` + 1
 * bytes are read, whatever its size says (it may grow while read).
 */
async function readBounded(file: string, maxBytes: number): Promise<string | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    if ((await handle.stat()).size > maxBytes) return undefined;
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) return undefined;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

function standIns(value: unknown): unknown {
  if (isSecretReference(value)) return '[secret]';
  if (Array.isArray(value)) return value.map(standIns);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, standIns(v)]));
  return value;
}

function secretPaths(schema: JsonSchema, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  if (schema['x-secret'] === true) out.push(prefix);
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props) for (const [k, v] of Object.entries(props)) out.push(...secretPaths(v, [...prefix, k]));
  return out;
}

function getPath(value: unknown, keys: string[]): unknown {
  let cur = value;
  for (const k of keys) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function pointerToKey(pointer: string, e: ErrorObject): string {
  let key = pointer
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('');
  if (e.keyword === 'required') key += `.${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties') key += `.${(e.params as { additionalProperty: string }).additionalProperty}`;
  return key;
}

function keyOf(e: ErrorObject): string {
  return pointerToKey(e.instancePath, e).replace(/^\./, '') || '(root)';
}

function messageOf(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not a known key';
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return e.message ?? 'is invalid';
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why `cron` is not a usable cron expression in `timezone`, or undefined when it is. */
function cronProblem(cron: string, timezone: string): string | undefined {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `"${cron}" is not a cron expression of 5 or 6 fields`;
  try {
    parseExpression(cron, { tz: timezone }).next();
    return undefined;
  } catch (err) {
    return `"${cron}" is not a valid cron expression: ${(err as Error).message}`;
  }
}

/**
 * A target's schedule: the tenant file's `schedule` (a cron expression, `{ "cron", "timezone" }`,
 * the name of a schedule the plugin contributes, or `"manual"`), else the plugin's `default`, else
 * none. The time zone: the tenant file's for that schedule, else the plugin's (by name, or by the
 * tenant's region), else the tenant's.
 */
function resolveSchedule(
  given: unknown,
  manifest: PluginManifest | undefined,
  doc: Record<string, any>,
  key: string,
  problem: (key: string, message: string) => void,
): ResolvedSchedule | undefined {
  if (given === 'manual') return undefined;
  const contributed = manifest?.contributes.schedules ?? {};
  let cron: string;
  let timezone: string | undefined;
  let origin: string;
  let zoneOrigin: string | undefined;
  if (typeof given === 'string' && contributed[given]) {
    ({ cron } = contributed[given]!);
    origin = `plugin ${manifest!.id} schedule "${given}"`;
  } else if (typeof given === 'string') {
    if (given.trim().split(/\s+/).length === 1) {
      const names = Object.keys(contributed);
      problem(
        key,
        `"${given}" is neither a cron expression nor "manual"${names.length > 0 ? ` nor a schedule of plugin ${manifest!.id} (${names.join(', ')})` : ''}`,
      );
      return undefined;
    }
    cron = given;
    origin = 'tenant file';
  } else if (given && typeof given === 'object') {
    ({ cron, timezone } = given as { cron: string; timezone?: string });
    origin = 'tenant file';
    if (timezone !== undefined) zoneOrigin = 'tenant file';
  } else if (contributed.default) {
    ({ cron } = contributed.default);
    given = 'default';
    origin = `plugin ${manifest!.id} schedule "default"`;
  } else {
    return undefined;
  }
  const named = typeof given === 'string' ? contributed[given] : undefined;
  if (timezone === undefined && named?.timezone) [timezone, zoneOrigin] = [named.timezone, `plugin ${manifest!.id}`];
  if (timezone === undefined && named?.timezoneByRegion && doc.region && named.timezoneByRegion[doc.region])
    [timezone, zoneOrigin] = [named.timezoneByRegion[doc.region], `plugin ${manifest!.id} for region ${doc.region}`];
  if (timezone === undefined) [timezone, zoneOrigin] = [doc.timezone as string, 'tenant'];
  if (!isTimeZone(timezone)) {
    problem(zoneOrigin === 'tenant file' ? `${key}.timezone` : key, `"${timezone}" (from ${zoneOrigin}) is not an IANA time zone such as "America/Chicago"`);
    return undefined;
  }
  const bad = cronProblem(cron, timezone);
  if (bad) {
    problem(typeof given === 'object' ? `${key}.cron` : key, origin === 'tenant file' ? bad : `${bad} (from ${origin})`);
    return undefined;
  }
  return { cron, timezone, origin: `${origin}; time zone from ${zoneOrigin}` };
}
