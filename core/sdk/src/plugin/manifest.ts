import { ROSTER_ENTITY_ORDER } from '../roster/roster-entity';
import { parseRosterContract } from '../target/roster-contracts';

/** A JSON Schema object, as contributed by a plugin for its per-tenant settings. */
export type JsonSchema = Record<string, unknown>;

/** A source a plugin contributes: an SIS connector other code asks for by id. */
export interface SourceContribution {
  /** Kebab-case id, referenced by tenant config (`source.type`). */
  id: string;
  displayName?: string;
  /** Whether the source can pull only what changed since a point (a delta package, `dateLastModified>`…). */
  supportsDelta?: boolean;
  /**
   * The change contracts (entity and version) its records feed, e.g. `roster.orgs@1`: what a target
   * of a tenant using this source may consume ({@link RosterContracts}).
   */
  produces: string[];
}

/** A target a plugin contributes: a product schema the engine writes to. */
export interface TargetContribution {
  /** Kebab-case id, referenced by tenant config (`targets.<id>`). */
  id: string;
  displayName?: string;
  /**
   * The change contracts (entity and version) the target consumes, e.g. `roster.users@1`: the engine
   * delivers it those entities' changes as that version, and refuses the target when no source
   * produces it and no adapter derives it ({@link RosterContracts}).
   */
  consumes: string[];
  /**
   * How the product sums up a run in its own words, line by line, for the console and the CLI: each
   * line a label and either a sum of the run's counts (`entity` and `counts`, e.g. users created +
   * updated) or a `figure` the target reports ({@link TargetApplyResult.figures}: School Manager's
   * matched students). Without it, a run is summed up in the engine's words.
   */
  summary?: TargetSummaryLine[];
}

/** One line of a target's {@link TargetContribution.summary}. */
export interface TargetSummaryLine {
  /** What the product calls it ("Matched students"); at most 80 characters. */
  label: string;
  /** A figure the target reports by this name (camelCase). */
  figure?: string;
  /** Or a sum of the run's counts: of this entity (every entity when left out)… */
  entity?: string;
  /** …of these kinds of count. */
  counts?: ('created' | 'updated' | 'unchanged' | 'deleted' | 'skipped' | 'errors')[];
}

/**
 * A schedule a plugin contributes. In package.json either a cron expression (`"0 0,6,12,18 * * *"`, run in
 * the tenant's time zone) or an object naming the time zone, outright or by the tenant's region:
 * `{ "cron": "0 18 * * 2,5", "timezoneByRegion": { "US": "America/Chicago", "AU": "Australia/Perth" } }`.
 */
export interface ScheduleContribution {
  /** Cron expression of 5 fields (or 6, with seconds first). */
  cron: string;
  /** IANA time zone the cron is read in; otherwise the tenant's region's, otherwise the tenant's. */
  timezone?: string;
  /** Time zone by tenant region code (`US`, `NZ`, `AU`, `UK`…). */
  timezoneByRegion?: Record<string, string>;
}

/**
 * A command a plugin contributes: a product action an operator runs for one tenant (start
 * Gradient's academic year, import School Manager's accounts…), like VS Code's
 * `contributes.commands`, with a JSON Schema of its arguments. The host validates the arguments
 * against it before the plugin's handler ({@link RegisterCommand}) sees them.
 *
 * ```json
 * { "id": "gradient.startAcademicYear", "title": "Start the academic year",
 *   "arguments": { "type": "object", "properties": { "year": { "type": "integer" } } } }
 * ```
 */
export interface CommandContribution {
  /** `<prefix>.<name>`, e.g. `gradient.startAcademicYear`; unique in the host. */
  id: string;
  /** What it does, in a few words (at most 100 characters). */
  title: string;
  /** More about it: what it changes, when to run it (at most 1,000 characters). */
  description?: string;
  /**
   * JSON Schema (`"type": "object"`) of the arguments. Unknown arguments are refused unless it says
   * `additionalProperties`. A string argument with `"contentMediaType"` (`"text/csv"`) is a file's
   * content: the CLI's `--file` fills it.
   */
  arguments: JsonSchema;
  /** True when the command changes nothing: it then runs without holding the tenant's operation. */
  readOnly: boolean;
}

