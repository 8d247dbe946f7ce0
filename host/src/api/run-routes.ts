import type { FastifyInstance } from 'fastify';
import { type Censor, RosterbridgeError, type SyncRun, summarizeTarget } from '@rosterbridge/core';
import { type PluginRegistry, type RunStore } from '@rosterbridge/engine';
import type { SyncService } from '../sync/sync-service';
import { quote } from './api-errors';
import { BODY_LIMITS, errorResponses, noBody, runIssueSchema, runParams, runSchema, runSummarySchema, tenantParams, whoMay } from './api-schemas';
import { type Access, type Principal, authorize } from './auth';

/** A run id as the database stores it; anything else names no run. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The largest `after` a page of issues takes (issue numbers are safe integers). */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * How many stored issues one request reads at most to fill a page filtered by entity or code (the
 * store filters by severity and target; entity and code are matched here). A page that reaches it
 * short is answered with `next`, so a caller pages on; no request reads more.
 */
export const ISSUE_SCAN_LIMIT = 20_000;

/**
 * Sync runs: trigger, history, detail, issues (paged), live progress (server-sent events), cancel,
 * approve or reject a hold. Scoped tokens reach only their tenants' runs.
 */
export function registerRunRoutes(app: FastifyInstance, deps: { syncs: SyncService; runs: RunStore; censor: Censor; plugins: PluginRegistry }): void {
  /**
   * The run with each target's summary in its product's words ({@link summarizeTarget}), for the
   * targets whose plugin declares summary lines.
   */
  const withSummaries = (run: SyncRun): SyncRun => {
    const targets = Object.entries(run.counts?.targets ?? {});
    if (targets.length === 0) return run;
    const decorated = Object.fromEntries(
      targets.map(([id, counts]) => {
        const target = deps.plugins.findContributor('targets', id)?.contributes.targets.find((t) => t.id === id);
        const lines = target?.summary;
        return [id, lines ? { ...counts, ...(target.displayName ? { product: target.displayName } : {}), summary: summarizeTarget(lines, counts) } : counts];
      }),
    );
    return { ...run, counts: { ...run.counts, targets: decorated } };
  };

  /** The run, when the principal may do `access` on its tenant; 404 for an id that names no run. */
  const runFor = async (principal: Principal, runId: string, access: Access): Promise<SyncRun> => {
    const run = UUID.test(runId) ? await deps.runs.get(runId) : undefined;
    if (!run) throw new RosterbridgeError('NOT_FOUND', `run ${quote(runId)} does not exist`, { run: runId.slice(0, 100) });
    authorize(principal, access, run.tenantId);
    return run;
  };

  app.post<{
    Params: { id: string };
    Body: { mode?: 'full' | 'delta'; dryRun?: boolean; preview?: boolean; schools?: string[]; targets?: string[] } | null;
  }>(
    '/tenants/:id/syncs',
    {
      config: { access: 'sync', tenantRoute: true },
      bodyLimit: BODY_LIMITS.sync,
      schema: {
        tags: ['runs'],
        summary: 'Starts a sync of the tenant (full or delta, optionally a dry run or a readiness preview, optionally some targets).',
        description:
          `${whoMay('sync', 'tenant')} Refused (409) while the tenant has an active or held run (CONFLICT), another operation is under way (TENANT_BUSY), or it is paused (TENANT_PAUSED). ` +
          "A preview (`preview: true`) runs every target's rules on the changes in a transaction that is rolled back: its counts and issues are the real ones, nothing is written; " +
          "`schools` scopes it to those orgs' records. `preview` with `dryRun`, or `schools` without `preview`, is 422 SYNC_OPTIONS_CONFLICT; schools the roster does not hold are 422 SCHOOLS_UNKNOWN.",
        params: tenantParams,
        body: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          properties: {
            mode: { type: 'string', enum: ['full', 'delta'], description: 'Default `full`.' },
            dryRun: { type: 'boolean', description: 'Report what would change, write nothing. Default false.' },
            preview: {
              type: 'boolean',
              description:
                "A readiness preview: stage, run every target's rules on the changes, roll everything back; per-target counts and issues as a real run's. Default false.",
            },
            schools: {
              type: 'array',
              minItems: 1,
              maxItems: 200,
              items: { type: 'string', minLength: 1, maxLength: 100 },
              description: "Org sourcedIds a preview is scoped to: the targets receive those schools' records only.",
            },
            targets: {
              type: 'array',
              minItems: 1,
              maxItems: 50,
              uniqueItems: true,
              items: { type: 'string', minLength: 1, maxLength: 100 },
              description: "Some of the tenant's enabled targets (default: all).",
            },
          },
        },
        response: { 202: { ...runSchema, description: 'The run, queued.' }, ...errorResponses(401, 403, 404, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const run = await deps.syncs.trigger(request.params.id, { ...(request.body ?? {}), trigger: `api:${request.principal!.name}` });
      return reply.status(202).send(run);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; before?: string } }>(
    '/tenants/:id/runs',
    {
      config: { access: 'read', tenantRoute: true },
      schema: {
        tags: ['runs'],
        summary: "The tenant's run history, newest first: status, timing, counts, error codes.",
        description: whoMay('read', 'tenant'),
        params: tenantParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            before: { type: 'string', format: 'date-time', maxLength: 40, description: 'Only runs queued before this instant (paging).' },
          },
        },
        response: {
          200: { description: 'The runs.', type: 'object', required: ['runs'], properties: { runs: { type: 'array', items: runSummarySchema } } },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      const before = request.query.before;
      // ajv's date-time takes a leap second and year 0, which neither Date nor PostgreSQL reads.
      if (before !== undefined && !(Date.parse(before) >= Date.parse('0001-01-01T00:00:00Z')))
        throw new RosterbridgeError('BAD_REQUEST', `query parameter "before" must be an instant from year 1 on, such as 2026-12-01T00:00:00Z`, {
          field: 'before',
          in: 'querystring',
        });
      const runs = await deps.runs.list(request.params.id, { limit: request.query.limit ?? 20, before });
      return { runs: runs.map(summary) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/runs/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        summary: 'One run with all its counts.',
        description: whoMay('read', 'run'),
        params: runParams,
        response: { 200: { ...runSchema, description: 'The run.' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => withSummaries(await runFor(request.principal!, request.params.id, 'read')),
  );

  app.get<{
    Params: { id: string };
    Querystring: { severity?: 'error' | 'warning'; target?: string; entity?: string; code?: string; after?: number; limit?: number };
  }>(
    '/runs/:id/issues',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        summary: "The run's record-level issues (entity, sourcedId, file and line, code, message, severity), paged with `after` = the last seq seen.",
        description: whoMay('read', 'run'),
        params: runParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            severity: { type: 'string', enum: ['error', 'warning'] },
            target: { type: 'string', maxLength: 100, description: "Only this target's issues." },
            entity: { type: 'string', maxLength: 100, description: 'Only issues of this entity (`users`).' },
            code: { type: 'string', maxLength: 100, description: 'Only issues with this code.' },
            after: { type: 'integer', minimum: 0, maximum: MAX_SEQ, description: 'The `seq` of the last issue seen.' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: {
            description: `A page of issues; \`next\` is the \`after\` of the next page, or null. Filtered by entity or code, a request reads at most ${ISSUE_SCAN_LIMIT} stored issues: a page may then be short (even empty) with a \`next\`.`,
            type: 'object',
            required: ['issues', 'next'],
            properties: { issues: { type: 'array', items: runIssueSchema }, next: { type: 'integer', nullable: true } },
          },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      await runFor(request.principal!, request.params.id, 'read');
      const { severity, target, entity, code } = request.query;
      const limit = request.query.limit ?? 100;
      const read = (after: number | undefined, n: number) => deps.runs.issues(request.params.id, { severity, targetId: target, after, limit: n });
      if (entity === undefined && code === undefined) {
        const issues = await read(request.query.after, limit);
        return { issues, next: issues.length === limit ? issues[issues.length - 1]!.seq : null };
      }
      // Entity and code are matched on pages of the store, within a bounded scan.
      const issues: Awaited<ReturnType<typeof read>> = [];
      let after = request.query.after;
      for (let scanned = 0; scanned < ISSUE_SCAN_LIMIT;) {
        const asked = Math.min(1000, ISSUE_SCAN_LIMIT - scanned);
        const chunk = await read(after, asked);
        scanned += chunk.length;
        for (const issue of chunk) {
          after = issue.seq;
          if ((entity === undefined || issue.entity === entity) && (code === undefined || issue.code === code)) {
            issues.push(issue);
            if (issues.length === limit) return { issues, next: issue.seq };
          }
        }
        if (chunk.length < asked) return { issues, next: null };
      }
      return { issues, next: after ?? null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/runs/:id/events',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        summary: 'Live progress of the run as server-sent events (`progress`, then `end` with the run).',
        description: whoMay('read', 'run'),
        params: runParams,
        response: {
          200: {
            description: 'An event stream: `event: progress` lines while the run goes on, then one `event: end` with the run.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      await runFor(request.principal!, request.params.id, 'read');
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

  const decisions = {
    cancel: { access: 'sync', summary: 'Cancels a queued or running run; a held run is rejected (which needs the rights of a reject).' },
    approve: { access: 'operate', summary: 'Approves a held run: it is applied.' },
    reject: { access: 'operate', summary: 'Rejects a held run: nothing is applied.' },
  } as const;
  for (const [action, { access, summary }] of Object.entries(decisions) as [keyof typeof decisions, (typeof decisions)[keyof typeof decisions]][]) {
    app.post<{ Params: { id: string } }>(
      `/runs/:id/${action}`,
      {
        config: { access },
        bodyLimit: BODY_LIMITS.none,
        schema: {
          tags: ['runs'],
          summary,
          description: `${whoMay(access, 'run')}${action === 'cancel' ? ` A held run: ${whoMay('operate', 'run').replace('Who may: ', '')}` : ''}`,
          params: runParams,
          body: noBody,
          response: { 200: { ...runSchema, description: 'The run as it now stands.' }, ...errorResponses(401, 403, 404, 409, 413, 415) },
        },
      },
      async (request) => {
        const run = await runFor(request.principal!, request.params.id, access);
        const by = request.principal!.name;
        if (action === 'cancel') {
          // Cancelling a held run rejects it: an override, for the roles that may reject.
          if (run.status === 'held') authorize(request.principal!, 'operate', run.tenantId);
          return deps.syncs.cancel(run.id, by);
        }
        return action === 'approve' ? deps.syncs.approve(run.id, by) : deps.syncs.reject(run.id, by);
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
    preview: run.preview,
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
