import type { Kysely, Migration } from 'kysely';
import type { DisposableStore } from '../base/lifecycle';
import type { Event } from '../base/event';
import type { Logger } from '../base/logger';
import type { SecretCensor } from '../base/secret-censor';
import type { ServiceScope } from '../instantiation/service-id';
import type { RegisterSource } from '../source/roster-source';
import type { RegisterTarget } from '../target/roster-target';
import type { SyncRunEvent } from '../run/sync-run';
import type { PluginManifest } from './manifest';
import type { RegisterCommand } from './plugin-command';

/**
 * A plugin's own Postgres schema. `db` is a kysely instance bound to that schema
 * (`withSchema(schema)`), sharing the host's pool; the plugin's migrations have run before
 * `activate`. `DB` is the plugin's database type: an interface of its tables as its migrations
 * leave them (kysely's `Generated<>`, `ColumnType<>`). The host cannot know it, so the context
 * hands the storage over untyped and the plugin gives it its type where it takes it:
 *
 * ```ts
 * interface KyberDatabase { student: { tenant_id: string; sourced_id: string; email: string | null } }
 * const storage: PluginStorage<KyberDatabase> = context.storage;
 * await storage.db.selectFrom('student').select('email').where('tenant_id', '=', tenant.tenantId).execute();
 * ```
 *
 * The default `any` keeps plugins written before typed storage compiling; a later pass types them.
 */
export interface PluginStorage<DB = any> {
  /** Schema name, e.g. `plugin_target_kybergate`. */
  readonly schema: string;
  readonly db: Kysely<DB>;
}

/** What a plugin sees of one tenant that enables it. */
/** What a plugin may know of a tenant beyond its own settings. */
export interface TenantInfo {
  displayName: string;
  /** IANA time zone. */
  timezone: string;
  /** Region code (US, NZ, AU, UK…), when the file gives one. */
  region?: string;
  /** Who hears about the tenant's syncs (e-mail addresses). */
  contacts: string[];
}

export interface TenantContext {
  readonly tenantId: string;
  /** DI scope for this plugin and tenant, below the plugin's scope. */
  readonly scope: ServiceScope;
  /** Logger bound to `{ plugin, tenant }`. */
  readonly logger: Logger;
  /** Folder of the tenant's config file: relative paths in settings are taken from here. */
  readonly configDir: string;
  /**
   * The host's censor, which already knows the tenant's resolved secrets. What the plugin sends
   * outside the host (a notification, a product's error text) passes through `scrub`; a secret
   * that exists only at run time (an access token) is added with `remember` and let go (dispose)
   * when the plugin is done with it.
   */
  readonly censor: SecretCensor;
  /** The tenant as its file describes it (read now: a reloaded file shows). */
  info(): TenantInfo;
  /**
   * The tenant's settings for this plugin, validated against the plugin's configuration schema,
   * with secret references resolved now (they are read at use, never cached in logs).
   */
  settings<T = Record<string, unknown>>(): Promise<T>;
}

/**
 * Everything a plugin is given on activation.
 *
 * ```ts
 * export async function activate(context: PluginContext) {
 *   context.subscriptions.add(someResource);
 *   const tenant = context.forTenant('lincoln');
 *   const { baseUrl } = await tenant.settings<{ baseUrl: string }>();
 *   return { api: 'what dependents receive' };
 * }
 * ```
 */
export interface PluginContext {
  readonly id: string;
  readonly manifest: PluginManifest;
  /** Disposed last-in, first-out when the plugin is deactivated. */
  readonly subscriptions: DisposableStore;
  /** The plugin's DI scope, a child of the host's root scope. */
  readonly scope: ServiceScope;
  /** Logger bound to `{ plugin }`. */
  readonly logger: Logger;
  readonly storage: PluginStorage;
  /** Ids of the tenants that enable this plugin. */
  readonly tenantIds: readonly string[];
  /** The per-tenant view; throws TENANT_NOT_FOUND for a tenant that does not enable the plugin. */
  forTenant(tenantId: string): TenantContext;
  /**
   * `sync.run.*` events (started, completed, failed, held) of runs of the tenants that enable this
   * plugin, executed by this host. Subscribe in `activate` and add the subscription to `subscriptions`.
   */
  readonly onDidRunEvent: Event<SyncRunEvent>;
  /** The API returned by a declared dependency's `activate`. */
  getDependencyApi<T = unknown>(pluginId: string): T;
  /** Registers the implementation of a source this plugin's manifest contributes. */
  readonly registerSource: RegisterSource;
  /** Registers the implementation of a target this plugin's manifest contributes. */
  readonly registerTarget: RegisterTarget;
  /** Registers the handler of a command this plugin's manifest contributes (see {@link RegisterCommand}). */
  readonly registerCommand: RegisterCommand;
}

/**
 * The module a plugin's `main` exports.
 *
 * ```ts
 * export const migrations = { '001_schools': { up: async (db) => { … } } };
 * export async function activate(context: PluginContext) { … }
 * export async function deactivate() { … }
 * ```
 */
export interface PluginModule<TApi = unknown> {
  activate(context: PluginContext): TApi | Promise<TApi>;
  deactivate?(): void | Promise<void>;
  /** Migrations of the plugin's own schema, run in name order before `activate`. */
  migrations?: Record<string, Migration>;
}