/** Bounds of a command contribution: ids, texts, how many, and its argument schema's size. */
export const COMMAND_LIMITS = { commands: 50, id: 100, title: 100, description: 1000, argumentsSchemaBytes: 16 * 1024 } as const;

/** What a plugin adds to the host, declared before its code loads. */
export interface PluginContributions {
  sources: SourceContribution[];
  targets: TargetContribution[];
  /** Commands operators run per tenant (`POST /tenants/:id/commands/:command`). */
  commands: CommandContribution[];
  /** JSON Schema of the plugin's per-tenant settings. Secret fields carry `"x-secret": true`. */
  configuration?: JsonSchema;
  /**
   * Named schedules, e.g. `{ "default": "0 2 * * *", "twice-daily": "0 6,18 * * *" }`. `default` is
   * what a tenant's target runs on unless the tenant file says otherwise; a tenant may pick another
   * by name.
   */
  schedules: Record<string, ScheduleContribution>;
}

/**
 * A plugin's manifest: read from the `rosterbridge` field (and `name`, `version`, `main`,
 * `engines.rosterbridge`) of its package.json, and validated before any of its code loads.
 *
 * ```json
 * { "name": "@rosterbridge/target-kybergate", "version": "1.0.0", "main": "dist/index.js",
 *   "engines": { "rosterbridge": "^1.0.0" },
 *   "rosterbridge": { "id": "target-kybergate", "activationEvents": ["onTarget:kybergate"],
 *     "dependencies": [], "contributes": { "targets": [{ "id": "kybergate", "consumes": ["roster.users@1"] }] } } }
 * ```
 */
export interface PluginManifest {
  /** Kebab-case plugin id, unique in the host. */
  id: string;
  /** npm package name. */
  packageName: string;
  version: string;
  displayName: string;
  description?: string;
  /** Entry module, relative to the plugin directory. */
  main: string;
  /** Semver range of Rosterbridge versions the plugin works with. */
  engine: string;
  /**
   * Events that activate the plugin: `onStartup`, `*`, `onSource:<id>`, `onTarget:<id>`,
   * `onCommand:<command id>`. A contributed source, target or command activates its plugin when it
   * is first used whether or not its event is listed.
   */
  activationEvents: string[];
  /** Ids of plugins that must be active before this one. */
  dependencies: string[];
  contributes: PluginContributions;
  /**
   * Where the plugin's code runs: `in-process` (the default) in the host's own thread, or `worker`
   * in a worker thread of its own, with memory limits, which the host terminates when it crashes,
   * exceeds its memory or overruns a call's deadline (the host's config may override this per plugin).
   */
  isolation?: PluginIsolation;
  /** Memory limits of the plugin's worker (`isolation: "worker"`); the host's defaults otherwise. */
  resourceLimits?: PluginResourceLimits;
}

/** Where a plugin's code runs (see {@link PluginManifest.isolation}). */
export type PluginIsolation = 'in-process' | 'worker';

/** The isolation modes a manifest may ask for. */
export const PLUGIN_ISOLATIONS: readonly PluginIsolation[] = ['in-process', 'worker'];

/** A worker's memory limits, in MB (Node's `resourceLimits`). */
export interface PluginResourceLimits {
  /** The most its heap's old generation may hold; past it the worker is terminated (PLUGIN_OUT_OF_MEMORY). */
  maxOldGenerationSizeMb?: number;
  /** The most its heap's young generation may hold. */
  maxYoungGenerationSizeMb?: number;
}

/** One thing wrong with a manifest, naming the field. */
export interface ManifestProblem {
  field: string;
  message: string;
  /** A stable code, where the problem has one (`CONTRACT_UNKNOWN_ENTITY`…). */
  code?: string;
}

