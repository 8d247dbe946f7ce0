import convict from 'convict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RosterbridgeError, errorMessage } from '@rosterbridge/core';
import { HOST_ENV_PREFIX, type SecretPolicy } from '../tenants/secret-reference';

/**
 * What an API token may do: `admin` everything on every tenant; `tenant-operator` everything on its
 * tenants (read, sync, and what destroys or overrides: reset, approve or reject a hold, back-fill,
 * pause, resume); `tenant` read and sync on its tenants.
 */
export type ApiRole = 'admin' | 'tenant-operator' | 'tenant';

/** The roles, in the order the docs list them. */
export const API_ROLES: readonly ApiRole[] = ['admin', 'tenant-operator', 'tenant'];

/** An API token and what it may do. */
export interface ApiToken {
  /** Label shown in logs instead of the token itself. */
  name: string;
  token: string;
  role: ApiRole;
  /** The tenant a `tenant` or `tenant-operator` token reaches. */
  tenant?: string;
  /** Or the tenants it reaches. */
  tenants?: string[];
}

/** The host's own configuration. Every key has an env var (`RB_…`). */
export interface HostConfig {
  http: { host: string; port: number };
  database: { url: string; poolSize: number };
  dataDir: string;
  plugins: {
    dirs: string[];
    activationTimeoutMs: number;
    /** Plugins run in a worker thread whatever their manifest says (`isolation`), and plugins run in the host's thread whatever it says. */
    workers: string[];
    inProcess: string[];
    /** Defaults of workers: memory (a manifest's `resourceLimits` may ask for less or more) and the deadline of each call into one. */
    worker: { maxOldGenerationSizeMb: number; callTimeoutMs: number };
  };
  tenants: { dir: string; maxFileBytes: number };
  /** Caps on what a source may read (a package's size, a row, a field), for source plugins that read files. */
  sources: { maxPackageBytes: number; maxFileBytes: number; maxLineBytes: number; maxFieldBytes: number };
  /** Where tenants' secret references may point: files in `dir`, env vars starting with one of `envPrefixes`. */
  secrets: { dir: string; envPrefixes: string[] };
  api: { tokens: ApiToken[] };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  sync: {
    batchSize: number;
    applyTimeoutMs: number;
    leaseMs: number;
    sweepMs: number;
    retentionDays: number;
    maxConcurrentRuns: number;
    maxIssuesPerCode: number;
    schedule: { enabled: boolean; pollSeconds: number; cronCheckSeconds: number; maxRunHours: number };
    retry: { limit: number; delaySeconds: number };
  };
  shutdownTimeoutMs: number;
  /**
   * Deadlines of plugin calls by kind, in ms: a call past its deadline is abandoned and what it was
   * for fails with DEADLINE_EXCEEDED naming the plugin and the call. (`apply`, `load` and `finish`:
   * `sync.applyTimeoutMs`; activation and `open`: `plugins.activationTimeoutMs`; commands:
   * `sync.applyTimeoutMs`.)
   */
  deadlines: { checkMs: number; fingerprintMs: number; readMs: number; resetMs: number; disposeMs: number };
}

convict.addFormat({
  name: 'string-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === ''))
      throw new Error('must be a list of paths (comma-separated in the env var)');
  },
  coerce: (value: string) =>
    value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
});

/** How a value is shown in a message: quoted if a string, cut if long. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** 1000000 as "1,000,000". */
function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The spellings a boolean takes, in an env var and in the file (where a JSON boolean is usual):
 * anything else is refused rather than read as true, as convict's own Boolean does ("nope" → true).
 */
const BOOLEAN_SPELLINGS = new Map([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
]);

convict.addFormat({
  name: 'plugin-id-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of plugin ids (comma-separated in the env var)');
    for (const id of value)
      if (typeof id !== 'string' || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(id))
        throw new Error(`"${String(id)}" is not a plugin id (kebab-case, such as target-memo)`);
  },
  coerce: (value: string) =>
    value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
});

convict.addFormat({
  name: 'strict-boolean',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error(`must be true or false (or 1 or 0), got ${shown(value)}`);
  },
  coerce: (value: string) => BOOLEAN_SPELLINGS.get(value.trim().toLowerCase()) ?? value,
});

