/**
 * The runtime of a plugin's worker thread: it loads the plugin's module, runs its migrations on a
 * database connection of its own (PostgreSQL) or through the host (embedded), calls `activate` with
 * a context whose host-side parts (settings, logs, the censor, registrations) are messages, and
 * answers the host's calls into the sources, targets and commands the plugin registered. It holds
 * no state the host needs: the host may terminate it at any moment.
 */
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import {
  type CommandHandler,
  DisposableStore,
  Emitter,
  ISourceLimits,
  type LogFields,
  type Logger,
  type PluginContext,
  type PluginModule,
  RosterbridgeError,
  type RosterSource,
  type RosterSourceSession,
  type RosterTarget,
  type RosterTargetSession,
  type RosterBatch,
  type RosterChangeEvent,
  type RosterEntity,
  type RosterReadOptions,
  SecretCensor,
  ServiceScope,
  type SyncRunEvent,
  type TenantContext,
  errorMessage,
  toDisposable,
} from '@rosterbridge/core';
import { migrateSchema } from '../../database/migrations';
import { MessageDialect } from './message-dialect';
import {
  type FromWorker,
  type HostRequestOp,
  type OpenedSource,
  type OpenedTarget,
  type PluginWorkerData,
  type TenantSnapshot,
  type ToWorker,
  toWire,
} from './worker-protocol';

const port = parentPort!;
const data = workerData as PluginWorkerData;
const manifest = data.manifest;

function post(message: FromWorker): void {
  port.postMessage(message);
}

// Asks of the host thread, answered by `answer` messages.
let nextRequest = 1;
const requests = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
function ask(op: HostRequestOp, args: unknown[]): Promise<unknown> {
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    requests.set(id, { resolve, reject });
    post({ kind: 'request', id, op, args });
  });
}

// Signals the host aborts by message; each lives until the host releases it.
const signals = new Map<number, AbortController>();
function signalFor(id: number | undefined): AbortSignal {
  if (id === undefined) return new AbortController().signal;
  let controller = signals.get(id);
  if (!controller) signals.set(id, (controller = new AbortController()));
  return controller.signal;
}

class WorkerLogger implements Logger {
  constructor(private readonly bindings: LogFields) {}
  private line(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', fields: LogFields | string, message?: string): void {
    try {
      post({ kind: 'log', level, bindings: this.bindings, fields, message });
    } catch {
      // Fields that cannot be cloned (a function, a socket): their text instead.
      post({ kind: 'log', level, bindings: this.bindings, fields: typeof fields === 'string' ? fields : { fields: String(fields) }, message });
    }
  }
  trace(fields: LogFields | string, message?: string) {
    this.line('trace', fields, message);
  }
  debug(fields: LogFields | string, message?: string) {
    this.line('debug', fields, message);
  }
  info(fields: LogFields | string, message?: string) {
    this.line('info', fields, message);
  }
  warn(fields: LogFields | string, message?: string) {
    this.line('warn', fields, message);
  }
  error(fields: LogFields | string, message?: string) {
    this.line('error', fields, message);
  }
  child(bindings: LogFields): Logger {
    return new WorkerLogger({ ...this.bindings, ...bindings });
  }
}

/**
 * The censor a plugin's tenant view gets in the worker: it knows the secrets of the settings the
 * host handed over and what the plugin remembers (each also sent to the host, whose censor cleans
 * the worker's log lines). Secrets of the host and of other tenants never enter the worker.
 */
class WorkerCensor extends SecretCensor {
  private nextHandle = 1;
  override remember(secret: string) {
    const local = super.remember(secret);
    const handle = this.nextHandle++;
    post({ kind: 'remember', secret, handle });
    return toDisposable(() => {
      local.dispose();
      post({ kind: 'forget', handle });
    });
  }
  /** Learns the host's secrets of settings without announcing them back. */
  learn(secret: string): void {
    if (!this.has(secret)) super.remember(secret);
  }
}

let tenants = new Map<string, TenantSnapshot>(data.tenants.map((t) => [t.tenantId, t]));
const scope = ServiceScope.createRoot();
if (data.sourceLimits) scope.register(ISourceLimits, { useValue: data.sourceLimits });
const logger = new WorkerLogger({});
const runEvents = new Emitter<SyncRunEvent>();
const database = data.databaseUrl
  ? new Kysely<unknown>({ dialect: new PostgresDialect({ pool: workerPool(data.databaseUrl) }) })
  : new Kysely<unknown>({ dialect: new MessageDialect(ask) });