/** The outcome of reading a manifest: either a manifest or the problems that refused it. */
export type ManifestResult = { ok: true; manifest: PluginManifest } | { ok: false; problems: ManifestProblem[]; id?: string };

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const EVENT = /^(\*|onStartup|on(Source|Target):[a-z][a-z0-9]*(-[a-z0-9]+)*|onCommand:[a-z][a-z0-9]*(-[a-z0-9]+)*(\.[a-zA-Z][a-zA-Z0-9]*)+)$/;
/** A command id: a kebab-case prefix and camel-case names, dot-separated (`gradient.startAcademicYear`). */
export const COMMAND_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*(\.[a-zA-Z][a-zA-Z0-9]*)+$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a package.json as a plugin manifest. Never throws: every problem names its field
 * (`rosterbridge.activationEvents[1]`, `engines.rosterbridge`…).
 */
export function readManifest(packageJson: unknown): ManifestResult {
  const problems: ManifestProblem[] = [];
  const problem = (field: string, message: string, code?: string) => problems.push({ field, message, ...(code ? { code } : {}) });
  // A non-empty list of change contracts (`produces`, `consumes`), each checked apart; false when one is refused.
  const contracts = (value: unknown, field: string, verb: string): value is string[] => {
    if (!Array.isArray(value) || value.length === 0) {
      problem(field, `must list the change contracts it ${verb}, such as "roster.users@1"`, 'CONTRACT_MALFORMED');
      return false;
    }
    let ok = true;
    value.forEach((c, i) => {
      const r = parseRosterContract(c);
      if (!r.ok) {
        problem(`${field}[${i}]`, r.message, r.code);
        ok = false;
      } else if (value.indexOf(c) !== i) {
        problem(`${field}[${i}]`, `"${c}" is listed twice`, 'CONTRACT_MALFORMED');
        ok = false;
      }
    });
    return ok;
  };
  if (!isRecord(packageJson)) return { ok: false, problems: [{ field: '(package.json)', message: 'must be a JSON object' }] };
  const pkg = packageJson;
  const rb = pkg.rosterbridge;
  if (!isRecord(rb))
    return { ok: false, problems: [{ field: 'rosterbridge', message: 'is required and must be an object: this package is not a Rosterbridge plugin' }] };

  const id = rb.id;
  if (typeof id !== 'string' || !KEBAB.test(id)) problem('rosterbridge.id', 'must be a kebab-case string such as "target-kybergate"');
  if (typeof pkg.name !== 'string' || pkg.name.length === 0) problem('name', 'must be the npm package name');
  if (typeof pkg.version !== 'string' || !VERSION.test(pkg.version)) problem('version', `must be a semver version, got ${JSON.stringify(pkg.version)}`);
  if (pkg.main !== undefined && typeof pkg.main !== 'string') problem('main', 'must be a path to the entry module');
  const engines = pkg.engines;
  const engine = isRecord(engines) ? engines.rosterbridge : undefined;
  if (typeof engine !== 'string' || engine.trim() === '')
    problem('engines.rosterbridge', 'is required: a semver range of Rosterbridge versions, such as "^1.0.0"');
  if (rb.displayName !== undefined && typeof rb.displayName !== 'string') problem('rosterbridge.displayName', 'must be a string');

  const activationEvents = rb.activationEvents ?? [];
  if (!Array.isArray(activationEvents)) problem('rosterbridge.activationEvents', 'must be an array of strings');
  else
    activationEvents.forEach((e, i) => {
      if (typeof e !== 'string' || !EVENT.test(e))
        problem(
          `rosterbridge.activationEvents[${i}]`,
          `${JSON.stringify(e)} is not an activation event (onStartup, *, onSource:<id>, onTarget:<id>, onCommand:<command id>)`,
        );
    });

  const dependencies = rb.dependencies ?? [];
  if (!Array.isArray(dependencies)) problem('rosterbridge.dependencies', 'must be an array of plugin ids');
  else
    dependencies.forEach((d, i) => {
      if (typeof d !== 'string' || !KEBAB.test(d)) problem(`rosterbridge.dependencies[${i}]`, `${JSON.stringify(d)} is not a plugin id`);
      else if (d === id) problem(`rosterbridge.dependencies[${i}]`, 'a plugin cannot depend on itself');
    });

  const isolation = rb.isolation ?? 'in-process';
  if (!PLUGIN_ISOLATIONS.includes(isolation as PluginIsolation))
    problem('rosterbridge.isolation', `${JSON.stringify(isolation)} is not an isolation (${PLUGIN_ISOLATIONS.join(', ')})`);
  const resourceLimits = readResourceLimits(rb.resourceLimits, problem);

  const contributes = rb.contributes ?? {};
  const sources: SourceContribution[] = [];
  const targets: TargetContribution[] = [];
  const commands: CommandContribution[] = [];
  const schedules: Record<string, ScheduleContribution> = {};
  let configuration: JsonSchema | undefined;
  if (!isRecord(contributes)) problem('rosterbridge.contributes', 'must be an object');
  else {
    const known = new Set(['sources', 'targets', 'commands', 'configuration', 'schedules']);
    for (const key of Object.keys(contributes))
      if (!known.has(key)) problem(`rosterbridge.contributes.${key}`, `is not a contribution point (${[...known].join(', ')})`);
    readList(contributes.sources, 'rosterbridge.contributes.sources', problem, (s, field) => {
      if (typeof s.id !== 'string' || !KEBAB.test(s.id)) return problem(`${field}.id`, 'must be a kebab-case id');
      if (s.supportsDelta !== undefined && typeof s.supportsDelta !== 'boolean') return problem(`${field}.supportsDelta`, 'must be a boolean');
      if (!contracts(s.produces, `${field}.produces`, 'produces')) return;
      sources.push({
        id: s.id,
        displayName: typeof s.displayName === 'string' ? s.displayName : undefined,
        supportsDelta: s.supportsDelta === true,
        produces: s.produces,
      });
    });
    readList(contributes.targets, 'rosterbridge.contributes.targets', problem, (s, field) => {
      if (typeof s.id !== 'string' || !KEBAB.test(s.id)) return problem(`${field}.id`, 'must be a kebab-case id');
      if (!contracts(s.consumes, `${field}.consumes`, 'consumes')) return;
      const summary = readSummary(s.summary, `${field}.summary`, problem);
      if (summary === null) return;
      targets.push({
        id: s.id,
        displayName: typeof s.displayName === 'string' ? s.displayName : undefined,
        consumes: s.consumes,
        ...(summary ? { summary } : {}),
      });
    });
    readCommands(contributes.commands, problem, commands);
    if (contributes.configuration !== undefined) {
      if (!isRecord(contributes.configuration) || contributes.configuration.type !== 'object')
        problem('rosterbridge.contributes.configuration', 'must be a JSON Schema with "type": "object"');
      else configuration = contributes.configuration;
    }
    if (contributes.schedules !== undefined) {
      if (!isRecord(contributes.schedules)) problem('rosterbridge.contributes.schedules', 'must be an object of named cron expressions');
      else
        for (const [name, value] of Object.entries(contributes.schedules)) {
          const field = `rosterbridge.contributes.schedules.${name}`;
          const entry = typeof value === 'string' ? { cron: value } : value;
          if (!isRecord(entry)) {
            problem(field, `${JSON.stringify(value)} is neither a cron expression nor { "cron", "timezone" }`);
            continue;
          }
          const { cron, timezone, timezoneByRegion } = entry;
          const known = new Set(['cron', 'timezone', 'timezoneByRegion']);
          const unknown = Object.keys(entry).filter((k) => !known.has(k));
          if (unknown.length > 0) problem(`${field}.${unknown[0]}`, `is not a schedule key (cron, timezone, timezoneByRegion)`);
          else if (typeof cron !== 'string' || cron.trim().split(/\s+/).length < 5 || cron.trim().split(/\s+/).length > 6)
            problem(typeof value === 'string' ? field : `${field}.cron`, `${JSON.stringify(cron)} is not a cron expression of 5 or 6 fields`);
          else if (timezone !== undefined && typeof timezone !== 'string') problem(`${field}.timezone`, 'must be an IANA time zone name');
          else if (timezoneByRegion !== undefined && (!isRecord(timezoneByRegion) || Object.values(timezoneByRegion).some((tz) => typeof tz !== 'string')))
            problem(`${field}.timezoneByRegion`, 'must map region codes to IANA time zone names');
          else
            schedules[name] = {
              cron,
              ...(timezone !== undefined ? { timezone: timezone as string } : {}),
              ...(timezoneByRegion !== undefined ? { timezoneByRegion: timezoneByRegion as Record<string, string> } : {}),
            };
        }
    }
  }

  if (problems.length > 0) return { ok: false, problems, id: typeof id === 'string' ? id : undefined };
  return {
    ok: true,
    manifest: {
      id: id as string,
      packageName: pkg.name as string,
      version: pkg.version as string,
      displayName: typeof rb.displayName === 'string' ? rb.displayName : (id as string),
      description: typeof pkg.description === 'string' ? pkg.description : undefined,
      main: typeof pkg.main === 'string' ? pkg.main : 'index.js',
      engine: engine as string,
      activationEvents: activationEvents as string[],
      dependencies: dependencies as string[],
      contributes: { sources, targets, commands, configuration, schedules },
      isolation: isolation as PluginIsolation,
      ...(resourceLimits ? { resourceLimits } : {}),
    },
  };
}

