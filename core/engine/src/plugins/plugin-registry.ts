import * as path from 'node:path';
import {
  Emitter,
  type ErrorCode,
  errorMessage,
  type Event,
  isRosterbridgeError,
  type Logger,
  type PluginContext,
  type PluginManifest,
  type PluginModule,
  RosterbridgeError,
  describeUnmetContracts,
  unmetContracts,
  withDeadline,
} from '@rosterbridge/core';
import type { DiscoveredPlugin } from './plugin-discovery';

/** Where a plugin stands. */
export type PluginState = 'inactive' | 'activating' | 'active' | 'failed' | 'deactivated';

/** A plugin as the control API shows it. */
export interface PluginStatus {
  id: string;
  displayName: string;
  version?: string;
  location: string;
  state: PluginState;
  activationEvents: string[];
  dependencies: string[];
  contributes?: PluginManifest['contributes'];
  /** Why the plugin failed, with a stable code. */
  failure?: { code: ErrorCode; reason: string; problems?: { field: string; message: string }[] };
  /** What activated it (an activation event), when it was activated and how long it took. */
  activation?: { event: string; startedAt: string; durationMs?: number };
}

/** The services the host lends the registry; this keeps core free of I/O and library choices. */
export interface PluginHostServices {
  /** The running Rosterbridge version, checked against `engines.rosterbridge`. */
  readonly hostVersion: string;
  /** True when `version` satisfies the semver `range`. */
  satisfiesEngine(range: string, version: string): boolean;
  /** Deadline for loading, migrating and activating one plugin. */
  readonly activationTimeoutMs: number;
  /** Builds the context handed to `activate` (storage, logger, scope, tenant settings…). */
  createContext(manifest: PluginManifest, location: string, getDependencyApi: (id: string) => unknown): Promise<PluginContext>;
  /** Runs the plugin's own schema migrations before `activate`. */
  migrate(context: PluginContext, module: PluginModule): Promise<void>;
  /**
   * Loads the plugin's code; defaults to `require`. Given the manifest, the host may answer a
   * stand-in whose `activate` runs the plugin elsewhere (a worker thread: `isolation`).
   */
  loadModule?(entry: string, manifest: PluginManifest): PluginModule;
  readonly logger: Logger;
}

interface PluginEntry {
  id: string;
  location: string;
  manifest?: PluginManifest;
  state: PluginState;
  failure?: PluginStatus['failure'];
  activation?: PluginStatus['activation'];
  promise?: Promise<unknown>;
  api?: unknown;
  module?: PluginModule;
  context?: PluginContext;
}

/** Fired whenever a plugin changes state. */
export interface PluginStateChange {
  id: string;
  state: PluginState;
  failure?: PluginStatus['failure'];
}

/**
 * Holds the discovered plugins and activates them lazily, on their activation events, after their
 * dependencies. A plugin that fails (bad manifest, engine range, missing or failed dependency, a
 * throw or an overrun in `activate`) becomes a failed entry with its reason; the others go on.
 */
export class PluginRegistry {
  private readonly entries = new Map<string, PluginEntry>();
  /** Activation order, for last-in first-out deactivation. */
  private readonly activated: PluginEntry[] = [];
  private readonly onDidChangeStateEmitter = new Emitter<PluginStateChange>();
  /** Fires on every plugin state change. */
  readonly onDidChangePluginState: Event<PluginStateChange> = this.onDidChangeStateEmitter.event;
  private disposed = false;

  constructor(private readonly host: PluginHostServices) {}

