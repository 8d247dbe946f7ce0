import { Emitter, type Event, type PluginManifest, RosterbridgeError } from '@rosterbridge/core';
import type { SecretResolver } from './secret-reference';
import { type LoadedTenant, type TenantConfig, TenantConfigLoader, type TenantLimits, type TenantPluginUse } from './tenant-config';

/**
 * The tenants the host serves, loaded from the tenants dir. Invalid tenant files stay listed with
 * their problems and take no part in syncs.
 */
export class TenantRegistry {
  private tenants = new Map<string, LoadedTenant>();
  private readonly onDidReloadEmitter = new Emitter<void>();
  readonly onDidReload: Event<void> = this.onDidReloadEmitter.event;

  constructor(
    private readonly dir: string,
    private readonly manifests: () => readonly PluginManifest[],
    /** Checks every secret reference of a tenant file against the host's secret policy. */
    private readonly secrets: SecretResolver,
    /** The largest tenant file read (host config `tenants.maxFileBytes`). */
    private readonly limits: TenantLimits = {},
  ) {}

  /** (Re)reads every tenant file. */
  async load(): Promise<LoadedTenant[]> {
    const loaded = await new TenantConfigLoader(this.manifests(), this.secrets, this.limits).loadDirectory(this.dir);
    this.tenants = new Map(loaded.map((t) => [t.id, t]));
    this.onDidReloadEmitter.fire();
    return loaded;
  }

  list(): LoadedTenant[] {
    return [...this.tenants.values()];
  }

  /** A tenant, valid or not; throws TENANT_NOT_FOUND. */
  get(id: string): LoadedTenant {
    const t = this.tenants.get(id);
    if (!t) throw new RosterbridgeError('TENANT_NOT_FOUND', `tenant "${id}" is not configured`, { tenant: id });
    return t;
  }

  /** A valid tenant's config; throws TENANT_CONFIG_INVALID listing its problems. */
  config(id: string): TenantConfig {
    const t = this.get(id);
    if (!t.config)
      throw new RosterbridgeError(
        'TENANT_CONFIG_INVALID',
        `tenant "${id}" has an invalid config: ${t.problems.map((p) => `${p.key} ${p.message}`).join('; ')}`,
        {
          tenant: id,
          problems: t.problems,
        },
      );
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
    const config = this.tenants.get(tenantId)?.config;
    if (!config) return undefined;
    if (config.source?.pluginId === pluginId && config.source.enabled) return { ...config.source, key: 'source' };
    const i = config.targets.findIndex((t) => t.pluginId === pluginId && t.enabled);
    return i >= 0 ? { ...config.targets[i]!, key: `targets[${i}]` } : undefined;
  }
}
