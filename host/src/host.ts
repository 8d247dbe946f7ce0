import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import {
  DisposableStore,
  Emitter,
  ISourceLimits,
  type Logger,
  ServiceScope,
  SECRET_MIN_LENGTH,
  type SyncRunEvent,
  errorMessage,
  toDisposable,
  withDeadline,
} from '@rosterbridge/core';
import {
  CommandRegistry,
  type EngineDatabase,
  PluginRegistry,
  SourceRegistry,
  TargetRegistry,
  Ledger,
  RunStore,
  SyncEngine,
  discoverPlugins,
} from '@rosterbridge/engine';
import { TokenAuthenticator } from './api/auth';
import { buildControlApi } from './api/control-api';
import { CommandService, invalidCommandContributions } from './commands/command-service';
import { checkListenAddress, listenFailure } from './api/listen-address';
import { describeMissingFolder, missingFolders } from './config/configured-folders';
import { type HostConfig, NO_API_TOKEN_WARNING, secretPolicy } from './config/host-config';
import type { CoreDatabase } from './database/core-database';
import { type Database, openDatabase } from './database/database';
import { CORE_SCHEMA, coreMigrations, migrateSchema } from './database/migrations';
import { createLogger } from './logging';
import { PluginHostServicesImpl } from './plugins/plugin-host-services';
import { SecretCensor, SecretResolver } from './tenants/secret-reference';
import { TenantRegistry } from './tenants/tenant-registry';
import { invalidConfigurationSchemas } from './tenants/tenant-config';
import { SourceSessions } from './sources/source-sessions';
import { SyncScheduler } from './sync/sync-scheduler';
import { SyncService, openTenantTarget } from './sync/sync-service';
import { TenantOperations } from './sync/tenant-operations';
import { ROSTERBRIDGE_VERSION } from './version';

/** Options for {@link Host.start}. */
export interface HostStartOptions {
  /** Where log lines go (tests capture them); default stdout. */
  logDestination?: NodeJS.WritableStream;
  /** Listen on HTTP (default true); tests may use `host.api.inject()` instead. */
  listen?: boolean;
}

/**
 * The composition root: logger, database and core migrations, plugin discovery, tenants, startup
 * activation, control API. Everything it starts is added to one store and torn down in reverse.
 */
export class Host {
  private readonly onWillStopEmitter = new Emitter<void>();
  /** Fires when shutdown begins. */
  readonly onWillStop = this.onWillStopEmitter.event;
  private stopping?: Promise<void>;
  private started = false;

  private constructor(
    /** Everything started, in order; disposed in reverse. */
    private readonly store: DisposableStore,
    readonly config: HostConfig,
    readonly logger: Logger,
    readonly censor: SecretCensor,
    readonly scope: ServiceScope,
    readonly database: Database,
    readonly plugins: PluginRegistry,
    readonly tenants: TenantRegistry,
    readonly sources: SourceRegistry,
    /** Opens tenants' sources (activating their plugins lazily). */
    readonly sourceSessions: SourceSessions,
    /** Triggers, cancels and decides sync runs. */
    readonly syncs: SyncService,
    readonly runs: RunStore,
    /** Runs the commands plugins contribute, per tenant. */
    readonly commands: CommandService,
    readonly api: FastifyInstance,
  ) {}