  /**
   * Registers discovered plugins. Manifest problems, engine mismatches, duplicate ids, missing
   * dependencies and dependency cycles are settled here, before any code loads.
   */
  register(discovered: readonly DiscoveredPlugin[]): void {
    for (const found of discovered) {
      if (!found.result.ok) {
        const id = this.uniqueKey(found.result.id ?? path.basename(found.location));
        const problems = found.result.problems;
        this.entries.set(id, {
          id,
          location: found.location,
          state: 'failed',
          failure: {
            code: 'MANIFEST_INVALID',
            reason: `invalid manifest in ${path.join(found.location, 'package.json')}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
            problems,
          },
        });
        continue;
      }
      const manifest = found.result.manifest;
      if (this.entries.has(manifest.id)) {
        const key = this.uniqueKey(manifest.id);
        this.entries.set(key, {
          id: key,
          location: found.location,
          manifest,
          state: 'failed',
          failure: { code: 'MANIFEST_INVALID', reason: `plugin id "${manifest.id}" is already used by ${this.entries.get(manifest.id)!.location}` },
        });
        continue;
      }
      const entry: PluginEntry = { id: manifest.id, location: found.location, manifest, state: 'inactive' };
      if (!this.engineSatisfied(manifest.engine)) {
        entry.state = 'failed';
        entry.failure = {
          code: 'PLUGIN_ENGINE_INCOMPATIBLE',
          reason: `engines.rosterbridge "${manifest.engine}" does not include this host's version ${this.host.hostVersion}`,
        };
      }
      this.entries.set(manifest.id, entry);
    }
    this.settleDependencies();
  }

  /**
   * Refuses a registered plugin before it loads, for a problem the host found in one of its
   * contributions (say, a configuration schema that is not valid JSON Schema). Dependents fail too.
   */
  refuse(id: string, code: ErrorCode, reason: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.state !== 'inactive') return;
    this.fail(entry, code, reason);
  }

  /** Every plugin with its state, in id order. */
  list(): PluginStatus[] {
    return [...this.entries.values()].sort((a, b) => a.id.localeCompare(b.id)).map((e) => this.status(e));
  }

  /** One plugin's status, or undefined. */
  get(id: string): PluginStatus | undefined {
    const entry = this.entries.get(id);
    return entry && this.status(entry);
  }

  /** The manifests of plugins that are not failed. */
  manifests(): PluginManifest[] {
    return [...this.entries.values()].filter((e) => e.manifest && e.state !== 'failed').map((e) => e.manifest!);
  }

  /** All manifests that were read successfully, failed or not (for contribution lookups). */
  allManifests(): PluginManifest[] {
    return [...this.entries.values()].filter((e) => e.manifest).map((e) => e.manifest!);
  }

  /**
   * Activates every plugin listening for `event` (`onStartup` also wakes `*`), one after another. Never rejects:
   * failures are recorded on the plugins.
   */
  async activateByEvent(event: string): Promise<void> {
    const matching = [...this.entries.values()].filter(
      (e) => e.manifest && (e.manifest.activationEvents.includes(event) || (event === 'onStartup' && e.manifest.activationEvents.includes('*'))),
    );
    // One after another: a plugin that blocks the event loop in activate() would otherwise push the
    // others past their deadlines, and be charged for none of it.
    for (const e of matching) await this.activateEntry(e, event).catch(() => undefined);
  }

  /**
   * Activates one plugin (after its dependencies) and returns its API. Rejects with the plugin's
   * failure when it cannot be activated.
   */
  async activate(id: string, event = `direct:${id}`): Promise<unknown> {
    const entry = this.entries.get(id);
    if (!entry) throw new RosterbridgeError('PLUGIN_NOT_FOUND', `plugin "${id}" is not installed`, { plugin: id });
    return this.activateEntry(entry, event);
  }

  /** The API of an active plugin. */
  getApi<T = unknown>(id: string): T {
    const entry = this.entries.get(id);
    if (!entry || entry.state !== 'active') throw new RosterbridgeError('PLUGIN_FAILED', `plugin "${id}" is not active`, { plugin: id });
    return entry.api as T;
  }

  /** The context an active plugin was activated with (for the host to reach its tenant views). */
  contextOf(id: string): PluginContext {
    const entry = this.entries.get(id);
    if (!entry || entry.state !== 'active' || !entry.context)
      throw this.failureError(entry ?? { id, location: '', state: 'failed', failure: { code: 'PLUGIN_NOT_FOUND', reason: 'not installed' } });
    return entry.context;
  }

  /** The manifest of the plugin contributing a source, target or command with this id, if any. */
  findContributor(kind: 'sources' | 'targets' | 'commands', contributionId: string): PluginManifest | undefined {
    return this.allManifests().find((m) => m.contributes[kind].some((c) => c.id === contributionId));
  }

  /**
   * The plugin whose code `err` was thrown in, from its stack: the first frame in a plugin's folder
   * (the plugin's own `node_modules` included). Undefined when no frame is in a plugin's folder.
   */
  attribute(err: unknown): string | undefined {
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    const folders = [...this.entries.values()].filter((e) => e.manifest && e.location).map((e) => ({ id: e.id, folder: path.resolve(e.location) + path.sep }));
    for (const line of stack.split('\n').slice(1)) {
      const hit = folders.find((f) => line.includes(f.folder));
      if (hit) return hit.id;
    }
    return undefined;
  }

  /**
   * Fails a plugin whose code threw outside any call the host made (a timer, a callback), or whose
   * worker the host terminated (`code`: PLUGIN_CRASHED, PLUGIN_OUT_OF_MEMORY, DEADLINE_EXCEEDED): it
   * is marked failed with the code and the reason, what it set up is disposed (its timers and
   * listeners, if it registered them; its registrations), and it is not used again until the host
   * restarts. Runs that use it fail at their next call into it.
   */
  async crash(id: string, reason: string, code: ErrorCode = 'PLUGIN_CRASHED'): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry || entry.state === 'failed' || entry.state === 'deactivated') return;
    this.fail(entry, code, reason);
    const at = this.activated.indexOf(entry);
    if (at >= 0) this.activated.splice(at, 1);
    const log = this.host.logger.child({ plugin: entry.id });
    log.error({ code, reason }, code === 'PLUGIN_CRASHED' ? 'plugin failed: its code threw outside any call' : 'plugin failed: its worker was terminated');
    try {
      await entry.context?.subscriptions.dispose();
      await entry.context?.scope.dispose();
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'disposing a crashed plugin failed');
    }
  }

  /**
   * Deactivates active plugins in reverse activation order: `deactivate()`, then the context's
   * subscriptions, then its DI scope. Each step has the activation deadline; failures are logged.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    while (this.activated.length > 0) {
      const entry = this.activated.pop()!;
      const log = this.host.logger.child({ plugin: entry.id });
      try {
        if (entry.module?.deactivate)
          await withDeadline(Promise.resolve(entry.module.deactivate()), this.host.activationTimeoutMs, `plugin ${entry.id} deactivate()`);
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'deactivate failed');
      }
      try {
        await entry.context?.subscriptions.dispose();
        await entry.context?.scope.dispose();
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'disposing plugin subscriptions failed');
      }
      this.setState(entry, 'deactivated');
      log.info('plugin deactivated');
    }
    this.onDidChangeStateEmitter.dispose();
  }

  private async activateEntry(entry: PluginEntry, event: string): Promise<unknown> {
    if (this.disposed) throw new RosterbridgeError('PLUGIN_FAILED', `host is shutting down; plugin "${entry.id}" not activated`);
    if (entry.state === 'active') return entry.api;
    if (entry.state === 'failed') throw this.failureError(entry);
    if (entry.promise) return entry.promise;
    entry.promise = this.doActivate(entry, event);
    return entry.promise;
  }

  private async doActivate(entry: PluginEntry, event: string): Promise<unknown> {
    const manifest = entry.manifest!;
    for (const dependency of manifest.dependencies) {
      try {
        await this.activateEntry(this.entries.get(dependency)!, `dependency-of:${entry.id}`);
      } catch {
        // The dependency's failure has already cascaded to this entry (see fail()).
        throw this.failureError(entry);
      }
    }
    const unmet = this.unmetContracts(manifest);
    if (unmet !== undefined) {
      this.fail(entry, 'CONTRACT_UNSATISFIED', unmet);
      this.host.logger
        .child({ plugin: entry.id })
        .error({ code: 'CONTRACT_UNSATISFIED', reason: unmet }, 'plugin refused: no source produces what it consumes');
      throw this.failureError(entry);
    }
    const startedAt = new Date();
    entry.activation = { event, startedAt: startedAt.toISOString() };
    this.setState(entry, 'activating');
    const log = this.host.logger.child({ plugin: entry.id });
    let context: PluginContext | undefined;
    // Not started yet: the deadline times it from its first line, module loading included.
    const activation = async () => {
      const main = path.resolve(entry.location, manifest.main);
      let module: PluginModule;
      try {
        module = this.host.loadModule ? this.host.loadModule(main, manifest) : defaultLoad(main);
      } catch (err) {
        throw new RosterbridgeError('PLUGIN_LOAD_FAILED', `could not load ${main}: ${errorMessage(err)}`, {}, { cause: err });
      }
      if (typeof module?.activate !== 'function') throw new RosterbridgeError('PLUGIN_LOAD_FAILED', `${main} does not export an activate(context) function`);
      context = await this.host.createContext(manifest, entry.location, (id) => this.dependencyApi(entry, id));
      await this.host.migrate(context, module);
      try {
        const api = await module.activate(context);
        return { module, api };
      } catch (err) {
        throw new RosterbridgeError('PLUGIN_ACTIVATION_FAILED', `activate() threw: ${errorMessage(err)}`, {}, { cause: err });
      }
    };
    let work: Promise<Awaited<ReturnType<typeof activation>>> | undefined;
    try {
      const { module, api } = await withDeadline(
        () => (work = activation()),
        this.host.activationTimeoutMs,
        `plugin ${entry.id} activate()`,
        'PLUGIN_ACTIVATION_TIMEOUT',
      );
      if (entry.state !== 'activating') {
        // Its code crashed (see crash()) while activate() was still under way: it stays failed.
        await context?.subscriptions.dispose();
        throw this.failureError(entry);
      }
      entry.module = module;
      entry.api = api;
      entry.context = context;
      entry.activation.durationMs = Date.now() - startedAt.getTime();
      this.activated.push(entry);
      this.setState(entry, 'active');
      log.info({ event, durationMs: entry.activation.durationMs }, 'plugin activated');
      return api;
    } catch (err) {
      entry.activation.durationMs = Date.now() - startedAt.getTime();
      if (entry.state !== 'failed') {
        const code: ErrorCode = isRosterbridgeError(err) ? err.code : 'PLUGIN_ACTIVATION_FAILED';
        this.fail(entry, code, errorMessage(err));
        log.error({ code, reason: entry.failure!.reason }, 'plugin failed to activate');
      }
      // An activation that settles after its deadline must not leak what it set up.
      work
        ?.then(
          () => context?.subscriptions.dispose(),
          () => context?.subscriptions.dispose(),
        )
        .catch(() => undefined);
      throw this.failureError(entry);
    }
  }

  /**
   * Why a plugin's targets cannot be fed, or undefined when they can: a change contract one consumes
   * that the installed sources (of plugins not failed) produce in other versions only, with no
   * adapter to derive it ({@link unmetContracts}).
   */
  unmetContracts(manifest: PluginManifest): string | undefined {
    const produces = this.manifests().flatMap((m) => m.contributes.sources.flatMap((s) => s.produces));
    const unmet = manifest.contributes.targets.flatMap((t) => unmetContracts(t.id, t.consumes, produces));
    return unmet.length > 0 ? describeUnmetContracts(unmet) : undefined;
  }

  private dependencyApi(entry: PluginEntry, id: string): unknown {
    if (!entry.manifest!.dependencies.includes(id))
      throw new RosterbridgeError(
        'PLUGIN_DEPENDENCY_MISSING',
        `plugin "${entry.id}" asked for the API of "${id}", which is not among its declared dependencies`,
      );
    return this.getApi(id);
  }

  private settleDependencies(): void {
    for (const entry of this.entries.values()) {
      if (!entry.manifest || entry.state === 'failed') continue;
      const missing = entry.manifest.dependencies.filter((d) => !this.entries.has(d));
      if (missing.length > 0) this.fail(entry, 'PLUGIN_DEPENDENCY_MISSING', `its dependency ${missing.map((m) => `"${m}"`).join(', ')} is not installed`);
    }
    // Cycles: a plugin whose dependency chain reaches itself.
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (id: string, trail: string[]): void => {
      if (done.has(id)) return;
      const entry = this.entries.get(id);
      if (!entry?.manifest) return;
      if (visiting.has(id)) {
        const cycle = [...trail.slice(trail.indexOf(id)), id];
        for (const member of cycle) {
          const m = this.entries.get(member)!;
          if (m.state !== 'failed') this.fail(m, 'PLUGIN_DEPENDENCY_CYCLE', `its dependencies form a cycle: ${cycle.join(' → ')}`);
        }
        return;
      }
      visiting.add(id);
      for (const d of entry.manifest.dependencies) visit(d, [...trail, id]);
      visiting.delete(id);
      done.add(id);
    };
    for (const id of this.entries.keys()) visit(id, []);
    // Dependents of plugins already failed at registration fail too.
    for (const entry of this.entries.values()) if (entry.state === 'failed') this.cascade(entry);
  }

  private fail(entry: PluginEntry, code: ErrorCode, reason: string): void {
    entry.failure = { code, reason };
    entry.promise = undefined;
    this.setState(entry, 'failed');
    this.cascade(entry);
  }

  /** Marks every (transitive) dependent of a failed plugin as failed "because its dependency … failed". */
  private cascade(failed: PluginEntry): void {
    for (const other of this.entries.values()) {
      if (other.state === 'failed' || other.state === 'active' || !other.manifest?.dependencies.includes(failed.id)) continue;
      this.fail(other, 'PLUGIN_DEPENDENCY_FAILED', `because its dependency "${failed.id}" failed: ${failed.failure!.reason}`);
    }
  }

  private failureError(entry: PluginEntry): RosterbridgeError {
    const failure = entry.failure ?? { code: 'PLUGIN_FAILED' as ErrorCode, reason: 'unknown failure' };
    return new RosterbridgeError(failure.code, `plugin "${entry.id}" failed: ${failure.reason}`, { plugin: entry.id });
  }

  private setState(entry: PluginEntry, state: PluginState): void {
    entry.state = state;
    this.onDidChangeStateEmitter.fire({ id: entry.id, state, failure: entry.failure });
  }

  private engineSatisfied(range: string): boolean {
    try {
      return this.host.satisfiesEngine(range, this.host.hostVersion);
    } catch {
      return false;
    }
  }

  private uniqueKey(id: string): string {
    let key = id;
    for (let n = 2; this.entries.has(key); n++) key = `${id}#${n}`;
    return key;
  }

  private status(e: PluginEntry): PluginStatus {
    return {
      id: e.id,
      displayName: e.manifest?.displayName ?? e.id,
      version: e.manifest?.version,
      location: e.location,
      state: e.state,
      activationEvents: e.manifest?.activationEvents ?? [],
      dependencies: e.manifest?.dependencies ?? [],
      contributes: e.manifest?.contributes,
      failure: e.failure,
      activation: e.activation,
    };
  }
}

function defaultLoad(entry: string): PluginModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(entry) as PluginModule;
}
