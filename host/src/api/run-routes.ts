import type { FastifyInstance } from 'fastify';
import { type Censor, RosterbridgeError, type RunStore, type SyncRun } from '@rosterbridge/core';
import type { SyncService } from '../sync/sync-service';
import { assertTenantAccess } from './auth';

const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

/**
 * Sync runs: trigger, history, detail, issues (paged), live progress (server-sent events), cancel,
 * approve or reject a hold. Tenant tokens reach only their tenant's runs.
 */
export function registerRunRoutes(app: FastifyInstance, deps: { syncs: SyncService; runs: RunStore; censor: Censor }): void {
  const runFor = async (principal: Parameters<typeof assertTenantAccess>[0], runId: string): Promise<SyncRun> => {
    const run = await deps.runs.get(runId);
    if (!run) throw new RosterbridgeError('NOT_FOUND', `run ${runId} does not exist`);
    assertTenantAccess(principal, run.tenantId);
    return run;
  };

  app.post<{ Params: { id: string }; Body: { mode?: 'full' | 'delta'; dryRun?: boolean; targets?: string[] } }>(
    '/tenants/:id/syncs',
    {
      schema: {
        tags: ['runs'],
        summary: 'Starts a sync of the tenant (full or delta, optionally a dry run, optionally some targets). Answers 202 with the queued run.',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { mode: { type: 'string', enum: ['full', 'delta'] }, dryRun: { type: 'boolean' }, targets: { type: 'array', items: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      assertTenantAccess(request.principal!, request.params.id);
      const run = await deps.syncs.trigger(request.params.id, { ...(request.body ?? {}), trigger: `api:${request.principal!.name}` });
      return reply.status(202).send(run);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; before?: string } }>(
    '/tenants/:id/runs',
    {
      schema: {
        tags: ['runs'],
        summary: "The tenant's run history, newest first: status, timing, counts, error codes.",
        params: idParams,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 }, before: { type: 'string', format: 'date-time' } } },
      },
    },
    async (request) => {
      assertTenantAccess(request.principal!, request.params.id);
      const runs = await deps.runs.list(request.params.id, { limit: request.query.limit ?? 20, before: request.query.before });
      return { runs: runs.map(summary) };
    },
  );

  app.get<{ Params: { id: string } }>('/runs/:id', { schema: { tags: ['runs'], summary: 'One run with all its counts.', params: idParams } }, async (request) =>
    runFor(request.principal!, request.params.id),
  );

  app.get<{ Params: { id: string }; Querystring: { severity?: 'error' | 'warning'; target?: string; after?: number; limit?: number } }>(
    '/runs/:id/issues',
    {
      schema: {
        tags: ['runs'],
        summary: "The run's record-level issues (entity, sourcedId, file and line, code, message, severity), paged with `after` = the last seq seen.",
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            severity: { type: 'string', enum: ['error', 'warning'] },
            target: { type: 'string' },
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      await runFor(request.principal!, request.params.id);
      const limit = request.query.limit ?? 100;
      const issues = await deps.runs.issues(request.params.id, { severity: request.query.severity, targetId: request.query.target, after: request.query.after, limit });
      return { issues, next: issues.length === limit ? issues[issues.length - 1]!.seq : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/runs/:id/events',
    { schema: { tags: ['runs'], summary: 'Live progress of the run as server-sent events (`progress`, then `end`).', params: idParams } },
    async (request, reply) => {
      await runFor(request.principal!, request.params.id);
      const runId = request.params.id;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(deps.censor.scrubDeep(data))}\n\n`);
      const finished = (s: SyncRun['status']) => !['queued', 'running'].includes(s);
      let ended = false;
      const end = (run: SyncRun | undefined) => {
        if (ended) return;
        ended = true;
        sub.dispose();
        send('end', run);
        res.end();
      };
      // Subscribe before reading the run, so a run that ends in between still gets its `end`.
      const sub = deps.syncs.onDidProgress((p) => {
        if (p.runId !== runId || ended) return;
        if (p.phase === 'done') void deps.runs.get(runId).then(end);
        else send('progress', p);
      });
      request.raw.on('close', () => sub.dispose());
      const run = (await deps.runs.get(runId))!;
      if (finished(run.status)) end(run);
      else send('progress', { runId: run.id, status: run.status, counts: run.counts });
    },
  );

  const targetParams = { type: 'object', properties: { id: { type: 'string' }, target: { type: 'string' } }, required: ['id', 'target'] } as const;

  app.post<{ Params: { id: string; target: string } }>(
    '/tenants/:id/targets/:target/reset',
    {
      schema: {
        tags: ['tenants'],
        summary: "Resets a target: the product forgets the tenant's sync state and the target's cursor and last sync date are dropped, so its next run is a first run.",
        params: targetParams,
      },
    },
    async (request) => {
      assertTenantAccess(request.principal!, request.params.id);
      await deps.syncs.resetTarget(request.params.id, request.params.target, request.principal!.name);
      return { tenant: request.params.id, target: request.params.target, reset: true };
    },
  );

  app.post<{ Params: { id: string; target: string } }>(
    '/tenants/:id/targets/:target/backfill',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Back-fills a (newly enabled or reset) target from the ledger without reading the source. 202 with the run.',
        params: targetParams,
      },
    },
    async (request, reply) => {
      assertTenantAccess(request.principal!, request.params.id);
      return reply.status(202).send(await deps.syncs.backfill(request.params.id, request.params.target, `api:${request.principal!.name}`));
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } }>(
      `/tenants/:id/${action}`,
      {
        schema: {
          tags: ['tenants'],
          summary: action === 'pause' ? 'Pauses the tenant: no run starts until it is resumed.' : 'Resumes a paused tenant.',
          params: idParams,
          body: { type: 'object', nullable: true, additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } },
        },
      },
      async (request) => {
        assertTenantAccess(request.principal!, request.params.id);
        const by = request.principal!.name;
        if (action === 'pause') await deps.syncs.pause(request.params.id, by, request.body?.reason);
        else await deps.syncs.resume(request.params.id, by);
        const reason = await deps.syncs.pausedReason(request.params.id);
        return { tenant: request.params.id, paused: reason !== undefined, ...(reason ? { reason } : {}) };
      },
    );
  }

  for (const action of ['cancel', 'approve', 'reject'] as const) {
    app.post<{ Params: { id: string } }>(
      `/runs/:id/${action}`,
      {
        schema: {
          tags: ['runs'],
          summary: { cancel: 'Cancels a queued or running run (a held run is rejected).', approve: 'Approves a held run: it is applied.', reject: 'Rejects a held run: nothing is applied.' }[action],
          params: idParams,
        },
      },
      async (request) => {
        await runFor(request.principal!, request.params.id);
        const by = request.principal!.name;
        return action === 'cancel' ? deps.syncs.cancel(request.params.id, by) : action === 'approve' ? deps.syncs.approve(request.params.id, by) : deps.syncs.reject(request.params.id, by);
      },
    );
  }
}

/** A run as a history line: when, how long, how many records, how many errors. */
function summary(run: SyncRun): Record<string, unknown> {
  const processed = Object.values(run.counts.source).reduce((a, c) => a + (c?.read ?? 0), 0);
  return {
    id: run.id,
    status: run.status,
    mode: run.mode,
    dryRun: run.dryRun,
    trigger: run.trigger,
    targets: run.targets,
    ...(run.jobId ? { jobId: run.jobId, attempt: run.attempt } : {}),
    queuedAt: run.queuedAt,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationMs: run.durationMs,
    recordsProcessed: processed,
    errors: run.counts.issues.errors,
    warnings: run.counts.issues.warnings,
    errorCode: run.errorCode,
    reason: run.reason,
  };
}
