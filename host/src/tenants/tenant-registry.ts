import { type Disposable, Emitter, type Event, type PluginManifest, RosterbridgeError, toDisposable } from '@rosterbridge/core';
import type { SecretResolver } from './secret-reference';
import { type LoadedTenant, type TenantConfig, TenantConfigLoader, type TenantLimits, type TenantPluginUse, type TenantProblem } from './tenant-config';

/** What a reload did to one tenant. */
export type TenantReloadChange =
  /** A new file, valid or not. */
  | 'added'
  /** The file changed and its new config is taken (or it was invalid and still is, with other problems). */
  | 'changed'
  /** The file is gone: the tenant is no longer served (its runs and product rows stay). */
  | 'removed'
  /** The file changed but is invalid: the last valid config stays in effect. */
  | 'kept-last-valid'
  | 'unchanged';

/** One tenant's line in a reload's report. */
export interface TenantReload {
  id: string;
  change: TenantReloadChange;
  /** The new file's problems (a `kept-last-valid` or an invalid tenant). */
  problems?: TenantProblem[];
  /** A run of the tenant executes here: it finishes on the config it started with. */
  runInFlight?: boolean;
}

/** What a reload found, tenant by tenant (sorted by id). */
export interface TenantReloadReport {
  at: string;
  tenants: TenantReload[];
}

/** A tenant as served: its last valid config, and the problems of a newer file that was not taken. */
export interface ServedTenant extends LoadedTenant {
  /** The problems of the file as it is now, when a reload found it invalid and kept the last valid config. */
  pendingProblems?: TenantProblem[];
}

/**
 * The tenants the host serves, loaded from the tenants dir. Invalid tenant files stay listed with
 * their problems and take no part in syncs.
 *
 * {@link reload} reads the files again: new, changed and removed tenants take effect for the next
 * runs, and a file that became invalid keeps its last valid config (reported). A run that executes
 * here pins its tenant ({@link pin}): until it ends, everything the run reads through this registry
 * (the engine's thresholds and targets, the plugins' settings) is the config it started with, while
 * the API and the scheduler see the new one ({@link latest}).
 */
export class TenantRegistry {
  private tenants = new Map<string, ServedTenant>();
  /** Tenants with a run executing here: the config each run started with, and how many runs hold it. */
  private readonly pinned = new Map<string, { tenant: ServedTenant; holds: number }>();
  private readonly onDidReloadEmitter = new Emitter<TenantReloadReport>();
  /** Fires after every (re)load, with what changed. */
  readonly onDidReload: Event<TenantReloadReport> = this.onDidReloadEmitter.event;
  private reloading: Promise<TenantReloadReport> | undefined;

  constructor(
    private readonly dir: string,
    private readonly manifests: () => readonly PluginManifest[],
    /** Checks every secret reference of a tenant file against the host's secret policy. */
    private readonly secrets: SecretResolver,
    /** The largest tenant file read (host config `tenants.maxFileBytes`). */
    private readonly limits: TenantLimits = {},
  ) {}

  /** Reads every tenant file (at start). */
  async load(): Promise<LoadedTenant[]> {
    await this.reload();
    return this.latest();
  }

  /**
   * Reads every tenant file again and says what changed. Reloads asked for while one is under way
   * wait for it and then read again (a file saved during a reload is not missed).
   */
  reload(): Promise<TenantReloadReport> {
    const previous = this.reloading ?? Promise.resolve(undefined);
    const next = previous
      .catch(() => undefined)
      .then(() => this.readAll())
      .finally(() => {
        if (this.reloading === next) this.reloading = undefined;
      });
    this.reloading = next;
    return next;
  }

  private async readAll(): Promise<TenantReloadReport> {
    const loaded = await new TenantConfigLoader(this.manifests(), this.secrets, this.limits).loadDirectory(this.dir);
    const before = this.tenants;
    const after = new Map<string, ServedTenant>();
    const lines: TenantReload[] = [];
    for (const fresh of loaded) {
      const old = before.get(fresh.id);
      let served: ServedTenant = fresh;
      let change: TenantReloadChange;
      if (!old) change = 'added';
      else if (!fresh.config && old.config) {
        // An edit that broke the file: the tenant goes on with what last worked, and says why.
        served = { id: old.id, file: old.file, config: old.config, problems: old.problems, pendingProblems: fresh.problems };
        change = 'kept-last-valid';
      } else change = sameTenant(old, fresh) ? 'unchanged' : 'changed';
      after.set(fresh.id, served);
      lines.push({
        id: fresh.id,
        change,
        ...(fresh.problems.length > 0 ? { problems: fresh.problems } : {}),
        ...(this.pinned.has(fresh.id) && change !== 'unchanged' ? { runInFlight: true } : {}),
      });
    }
    for (const id of before.keys()) if (!after.has(id)) lines.push({ id, change: 'removed', ...(this.pinned.has(id) ? { runInFlight: true } : {}) });
    this.tenants = after;
    const report = { at: new Date().toISOString(), tenants: lines.sort((a, b) => a.id.localeCompare(b.id)) };
    this.onDidReloadEmitter.fire(report);
    return report;
  }