/** The largest memory limit a manifest may ask for, in MB. */
const MAX_LIMIT_MB = 64 * 1024;

function readResourceLimits(value: unknown, problem: (field: string, message: string) => void): PluginResourceLimits | undefined {
  if (value === undefined) return undefined;
  const field = 'rosterbridge.resourceLimits';
  if (!isRecord(value)) {
    problem(field, 'must be an object ({ "maxOldGenerationSizeMb": 256 })');
    return undefined;
  }
  const limits: PluginResourceLimits = {};
  for (const [key, limit] of Object.entries(value)) {
    if (key !== 'maxOldGenerationSizeMb' && key !== 'maxYoungGenerationSizeMb') {
      problem(`${field}.${key}`, 'is not a limit (maxOldGenerationSizeMb, maxYoungGenerationSizeMb)');
      continue;
    }
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT_MB) {
      problem(`${field}.${key}`, `must be a whole number of MB from 1 to ${MAX_LIMIT_MB}, got ${JSON.stringify(limit)}`);
      continue;
    }
    limits[key] = limit;
  }
  return limits;
}

/** An argument schema that takes no arguments: what a command declaring none gets. */
const NO_ARGUMENTS: JsonSchema = { type: 'object', additionalProperties: false, properties: {} };

function readCommands(value: unknown, problem: (field: string, message: string) => void, commands: CommandContribution[]): void {
  const field = 'rosterbridge.contributes.commands';
  if (Array.isArray(value) && value.length > COMMAND_LIMITS.commands)
    return problem(field, `lists ${value.length} commands; a plugin contributes at most ${COMMAND_LIMITS.commands}`);
  const seen = new Set<string>();
  readList(value, field, problem, (c, at) => {
    const known = new Set(['id', 'title', 'description', 'arguments', 'readOnly']);
    const unknown = Object.keys(c).find((k) => !known.has(k));
    if (unknown !== undefined) return problem(`${at}.${unknown}`, `is not a command key (${[...known].join(', ')})`);
    if (typeof c.id !== 'string' || c.id.length > COMMAND_LIMITS.id || !COMMAND_ID.test(c.id))
      return problem(
        `${at}.id`,
        `must be a command id such as "gradient.startAcademicYear" (a kebab-case prefix, then dot-separated names; at most ${COMMAND_LIMITS.id} characters)`,
      );
    if (seen.has(c.id)) return problem(`${at}.id`, `"${c.id}" is contributed twice`);
    seen.add(c.id);
    if (typeof c.title !== 'string' || c.title.trim() === '' || c.title.length > COMMAND_LIMITS.title)
      return problem(`${at}.title`, `must be a non-empty string of at most ${COMMAND_LIMITS.title} characters`);
    if (c.description !== undefined && (typeof c.description !== 'string' || c.description.length > COMMAND_LIMITS.description))
      return problem(`${at}.description`, `must be a string of at most ${COMMAND_LIMITS.description} characters`);
    if (c.readOnly !== undefined && typeof c.readOnly !== 'boolean') return problem(`${at}.readOnly`, 'must be a boolean');
    if (c.arguments !== undefined) {
      if (!isRecord(c.arguments) || c.arguments.type !== 'object') return problem(`${at}.arguments`, 'must be a JSON Schema with "type": "object"');
      const size = Buffer.byteLength(JSON.stringify(c.arguments));
      if (size > COMMAND_LIMITS.argumentsSchemaBytes)
        return problem(`${at}.arguments`, `is ${size} bytes of JSON; an argument schema has at most ${COMMAND_LIMITS.argumentsSchemaBytes}`);
    }
    commands.push({
      id: c.id,
      title: c.title,
      ...(typeof c.description === 'string' ? { description: c.description } : {}),
      arguments: (c.arguments as JsonSchema | undefined) ?? NO_ARGUMENTS,
      readOnly: c.readOnly === true,
    });
  });
}