function workerPool(url: string): Pool {
  const pool = new Pool({ connectionString: url, max: 2, application_name: `rosterbridge:${manifest.id}` });
  pool.on('error', (err) => logger.error({ err: errorMessage(err) }, 'idle database connection of the worker failed'));
  return pool;
}

const sources = new Map<string, RosterSource>();
const targets = new Map<string, RosterTarget>();
const commands = new Map<string, CommandHandler>();
const sessions = new Map<number, RosterSourceSession | RosterTargetSession>();
const readers = new Map<number, { iterator: AsyncIterator<RosterBatch>; signal: number }>();
let nextHandle = 1;
let pluginModule: PluginModule | undefined;

const tenantContexts = new Map<string, TenantContext & { censor: WorkerCensor }>();
function forTenant(tenantId: string): TenantContext {
  const existing = tenantContexts.get(tenantId);
  if (existing) return existing;
  const snapshot = tenants.get(tenantId);
  if (!snapshot)
    throw new RosterbridgeError('TENANT_NOT_FOUND', `tenant "${tenantId}" does not enable plugin "${manifest.id}"`, { tenant: tenantId, plugin: manifest.id });
  const censor = new WorkerCensor();
  const view = {
    tenantId,
    scope: scope.createChild(`tenant:${tenantId}`),
    logger: logger.child({ tenant: tenantId }),
    get configDir() {
      return tenants.get(tenantId)?.configDir ?? snapshot.configDir;
    },
    censor,
    info() {
      return structuredClone((tenants.get(tenantId) ?? snapshot).info);
    },
    async settings<T>() {
      const answer = (await ask('settings', [tenantId])) as { settings: T; secrets: string[] };
      for (const secret of answer.secrets) censor.learn(secret);
      return answer.settings;
    },
  };
  tenantContexts.set(tenantId, view);
  return view;
}

function register<T>(what: 'source' | 'target' | 'command', table: Map<string, T>, contributionId: string, value: T) {
  const handle = nextHandle++;
  table.set(contributionId, value);
  post({ kind: 'register', what, contributionId, handle });
  return toDisposable(() => {
    if (table.get(contributionId) === value) table.delete(contributionId);
    post({ kind: 'unregister', handle });
  });
}

const context: PluginContext = {
  id: manifest.id,
  manifest,
  subscriptions: new DisposableStore(),
  scope,
  logger,
  storage: { schema: data.schema, db: database.withSchema(data.schema) },
  get tenantIds() {
    return [...tenants.keys()];
  },
  forTenant,
  onDidRunEvent: runEvents.event,
  getDependencyApi() {
    throw new RosterbridgeError(
      'PLUGIN_ISOLATION_UNSUPPORTED',
      `plugin "${manifest.id}" runs in a worker, where another plugin's API cannot reach: run it in-process (plugins.inProcess)`,
      { plugin: manifest.id },
    );
  },
  registerSource: (contributionId, source) => register('source', sources, contributionId, source),
  registerTarget: (contributionId, target) => register('target', targets, contributionId, target),
  registerCommand: (commandId, handler) => register('command', commands, commandId, handler as CommandHandler),
};

function session<T extends RosterSourceSession | RosterTargetSession>(id: unknown): T {
  const found = sessions.get(id as number);
  if (!found) throw new Error(`session ${String(id)} of plugin "${manifest.id}" is not open`);
  return found as T;
}

function contributed<T>(table: Map<string, T>, what: string, id: unknown): T {
  const found = table.get(id as string);
  if (!found) throw new RosterbridgeError('PLUGIN_FAILED', `plugin "${manifest.id}" registered no ${what} "${String(id)}"`, { plugin: manifest.id });
  return found;
}

