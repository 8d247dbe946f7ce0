import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import {
  type CommandContribution,
  type CommandResult,
  type JsonSchema,
  type PluginManifest,
  RosterbridgeError,
  errorMessage,
  isRosterbridgeError,
  withDeadline,
} from '@rosterbridge/core';
import { type CommandRegistry, type PluginRegistry } from '@rosterbridge/engine';
import type { TenantOperations } from '../sync/tenant-operations';
import type { TenantRegistry } from '../tenants/tenant-registry';

/** A command as the API lists it for a tenant. */
export interface CommandView {
  id: string;
  title: string;
  description?: string;
  /** The plugin that contributes it. */
  plugin: string;
  /** True when it changes nothing (it then runs without holding the tenant's operation). */
  readOnly: boolean;
  /** JSON Schema of its arguments. */
  arguments: JsonSchema;
}

/** What running a command answered. */
export interface CommandOutcome {
  tenant: string;
  command: string;
  plugin: string;
  by: string;
  durationMs: number;
  result: CommandResult;
}

/** How commands run on this host. */
export interface CommandServiceOptions {
  /** How long a command may run before its caller is answered DEADLINE_EXCEEDED and its signal aborts. */
  deadlineMs: number;
  /** The largest result, as JSON, a command may answer (default 256 KiB). */
  maxResultBytes?: number;
}

/** The most a command's result may weigh, as JSON, unless the host says otherwise. */
export const MAX_COMMAND_RESULT_BYTES = 256 * 1024;

/**
 * Runs the commands plugins contribute, for one tenant at a time: the command must belong to a
 * plugin the tenant enables, its arguments must fit the schema its manifest declares (defaults filled
 * in, unknown arguments refused), its plugin is activated on `onCommand:<id>`, and a command that
 * writes runs as the tenant's one operation (TENANT_BUSY while a sync starts, a reset, a pause or
 * another command is under way). The API and in-process callers (the demo, the benchmark's seeding)
 * go through here alike.
 *
 * ```ts
 * const { result } = await commands.run('lincoln', 'gradient.startAcademicYear', { year: 2027 }, { by: 'ops' });
 * ```
 */
export class CommandService {
  private readonly ajv: Ajv;
  private readonly validators = new WeakMap<object, ValidateFunction>();

  constructor(
    private readonly plugins: PluginRegistry,
    private readonly commands: CommandRegistry,
    private readonly tenants: TenantRegistry,
    private readonly operations: TenantOperations,
    private readonly options: CommandServiceOptions,
  ) {
    this.ajv = commandArgumentsAjv();
  }

