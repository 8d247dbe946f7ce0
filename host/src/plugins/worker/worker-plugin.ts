import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import {
  type CommandHandler,
  type ConnectionCheck,
  type Disposable,
  type ErrorCode,
  type Logger,
  type PluginContext,
  type PluginManifest,
  type PluginModule,
  type PluginResourceLimits,
  RosterbridgeError,
  type RosterBatch,
  type RosterChangeEvent,
  type RosterEntity,
  type RosterReadOptions,
  type RosterSource,
  type RosterSourceSession,
  type RosterTarget,
  type RosterTargetSession,
  type SecretCensor,
  type SourceLimits,
  type TargetApplyResult,
  errorMessage,
  isRosterbridgeError,
} from '@rosterbridge/core';
import { hostEnvNames } from '../../config/host-config';
import {
  type FromWorker,
  type HostRequestOp,
  type OpenedSource,
  type OpenedTarget,
  type PluginWorkerData,
  type TenantSnapshot,
  type ToWorker,
  type WireError,
  type WorkerCallOp,
  fromWire,
} from './worker-protocol';

/** What the host lends a worker plugin. */
export interface WorkerPluginOptions {
  /** A PostgreSQL server's URL (the worker opens its own small pool), or empty: the embedded database, reached through `db`. */
  databaseUrl: string;
  /** The host's kysely, which runs the queries of a worker on the embedded database. */
  db: Kysely<unknown>;
  /** The host's censor: what the worker logs passes through it, and it picks the secrets out of settings handed over. */
  censor: SecretCensor;
  sourceLimits?: SourceLimits;
  /** The worker's memory: the host's default, or what the manifest asks for. */
  resourceLimits: PluginResourceLimits;
  activationTimeoutMs: number;
  callTimeoutMs: number;
  /** Fails the plugin in the registry (with `PluginRegistry.crash`). */
  fail(pluginId: string, code: ErrorCode, reason: string): void;
  logger: Logger;
}

/** The compiled runtime of a worker (next to this file once built). */
const WORKER_RUNTIME = path.join(__dirname, 'plugin-worker.js');

/**
 * The stand-in module of a plugin that runs in a worker thread: its `activate` starts the worker
 * (which loads the real module, runs its migrations and activates it) and registers, in the host's
 * registries, proxies of the sources, targets and commands the plugin registers there. The plugin's
 * code never runs in the host's thread.
 */
export function workerModule(main: string, manifest: PluginManifest, options: WorkerPluginOptions): PluginModule {
  let worker: PluginWorker | undefined;
  return {
    async activate(context: PluginContext) {
      worker = new PluginWorker(main, manifest, context, options);
      context.subscriptions.add(worker);
      await worker.activate();
      return undefined;
    },
    async deactivate() {
      await worker?.deactivate();
    },
  };
}

interface PendingCall {
  what: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

/** A database connection the host holds for a worker on the embedded database, until it lets go. */
interface HeldConnection {
  /** Undefined until the host's pool hands the connection over. */
  db?: Kysely<unknown>;
  inTransaction: boolean;
  release(): void;
  done: Promise<void>;
}

/**
 * One plugin's worker, seen from the host: calls with deadlines, the worker's asks answered, and its
 * end. A worker that throws uncaught, exits, runs out of memory or overruns a call's deadline is
 * terminated; every pending call rejects with the coded reason and the plugin is failed in the
 * registry (it stays failed until the host restarts: a plugin that spun once is not trusted again
 * on its own).
 */
export class PluginWorker implements Disposable {
  private readonly worker: Worker;
  private readonly log: Logger;
  private readonly pending = new Map<number, PendingCall>();
  private readonly registrations = new Map<number, Disposable>();
  private readonly remembered = new Map<number, Disposable>();
  private readonly connections = new Map<number, HeldConnection>();
  private nextId = 1;
  /** Set once the worker is gone: why, as the error every later call rejects with. */
  private ended?: RosterbridgeError;
  private readonly exited: Promise<void>;