async function perform(op: string, args: unknown[], signalId: number | undefined): Promise<unknown> {
  const signal = signalFor(signalId);
  switch (op) {
    case 'activate': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pluginModule = require(path.resolve(data.main)) as PluginModule;
      if (typeof pluginModule?.activate !== 'function')
        throw new RosterbridgeError('PLUGIN_LOAD_FAILED', `${data.main} does not export an activate(context) function`);
      await migrateSchema(database, data.schema, pluginModule.migrations ?? {});
      try {
        await pluginModule.activate(context);
      } catch (err) {
        throw new RosterbridgeError('PLUGIN_ACTIVATION_FAILED', `activate() threw: ${errorMessage(err)}`);
      }
      // Its API stays here: a live object cannot cross to dependents in the host's thread.
      return undefined;
    }
    case 'deactivate':
      await pluginModule?.deactivate?.();
      await context.subscriptions.dispose();
      return undefined;
    case 'source.open': {
      const opened = await contributed(sources, 'source', args[0]).open(forTenant(args[1] as string));
      const id = nextHandle++;
      sessions.set(id, opened);
      return { session: id, capabilities: structuredClone(opened.capabilities), fingerprint: typeof opened.fingerprint === 'function' } satisfies OpenedSource;
    }
    case 'source.check':
      return session<RosterSourceSession>(args[0]).check(signal);
    case 'source.fingerprint':
      return session<RosterSourceSession>(args[0]).fingerprint!(signal);
    case 'source.read': {
      const options = { ...(args[2] as Omit<RosterReadOptions, 'signal'>), signal };
      const iterable = session<RosterSourceSession>(args[0]).read(args[1] as RosterEntity, options);
      const iterator = iterable[Symbol.asyncIterator]();
      const id = nextHandle++;
      readers.set(id, { iterator, signal: signalId! });
      return id;
    }
    case 'reader.next': {
      const reader = readers.get(args[0] as number);
      if (!reader) return { done: true };
      const next = await reader.iterator.next();
      if (next.done) readers.delete(args[0] as number);
      return next.done ? { done: true } : { done: false, value: next.value };
    }
    case 'reader.return': {
      const reader = readers.get(args[0] as number);
      readers.delete(args[0] as number);
      await reader?.iterator.return?.();
      return undefined;
    }
    case 'target.open': {
      const opened = await contributed(targets, 'target', args[0]).open(forTenant(args[1] as string));
      const id = nextHandle++;
      sessions.set(id, opened);
      return { session: id, finish: typeof opened.finish === 'function', pausedReason: typeof opened.pausedReason === 'function' } satisfies OpenedTarget;
    }
    case 'target.apply':
      // No ApplyContext: the engine's transaction cannot cross a thread; the target writes in its own.
      return session<RosterTargetSession>(args[0]).apply(decodeBatch(args[1]), signal);
    case 'target.finish':
      return session<RosterTargetSession>(args[0]).finish!(signal);
    case 'target.reset':
      return session<RosterTargetSession>(args[0]).reset(signal);
    case 'target.pausedReason':
      return session<RosterTargetSession>(args[0]).pausedReason!(signal);
    case 'session.dispose': {
      const found = sessions.get(args[0] as number);
      sessions.delete(args[0] as number);
      await found?.dispose();
      return undefined;
    }
    case 'command': {
      const [commandId, tenantId, commandArgs, by] = args as [string, string, Record<string, unknown>, string];
      const tenant = forTenant(tenantId);
      return contributed(commands, 'command', commandId)(tenantId, commandArgs, {
        signal,
        log: tenant.logger.child({ command: commandId }),
        tenant,
        by,
      });
    }
    default:
      throw new Error(`unknown call ${op}`);
  }
}

/**
 * A batch as the host sent it: structured clone. JSON in a transferred buffer was measured too (the
 * sync benchmark, large district): no faster, and its stringify runs on the host's thread.
 */
function decodeBatch(wire: unknown): RosterChangeEvent[] {
  return wire as RosterChangeEvent[];
}

port.on('message', (message: ToWorker) => {
  switch (message.kind) {
    case 'call':
      perform(message.op, message.args, message.signal).then(
        (value) => post({ kind: 'reply', id: message.id, ok: true, value }),
        (err: unknown) => post({ kind: 'reply', id: message.id, ok: false, error: toWire(err) }),
      );
      return;
    case 'answer': {
      const pending = requests.get(message.id);
      requests.delete(message.id);
      if (!pending) return;
      if (message.ok) pending.resolve(message.value);
      else pending.reject(Object.assign(new Error(message.error.message), message.error.code ? { code: message.error.code } : {}));
      return;
    }
    case 'abort':
      signalFor(message.signal);
      signals.get(message.signal)!.abort(new RosterbridgeError('CANCELLED', message.reason));
      return;
    case 'release':
      signals.delete(message.signal);
      return;
    case 'runEvent':
      runEvents.fire(message.event);
      return;
    case 'tenants':
      tenants = new Map(message.tenants.map((t) => [t.tenantId, t]));
      return;
  }
});
