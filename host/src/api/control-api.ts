import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from '@rosterbridge/core';
import type { PluginRegistry, RunStore } from '@rosterbridge/engine';
import { RosterbridgeError } from '@rosterbridge/core';
import type { SecretCensor } from '../tenants/secret-reference';
import type { TenantRegistry } from '../tenants/tenant-registry';
import type { SourceSessions } from '../sources/source-sessions';
import type { SyncService } from '../sync/sync-service';
import { answerClientError, apiErrorOf, envelope, quote } from './api-errors';
import { BODY_LIMITS, errorResponses, noQuery, pluginSchema, whoMay } from './api-schemas';
import { type Access, type Principal, type TokenAuthenticator, authorize, authorizeHost, rolesFor } from './auth';
import { checkUrl, createValidatorCompiler, jsonBodyParser } from './request-checks';
import type { CommandService } from '../commands/command-service';
import { registerCommandRoutes } from './command-routes';
import { registerRunRoutes } from './run-routes';
import { registerTenantRoutes } from './tenant-routes';
import { registerConsole } from '../console/console-routes';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Routes marked public need no token (health, readiness, docs). */
    public?: boolean;
    /** What the route does, checked against the token's role. */
    access?: Access;
    /**
     * `:id` names a tenant: before its body is read, the token must reach the tenant with `access`
     * (else 403, whether or not the tenant exists) and the tenant must exist (else 404).
     */
    tenantRoute?: boolean;
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
  commands: CommandService;
  /** Whether this host runs the tenants' schedules (`sync.schedule.enabled`). */
  schedulesEnabled: boolean;
  /** Readiness: each check names what is not ready (in words fit for any caller: details go to the log). */
  readiness(): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }>;
}

/**
 * Builds the fastify control API: bearer auth with roles, OpenAPI at /docs, every request checked
 * against its route's schema (no coercion, unknown fields refused), and one error handler that maps
 * every failure — ours, the framework's, Node's HTTP parser's — to the envelope with a catalogued
 * code, secrets scrubbed.
 */