/** The ranges of the whole-number formats, by format name (for the docs). */
const WHOLE_NUMBER_RANGES = new Map<string, { min: number; max: number }>();

/**
 * A format for a whole number from `min` to `max`: digits only in an env var or a string ("12abc",
 * "1e3", "2.5" and "-1" are refused, where convict's own formats would read 12, 1, 2 and -1).
 */
function wholeNumber(min: number, max: number): string {
  const name = `whole-number-${min}-${max}`;
  if (!WHOLE_NUMBER_RANGES.has(name)) {
    WHOLE_NUMBER_RANGES.set(name, { min, max });
    convict.addFormat({
      name,
      validate(value: unknown) {
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
          throw new Error(
            `must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${grouped(min)}` : `from ${grouped(min)} to ${grouped(max)}`}, got ${shown(value)}`,
          );
      },
      coerce: (value: string) => (/^\s*\d+\s*$/.test(value) ? Number(value) : value),
    });
  }
  return name;
}

const HOUR_MS = 3_600_000;
const GIB = 1024 ** 3;

/** The default prefix of env vars holding tenants' secrets: one no host setting starts with. */
export const DEFAULT_SECRET_ENV_PREFIX = 'ROSTERBRIDGE_SECRET_';

convict.addFormat({
  name: 'env-prefix-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of env var name prefixes (comma-separated in the env var)');
    for (const prefix of value) {
      if (typeof prefix !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix))
        throw new Error(`"${String(prefix)}" is not the start of an env var name (letters, digits, underscores)`);
      // A prefix the host's own variables start with, or one inside their namespace, would let a tenant name them.
      const clash = prefix.startsWith(HOST_ENV_PREFIX) ? `${HOST_ENV_PREFIX}*` : hostEnvNames().find((name) => name.startsWith(prefix));
      if (clash) throw new Error(`"${prefix}" would let tenants name the host's own env vars (${clash}); choose a prefix such as ${DEFAULT_SECRET_ENV_PREFIX}`);
    }
  },
  coerce: (value: string) =>
    value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
});

convict.addFormat({
  name: 'api-tokens',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a JSON array of {name, token, role, tenant?, tenants?}');
    const seen = new Map<string, number>();
    value.forEach((t, i) => {
      if (typeof t !== 'object' || t === null) throw new Error(`[${i}] must be an object`);
      const { name, token, role, tenant, tenants } = t as Record<string, unknown>;
      if (typeof name !== 'string' || name === '') throw new Error(`[${i}].name is required (a label for logs)`);
      if (typeof token !== 'string' || token.length < 16) throw new Error(`[${i}].token must be a string of at least 16 characters (token "${name}")`);
      if (!API_ROLES.includes(role as ApiRole)) throw new Error(`[${i}].role must be one of ${API_ROLES.map((r) => `"${r}"`).join(', ')} (token "${name}")`);
      if (tenants !== undefined && (!Array.isArray(tenants) || tenants.length === 0 || tenants.some((x) => typeof x !== 'string' || x === '')))
        throw new Error(`[${i}].tenants must be a non-empty list of tenant ids (token "${name}")`);
      if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) throw new Error(`[${i}].tenant must be a tenant id (token "${name}")`);
      if (role !== 'admin' && tenant === undefined && tenants === undefined)
        throw new Error(`[${i}].tenant (or tenants) is required for a ${role} token (token "${name}")`);
      // Two entries with one token string would leave which role wins to their order.
      const first = seen.get(token);
      if (first !== undefined)
        throw new Error(
          `[${i}].token is the same as [${first}].token (tokens "${(value[first] as { name: string }).name}" and "${name}"): every token must be distinct`,
        );
      seen.set(token, i);
    });
  },
  coerce: (value: string) => {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
});

