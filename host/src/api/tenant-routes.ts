import type { FastifyInstance } from 'fastify';
import { type TenantProblem, redactTenant } from '../tenants/tenant-config';
import type { ServedTenant, TenantRegistry } from '../tenants/tenant-registry';
import type { SourceSessions } from '../sources/source-sessions';
import { nextFireTimes, tenantSchedules } from '../sync/sync-scheduler';
import type { SyncService } from '../sync/sync-service';
import {
  BODY_LIMITS,
  connectionCheckSchema,
  errorResponses,
  noBody,
  noQuery,
  pauseStateSchema,
  runSchema,
  schedulesSchema,
  tenantParams,
  tenantReloadSchema,
  tenantSchema,
  tenantTargetParams,
  whoMay,
} from './api-schemas';
import { reaches } from './auth';

/**
 * Tenants: listing and config (redacted), schedules, the source check, and what an operator does to
 * a tenant — reset a target, back-fill it, pause and resume. The role check and the tenant's
 * existence are settled before a route runs (`config.tenantRoute`).
 */
export function registerTenantRoutes(
  app: FastifyInstance,
  deps: { tenants: TenantRegistry; sourceSessions: SourceSessions; syncs: SyncService; schedulesEnabled: boolean },
): void {
  app.get(
    '/tenants',
    {
      config: { access: 'read' },
      schema: {
        tags: ['tenants'],
        summary: 'Tenants the token reaches, with their effective config, secrets redacted.',
        description: 'Who may: any token (an admin sees every tenant, others theirs).',
        querystring: noQuery,
        response: {
          200: { description: 'The tenants.', type: 'object', required: ['tenants'], properties: { tenants: { type: 'array', items: tenantSchema } } },
          ...errorResponses(401),
        },
      },
    },
    async (request) => ({
      tenants: deps.tenants
        .latest()
        .filter((t) => reaches(request.principal!, t.id))
        .map((t) => tenantView(t)),
    }),
  );

  app.post(
    '/tenants/reload',
    {
      config: { access: 'host' },
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags: ['tenants'],
        summary: 'Reads the tenant files again: new, changed and removed tenants take effect for the next runs.',
        description:
          'Who may: admin. A file that became invalid keeps its last valid config (`kept-last-valid`, with the problems); a run in flight finishes on the config it started with; schedules are reconciled. `SIGHUP` and `rosterbridge reload` do the same.',
        querystring: noQuery,
        body: noBody,
        response: { 200: { ...tenantReloadSchema, description: 'What the reload did, tenant by tenant.' }, ...errorResponses(401, 403, 413, 415) },
      },
    },
    async () => {
      const report = await deps.tenants.reload();
      return {
        at: report.at,
        tenants: report.tenants.map((t) => ({
          ...t,
          ...(t.problems ? { problems: t.problems.map((p) => ({ key: p.key, message: p.message })) } : {}),
        })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/tenants/:id',
    {
      config: { access: 'read', tenantRoute: true },
      schema: {
        tags: ['tenants'],
        summary: 'One tenant, effective config, secrets redacted.',
        description: whoMay('read', 'tenant'),
        params: tenantParams,
        querystring: noQuery,
        response: { 200: { ...tenantSchema, description: 'The tenant.' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => tenantView(deps.tenants.forNextRun(request.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/tenants/:id/schedules',
    {
      config: { access: 'read', tenantRoute: true },
      schema: {
        tags: ['tenants'],
        summary: "When the tenant's targets sync by themselves: each cron with its time zone, the targets on it, where it came from, and its next times.",
        description: whoMay('read', 'tenant'),
        params: tenantParams,
        querystring: noQuery,
        response: { 200: { ...schedulesSchema, description: 'The schedules.' }, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const config = deps.tenants.configForNextRun(request.params.id);
      const scheduled = tenantSchedules(config);
      const onSchedule = new Set(scheduled.flatMap((s) => s.targets));
      return {
        tenant: config.id,
        enabled: deps.schedulesEnabled,
        schedules: scheduled.map((s) => ({
          cron: s.cron,
          timezone: s.timezone,
          targets: s.targets,
          origins: s.origins,
          queue: s.queue,
          next: nextFireTimes(s.cron, s.timezone, 3),
        })),
        manual: config.targets.filter((t) => t.enabled && !onSchedule.has(t.id)).map((t) => t.id),
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/tenants/:id/source/check',
    {
      config: { access: 'sync', tenantRoute: true },
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags: ['tenants'],
        summary: "Tests the tenant's source connection (a real round trip, or a package's manifest and headers); imports nothing.",
        description: `${whoMay('sync', 'tenant')} A failed check is a 200 with \`ok: false\` and its code.`,
        params: tenantParams,
        body: noBody,
        querystring: noQuery,
        response: { 200: { ...connectionCheckSchema, description: 'The outcome of the check.' }, ...errorResponses(401, 403, 404, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const controller = new AbortController();
      // A caller that hangs up stops the check.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) controller.abort();
      });
      return deps.sourceSessions.check(request.params.id, controller.signal);
    },
  );

  app.post<{ Params: { id: string; target: string } }>(
    '/tenants/:id/targets/:target/reset',
    {
      config: { access: 'operate', tenantRoute: true },
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags: ['tenants'],
        summary:
          "Resets a target: the product forgets the tenant's sync state and the target's cursor and last sync date are dropped, so its next run is a first run.",
        description: `${whoMay('operate', 'tenant')} Refused (409) while the tenant has an active run or another operation is under way.`,
        params: tenantTargetParams,
        body: noBody,
        querystring: noQuery,
        response: {
          200: {
            description: 'The target was reset.',
            type: 'object',
            required: ['tenant', 'target', 'reset'],
            properties: { tenant: { type: 'string' }, target: { type: 'string' }, reset: { type: 'boolean', enum: [true] } },
          },
          ...errorResponses(401, 403, 404, 409, 413, 415, 422, 504),
        },
      },
    },
    async (request) => {
      await deps.syncs.resetTarget(request.params.id, request.params.target, request.principal!.name);
      return { tenant: request.params.id, target: request.params.target, reset: true };
    },
  );

  app.post<{ Params: { id: string; target: string } }>(
    '/tenants/:id/targets/:target/backfill',
    {
      config: { access: 'operate', tenantRoute: true },
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags: ['tenants'],
        summary: 'Back-fills a (newly enabled or reset) target from the ledger without reading the source.',
        description: `${whoMay('operate', 'tenant')} Refused (409) while the tenant has an active run or another operation is under way.`,
        params: tenantTargetParams,
        body: noBody,
        querystring: noQuery,
        response: { 202: { ...runSchema, description: 'The back-fill run, queued.' }, ...errorResponses(401, 403, 404, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => reply.status(202).send(await deps.syncs.backfill(request.params.id, request.params.target, `api:${request.principal!.name}`)),
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | null }>(
      `/tenants/:id/${action}`,
      {
        config: { access: 'operate', tenantRoute: true },
        bodyLimit: action === 'pause' ? BODY_LIMITS.pause : BODY_LIMITS.none,
        schema: {
          tags: ['tenants'],
          summary: action === 'pause' ? 'Pauses the tenant: no run starts until it is resumed.' : 'Resumes a paused tenant.',
          description:
            action === 'pause'
              ? `${whoMay('operate', 'tenant')} Refused (409 TENANT_BUSY) while a run is queued or running (cancel it, or pause after it ends) or another operation is under way.`
              : `${whoMay('operate', 'tenant')} Refused (409 TENANT_BUSY) while another operation is under way.`,
          params: tenantParams,
          body:
            action === 'pause'
              ? {
                  type: 'object',
                  nullable: true,
                  additionalProperties: false,
                  properties: { reason: { type: 'string', maxLength: 500, description: 'Why, shown with the refusals.' } },
                }
              : noBody,
          querystring: noQuery,
          response: { 200: { ...pauseStateSchema, description: "The tenant's pause state." }, ...errorResponses(401, 403, 404, 409, 413, 415) },
        },
      },
      async (request) => {
        const by = request.principal!.name;
        if (action === 'pause') await deps.syncs.pause(request.params.id, by, request.body?.reason);
        else await deps.syncs.resume(request.params.id, by);
        const reason = await deps.syncs.pausedReason(request.params.id);
        return { tenant: request.params.id, paused: reason !== undefined, ...(reason ? { reason } : {}) };
      },
    );
  }
}

function tenantView(t: ServedTenant): Record<string, unknown> {
  const problems = (list: readonly TenantProblem[]) => list.map((p) => ({ key: p.key, message: p.message }));
  return t.config
    ? {
        id: t.id,
        status: t.config.paused ? 'paused' : 'valid',
        config: redactTenant(t.config),
        // The file was edited into an invalid state: the last valid config above stays in effect.
        ...(t.pendingProblems ? { fileProblems: problems(t.pendingProblems) } : {}),
      }
    : { id: t.id, status: 'invalid', problems: problems(t.problems) };
}