export async function buildControlApi(deps: ControlApiDependencies): Promise<FastifyInstance> {
  const scrub = (text: string) => deps.censor.scrub(text);
  const sendError = (reply: FastifyReply, error: unknown) => {
    const e = apiErrorOf(error, reply.request.routeOptions?.bodyLimit);
    if (e.internal) {
      const err = error as Error;
      deps.logger.error({ err: err?.message, stack: err?.stack, url: reply.request.url.slice(0, 300) }, 'unhandled error in control API');
    }
    return reply.status(e.status).send(deps.censor.scrubDeep(envelope(e)));
  };

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMITS.fallback,
    // A request (headers and body) must arrive within this; a caller trickling bytes gets 408.
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 100 },
    frameworkErrors: (error, _request, reply) => void sendError(reply, error),
    clientErrorHandler: (err, socket) => answerClientError(err, socket, scrub),
  });
  app.setValidatorCompiler(createValidatorCompiler());
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, jsonBodyParser(app.getDefaultJsonParser('error', 'error')));

  app.addHook('onRequest', async (request) => {
    checkUrl(request.url);
    const config = request.routeOptions.config;
    if (config?.public || request.routeOptions.url?.startsWith('/docs')) return;
    // The console's not-found page (a path under /console no route has) answers for itself: host/src/console.
    if (request.is404 && /^\/console(\/|$|\?)/.test(request.url)) return;
    request.principal = deps.tokens.authenticate(request.headers.authorization);
    // A route of the host itself (not of one tenant): its access alone decides.
    if (config?.access === 'host') authorizeHost(request.principal, 'host');
    if (config?.tenantRoute) {
      const tenantId = (request.params as { id: string }).id;
      authorize(request.principal, config.access ?? 'read', tenantId);
      deps.tenants.get(tenantId);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    deps.logger.debug(
      {
        method: request.method,
        url: request.url.slice(0, 300),
        status: reply.statusCode,
        principal: request.principal?.name,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new RosterbridgeError('NOT_FOUND', `no route ${request.method} ${quote(request.url.split('?')[0]!)}`)),
  );

  // Every JSON body leaves through the censor, so a resolved secret can never be echoed.
  app.addHook('preSerialization', async (_request, _reply, payload) => {
    if (deps.censor.size === 0 || payload === null || typeof payload !== 'object') return payload;
    // Value by value: a JSON text scrubbed whole could lose a quote or a key to a redaction.
    return deps.censor.scrubDeep(payload);
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Rosterbridge control API',
        version: deps.version,
        description:
          'Internal API to run and watch roster syncs. Roles: `admin` (every tenant, everything), `tenant-operator` (its tenants: read, sync, and reset, approve, reject, back-fill, pause, resume, run plugin commands), `tenant` (its tenant: read and sync). Every failure is `{"error": {"code", "message", "details"}}` with a code of the catalogue.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Each operation says which roles may call it and, if it takes a body, how large a one.
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      const extensions = {
        ...(access ? { 'x-roles': rolesFor(access) } : {}),
        ...(schema?.body ? { 'x-body-limit': route.bodyLimit ?? BODY_LIMITS.fallback } : {}),
      };
      return { schema: schema ? ({ ...schema, ...extensions } as typeof schema) : schema, url };
    },
    // A route that takes no body, or `{}`, must not be documented as requiring one.
    transformObject: (documents) => {
      const document = 'openapiObject' in documents ? documents.openapiObject : documents.swaggerObject;
      for (const operations of Object.values((document as { paths?: Record<string, Record<string, any>> }).paths ?? {}))
        for (const operation of Object.values(operations))
          if (operation?.requestBody?.content?.['application/json']?.schema?.nullable) operation.requestBody.required = false;
      return document;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process serves HTTP.',
        description: 'Who may: anyone, no token.',
        security: [],
        querystring: noQuery,
        response: {
          200: {
            description: 'Alive.',
            type: 'object',
            required: ['status', 'version'],
            properties: { status: { type: 'string', enum: ['ok'] }, version: { type: 'string' } },
          },
          ...errorResponses(),
        },
      },
    },
    async () => ({ status: 'ok', version: deps.version }),
  );

  const readiness = {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ready', 'not-ready'] },
      checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } },
    },
  } as const;
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable, startup finished.',
        description: 'Who may: anyone, no token. What is not ready is named in plain words (`database unreachable`); the detail is in the host log.',
        security: [],
        querystring: noQuery,
        response: {
          200: { ...readiness, description: 'Ready.' },
          503: { ...readiness, description: 'Not ready: each failed check names what.' },
          ...errorResponses(),
        },
      },
    },
    async (_request, reply) => {
      const r = await deps.readiness();
      return reply.status(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks });
    },
  );

  app.get(
    '/plugins',
    {
      config: { access: 'read' },
      schema: {
        tags: ['plugins'],
        summary: 'Installed plugins with their state (active, inactive, failed with reason) and activation timing.',
        description: whoMay('read', 'any'),
        querystring: noQuery,
        response: {
          200: { description: 'Every plugin.', type: 'object', required: ['plugins'], properties: { plugins: { type: 'array', items: pluginSchema } } },
          ...errorResponses(401),
        },
      },
    },
    async () => ({ plugins: deps.plugins.list() }),
  );

  app.get<{ Params: { id: string } }>(
    '/plugins/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['plugins'],
        summary: 'One plugin.',
        description: whoMay('read', 'any'),
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string', maxLength: 100, description: 'A plugin id.' } },
        },
        querystring: noQuery,
        response: { 200: { ...pluginSchema, description: 'The plugin.' }, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const p = deps.plugins.get(request.params.id);
      if (!p) throw new RosterbridgeError('PLUGIN_NOT_FOUND', `plugin ${quote(request.params.id)} is not installed`);
      return p;
    },
  );

  registerTenantRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerCommandRoutes(app, deps);
  // The operator console (HTML at /console, `/` leads there): it calls these routes as the signed-in token.
  await registerConsole(app, { tokens: deps.tokens, logger: deps.logger });

  return app;
}