const schema = {
  http: {
    host: { doc: 'Address the control API listens on.', format: String, default: '127.0.0.1', env: 'RB_HTTP_HOST' },
    port: { doc: 'Port of the control API (0 picks a free one).', format: wholeNumber(0, 65535), default: 8080, env: 'RB_HTTP_PORT' },
  },
  database: {
    url: {
      doc: 'PostgreSQL URL. Empty: an embedded PGlite database in the data dir.',
      format: String,
      default: '',
      env: 'RB_DATABASE_URL',
      sensitive: true,
    },
    poolSize: { doc: 'Connections in the pool.', format: wholeNumber(1, 1000), default: 10, env: 'RB_DATABASE_POOL_SIZE' },
  },
  dataDir: { doc: 'Folder for the embedded database and local state.', format: String, default: '.data', env: 'RB_DATA_DIR' },
  plugins: {
    dirs: { doc: 'Folders to discover plugins in (comma-separated).', format: 'string-list', default: ['plugins'], env: 'RB_PLUGIN_DIRS' },
    activationTimeoutMs: {
      doc: 'Deadline for one plugin to load, migrate and activate.',
      format: wholeNumber(100, HOUR_MS),
      default: 10000,
      env: 'RB_PLUGIN_ACTIVATION_TIMEOUT_MS',
    },
    workers: {
      doc: 'Ids of plugins to run in a worker thread whatever their manifest says (comma-separated).',
      format: 'plugin-id-list',
      default: [] as string[],
      env: 'RB_PLUGIN_WORKERS',
    },
    inProcess: {
      doc: "Ids of plugins to run in the host's own thread although their manifest asks for a worker (comma-separated).",
      format: 'plugin-id-list',
      default: [] as string[],
      env: 'RB_PLUGIN_IN_PROCESS',
    },
    worker: {
      maxOldGenerationSizeMb: {
        doc: "The most a plugin worker's heap may hold, in MB, unless its manifest's resourceLimits say otherwise; past it the worker is terminated (PLUGIN_OUT_OF_MEMORY).",
        format: wholeNumber(16, 64 * 1024),
        default: 512,
        env: 'RB_PLUGIN_WORKER_MAX_OLD_GENERATION_MB',
      },
      callTimeoutMs: {
        doc: 'Deadline of each call into a worker plugin (open, check, each next batch of a read, apply, finish, reset, a command…); past it the worker is terminated (DEADLINE_EXCEEDED).',
        format: wholeNumber(100, 24 * HOUR_MS),
        default: 120_000,
        env: 'RB_PLUGIN_WORKER_CALL_TIMEOUT_MS',
      },
    },
  },
  tenants: {
    dir: { doc: 'Folder holding one <tenant>.json per tenant.', format: String, default: 'tenants', env: 'RB_TENANTS_DIR' },
    maxFileBytes: {
      doc: 'The largest tenant file read, in bytes; a larger one is refused (the tenant is invalid) naming the file and this cap.',
      format: wholeNumber(1, GIB),
      default: 1024 * 1024,
      env: 'RB_TENANTS_MAX_FILE_BYTES',
    },
  },
  sources: {
    maxPackageBytes: {
      doc: "The most a CSV package's files may add up to, inflated (a zip) or on disk (a folder), in bytes; a larger package is refused (CSV_PACKAGE_TOO_LARGE).",
      format: wholeNumber(1, Number.MAX_SAFE_INTEGER),
      default: 8 * 1024 ** 3,
      env: 'RB_SOURCE_MAX_PACKAGE_BYTES',
    },
    maxFileBytes: {
      doc: 'The most one file of a CSV package may hold, inflated, in bytes: checked against what a zip declares, and counted while inflating (CSV_PACKAGE_TOO_LARGE).',
      format: wholeNumber(1, Number.MAX_SAFE_INTEGER),
      default: 2 * 1024 ** 3,
      env: 'RB_SOURCE_MAX_FILE_BYTES',
    },
    maxLineBytes: {
      doc: 'The longest CSV row, in bytes; a longer row is rejected with CSV_ROW_TOO_LONG (and a run of blank lines longer than this ends the file with CSV_BLANK_LINES).',
      format: wholeNumber(1, 256 * 1024 ** 2),
      default: 1_000_000,
      env: 'RB_SOURCE_MAX_LINE_BYTES',
    },
    maxFieldBytes: {
      doc: 'The longest CSV field, in bytes; its row is rejected with CSV_FIELD_TOO_LONG.',
      format: wholeNumber(1, 256 * 1024 ** 2),
      default: 100_000,
      env: 'RB_SOURCE_MAX_FIELD_BYTES',
    },
  },
  secrets: {
    dir: {
      doc: 'Folder tenants\' secret files must be in (symbolic links are followed, then checked); relative {"file"} references are taken from it. Empty: <tenants dir>/secrets.',
      format: String,
      default: '',
      env: 'RB_SECRETS_DIR',
    },
    envPrefixes: {
      doc: "Prefixes the names of env vars holding tenants' secrets must start with (comma-separated); the host's own RB_* variables are never allowed.",
      format: 'env-prefix-list',
      default: [DEFAULT_SECRET_ENV_PREFIX],
      env: 'RB_SECRETS_ENV_PREFIXES',
    },
  },
  api: {
    tokens: {
      doc: 'Bearer tokens for the control API: JSON array of {name, token, role: admin|tenant-operator|tenant, tenant? or tenants?}; every token distinct.',
      format: 'api-tokens',
      default: [] as ApiToken[],
      env: 'RB_API_TOKENS',
      sensitive: true,
    },
  },
  log: {
    level: {
      doc: 'Log level.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'RB_LOG_LEVEL',
    },
  },
  sync: {
    batchSize: {
      doc: 'Records per batch read, staged and applied (memory is bounded by it).',
      format: wholeNumber(1, 100_000),
      default: 1000,
      env: 'RB_SYNC_BATCH_SIZE',
    },
    applyTimeoutMs: {
      doc: "Deadline of one target's apply() of a batch.",
      format: wholeNumber(1000, 24 * HOUR_MS),
      default: 120000,
      env: 'RB_SYNC_APPLY_TIMEOUT_MS',
    },
    leaseMs: {
      doc: "How long a host holds a run without renewing; a dead host's runs are taken over after it.",
      format: wholeNumber(1000, HOUR_MS),
      default: 30000,
      env: 'RB_SYNC_LEASE_MS',
    },
    sweepMs: { doc: 'How often a host looks for runs to take over.', format: wholeNumber(100, HOUR_MS), default: 5000, env: 'RB_SYNC_SWEEP_MS' },
    maxConcurrentRuns: {
      doc: 'Runs one host executes at once; further runs wait queued until this host or another (on the same database) has room.',
      format: wholeNumber(1, 1000),
      default: 4,
      env: 'RB_SYNC_MAX_RUNS',
    },
    maxIssuesPerCode: {
      doc: "Issues a run stores per code, from its source and from each target; the rest are counted (the run's counts stay exact) and summed up in an ISSUES_NOT_STORED warning per code.",
      format: wholeNumber(1, 1_000_000),
      default: 1000,
      env: 'RB_SYNC_MAX_ISSUES_PER_CODE',
    },
    retentionDays: {
      doc: 'Finished runs and their issues older than this many days are deleted (checked hourly); 0 keeps them forever.',
      format: wholeNumber(0, 36_500),
      default: 90,
      env: 'RB_SYNC_RETENTION_DAYS',
    },
    schedule: {
      enabled: {
        doc: "Run the tenants' targets on their cron schedules (on the pg-boss queue); off: manual runs only.",
        format: 'strict-boolean',
        default: true,
        env: 'RB_SCHEDULE_ENABLED',
      },
      pollSeconds: {
        doc: 'How often a host asks the queue for scheduled runs due.',
        format: wholeNumber(1, 3600),
        default: 5,
        env: 'RB_SCHEDULE_POLL_SECONDS',
      },
      cronCheckSeconds: {
        doc: 'How often (1–45 s) one of the hosts checks which cron schedules are due.',
        format: wholeNumber(1, 45),
        default: 30,
        env: 'RB_SCHEDULE_CRON_CHECK_SECONDS',
      },
      maxRunHours: {
        doc: 'A scheduled run still unfinished after this long (1–23 h) is given up by the queue and retried.',
        format: wholeNumber(1, 23),
        default: 12,
        env: 'RB_SCHEDULE_MAX_RUN_HOURS',
      },
    },
    retry: {
      limit: {
        doc: 'Retries of a scheduled run that failed transiently (source down, slow, rate-limited, package not there yet; another run active).',
        format: wholeNumber(0, 100),
        default: 3,
        env: 'RB_RETRY_LIMIT',
      },
      delaySeconds: {
        doc: 'Delay before the first retry; each next one waits about twice as long.',
        format: wholeNumber(1, 86_400),
        default: 300,
        env: 'RB_RETRY_DELAY_SECONDS',
      },
    },
  },
  deadlines: {
    checkMs: {
      doc: "Deadline of a source's connection check (test connection), in ms.",
      format: wholeNumber(100, HOUR_MS),
      default: 60_000,
      env: 'RB_DEADLINE_CHECK_MS',
    },
    fingerprintMs: {
      doc: "Deadline of a source's fingerprint (before and after a full read), in ms.",
      format: wholeNumber(100, 24 * HOUR_MS),
      default: 600_000,
      env: 'RB_DEADLINE_FINGERPRINT_MS',
    },
    readMs: {
      doc: "Deadline of a source's read to each next batch, in ms.",
      format: wholeNumber(100, 24 * HOUR_MS),
      default: 300_000,
      env: 'RB_DEADLINE_READ_MS',
    },
    resetMs: { doc: "Deadline of a target's reset, in ms.", format: wholeNumber(100, 24 * HOUR_MS), default: 600_000, env: 'RB_DEADLINE_RESET_MS' },
    disposeMs: {
      doc: "Deadline of a source's or target's dispose, in ms (an overrun is logged and the session abandoned).",
      format: wholeNumber(100, HOUR_MS),
      default: 30_000,
      env: 'RB_DEADLINE_DISPOSE_MS',
    },
  },
  shutdownTimeoutMs: { doc: 'Deadline for a graceful shutdown.', format: wholeNumber(1000, HOUR_MS), default: 15000, env: 'RB_SHUTDOWN_TIMEOUT_MS' },
};