  constructor(
    main: string,
    private readonly manifest: PluginManifest,
    private readonly context: PluginContext,
    private readonly options: WorkerPluginOptions,
  ) {
    this.log = options.logger.child({ plugin: manifest.id, isolation: 'worker' });
    const data: PluginWorkerData = {
      manifest,
      main,
      schema: context.storage.schema,
      databaseUrl: options.databaseUrl,
      ...(options.sourceLimits ? { sourceLimits: options.sourceLimits } : {}),
      tenants: this.tenantSnapshots(),
    };
    this.worker = new Worker(WORKER_RUNTIME, {
      workerData: data,
      resourceLimits: options.resourceLimits,
      env: workerEnv(),
      name: `plugin:${manifest.id}`,
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
    this.worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY')
        this.end(
          'PLUGIN_OUT_OF_MEMORY',
          `its worker exceeded its memory limit (${options.resourceLimits.maxOldGenerationSizeMb ?? '?'} MB) and was terminated`,
        );
      else this.end('PLUGIN_CRASHED', `uncaught exception in its worker: ${errorMessage(err)}`);
    });
    this.worker.on('exit', (exitCode) => this.end('PLUGIN_CRASHED', `its worker exited (code ${exitCode})`));
    // Run events of the plugin's tenants, as in-process plugins hear them.
    context.subscriptions.add(context.onDidRunEvent((event) => this.send({ kind: 'runEvent', event })));
  }

  async activate(): Promise<void> {
    await this.call('activate', [], { what: 'activate()', timeoutMs: this.options.activationTimeoutMs });
    this.log.info({ resourceLimits: this.options.resourceLimits }, 'plugin runs in a worker thread');
  }

  async deactivate(): Promise<void> {
    if (this.ended) return;
    await this.call('deactivate', [], { what: 'deactivate()', timeoutMs: this.options.activationTimeoutMs });
  }

  /** Terminates the worker (host shutdown, or the plugin failed): what it held is let go. */
  async dispose(): Promise<void> {
    if (!this.ended) {
      this.ended = new RosterbridgeError('PLUGIN_FAILED', `plugin "${this.manifest.id}" was deactivated`, { plugin: this.manifest.id });
      this.settleAll(this.ended);
      await this.worker.terminate().catch(() => undefined);
    }
    await this.exited;
    await this.releaseConnections();
    for (const registration of this.registrations.values()) await registration.dispose();
    this.registrations.clear();
  }

  /**
   * Calls into the worker. The call's deadline runs on the host's thread, which a busy plugin does
   * not block: past it the worker is terminated and the plugin failed with DEADLINE_EXCEEDED.
   */
  call<T>(
    op: WorkerCallOp,
    args: unknown[],
    options: { what: string; signal?: AbortSignal; boundSignal?: number; timeoutMs?: number; transfer?: ArrayBuffer[] },
  ): Promise<T> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs;
    const bound = options.signal && this.bindSignal(options.signal);
    const signalId = bound?.id ?? options.boundSignal;
    return new Promise<T>((resolve, reject) => {
      const pending: PendingCall = { what: options.what, resolve: resolve as (v: unknown) => void, reject };
      pending.timer = setTimeout(
        () => this.end('DEADLINE_EXCEEDED', `plugin "${this.manifest.id}" ${options.what} did not answer within ${timeoutMs} ms; its worker was terminated`),
        timeoutMs,
      );
      this.pending.set(id, pending);
      this.send({ kind: 'call', id, op, args, ...(signalId !== undefined ? { signal: signalId } : {}) }, options.transfer);
    }).finally(() => bound?.dispose());
  }

  /** A signal of the host's, mirrored in the worker until the call (or the read) is over. */
  bindSignal(signal: AbortSignal): { id: number; dispose(): void } {
    const id = this.nextId++;
    const abort = () => this.send({ kind: 'abort', signal: id, reason: errorMessage(signal.reason ?? 'aborted') });
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    return {
      id,
      dispose: () => {
        signal.removeEventListener('abort', abort);
        this.send({ kind: 'release', signal: id });
      },
    };
  }

  /** Tells the worker what it may know of its tenants now (before a call that opens one). */
  refreshTenants(): void {
    this.send({ kind: 'tenants', tenants: this.tenantSnapshots() });
  }