  /** The commands of the plugins the tenant enables (its source's and its enabled targets'), by id. */
  list(tenantId: string): CommandView[] {
    this.tenants.config(tenantId);
    return this.plugins
      .allManifests()
      .filter((m) => this.tenants.pluginUse(tenantId, m.id))
      .flatMap((m) => m.contributes.commands.map((c) => view(m, c)))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Runs a command for a tenant. Refusals are coded: COMMAND_UNKNOWN (404), COMMAND_NOT_ENABLED
   * (409), COMMAND_ARGUMENTS_INVALID (400, the argument named), TENANT_BUSY (409), the plugin's
   * failure to activate, COMMAND_NOT_REGISTERED, COMMAND_REFUSED (the product's reason),
   * COMMAND_FAILED, DEADLINE_EXCEEDED.
   */
  async run(tenantId: string, commandId: string, args: unknown, request: { by: string; signal?: AbortSignal }): Promise<CommandOutcome> {
    this.tenants.config(tenantId);
    const manifest = this.plugins.findContributor('commands', commandId);
    const contribution = manifest?.contributes.commands.find((c) => c.id === commandId);
    if (!manifest || !contribution)
      throw new RosterbridgeError(
        'COMMAND_UNKNOWN',
        `no installed plugin contributes command ${quote(commandId)} (GET /tenants/${tenantId}/commands lists the tenant's)`,
        {
          command: clip(commandId),
        },
      );
    if (!this.tenants.pluginUse(tenantId, manifest.id)) throw notEnabled(tenantId, manifest, commandId);
    const validated = this.validate(contribution, args);

    await this.plugins.activate(manifest.id, `onCommand:${commandId}`);
    const handler = this.commands.get(commandId);
    if (!handler)
      throw new RosterbridgeError(
        'COMMAND_NOT_REGISTERED',
        `plugin "${manifest.id}" is active but registered no handler for command "${commandId}" (context.registerCommand)`,
        {
          plugin: manifest.id,
          command: commandId,
        },
      );
    const tenant = this.plugins.contextOf(manifest.id).forTenant(tenantId);
    const log = tenant.logger.child({ command: commandId });

    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = setTimeout(
      () => controller.abort(new RosterbridgeError('DEADLINE_EXCEEDED', `command "${commandId}" overran its deadline`)),
      this.options.deadlineMs,
    );
    const started = Date.now();
    const execute = async () => handler(tenantId, validated, { signal: controller.signal, log, tenant, by: request.by });
    // A command that writes holds the tenant until its handler settles, even past the caller's deadline.
    const work = contribution.readOnly ? execute() : this.operations.run(tenantId, { operation: 'command', target: commandId, by: request.by }, execute);
    try {
      const answer = await withDeadline(work, this.options.deadlineMs, `command "${commandId}" for tenant "${tenantId}"`);
      const result = this.checkResult(manifest.id, commandId, answer);
      const durationMs = Date.now() - started;
      log.info({ by: request.by, durationMs, arguments: Object.keys(validated) }, 'command ran');
      return { tenant: tenantId, command: commandId, plugin: manifest.id, by: request.by, durationMs, result };
    } catch (err) {
      const failure = this.failure(manifest.id, commandId, err, controller.signal);
      log.warn({ by: request.by, code: failure.code, reason: failure.message, durationMs: Date.now() - started }, 'command failed');
      if (failure.code === 'COMMAND_FAILED') log.error({ err: errorMessage(err), stack: (err as Error)?.stack }, 'command handler threw');
      throw failure;
    } finally {
      clearTimeout(deadline);
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The arguments as the handler gets them: validated, defaults filled in; COMMAND_ARGUMENTS_INVALID naming the first argument at fault. */
  private validate(contribution: CommandContribution, args: unknown): Record<string, unknown> {
    let validate = this.validators.get(contribution.arguments);
    if (!validate) {
      validate = this.ajv.compile(closedSchema(contribution.arguments));
      this.validators.set(contribution.arguments, validate);
    }
    const copy = args === undefined || args === null ? {} : structuredClone(args);
    if (validate(copy)) return copy as Record<string, unknown>;
    const { message, argument } = argumentProblem(validate.errors ?? []);
    throw new RosterbridgeError('COMMAND_ARGUMENTS_INVALID', `command "${contribution.id}": ${message}`, {
      command: contribution.id,
      ...(argument ? { argument } : {}),
    });
  }

  private checkResult(pluginId: string, commandId: string, answer: unknown): CommandResult {
    const bad = (why: string) =>
      new RosterbridgeError('COMMAND_FAILED', `plugin "${pluginId}" answered command "${commandId}" with ${why}`, { plugin: pluginId, command: commandId });
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer) || typeof (answer as CommandResult).summary !== 'string')
      throw bad('no result: a command answers an object with a `summary`');
    let json: string;
    try {
      json = JSON.stringify(answer);
    } catch (err) {
      throw bad(`a result that is not JSON (${errorMessage(err)})`);
    }
    const max = this.options.maxResultBytes ?? MAX_COMMAND_RESULT_BYTES;
    if (Buffer.byteLength(json) > max)
      throw bad(`a result of ${Buffer.byteLength(json)} bytes; a command answers at most ${max} (a summary, with the first rejections only)`);
    return JSON.parse(json) as CommandResult;
  }

  private failure(pluginId: string, commandId: string, err: unknown, signal: AbortSignal): RosterbridgeError {
    if (isRosterbridgeError(err)) return err;
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      if (isRosterbridgeError(reason)) return reason;
      return new RosterbridgeError('CANCELLED', `command "${commandId}" was stopped: its caller went away or the host is stopping`);
    }
    return new RosterbridgeError(
      'COMMAND_FAILED',
      `plugin "${pluginId}" failed running command "${commandId}": ${errorMessage(err)}`,
      { plugin: pluginId, command: commandId },
      { cause: err },
    );
  }
}

/**
 * The plugins whose command contributions the host refuses before they load: an argument schema that
 * does not compile, or a command id another plugin already contributes. Each with the reason, naming
 * the field.
 */
export function invalidCommandContributions(manifests: readonly PluginManifest[]): { pluginId: string; reason: string }[] {
  const ajv = commandArgumentsAjv();
  const owner = new Map<string, string>();
  const invalid: { pluginId: string; reason: string }[] = [];
  for (const m of manifests) {
    const reasons: string[] = [];
    m.contributes.commands.forEach((c, i) => {
      const field = `rosterbridge.contributes.commands[${i}]`;
      const other = owner.get(c.id);
      if (other) reasons.push(`${field}.id: command "${c.id}" is already contributed by plugin "${other}"`);
      else owner.set(c.id, m.id);
      try {
        ajv.compile(closedSchema(c.arguments));
      } catch (err) {
        reasons.push(`${field}.arguments is not a valid JSON Schema: ${errorMessage(err)}`);
      }
    });
    if (reasons.length > 0) invalid.push({ pluginId: m.id, reason: reasons.join('; ') });
  }
  return invalid;
}

function commandArgumentsAjv(): Ajv {
  // As the control API's own validation: no coercion, no silent removal; defaults filled in.
  const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  addFormats(ajv);
  return ajv;
}

/** Unknown arguments are refused unless the schema says otherwise. */
function closedSchema(schema: JsonSchema): JsonSchema {
  return { ...schema, additionalProperties: schema.additionalProperties ?? false };
}

/** The first schema failure as a sentence naming the argument, and the argument. */
function argumentProblem(errors: ErrorObject[]): { message: string; argument?: string } {
  const e = errors[0];
  if (!e) return { message: 'the arguments do not fit its schema' };
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const named = (extra?: unknown) => argumentName([...path, ...(extra === undefined ? [] : [String(extra)])]);
  if (e.keyword === 'additionalProperties') {
    const argument = named(e.params.additionalProperty);
    return { message: `unknown argument ${quote(argument)}`, argument };
  }
  if (e.keyword === 'required') {
    const argument = named(e.params.missingProperty);
    return { message: `missing argument ${quote(argument)}`, argument };
  }
  if (path.length === 0) return { message: `the arguments ${e.message ?? 'do not fit its schema'}` };
  const argument = named();
  const allowed =
    e.keyword === 'enum' && Array.isArray(e.params.allowedValues) ? `: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` : '';
  return { message: `argument ${quote(argument)} ${e.message ?? 'is invalid'}${allowed}`, argument };
}

/** `rows[0].email`, `year` from path parts; clipped, since the caller chose them. */
function argumentName(parts: string[]): string {
  return clip(parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''));
}

function notEnabled(tenantId: string, manifest: PluginManifest, commandId: string): RosterbridgeError {
  const parts = [...manifest.contributes.targets.map((t) => `target "${t.id}"`), ...manifest.contributes.sources.map((s) => `source "${s.id}"`)];
  return new RosterbridgeError(
    'COMMAND_NOT_ENABLED',
    `command "${commandId}" belongs to plugin "${manifest.id}", which tenant "${tenantId}" does not enable${parts.length ? ` (enable its ${parts.join(' or ')} in the tenant's file)` : ''}`,
    { tenant: tenantId, command: commandId, plugin: manifest.id },
  );
}

function view(manifest: PluginManifest, c: CommandContribution): CommandView {
  return {
    id: c.id,
    title: c.title,
    ...(c.description ? { description: c.description } : {}),
    plugin: manifest.id,
    readOnly: c.readOnly,
    arguments: c.arguments,
  };
}

function quote(text: string): string {
  return JSON.stringify(clip(text));
}

function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