/** One key of the host config, as `rosterbridge config check` and the README describe it. */
export interface HostConfigKey {
  key: string;
  env: string;
  default: unknown;
  doc: string;
  /** The values it takes, where narrower than its type: `1–45`, `true, false, 1, 0`, a list. */
  values?: string;
}

/** What a host with no API token means, said at start and by `config check`. */
export const NO_API_TOKEN_WARNING =
  'no API token is configured (api.tokens, env RB_API_TOKENS): the control API answers 401 to every request but /healthz, /readyz and /docs, ' +
  "so no run can be started, followed or managed through it (the CLI's sync, runs and run included); scheduled runs still run. " +
  'Set RB_API_TOKENS to a JSON list such as [{"name":"ops","token":"<at least 16 random characters>","role":"admin"}]';

/** Describes every key: its env var, default, the values it takes and its doc. */
export function describeHostConfig(): HostConfigKey[] {
  const out: HostConfigKey[] = [];
  const walk = (node: Record<string, any>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      if (v && typeof v === 'object' && 'doc' in v) {
        const values = valuesOf(v.format);
        out.push({ key: prefix + k, env: v.env, default: v.sensitive ? '(secret)' : v.default, doc: v.doc, ...(values ? { values } : {}) });
      } else walk(v, `${prefix}${k}.`);
    }
  };
  walk(schema, '');
  return out;
}