  /** Starts a host. On failure, whatever was started is stopped again and the error is rethrown. */
  static async start(config: HostConfig, options: HostStartOptions = {}): Promise<Host> {
    const store = new DisposableStore();
    const censor = new SecretCensor();
    // The host's own secrets are censored from the first log line on, like the tenants' once read.
    for (const secret of hostSecrets(config)) censor.remember(secret);
    const logger = createLogger({ level: config.log.level, censor, destination: options.logDestination });
    Emitter.onListenerError = (err) => logger.error({ err: errorMessage(err) }, 'event listener threw');
    if (config.api.tokens.length === 0) logger.warn(NO_API_TOKEN_WARNING);
    try {
      for (const m of await missingFolders(config)) logger.warn({ key: m.key, dir: m.dir }, describeMissingFolder(m));
      if (options.listen !== false) await checkListenAddress(config.http.host, config.http.port);
      // The root scope holds what plugins may resolve, and only that: the host composes its own
      // services with `new` (see "What DI is for here" in the README). Source plugins that read
      // files find the caps here.
      const scope = store.add(ServiceScope.createRoot());
      scope.register(ISourceLimits, { useValue: { ...config.sources } });

      const database = await openDatabase({ url: config.database.url, dataDir: config.dataDir, poolSize: config.database.poolSize, logger });
      store.add(
        toDisposable(async () => {
          await database.dispose();
          logger.info({ database: database.description }, 'database closed');
        }),
      );
      const applied = await migrateSchema(database.db, CORE_SCHEMA, coreMigrations);
      logger.info({ database: database.description, applied }, 'database ready');

      let registry: PluginRegistry | undefined;
      const secrets = new SecretResolver(censor, secretPolicy(config));
      const tenants = new TenantRegistry(config.tenants.dir, () => registry?.allManifests() ?? [], secrets, { maxFileBytes: config.tenants.maxFileBytes });
      const sources = new SourceRegistry();
      const targets = new TargetRegistry();
      const commandHandlers = new CommandRegistry();
      // Plugins hear `sync.run.*` through this; the engine, built later, feeds it.
      const runEvents = store.add(new Emitter<SyncRunEvent>());
      registry = new PluginRegistry(
        new PluginHostServicesImpl(
          ROSTERBRIDGE_VERSION,
          config.plugins.activationTimeoutMs,
          logger,
          scope,
          database,
          tenants,
          secrets,
          censor,
          sources,
          targets,
          runEvents.event,
          commandHandlers,
          {
            workers: config.plugins.workers,
            inProcess: config.plugins.inProcess,
            maxOldGenerationSizeMb: config.plugins.worker.maxOldGenerationSizeMb,
            callTimeoutMs: config.plugins.worker.callTimeoutMs,
            // A worker that crashed, ran out of memory or overran a deadline fails its plugin; the host goes on.
            fail: (pluginId, code, reason) => {
              registry
                ?.crash(pluginId, reason, code)
                .catch((err: unknown) => logger.error({ plugin: pluginId, err: errorMessage(err) }, 'failing a plugin failed'));
            },
          },
        ),
      );
      store.add(registry);
      const discovered = await discoverPlugins(config.plugins.dirs);
      registry.register(discovered);
      for (const { pluginId, reason } of invalidConfigurationSchemas(registry.manifests())) registry.refuse(pluginId, 'MANIFEST_INVALID', reason);
      for (const { pluginId, reason } of invalidCommandContributions(registry.manifests())) registry.refuse(pluginId, 'MANIFEST_INVALID', reason);
      for (const p of registry.list().filter((p) => p.state === 'failed'))
        logger.error({ plugin: p.id, code: p.failure?.code, reason: p.failure?.reason }, 'plugin refused');

      const loaded = await tenants.load();
      for (const t of loaded.filter((t) => t.problems.length > 0))
        logger.error({ tenant: t.id, problems: t.problems.map((p) => `${p.key}: ${p.message}`) }, 'tenant config invalid; tenant disabled');
      logger.info({ plugins: discovered.length, tenants: loaded.length }, 'plugins discovered, tenants loaded');

      const sourceSessions = new SourceSessions(registry, sources, tenants, config.plugins.activationTimeoutMs, config.deadlines);
      // The core schema, typed as the engine's tables for the engine and with the host's own for
      // the host (kysely's types are invariant in the tables: one cannot stand for the other).
      const core: Kysely<CoreDatabase> = database.db.withSchema(CORE_SCHEMA);
      const engineTables: Kysely<EngineDatabase> = database.db.withSchema(CORE_SCHEMA);
      const runs = new RunStore(engineTables, censor);
      const plugins = registry;
      // On a PostgreSQL server the ledger writes its versions by COPY; the embedded database by INSERT.
      const ledger = new Ledger(database.db, CORE_SCHEMA, database.openCopy ? { openCopy: database.openCopy } : {});
      const engine = new SyncEngine(runs, ledger, {
        openSource: (tenantId) => sourceSessions.open(tenantId),
        openTarget: (tenantId, targetId, options) =>
          openTenantTarget(plugins, targets, tenants, tenantId, targetId, config.plugins.activationTimeoutMs, options),
        thresholds: (tenantId) => tenants.config(tenantId).thresholds,
        enabledTargets: (tenantId) =>
          tenants
            .config(tenantId)
            .targets.filter((t) => t.enabled)
            .map((t) => t.id),
        ...(database.openLoadTransaction ? { openLoadTransaction: database.openLoadTransaction } : {}),
        rolledBack: (work) => database.rolledBack(work),
        applyTimeoutMs: config.sync.applyTimeoutMs,
        sourceDeadlines: { fingerprint: config.deadlines.fingerprintMs, read: config.deadlines.readMs, dispose: config.deadlines.disposeMs },
        batchSize: config.sync.batchSize,
        maxIssuesPerCode: config.sync.maxIssuesPerCode,
        logger: logger.child({ component: 'sync' }),
      });
      store.add(engine.onDidRunEvent((e) => runEvents.fire(e)));
      const operations = new TenantOperations(core, config.sync.leaseMs);
      const syncs = new SyncService(
        engine,
        runs,
        tenants,
        operations,
        logger.child({ component: 'sync' }),
        {
          hostId: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          leaseMs: config.sync.leaseMs,
          sweepMs: config.sync.sweepMs,
          retentionDays: config.sync.retentionDays,
          maxConcurrentRuns: Math.max(1, config.sync.maxConcurrentRuns),
        },
        async (tenantId, targetId) => {
          const target = await openTenantTarget(plugins, targets, tenants, tenantId, targetId, config.plugins.activationTimeoutMs);
          const plugin = tenants.config(tenantId).targets.find((t) => t.id === targetId)?.pluginId ?? '?';
          try {
            // Past its deadline the reset is abandoned and refused (DEADLINE_EXCEEDED): the cursor stays.
            await withDeadline(
              () => target.session.reset(AbortSignal.timeout(config.deadlines.resetMs)),
              config.deadlines.resetMs,
              `target "${targetId}" (plugin ${plugin}) reset()`,
            );
          } finally {
            await withDeadline(() => Promise.resolve(target.session.dispose()), config.deadlines.disposeMs, `target "${targetId}" dispose()`).catch(
              (err: unknown) => logger.warn({ tenant: tenantId, target: targetId, err: errorMessage(err) }, 'target dispose failed or overran; abandoned'),
            );
          }
          await ledger.resetCursor(tenantId, targetId);
        },
        async (run) => {
          // A failure here shows again, with its reason, when the run opens the target.
          for (const targetId of run.targets) {
            try {
              const use = tenants.config(run.tenantId).targets.find((t) => t.id === targetId);
              if (use?.pluginId) await plugins.activate(use.pluginId, `onTarget:${targetId}`);
            } catch {
              // reported by the run
            }
          }
        },
      );
      store.add(syncs);
      const commands = new CommandService(registry, commandHandlers, tenants, operations, { deadlineMs: config.sync.applyTimeoutMs });
      const api = await buildControlApi({
        commands,
        sourceSessions,
        syncs,
        runs,
        version: ROSTERBRIDGE_VERSION,
        logger,
        tokens: new TokenAuthenticator(config.api.tokens),
        censor,
        plugins: registry,
        tenants,
        schedulesEnabled: config.sync.schedule.enabled,
        readiness: async () => {
          const checks: Record<string, { ok: boolean; detail?: string }> = {};
          try {
            await database.ping();
            checks.database = { ok: true, detail: database.mode };
          } catch (err) {
            // The driver's words (host names, ports, roles) are for the log, not for callers without a token.
            logger.warn({ err: errorMessage(err) }, 'readiness: database unreachable');
            checks.database = { ok: false, detail: 'database unreachable' };
          }
          checks.startup = { ok: host.started, detail: host.started ? undefined : 'starting' };
          return { ready: Object.values(checks).every((c) => c.ok), checks };
        },
      });
      store.add(
        toDisposable(async () => {
          await api.close();
          logger.info('control API closed');
        }),
      );

      const host: Host = new Host(store, config, logger, censor, scope, database, registry, tenants, sources, sourceSessions, syncs, runs, commands, api);

      await registry.activateByEvent('onStartup');
      const resumed = await syncs.start();
      if (resumed.length > 0) logger.warn({ runs: resumed }, 'resumed runs left unfinished by a previous host');
      if (config.sync.schedule.enabled) {
        // Added after the sync service, so disposed before it: jobs are handed back before runs stop.
        const scheduler = store.add(
          new SyncScheduler(database.pool, syncs, tenants, logger.child({ component: 'schedule' }), {
            pollSeconds: config.sync.schedule.pollSeconds,
            cronCheckSeconds: config.sync.schedule.cronCheckSeconds,
            maxRunHours: config.sync.schedule.maxRunHours,
            retryLimit: config.sync.retry.limit,
            retryDelaySeconds: config.sync.retry.delaySeconds,
            shutdownTimeoutMs: config.shutdownTimeoutMs,
            lockSetup: database.mode === 'postgres',
          }),
        );
        await scheduler.start();
      } else {
        logger.info('schedules are off (sync.schedule.enabled): runs start only when asked');
      }
      // Last: the address is announced once everything behind it runs (a signal handler installed by
      // the caller after start resolves then covers the whole life of the listening host).
      if (options.listen !== false) {
        const address = await api.listen({ host: config.http.host, port: config.http.port }).catch((err: unknown) => {
          throw listenFailure(err, config.http.host, config.http.port);
        });
        logger.info({ address, version: ROSTERBRIDGE_VERSION }, 'control API listening');
      } else {
        await api.ready();
      }
      host.started = true;
      return host;
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'host failed to start');
      await store.dispose().catch(() => undefined);
      throw err;
    }
  }

  /** The address the control API listens on, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    const address = this.api.server.address();
    if (!address || typeof address === 'string') throw new Error('the control API is not listening');
    return `http://${address.address}:${address.port}`;
  }

  /**
   * Graceful shutdown, in reverse order of startup: HTTP closed, plugins deactivated (last activated
   * first), scopes disposed, pools closed. Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down');
      this.onWillStopEmitter.fire();
      await this.store.dispose();
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}

/** The secrets of the host's own config: its API tokens and the database password (when long enough to censor). */
function hostSecrets(config: HostConfig): string[] {
  const secrets = config.api.tokens.map((t) => t.token);
  try {
    const password = decodeURIComponent(new URL(config.database.url).password);
    if (password.length >= SECRET_MIN_LENGTH) secrets.push(password);
  } catch {
    // no URL (embedded), or one without a password
  }
  return secrets;
}