  private tenantSnapshots(): TenantSnapshot[] {
    const snapshots: TenantSnapshot[] = [];
    for (const tenantId of this.context.tenantIds) {
      try {
        const tenant = this.context.forTenant(tenantId);
        snapshots.push({ tenantId, configDir: tenant.configDir, info: tenant.info() });
      } catch {
        // a tenant whose file went away: the worker does not see it
      }
    }
    return snapshots;
  }

  private send(message: ToWorker, transfer?: ArrayBuffer[]): void {
    if (this.ended && message.kind !== 'release') return;
    try {
      this.worker.postMessage(message, transfer);
    } catch (err) {
      if (message.kind === 'call') {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        clearTimeout(pending?.timer);
        pending?.reject(
          new RosterbridgeError(
            'PLUGIN_FAILED',
            `plugin "${this.manifest.id}" ${pending.what}: what it was given cannot cross to its worker: ${errorMessage(err)}`,
          ),
        );
      }
    }
  }

  /** The worker is gone or must go: every pending call rejects with why, and the plugin is failed. */
  private end(code: ErrorCode, reason: string): void {
    if (this.ended) return;
    this.ended = new RosterbridgeError(code, `plugin "${this.manifest.id}" failed: ${reason}`, { plugin: this.manifest.id });
    this.log.error({ code, reason }, 'plugin worker terminated');
    this.settleAll(this.ended);
    void this.worker.terminate().catch(() => undefined);
    void this.exited.then(() => this.releaseConnections());
    this.options.fail(this.manifest.id, code, reason);
  }

  private settleAll(err: RosterbridgeError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.pending.clear();
  }

  private onMessage(message: FromWorker): void {
    switch (message.kind) {
      case 'reply': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(fromWire(message.error));
        return;
      }
      case 'request':
        this.answer(message.op, message.args).then(
          (value) => this.send({ kind: 'answer', id: message.id, ok: true, value }),
          (err: unknown) => this.send({ kind: 'answer', id: message.id, ok: false, error: databaseWire(err) }),
        );
        return;
      case 'log': {
        const log = Object.keys(message.bindings).length > 0 ? this.context.logger.child(message.bindings) : this.context.logger;
        log[message.level](message.fields, message.message);
        return;
      }
      case 'register':
        this.registrations.set(message.handle, this.registerProxy(message.what, message.contributionId));
        return;
      case 'unregister':
        void this.registrations.get(message.handle)?.dispose();
        this.registrations.delete(message.handle);
        return;
      case 'remember':
        try {
          this.remembered.set(message.handle, this.options.censor.remember(message.secret));
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'a secret the plugin remembered was refused by the censor');
        }
        return;
      case 'forget':
        void this.remembered.get(message.handle)?.dispose();
        this.remembered.delete(message.handle);
        return;
    }
  }

  private registerProxy(what: 'source' | 'target' | 'command', contributionId: string): Disposable {
    if (what === 'source') return this.context.registerSource(contributionId, new WorkerSource(this, contributionId));
    if (what === 'target') return this.context.registerTarget(contributionId, new WorkerTarget(this, contributionId));
    const handler: CommandHandler = (tenantId, args, { signal, by }) => {
      this.refreshTenants();
      return this.call('command', [contributionId, tenantId, args, by], { what: `command ${contributionId}`, signal });
    };
    return this.context.registerCommand(contributionId, handler);
  }

  /** The worker's asks: its tenants' settings, and (embedded database) its queries. */
  private async answer(op: HostRequestOp, args: unknown[]): Promise<unknown> {
    switch (op) {
      case 'settings': {
        const settings = await this.context.forTenant(args[0] as string).settings();
        return { settings, secrets: secretsIn(settings, this.options.censor) };
      }
      case 'db.acquire':
        return this.acquire();
      case 'db.query': {
        const [id, text, parameters] = args as [number, string, unknown[]];
        return this.connection(id).db.executeQuery(CompiledQuery.raw(text, parameters));
      }
      case 'db.begin': {
        const held = this.connection(args[0] as number);
        const level = args[1] as string | null;
        await sql.raw(level ? `begin isolation level ${isolationLevel(level)}` : 'begin').execute(held.db);
        held.inTransaction = true;
        return undefined;
      }
      case 'db.commit':
      case 'db.rollback': {
        const held = this.connection(args[0] as number);
        held.inTransaction = false;
        await sql.raw(op === 'db.commit' ? 'commit' : 'rollback').execute(held.db);
        return undefined;
      }
      case 'db.release': {
        const held = this.connections.get(args[0] as number);
        this.connections.delete(args[0] as number);
        held?.release();
        return undefined;
      }
    }
  }

  /**
   * Holds one of the host's connections for the worker: kysely's `connection()` keeps it for as long
   * as its callback runs, and the callback waits for the worker to let go (or to be terminated).
   */
  private async acquire(): Promise<number> {
    const id = this.nextId++;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let acquired!: (db: Kysely<unknown>) => void;
    const connection = new Promise<Kysely<unknown>>((resolve) => (acquired = resolve));
    const done = this.options.db.connection().execute(async (db) => {
      acquired(db);
      await released;
    });
    const held: HeldConnection = { inTransaction: false, release, done: done.catch(() => undefined) };
    this.connections.set(id, held);
    try {
      held.db = await Promise.race([connection, done.then(() => Promise.reject(new Error('the connection was let go before it was acquired')))]);
    } catch (err) {
      this.connections.delete(id);
      throw err;
    }
    // The worker ended while it waited for the connection: hand it back at once.
    if (!this.connections.has(id)) release();
    return id;
  }

  private connection(id: number): HeldConnection & { db: Kysely<unknown> } {
    const held = this.connections.get(id);
    if (!held?.db) throw new Error(`connection ${id} is not held for this worker`);
    return held as HeldConnection & { db: Kysely<unknown> };
  }

  /** What a terminated worker held: its transactions rolled back, its connections handed back. */
  private async releaseConnections(): Promise<void> {
    const held = [...this.connections.values()];
    this.connections.clear();
    for (const connection of held) {
      if (connection.db && connection.inTransaction)
        await sql
          .raw('rollback')
          .execute(connection.db)
          .catch(() => undefined);
      connection.release();
      await connection.done;
    }
  }
}