function valuesOf(format: unknown): string | undefined {
  if (Array.isArray(format)) return format.join(', ');
  if (format === 'strict-boolean') return 'true, false, 1, 0';
  const range = typeof format === 'string' ? WHOLE_NUMBER_RANGES.get(format) : undefined;
  if (!range) return undefined;
  return range.max === Number.MAX_SAFE_INTEGER ? `≥ ${grouped(range.min)}` : `${grouped(range.min)}–${grouped(range.max)}`;
}

/**
 * Loads the host config: defaults, then an optional JSON file, then env vars, then overrides.
 * Fails with CONFIG_INVALID naming each key that is wrong, where its value came from (the env var,
 * or the file and the env var that would override it) and what it takes; values are never echoed
 * for sensitive keys. An unknown key in the file is refused, naming it and its siblings.
 */
export function loadHostConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown>; cwd?: string } = {}): HostConfig {
  const env = options.env ?? process.env;
  const config = convict(schema, { env, args: [] });
  const fromFile = options.file ? readConfigFile(options.file) : undefined;
  try {
    if (fromFile) config.load(fromFile);
    if (options.overrides) config.load(options.overrides);
    config.validate({ allowed: 'strict' });
  } catch (err) {
    const problems = problemsIn(String((err as Error).message));
    // Where the bad value came from: the env var wins over the file, which is named when it holds the key.
    const where = (key: string): string => {
      const name = envByKey.get(key);
      if (name !== undefined && env[name] !== undefined) return ` (env ${name})`;
      const places = [fromFile && has(fromFile, key) ? `in ${options.file}` : undefined, name && `env ${name}`].filter(Boolean);
      return places.length > 0 ? ` (${places.join('; ')})` : '';
    };
    const text = problems.map((p) => `${p.key}${where(p.key)}: ${p.message}`).join('; ');
    throw new RosterbridgeError('CONFIG_INVALID', `host config is invalid: ${text}`, { keys: problems.map((p) => p.key) }, { cause: err });
  }
  const value = config.getProperties() as HostConfig;
  const cwd = options.cwd ?? process.cwd();
  value.dataDir = path.resolve(cwd, value.dataDir);
  value.tenants.dir = path.resolve(cwd, value.tenants.dir);
  value.secrets.dir = value.secrets.dir === '' ? path.join(value.tenants.dir, 'secrets') : path.resolve(cwd, value.secrets.dir);
  value.plugins.dirs = value.plugins.dirs.map((d) => path.resolve(cwd, d));
  const both = value.plugins.workers.filter((id) => value.plugins.inProcess.includes(id));
  if (both.length > 0)
    throw new RosterbridgeError(
      'CONFIG_INVALID',
      `host config is invalid: plugins.workers (env RB_PLUGIN_WORKERS) and plugins.inProcess (env RB_PLUGIN_IN_PROCESS) both name ${both.join(', ')}: a plugin runs in one place`,
      { keys: ['plugins.workers', 'plugins.inProcess'] },
    );
  return value;
}

