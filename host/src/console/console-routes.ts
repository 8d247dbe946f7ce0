import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import helmet from '@fastify/helmet';
import { Eta } from 'eta';
import type { Logger } from '@rosterbridge/core';
import { type Access, ROLE_ACCESS, type TokenAuthenticator } from '../api/auth';
import { ConsoleSessions, type ConsoleSession } from './console-sessions';
import { productSummary } from './product-summary';

/** Where the templates and the static files are: in the package, beside the compiled code's sources. */
const CONSOLE_DIR = path.resolve(__dirname, '../../src/console');
const VIEWS_DIR = path.join(CONSOLE_DIR, 'views');
const ASSETS: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [
    ['console.css', 'text/css; charset=utf-8'],
    ['console.js', 'text/javascript; charset=utf-8'],
    ['favicon.svg', 'image/svg+xml'],
  ].map(([name, type]) => [name, { type: type!, body: readFileSync(path.join(CONSOLE_DIR, 'assets', name!)) }]),
);

/** The session cookie: a random id, never the token. */
const SESSION_COOKIE = 'rb_console';
/** Bytes of a form body the console takes (a command's arguments are small JSON; files go through the API). */
const FORM_LIMIT = 64 * 1024;
/** How many issues a CSV download holds at most (a run stores at most sync.maxIssuesPerCode per code). */
const CSV_MAX_ISSUES = 100_000;
const ISSUES_PAGE = 50;

/** What the console needs from the host: the API's token check (for login) and a log. */
export interface ConsoleDependencies {
  tokens: TokenAuthenticator;
  logger: Logger;
}

/** An answer of the API that is not a success, shown as the console's error page with its status. */
class ApiRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Form = Record<string, string | string[]>;

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
  }
}

/**
 * The operator console: server-rendered pages at /console (and `/` leads there). Every read and
 * every action calls the API's own route (`inject` with the session's bearer token), so the role
 * and tenant checks and the validation are exactly the API's; the console only hides the buttons a
 * role may not use. Sessions are server-side ({@link ConsoleSessions}), the cookie httpOnly and
 * SameSite=Strict; every POST carries a CSRF token; pages have a strict Content-Security-Policy.
 */
export async function registerConsole(api: FastifyInstance, deps: ConsoleDependencies): Promise<void> {
  api.get('/', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));
  await api.register(async (app) => consolePlugin(app, api, deps), { prefix: '/console' });
}