function readList(
  value: unknown,
  field: string,
  problem: (field: string, message: string) => void,
  each: (entry: Record<string, unknown>, field: string) => void,
): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) return problem(field, 'must be an array');
  value.forEach((entry, i) => {
    if (!isRecord(entry)) problem(`${field}[${i}]`, 'must be an object');
    else each(entry, `${field}[${i}]`);
  });
}

const COUNT_KINDS = ['created', 'updated', 'unchanged', 'deleted', 'skipped', 'errors'] as const;
const FIGURE = /^[a-z][A-Za-z0-9]{0,63}$/;

/** A target's summary lines, undefined when absent, null (with the problems said) when refused. */
function readSummary(value: unknown, field: string, problem: (field: string, message: string) => void): TargetSummaryLine[] | undefined | null {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 20) {
    problem(field, 'must be a list of 1 to 20 lines');
    return null;
  }
  const lines: TargetSummaryLine[] = [];
  let ok = true;
  value.forEach((line: unknown, i) => {
    const at = `${field}[${i}]`;
    const refuse = (key: string, message: string) => {
      problem(`${at}${key}`, message);
      ok = false;
    };
    if (!isRecord(line)) return refuse('', 'must be an object');
    const known = new Set(['label', 'figure', 'entity', 'counts']);
    for (const key of Object.keys(line)) if (!known.has(key)) return refuse(`.${key}`, 'is not a summary field (label, figure, entity, counts)');
    if (typeof line.label !== 'string' || line.label.trim() === '' || line.label.length > 80) return refuse('.label', 'must be a text of 1 to 80 characters');
    if (line.figure !== undefined) {
      if (typeof line.figure !== 'string' || !FIGURE.test(line.figure)) return refuse('.figure', 'must be a camelCase name');
      if (line.entity !== undefined || line.counts !== undefined) return refuse('', 'takes a figure or counts, not both');
      lines.push({ label: line.label, figure: line.figure });
      return;
    }
    if (!Array.isArray(line.counts) || line.counts.length === 0 || line.counts.some((c) => !(COUNT_KINDS as readonly unknown[]).includes(c)))
      return refuse('.counts', `must list kinds of count (${COUNT_KINDS.join(', ')}), or give a figure`);
    if (line.entity !== undefined && (typeof line.entity !== 'string' || !(ROSTER_ENTITY_ORDER as readonly string[]).includes(line.entity)))
      return refuse('.entity', `must be a roster entity (${ROSTER_ENTITY_ORDER.join(', ')})`);
    lines.push({ label: line.label, ...(line.entity ? { entity: line.entity } : {}), counts: line.counts as TargetSummaryLine['counts'] });
  });
  return ok ? lines : null;
}
