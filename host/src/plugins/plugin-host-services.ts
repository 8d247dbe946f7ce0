import * as path from 'node:path';
import { type Kysely, sql } from 'kysely';
import satisfies from 'semver/functions/satisfies';
import {
  DisposableStore,
  type ErrorCode,
  ISourceLimits,
  type PluginIsolation,
  type Logger,
  type PluginContext,
  type PluginManifest,
  type PluginModule,
  RosterbridgeError,
  type SecretCensor,
  type ServiceScope,
  type Event,
  type SyncRunEvent,
  type TenantContext,
} from '@rosterbridge/core';
import { type CommandRegistry, type PluginHostServices, type SourceRegistry, type TargetRegistry } from '@rosterbridge/engine';
import type { CoreDatabase } from '../database/core-database';
import type { Database } from '../database/database';
import { CORE_SCHEMA, migrateSchema, pluginSchemaName } from '../database/migrations';
import type { SecretResolver } from '../tenants/secret-reference';
import type { TenantRegistry } from '../tenants/tenant-registry';
import { workerModule } from './worker/worker-plugin';

/** Where the host runs plugins (host config `plugins.workers`, `plugins.inProcess`, `plugins.worker`). */
export interface PluginIsolationSettings {
  /** Plugins run in a worker whatever their manifest says. */
  workers: readonly string[];
  /** Plugins run in the host's thread whatever their manifest says. */
  inProcess: readonly string[];
  /** A worker's heap unless its manifest says otherwise, in MB. */
  maxOldGenerationSizeMb: number;
  /** Deadline of each call into a worker. */
  callTimeoutMs: number;
  /** Fails a plugin whose worker was terminated (`PluginRegistry.crash`). */
  fail(pluginId: string, code: ErrorCode, reason: string): void;
}

/** Where a plugin runs: the host's config decides over the manifest. */
export function isolationOf(manifest: PluginManifest, settings: Pick<PluginIsolationSettings, 'workers' | 'inProcess'>): PluginIsolation {
  if (settings.workers.includes(manifest.id)) return 'worker';
  if (settings.inProcess.includes(manifest.id)) return 'in-process';
  return manifest.isolation ?? 'in-process';
}

/**
 * What the host lends the plugin registry: the engine check, contexts (scope, logger, storage,
 * tenant settings with secrets resolved) and per-plugin migrations.
 */
export class PluginHostServicesImpl implements PluginHostServices {
  constructor(
    readonly hostVersion: string,
    readonly activationTimeoutMs: number,
    readonly logger: Logger,
    private readonly rootScope: ServiceScope,
    private readonly database: Database,
    private readonly tenants: TenantRegistry,
    private readonly secrets: SecretResolver,
    /** The host's censor, lent to plugins for their run-time secrets and what they send out. */
    private readonly censor: SecretCensor,
    private readonly sources: SourceRegistry,
    private readonly targets: TargetRegistry,
    /** Every `sync.run.*` event this host's engine fires; each plugin sees its tenants' ones. */
    private readonly runEvents: Event<SyncRunEvent>,
    private readonly commands: CommandRegistry,
    private readonly isolation?: PluginIsolationSettings,
  ) {}

  /**
   * A plugin that runs in-process is required here; one that runs in a worker gets a stand-in whose
   * `activate` starts the worker (see worker/worker-plugin.ts): its code never loads in this thread.
   */
  loadModule(entry: string, manifest: PluginManifest): PluginModule {
    const isolation = this.isolation;
    if (!isolation || isolationOf(manifest, isolation) === 'in-process') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(entry) as PluginModule;
    }
    return workerModule(entry, manifest, {
      databaseUrl: this.database.mode === 'postgres' ? this.database.connectionString : '',
      db: this.database.db,
      censor: this.censor,
      sourceLimits: this.rootScope.tryGet(ISourceLimits),
      resourceLimits: { maxOldGenerationSizeMb: isolation.maxOldGenerationSizeMb, ...manifest.resourceLimits },
      activationTimeoutMs: this.activationTimeoutMs,
      callTimeoutMs: isolation.callTimeoutMs,
      fail: isolation.fail,
      logger: this.logger,
    });
  }

  satisfiesEngine(range: string, version: string): boolean {
    return satisfies(version, range, { includePrerelease: true });
  }

  async createContext(manifest: PluginManifest, _location: string, getDependencyApi: (id: string) => unknown): Promise<PluginContext> {
    const schema = pluginSchemaName(manifest.id);
    const scope = this.rootScope.createChild(`plugin:${manifest.id}`);
    const logger = this.logger.child({ plugin: manifest.id });
    const tenantContexts = new Map<string, TenantContext>();
    const tenants = this.tenants;
    const secrets = this.secrets;
    const censor = this.censor;
    return {
      id: manifest.id,
      manifest,
      subscriptions: new DisposableStore(),
      scope,
      logger,
      storage: {
        schema,
        db: this.database.db.withSchema(schema),
      },
      get tenantIds() {
        return tenants.tenantsUsingPlugin(manifest.id);
      },
      forTenant(tenantId: string): TenantContext {
        let ctx = tenantContexts.get(tenantId);
        if (ctx) return ctx;
        const use = tenants.pluginUse(tenantId, manifest.id);
        if (!use)
          throw new RosterbridgeError('TENANT_NOT_FOUND', `tenant "${tenantId}" does not enable plugin "${manifest.id}"`, {
            tenant: tenantId,
            plugin: manifest.id,
          });
        ctx = {
          tenantId,
          scope: scope.createChild(`tenant:${tenantId}`),
          logger: logger.child({ tenant: tenantId }),
          configDir: path.dirname(tenants.config(tenantId).file),
          censor,
          info() {
            const c = tenants.config(tenantId);
            return { displayName: c.displayName, timezone: c.timezone, ...(c.region ? { region: c.region } : {}), contacts: [...c.contacts] };
          },
          async settings<T>() {
            const current = tenants.pluginUse(tenantId, manifest.id);
            if (!current) throw new RosterbridgeError('TENANT_NOT_FOUND', `tenant "${tenantId}" no longer enables plugin "${manifest.id}"`);
            return (await secrets.resolveDeep(current.settings, `tenants/${tenantId}.json ${current.key}.settings`)) as T;
          },
        };
        tenantContexts.set(tenantId, ctx);
        return ctx;
      },
      onDidRunEvent: (listener, thisArg?) =>
        this.runEvents((e) => {
          if (tenants.pluginUse(e.tenantId, manifest.id)) listener.call(thisArg, e);
        }),
      getDependencyApi: <T>(id: string) => getDependencyApi(id) as T,
      registerSource: (contributionId, source) => this.sources.register(manifest, contributionId, source),
      registerTarget: (contributionId, target) => this.targets.register(manifest, contributionId, target),
      registerCommand: (commandId, handler) => this.commands.register(manifest, commandId, handler),
    };
  }

  async migrate(context: PluginContext, module: PluginModule): Promise<void> {
    await migrateSchema(this.database.db, context.storage.schema, module.migrations ?? {});
    const core: Kysely<CoreDatabase> = this.database.db.withSchema(CORE_SCHEMA);
    await core
      .insertInto('plugin_schema')
      .values({ plugin_id: context.id, schema_name: context.storage.schema, plugin_version: context.manifest.version })
      .onConflict((oc) => oc.column('plugin_id').doUpdateSet({ plugin_version: context.manifest.version, migrated_at: sql`now()` }))
      .execute();
  }
}