/** A proxy of a source the plugin registered in its worker. */
class WorkerSource implements RosterSource {
  constructor(
    private readonly worker: PluginWorker,
    private readonly contributionId: string,
  ) {}

  async open(tenant: { tenantId: string }): Promise<RosterSourceSession> {
    this.worker.refreshTenants();
    const opened = await this.worker.call<OpenedSource>('source.open', [this.contributionId, tenant.tenantId], {
      what: `source ${this.contributionId} open()`,
    });
    return new WorkerSourceSession(this.worker, this.contributionId, opened);
  }
}

class WorkerSourceSession implements RosterSourceSession {
  readonly capabilities: RosterSourceSession['capabilities'];
  readonly fingerprint?: (signal?: AbortSignal) => Promise<string | undefined>;

  constructor(
    private readonly worker: PluginWorker,
    private readonly contributionId: string,
    private readonly opened: OpenedSource,
  ) {
    this.capabilities = opened.capabilities as RosterSourceSession['capabilities'];
    if (opened.fingerprint)
      this.fingerprint = (signal) =>
        worker.call('source.fingerprint', [opened.session], { what: `source ${contributionId} fingerprint()`, ...(signal ? { signal } : {}) });
  }

  check(signal?: AbortSignal): Promise<ConnectionCheck> {
    return this.worker.call('source.check', [this.opened.session], { what: `source ${this.contributionId} check()`, ...(signal ? { signal } : {}) });
  }