const envByKey = new Map(describeHostConfig().map((d) => [d.key, d.env]));

/** The env vars of the host's own configuration (`RB_…`): never a tenant's secret. */
export function hostEnvNames(): string[] {
  return describeHostConfig().map((d) => d.env);
}

/** Where the host lets tenants' secret references point (see {@link SecretPolicy}). */
export function secretPolicy(config: HostConfig): SecretPolicy {
  return { dir: config.secrets.dir, envPrefixes: config.secrets.envPrefixes, hostEnv: new Set(hostEnvNames()) };
}

function readConfigFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RosterbridgeError('CONFIG_INVALID', `host config file ${file} cannot be read as JSON: ${errorMessage(err)}`, { keys: [], file }, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new RosterbridgeError('CONFIG_INVALID', `host config file ${file} must hold a JSON object ({"http": {"port": 8080}, …})`, { keys: [], file });
  return parsed as Record<string, unknown>;
}

function has(object: Record<string, unknown>, key: string): boolean {
  let node: unknown = object;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return true;
}

/**
 * Reads convict's error text, one problem a line: `key: message[: value was "…"]` (the value
 * dropped: the formats name it, and never for a sensitive key), `configuration param 'key' not
 * declared in the schema`, or `configuration param 'key' missing from config, …`.
 */
function problemsIn(message: string): { key: string; message: string }[] {
  return message
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
      if (undeclared) return { key: undeclared[1]!, message: `is not a setting of the host; ${settingsBeside(undeclared[1]!)}` };
      const missing = /^configuration param '(.+)' missing from config/.exec(line);
      if (missing) return { key: missing[1]!, message: 'is missing: is one of the keys above it set to a value instead of an object?' };
      const invalid = /^([\w.]+): (.*?)(?:: value was (.*))?$/s.exec(line);
      if (!invalid) return { key: '(host config)', message: line };
      const [, key, text, value] = invalid;
      // "must be one of …" says nothing of the value: say it, as the host's own formats do.
      return { key: key!, message: value !== undefined && text!.startsWith('must be') && !text!.includes(', got ') ? `${text}, got ${value}` : text! };
    });
}

/** "http takes host, port": what the parent of an unknown key holds. */
function settingsBeside(key: string): string {
  const parts = key.split('.').slice(0, -1);
  // The nearest known group above the key (a misspelt group is not one).
  for (;;) {
    const parent = parts.length > 0 ? `${parts.join('.')}.` : '';
    const names = new Set(
      describeHostConfig()
        .filter((d) => d.key.startsWith(parent))
        .map((d) => d.key.slice(parent.length).split('.')[0]!),
    );
    if (names.size > 0) return `${parent ? `${parent.slice(0, -1)} takes` : 'the settings are'} ${[...names].join(', ')}`;
    parts.pop();
  }
}
