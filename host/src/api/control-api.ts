import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorCodes, type Logger, type PluginRegistry, RosterbridgeError, type RunStore, isRosterbridgeError } from '@rosterbridge/core';
import type { SecretCensor } from '../tenants/secret-reference';
import { redactTenant } from '../tenants/tenant-config';
import type { TenantRegistry } from '../tenants/tenant-registry';
import type { SourceSessions } from '../sources/source-sessions';
import { nextFireTimes, tenantSchedules } from '../sync/sync-scheduler';
import type { SyncService } from '../sync/sync-service';
import { registerRunRoutes } from './run-routes';
import { type Principal, TokenAuthenticator, assertTenantAccess } from './auth';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Routes marked public need no token (health, readiness, docs). */
    public?: boolean;
  }
}

/** What the control API reads from the host. */
export interface ControlApiDependencies {
  version: string;
  logger: Logger;
  tokens: TokenAuthenticator;
  censor: SecretCensor;
  plugins: PluginRegistry;
  tenants: TenantRegistry;
  sourceSessions: SourceSessions;
  syncs: SyncService;
  runs: RunStore;
  /** Whether this host runs the tenants' schedules (`sync.schedule.enabled`). */
  schedulesEnabled: boolean;
  /** Readiness: each check names what is not ready. */
  readiness(): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }>;
}

const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
    },
  },
} as const;

const pluginSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    displayName: { type: 'string' },
    version: { type: 'string' },
    state: { type: 'string', enum: ['inactive', 'activating', 'active', 'failed', 'deactivated'] },
    failure: { type: 'object', nullable: true, additionalProperties: true },
    activation: { type: 'object', nullable: true, additionalProperties: true },
  },
} as const;

/**
 * Builds the fastify control API: bearer auth (admin and tenant-scoped tokens), OpenAPI at /docs,
 * and one error handler that maps error codes to HTTP statuses and scrubs secrets.
 */
export async function buildControlApi(deps: ControlApiDependencies): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Rosterbridge control API', version: deps.version, description: 'Internal API to run and watch roster syncs.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public || request.url.startsWith('/docs')) return;
    request.principal = deps.tokens.authenticate(request.headers.authorization);
  });

  app.addHook('onResponse', async (request, reply) => {
    deps.logger.debug({ method: request.method, url: request.url, status: reply.statusCode, principal: request.principal?.name, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler((error, request, reply) => {
    const err = error as Error & { statusCode?: number; validation?: unknown };
    let code: string;
    let status: number;
    let message: string;
    let details: Record<string, unknown> = {};
    if (isRosterbridgeError(err)) {
      code = err.code;
      status = err.status;
      message = err.message;
      details = err.details;
    } else if ((err as { validation?: unknown }).validation) {
      code = 'BAD_REQUEST';
      status = 400;
      message = err.message;
    } else if (typeof (err as { statusCode?: number }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
      code = 'BAD_REQUEST';
      status = (err as { statusCode: number }).statusCode;
      message = err.message;
    } else {
      code = 'INTERNAL';
      status = ErrorCodes.INTERNAL.status;
      message = 'internal error; see the host log';
      deps.logger.error({ err: err.message, stack: err.stack, url: request.url }, 'unhandled error in control API');
    }
    const body = JSON.parse(deps.censor.scrub(JSON.stringify({ error: { code, message, details } })));
    void reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: {} } });
  });

  // Every JSON body leaves through the censor, so a resolved secret can never be echoed.
  app.addHook('preSerialization', async (_request, _reply, payload) => {
    if (deps.censor.size === 0 || payload === null || typeof payload !== 'object') return payload;
    return JSON.parse(deps.censor.scrub(JSON.stringify(payload)));
  });

  app.get('/healthz', { config: { public: true }, schema: { tags: ['health'], summary: 'Liveness: the process serves HTTP.', security: [] } }, async () => ({
    status: 'ok',
    version: deps.version,
  }));

  app.get(
    '/readyz',
    { config: { public: true }, schema: { tags: ['health'], summary: 'Readiness: database reachable, plugins discovered, tenants loaded.', security: [] } },
    async (_request, reply) => {
      const r = await deps.readiness();
      return reply.status(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks });
    },
  );

  app.get(
    '/plugins',
    {
      schema: {
        tags: ['plugins'],
        summary: 'Installed plugins with their state (active, inactive, failed with reason) and activation timing.',
        response: { 200: { type: 'object', properties: { plugins: { type: 'array', items: pluginSchema } } }, 401: errorBody },
      },
    },
    async () => ({ plugins: deps.plugins.list() }),
  );

  app.get<{ Params: { id: string } }>(
    '/plugins/:id',
    { schema: { tags: ['plugins'], summary: 'One plugin.', params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 200: pluginSchema, 404: errorBody } } },
    async (request) => {
      const p = deps.plugins.get(request.params.id);
      if (!p) throw new RosterbridgeError('PLUGIN_NOT_FOUND', `plugin "${request.params.id}" is not installed`);
      return p;
    },
  );

  app.get('/tenants', { schema: { tags: ['tenants'], summary: 'Tenants the token may see, with their effective config, secrets redacted.' } }, async (request) => ({
    tenants: deps.tenants
      .list()
      .filter((t) => visible(request, t.id))
      .map((t) => tenantView(t)),
  }));

  app.get<{ Params: { id: string } }>(
    '/tenants/:id',
    { schema: { tags: ['tenants'], summary: 'One tenant, effective config, secrets redacted.', params: { type: 'object', properties: { id: { type: 'string' } } } } },
    async (request) => {
      assertTenantAccess(request.principal!, request.params.id);
      return tenantView(deps.tenants.get(request.params.id));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/tenants/:id/schedules',
    {
      schema: {
        tags: ['tenants'],
        summary: "When the tenant's targets sync by themselves: each cron with its time zone, the targets on it, where it came from, and its next times.",
        params: { type: 'object', properties: { id: { type: 'string' } } },
      },
    },
    async (request) => {
      assertTenantAccess(request.principal!, request.params.id);
      const config = deps.tenants.config(request.params.id);
      const scheduled = tenantSchedules(config);
      const onSchedule = new Set(scheduled.flatMap((s) => s.targets));
      return {
        tenant: config.id,
        enabled: deps.schedulesEnabled,
        schedules: scheduled.map((s) => ({ cron: s.cron, timezone: s.timezone, targets: s.targets, origins: s.origins, queue: s.queue, next: nextFireTimes(s.cron, s.timezone, 3) })),
        manual: config.targets.filter((t) => t.enabled && !onSchedule.has(t.id)).map((t) => t.id),
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/tenants/:id/source/check',
    {
      schema: {
        tags: ['tenants'],
        summary: "Tests the tenant's source connection (a real round trip, or a package's manifest and headers); imports nothing.",
        params: { type: 'object', properties: { id: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      assertTenantAccess(request.principal!, request.params.id);
      const controller = new AbortController();
      // A caller that hangs up stops the check.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) controller.abort();
      });
      return deps.sourceSessions.check(request.params.id, controller.signal);
    },
  );

  registerRunRoutes(app, deps);

  return app;
}

function visible(request: FastifyRequest, tenantId: string): boolean {
  const p = request.principal!;
  return p.role === 'admin' || p.tenant === tenantId;
}

function tenantView(t: ReturnType<TenantRegistry['get']>): Record<string, unknown> {
  return t.config
    ? { id: t.id, status: t.config.paused ? 'paused' : 'valid', config: redactTenant(t.config) }
    : { id: t.id, status: 'invalid', problems: t.problems.map((p) => ({ key: p.key, message: p.message })) };
}