async function consolePlugin(app: FastifyInstance, api: FastifyInstance, deps: ConsoleDependencies): Promise<void> {
  const sessions = new ConsoleSessions();
  const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true });

  // A fresh secret per process: signed CSRF cookies of an earlier process are refused, like its sessions.
  await app.register(cookie, { secret: randomBytes(32).toString('hex') });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'rb_csrf',
    cookieOpts: { path: '/console', httpOnly: true, sameSite: 'strict', signed: true },
  });
  await app.register(helmet, {
    global: true,
    hsts: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_request, body, done) => {
    const form: Form = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const had = form[k];
      form[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    done(null, form);
  });

  // Every console route: public to the API's bearer check (the console has its own sessions), not in the OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), public: true } as typeof route.config;
    route.schema = { ...(route.schema ?? {}), hide: true };
  });

  app.addHook('onRequest', async (request) => {
    request.consoleSession = sessions.get(request.cookies[SESSION_COOKIE]);
  });

  const can = (s: ConsoleSession | undefined, access: Access) => !!s && ROLE_ACCESS[s.principal.role].includes(access);

  /** Renders a page with the layout's needs: who is signed in, what they may do, a CSRF token for its forms. */
  const render = async (request: FastifyRequest, reply: FastifyReply, view: string, data: Record<string, unknown>, status = 200) => {
    const s = request.consoleSession;
    const flash = s?.flash;
    if (s) delete s.flash;
    const html = eta.render(view, {
      ...data,
      csrf: reply.generateCsrf(),
      who: s ? { name: s.principal.name, role: s.principal.role } : undefined,
      can: { sync: can(s, 'sync'), operate: can(s, 'operate') },
      flash,
    });
    return reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  };

  /** Calls the API as the signed-in operator; a refusal becomes an {@link ApiRefusal}. */
  const call = async <T = any>(request: FastifyRequest, method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> => {
    const s = request.consoleSession!;
    const res = await api.inject({
      method,
      url,
      headers: { authorization: `Bearer ${s.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    const parsed = res.headers['content-type']?.toString().startsWith('application/json') ? res.json() : undefined;
    if (res.statusCode >= 400) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiRefusal(res.statusCode, error?.code ?? 'ERROR', error?.message ?? `the API answered ${res.statusCode}`);
    }
    return parsed as T;
  };
  /** Like {@link call}, but a refusal is returned (for a part of a page that may be unavailable). */
  const tryCall = async <T = any>(request: FastifyRequest, url: string): Promise<T | ApiRefusal> =>
    call<T>(request, 'GET', url).catch((err: unknown) => {
      if (err instanceof ApiRefusal) return err;
      throw err;
    });

  const t = (id: string) => `/tenants/${encodeURIComponent(id)}`;
  const tenantPage = (id: string) => `/console/tenants/${encodeURIComponent(id)}`;
  const runPage = (id: string) => `/console/runs/${encodeURIComponent(id)}`;
  const field = (form: unknown, name: string): string | undefined => {
    const v = (form as Form | null)?.[name];
    return typeof v === 'string' ? v : undefined;
  };
  const after = (s: ConsoleSession | undefined, message: string) => {
    if (s) s.flash = message;
  };

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    let status = error instanceof ApiRefusal ? error.statusCode : (error.statusCode ?? 500);
    let message = error.message;
    let code = error.code ?? 'ERROR';
    if (typeof code === 'string' && code.startsWith('FST_CSRF')) {
      status = 403;
      code = 'CSRF_INVALID';
      message = 'This form was not sent from a page of this console, or it has expired: open the page again and resend.';
    } else if (status >= 500) {
      deps.logger.error({ err: error.message, stack: error.stack, url: request.url.slice(0, 300) }, 'unhandled error in the console');
      code = 'INTERNAL';
      message = 'Something went wrong in the console; the detail is in the host log.';
    }
    return render(request, reply, 'error', { title: `Error ${status}`, status, code, message }, status);
  });
  app.setNotFoundHandler(async (request, reply) =>
    render(request, reply, 'error', { title: 'Not found', status: 404, code: 'NOT_FOUND', message: 'No page of the console is here.' }, 404),
  );

  /** Routes behind a session: a request without one goes to the login page (GET) or is refused (POST). */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.consoleSession) return;
    if (request.method === 'GET') return reply.redirect('/console/login');
    return render(request, reply, 'error', { title: 'Signed out', status: 401, code: 'AUTH_REQUIRED', message: 'Sign in again.' }, 401);
  };
  const guarded = { preHandler: [signedIn] };
  const posted = { preHandler: [signedIn, app.csrfProtection] };

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const asset = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
    if (!asset) return reply.callNotFound();
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });

  app.get('/login', async (request, reply) => {
    if (request.consoleSession) return reply.redirect('/console/');
    return render(request, reply, 'login', { title: 'Sign in' });
  });

  app.post('/login', { preHandler: app.csrfProtection }, async (request, reply) => {
    const token = field(request.body, 'token')?.trim() ?? '';
    let principal;
    try {
      if (!token || token.length > 1000 || /\s/.test(token)) throw new Error('no token');
      principal = deps.tokens.authenticate(`Bearer ${token}`);
    } catch {
      return render(request, reply, 'login', { title: 'Sign in', failed: true }, 401);
    }
    sessions.close(request.cookies[SESSION_COOKIE]);
    const session = sessions.open(principal, token);
    reply.setCookie(SESSION_COOKIE, session.id, {
      path: '/console',
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
    });
    // A new CSRF secret for the session: the one the login page used was handed to a signed-out browser.
    reply.clearCookie('rb_csrf', { path: '/console' });
    return reply.redirect('/console/', 303);
  });

  app.post('/logout', { preHandler: app.csrfProtection }, async (request, reply) => {
    sessions.close(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/console' });
    reply.clearCookie('rb_csrf', { path: '/console' });
    return reply.redirect('/console/login', 303);
  });

  /** The newest sync of each target among a tenant's recent runs (a preview or a dry run wrote nothing: not a sync). */
  const lastRunPerTarget = (targets: string[], runs: any[]) =>
    Object.fromEntries(targets.map((target) => [target, runs.find((r) => !r.preview && !r.dryRun && (r.targets ?? []).includes(target))]));

  app.get('/', guarded, async (request, reply) => {
    const { tenants } = await call<{ tenants: any[] }>(request, 'GET', '/tenants');
    const rows = await Promise.all(
      tenants.map(async (tenant) => {
        const targets: string[] = (tenant.config?.targets ?? []).filter((x: any) => x.enabled).map((x: any) => x.id);
        const runs = await tryCall<{ runs: any[] }>(request, `${t(tenant.id)}/runs?limit=50`);
        const schedules = await tryCall<any>(request, `${t(tenant.id)}/schedules`);
        const next =
          schedules instanceof ApiRefusal ? [] : schedules.schedules.flatMap((s: any) => s.next.slice(0, 1).map((at: string) => ({ at, targets: s.targets })));
        return {
          id: tenant.id,
          displayName: tenant.config?.displayName ?? tenant.id,
          status: tenant.status,
          targets,
          last: runs instanceof ApiRefusal ? {} : lastRunPerTarget(targets, runs.runs),
          moreRuns: !(runs instanceof ApiRefusal) && runs.runs.length === 50,
          next: next.sort((a: any, b: any) => a.at.localeCompare(b.at)),
          schedulesOn: schedules instanceof ApiRefusal ? false : schedules.enabled,
        };
      }),
    );
    return render(request, reply, 'tenants', { title: 'Tenants', tenants: rows });
  });

  app.get<{ Params: { id: string } }>('/tenants/:id', guarded, async (request, reply) => {
    const id = request.params.id;
    const tenant = await call(request, 'GET', t(id));
    const [runs, schedules, commands] = await Promise.all([
      tryCall<{ runs: any[] }>(request, `${t(id)}/runs?limit=50`),
      tryCall<any>(request, `${t(id)}/schedules`),
      tryCall<{ commands: any[] }>(request, `${t(id)}/commands`),
    ]);
    const targets: any[] = tenant.config?.targets ?? [];
    const last =
      runs instanceof ApiRefusal
        ? {}
        : lastRunPerTarget(
            targets.map((x) => x.id),
            runs.runs,
          );
    const active = runs instanceof ApiRefusal ? undefined : runs.runs.find((r: any) => ['queued', 'running', 'held'].includes(r.status));
    return render(request, reply, 'tenant', {
      title: tenant.config?.displayName ?? id,
      tenant,
      targets,
      last,
      moreRuns: !(runs instanceof ApiRefusal) && runs.runs.length === 50,
      active,
      schedules: schedules instanceof ApiRefusal ? undefined : schedules,
      commands: commands instanceof ApiRefusal ? [] : commands.commands,
      check: undefined,
    });
  });

  app.post<{ Params: { id: string } }>('/tenants/:id/check', posted, async (request, reply) => {
    const id = request.params.id;
    const check = await call(request, 'POST', `${t(id)}/source/check`, {});
    const tenant = await call(request, 'GET', t(id));
    return render(request, reply, 'check', { title: `Connection of ${tenant.config?.displayName ?? id}`, tenant, check });
  });

  app.post<{ Params: { id: string } }>('/tenants/:id/sync', posted, async (request, reply) => {
    const mode = field(request.body, 'mode') === 'delta' ? 'delta' : 'full';
    const run = await call(request, 'POST', `${t(request.params.id)}/syncs`, { mode, dryRun: field(request.body, 'dryRun') === 'on' });
    after(request.consoleSession, `Started a ${mode}${run.dryRun ? ' dry' : ''} run.`);
    return reply.redirect(runPage(run.id), 303);
  });

  app.post<{ Params: { id: string } }>('/tenants/:id/preview', posted, async (request, reply) => {
    const schools = (field(request.body, 'schools') ?? '')
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    const run = await call(request, 'POST', `${t(request.params.id)}/syncs`, { preview: true, ...(schools.length ? { schools } : {}) });
    after(request.consoleSession, `Started a readiness preview${schools.length ? ` of ${schools.length} school(s)` : ''}: nothing is written.`);
    return reply.redirect(runPage(run.id), 303);
  });

  app.post<{ Params: { id: string; target: string } }>('/tenants/:id/targets/:target/reset', posted, async (request, reply) => {
    const { id, target } = request.params;
    // The typed confirmation: the operator types the target's id (the API's reset takes no body).
    if (field(request.body, 'confirm') !== target) {
      const tenant = await call(request, 'GET', t(id));
      return render(
        request,
        reply,
        'error',
        {
          title: 'Not reset',
          status: 422,
          code: 'CONFIRMATION_MISMATCH',
          message: `Type the target's id "${target}" to confirm the reset of ${tenant.config?.displayName ?? id}; nothing was reset.`,
          back: tenantPage(id),
        },
        422,
      );
    }
    await call(request, 'POST', `${t(id)}/targets/${encodeURIComponent(target)}/reset`, {});
    after(request.consoleSession, `Reset ${target}: its next run is a first run.`);
    return reply.redirect(tenantPage(id), 303);
  });

  app.post<{ Params: { id: string; target: string } }>('/tenants/:id/targets/:target/backfill', posted, async (request, reply) => {
    const { id, target } = request.params;
    const run = await call(request, 'POST', `${t(id)}/targets/${encodeURIComponent(target)}/backfill`, {});
    after(request.consoleSession, `Started a back-fill of ${target}.`);
    return reply.redirect(runPage(run.id), 303);
  });

  for (const action of ['pause', 'resume'] as const)
    app.post<{ Params: { id: string } }>(`/tenants/:id/${action}`, posted, async (request, reply) => {
      const reason = field(request.body, 'reason')?.trim();
      await call(request, 'POST', `${t(request.params.id)}/${action}`, action === 'pause' && reason ? { reason } : {});
      after(request.consoleSession, action === 'pause' ? 'Paused: no run starts until it is resumed.' : 'Resumed.');
      return reply.redirect(tenantPage(request.params.id), 303);
    });

  app.post<{ Params: { id: string; command: string } }>('/tenants/:id/commands/:command', posted, async (request, reply) => {
    const { id, command } = request.params;
    const text = field(request.body, 'arguments')?.trim() || '{}';
    let args: unknown;
    try {
      args = JSON.parse(text);
    } catch {
      throw new ApiRefusal(400, 'BAD_REQUEST', 'The arguments must be a JSON object, such as {}.');
    }
    const outcome = await call(request, 'POST', `${t(id)}/commands/${encodeURIComponent(command)}`, args);
    const tenant = await call(request, 'GET', t(id));
    return render(request, reply, 'command', { title: command, tenant, outcome });
  });

  app.get<{ Params: { id: string }; Querystring: { before?: string } }>('/tenants/:id/runs', guarded, async (request, reply) => {
    const id = request.params.id;
    const tenant = await call(request, 'GET', t(id));
    const before = typeof request.query.before === 'string' ? request.query.before.slice(0, 40) : undefined;
    const { runs } = await call<{ runs: any[] }>(request, 'GET', `${t(id)}/runs?limit=50${before ? `&before=${encodeURIComponent(before)}` : ''}`);
    return render(request, reply, 'runs', {
      title: `Runs of ${tenant.config?.displayName ?? id}`,
      tenant,
      runs,
      older: runs.length === 50 ? runs[runs.length - 1].queuedAt : undefined,
    });
  });

  const issueFilters = (q: Record<string, unknown>) => {
    const filters: Record<string, string> = {};
    for (const k of ['severity', 'target', 'entity', 'code'] as const) {
      const v = q[k];
      if (typeof v === 'string' && v !== '') filters[k] = v.slice(0, 100);
    }
    return filters;
  };

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/runs/:id', guarded, async (request, reply) => {
    const run = await call(request, 'GET', `/runs/${encodeURIComponent(request.params.id)}`);
    const tenant = await tryCall(request, t(run.tenantId));
    const filters = issueFilters(request.query);
    const afterSeq = /^\d{1,15}$/.test(request.query.after ?? '') ? request.query.after : undefined;
    const query = new URLSearchParams({ ...filters, limit: String(ISSUES_PAGE), ...(afterSeq ? { after: afterSeq } : {}) });
    const issues = await call<{ issues: any[]; next: number | null }>(request, 'GET', `/runs/${encodeURIComponent(run.id)}/issues?${query}`);
    const targets = Object.keys(run.counts?.targets ?? {});
    return render(request, reply, 'run', {
      title: `Run ${run.id.slice(0, 8)}`,
      run,
      tenantName: tenant instanceof ApiRefusal ? run.tenantId : (tenant.config?.displayName ?? run.tenantId),
      summaries: targets.map((target) => productSummary(target, run.counts.targets[target])),
      live: ['queued', 'running'].includes(run.status),
      issues: issues.issues,
      filters,
      targets,
      entities: Object.keys(run.counts?.source ?? {}),
      next: issues.next === null ? undefined : `${runPage(run.id)}?${new URLSearchParams({ ...filters, after: String(issues.next) })}`,
      csv: `${runPage(run.id)}/issues.csv${Object.keys(filters).length ? `?${new URLSearchParams(filters)}` : ''}`,
      first: afterSeq !== undefined ? `${runPage(run.id)}?${new URLSearchParams(filters)}` : undefined,
    });
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/runs/:id/issues.csv', guarded, async (request, reply) => {
    const runId = encodeURIComponent(request.params.id);
    const filters = issueFilters(request.query);
    const columns = ['seq', 'severity', 'code', 'targetId', 'entity', 'sourcedId', 'field', 'file', 'line', 'column', 'message'] as const;
    const lines = [columns.join(',')];
    let afterSeq: number | null | undefined;
    for (let count = 0; count < CSV_MAX_ISSUES;) {
      const query = new URLSearchParams({ ...filters, limit: '1000', ...(afterSeq != null ? { after: String(afterSeq) } : {}) });
      const page = await call<{ issues: any[]; next: number | null }>(request, 'GET', `/runs/${runId}/issues?${query}`);
      for (const issue of page.issues) lines.push(columns.map((c) => csvCell(issue[c])).join(','));
      count += page.issues.length;
      afterSeq = page.next;
      if (afterSeq === null) break;
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="run-${request.params.id.replace(/[^0-9a-f-]/gi, '').slice(0, 36)}-issues.csv"`)
      .header('cache-control', 'no-store')
      .send(`${lines.join('\r\n')}\r\n`);
  });

  // Live progress: the API's own event stream, read over loopback with the session's token and passed on.
  app.get<{ Params: { id: string } }>('/runs/:id/events', guarded, async (request, reply) => {
    const address = api.server.address();
    if (!address || typeof address === 'string')
      throw new ApiRefusal(503, 'NOT_LISTENING', 'The host does not listen on a TCP address; live progress is unavailable.');
    const hostPart =
      address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const controller = new AbortController();
    request.raw.on('close', () => controller.abort());
    const upstream = await fetch(`http://${hostPart}:${address.port}/runs/${encodeURIComponent(request.params.id)}/events`, {
      headers: { authorization: `Bearer ${request.consoleSession!.token}` },
      signal: controller.signal,
    });
    if (upstream.status !== 200 || !upstream.body) {
      const body = (await upstream.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      throw new ApiRefusal(upstream.status, body?.error?.code ?? 'ERROR', body?.error?.message ?? `the API answered ${upstream.status}`);
    }
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    try {
      for await (const chunk of upstream.body) reply.raw.write(chunk);
    } catch {
      // The browser went away (or the host is stopping): nothing more to pass on.
    } finally {
      reply.raw.end();
    }
  });

  for (const action of ['approve', 'reject', 'cancel'] as const)
    app.post<{ Params: { id: string } }>(`/runs/:id/${action}`, posted, async (request, reply) => {
      const run = await call(request, 'POST', `/runs/${encodeURIComponent(request.params.id)}/${action}`, {});
      after(
        request.consoleSession,
        { approve: 'Approved the hold: the run is applied.', reject: 'Rejected the hold: nothing was applied.', cancel: 'Cancelled.' }[action],
      );
      return reply.redirect(runPage(run.id), 303);
    });
}

/** A CSV cell (RFC 4180); a cell a spreadsheet would read as a formula is prefixed with a quote. */
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