  async *read<E extends RosterEntity>(entity: E, options: RosterReadOptions): AsyncIterable<RosterBatch<E>> {
    const { signal, ...rest } = options;
    const bound = this.worker.bindSignal(signal);
    let finished = false;
    try {
      // The read's signal lives as long as the read: the worker's iterator holds it.
      const reader = await this.worker.call<number>('source.read', [this.opened.session, entity, rest], {
        what: `source ${this.contributionId} read(${entity})`,
        boundSignal: bound.id,
      });
      try {
        for (;;) {
          // Each next batch has the call deadline: a read that spins between batches ends its worker.
          const next = await this.worker.call<{ done: boolean; value?: RosterBatch<E> }>('reader.next', [reader], {
            what: `source ${this.contributionId} read(${entity}) next batch`,
          });
          if (next.done) {
            finished = true;
            return;
          }
          yield next.value!;
        }
      } finally {
        if (!finished)
          await this.worker.call('reader.return', [reader], { what: `source ${this.contributionId} read(${entity}) return` }).catch(() => undefined);
      }
    } finally {
      bound.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.worker.call('session.dispose', [this.opened.session], { what: `source ${this.contributionId} dispose()` }).catch(ignoreEnded);
  }
}

/** A proxy of a target the plugin registered in its worker. It offers no `load`: a worker target is fed by `apply`. */
class WorkerTarget implements RosterTarget {
  constructor(
    private readonly worker: PluginWorker,
    private readonly contributionId: string,
  ) {}

  async open(tenant: { tenantId: string }): Promise<RosterTargetSession> {
    this.worker.refreshTenants();
    const opened = await this.worker.call<OpenedTarget>('target.open', [this.contributionId, tenant.tenantId], {
      what: `target ${this.contributionId} open()`,
    });
    return new WorkerTargetSession(this.worker, this.contributionId, opened);
  }
}

class WorkerTargetSession implements RosterTargetSession {
  readonly finish?: (signal: AbortSignal) => Promise<TargetApplyResult | undefined>;
  readonly pausedReason?: (signal: AbortSignal) => Promise<string | undefined>;

  constructor(
    private readonly worker: PluginWorker,
    private readonly contributionId: string,
    private readonly opened: OpenedTarget,
  ) {
    if (opened.finish) this.finish = (signal) => worker.call('target.finish', [opened.session], { what: `target ${contributionId} finish()`, signal });
    if (opened.pausedReason)
      this.pausedReason = (signal) => worker.call('target.pausedReason', [opened.session], { what: `target ${contributionId} pausedReason()`, signal });
  }

  /**
   * The batch crosses by structured clone. The engine's transaction (`context`) cannot cross a
   * thread: the target writes in a transaction of its own, as the contract allows.
   */
  apply(batch: readonly RosterChangeEvent[], signal: AbortSignal): Promise<TargetApplyResult> {
    return this.worker.call('target.apply', [this.opened.session, batch], { what: `target ${this.contributionId} apply()`, signal });
  }

  reset(signal: AbortSignal): Promise<void> {
    return this.worker.call('target.reset', [this.opened.session], { what: `target ${this.contributionId} reset()`, signal });
  }

  async dispose(): Promise<void> {
    await this.worker.call('session.dispose', [this.opened.session], { what: `target ${this.contributionId} dispose()` }).catch(ignoreEnded);
  }
}

/** Disposing a session of a worker that is gone has nothing left to do. */
function ignoreEnded(err: unknown): void {
  if (isRosterbridgeError(err) && ['PLUGIN_FAILED', 'PLUGIN_CRASHED', 'PLUGIN_OUT_OF_MEMORY', 'DEADLINE_EXCEEDED'].includes(err.code)) return;
  throw err;
}

/** The strings of resolved settings the host's censor knows for secrets: the worker's censor learns them. */
function secretsIn(value: unknown, censor: SecretCensor): string[] {
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (censor.has(v)) found.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
}

const ISOLATION_LEVELS = new Set(['read uncommitted', 'read committed', 'repeatable read', 'serializable', 'snapshot']);
function isolationLevel(level: string): string {
  if (!ISOLATION_LEVELS.has(level)) throw new Error(`unknown isolation level ${level}`);
  return level;
}

/** A database error as the worker's kysely expects it: its SQLSTATE kept (`23505`). */
function databaseWire(err: unknown): WireError {
  const code = (err as { code?: unknown }).code;
  return { message: errorMessage(err), ...(typeof code === 'string' ? { code } : {}) };
}

/** The worker's environment: the host's own settings (`RB_…`: its database URL, its API tokens) left out. */
function workerEnv(): NodeJS.ProcessEnv {
  const hidden = new Set(hostEnvNames());
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !hidden.has(name)));
}