  /**
   * Holds the tenant's config as it is now for a run that starts executing: until the returned
   * disposable is disposed, {@link get}, {@link config} and {@link pluginUse} answer it, whatever a
   * reload reads meanwhile. Throws TENANT_NOT_FOUND for a tenant not served.
   */
  pin(tenantId: string): Disposable {
    const held = this.pinned.get(tenantId);
    if (held) held.holds += 1;
    else this.pinned.set(tenantId, { tenant: this.latestOf(tenantId), holds: 1 });
    let released = false;
    return toDisposable(() => {
      if (released) return;
      released = true;
      const h = this.pinned.get(tenantId);
      if (h && --h.holds === 0) this.pinned.delete(tenantId);
    });
  }

  /** The tenants as served now, for what starts next (the API's lists, the scheduler). */
  latest(): ServedTenant[] {
    return [...this.tenants.values()];
  }

  /** A tenant as served now, ignoring a run's pin; throws TENANT_NOT_FOUND. */
  latestOf(id: string): ServedTenant {
    const t = this.tenants.get(id);
    if (!t) throw new RosterbridgeError('TENANT_NOT_FOUND', `tenant "${id}" is not configured`, { tenant: id });
    return t;
  }

  /**
   * A tenant as its next run takes it (what the API shows); one whose file a reload removed while a
   * run of it was in flight, as that run has it, until it ends. Throws TENANT_NOT_FOUND.
   */
  forNextRun(id: string): ServedTenant {
    return this.tenants.get(id) ?? this.get(id);
  }

  /** {@link forNextRun}'s config; throws TENANT_CONFIG_INVALID listing its problems. */
  configForNextRun(id: string): TenantConfig {
    const t = this.forNextRun(id);
    if (!t.config) throw invalid(t);
    return t.config;
  }

  /** Every tenant as in effect: a tenant with a run in flight as that run started. */
  list(): ServedTenant[] {
    const ids = new Set([...this.tenants.keys(), ...this.pinned.keys()]);
    return [...ids].sort().map((id) => this.get(id));
  }

  /** A tenant, valid or not, as in effect (pinned by a run in flight, else as served); throws TENANT_NOT_FOUND. */
  get(id: string): ServedTenant {
    return this.pinned.get(id)?.tenant ?? this.latestOf(id);
  }

  /** Whether a run executing here holds the tenant's config. */
  hasRunInFlight(id: string): boolean {
    return this.pinned.has(id);
  }

  /** A valid tenant's config; throws TENANT_CONFIG_INVALID listing its problems. */
  config(id: string): TenantConfig {
    const t = this.get(id);
    if (!t.config) throw invalid(t);
    return t.config;
  }

  /** Ids of valid tenants whose source or enabled targets come from this plugin. */
  tenantsUsingPlugin(pluginId: string): string[] {
    return this.list()
      .filter((t) => t.config && this.pluginUse(t.id, pluginId))
      .map((t) => t.id);
  }

  /** Where a tenant uses a plugin (its source, or an enabled target), with the key in its file. */
  pluginUse(tenantId: string, pluginId: string): (TenantPluginUse & { key: string }) | undefined {
    const config = (this.pinned.get(tenantId)?.tenant ?? this.tenants.get(tenantId))?.config;
    if (!config) return undefined;
    if (config.source?.pluginId === pluginId && config.source.enabled) return { ...config.source, key: 'source' };
    const i = config.targets.findIndex((t) => t.pluginId === pluginId && t.enabled);
    return i >= 0 ? { ...config.targets[i]!, key: `targets[${i}]` } : undefined;
  }
}

/** TENANT_CONFIG_INVALID for a tenant whose file is invalid, listing its problems. */
function invalid(t: LoadedTenant): RosterbridgeError {
  return new RosterbridgeError(
    'TENANT_CONFIG_INVALID',
    `tenant "${t.id}" has an invalid config: ${t.problems.map((p) => `${p.key} ${p.message}`).join('; ')}`,
    {
      tenant: t.id,
      problems: t.problems,
    },
  );
}

/** Whether two loads of a tenant file say the same (its config, or its problems). */
function sameTenant(a: LoadedTenant, b: LoadedTenant): boolean {
  return JSON.stringify([a.config ?? null, a.problems]) === JSON.stringify([b.config ?? null, b.problems]);
}
