import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { FIXTURES_DIR, startTestHost } from '@rosterbridge/test-kit';

// A hostile or careless ClassLink-like server echoes whatever credentials it received (and those it
// knows) in error bodies, in bodies cut after long padding, in HTML pages, in redirects and in
// record fields. A real host on loopback drives source checks and syncs through the API and the
// CLI; nothing any of them outputs or stores may hold an 8-character piece of any secret.

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')];

// Random-looking values with characters that URL, JSON and base64 encode differently.
const ADMIN = 'adm-Vq7Ry2Kc9Xs4Jn6Wb3Lp';
const CONSUMER_KEY = 'ck-Hq2mZp9W-x4Tb7Ns';
const CONSUMER_SECRET = 'cs/Kj8"Rt5&Vb3 Nq=Yw\\Gz';
const BEARER = 'bt-Zx81Qw9Pl~M3nR5dF';
const CLIENT_ID = 'rosterbridge-echo-client';
const CLIENT_SECRET = 'cl/9kT+mW2=pQ7xJv!4';
const ACCESS_TOKEN = 'at-Hy6Tr4Ed2Ws8Qa1Zk';
/** A value in a file outside the secrets folder: what a tenant must never get the host to read. */
const OUTSIDE_FILE_VALUE = 'of-Mk3Vb8Nx5Cq2Lz7Hd';
const BASIC = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');

const ENV = {
  ROSTERBRIDGE_SECRET_ECHO_CONSUMER_KEY: CONSUMER_KEY,
  ROSTERBRIDGE_SECRET_ECHO_CLIENT_SECRET: CLIENT_SECRET,
};

type AuthKind = 'oauth1' | 'bearer' | 'oauth2';
/** What the server does with every request of a tenant (the first path segment names it). */
type Behavior = 'json401' | 'text403' | 'html' | 'redirect' | 'records' | `padded:${string}` | 'token401';

/** The secrets the server of each auth kind receives or knows, in the forms it could echo. */
function knownSecrets(kind: AuthKind, authorization: string): Record<string, string> {
  switch (kind) {
    case 'oauth1':
      return { key: CONSUMER_KEY, secret: CONSUMER_SECRET, authorization };
    case 'bearer':
      return { token: BEARER, authorization };
    case 'oauth2':
      return { secret: CLIENT_SECRET, basic: BASIC, access: ACCESS_TOKEN, authorization };
  }
}

/** Every known secret raw, URL-encoded, and the whole set as JSON (whose escapes differ again). */
function echoOf(secrets: Record<string, string>): string {
  const parts = Object.entries(secrets).flatMap(([name, value]) => [`${name}=${value}`, `${name}-url=${encodeURIComponent(value)}`]);
  return `${parts.join(' ')} json=${JSON.stringify(secrets)}`;
}

const PADDING = 'x'.repeat(179);

async function startEchoServer() {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const [, tenant = '', ...rest] = (req.url ?? '').split('?')[0]!.split('/');
      requests.push(`${tenant} ${req.method} /${rest.join('/')}`);
      const [kind, ...behaviorParts] = tenant.split('-') as [AuthKind, ...string[]];
      const behavior = decodeURIComponent(behaviorParts.join('-')) as Behavior;
      const authorization = req.headers.authorization ?? '';
      const secrets = knownSecrets(kind, authorization);
      const echo = () => `${echoOf(secrets)} body=${body}`;
      const send = (status: number, type: string, text: string, headers: Record<string, string> = {}) =>
        void res.writeHead(status, { 'content-type': type, ...headers }).end(text);
      if (rest.join('/') === 'token') {
        // The access token is not the client's yet: a refusal echoes what the client sent.
        delete secrets.access;
        if (behavior === 'token401') return send(401, 'application/json', JSON.stringify({ error: 'invalid_client', error_description: `you sent ${echo()}` }));
        if (behavior.startsWith('padded:token')) return send(401, 'text/plain', `${PADDING}${secrets[behavior.slice('padded:token-'.length)] ?? ''}`);
        return send(200, 'application/json', JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'bearer', expires_in: 3600 }));
      }
      const collection = rest[rest.length - 1] ?? '';
      const offset = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('offset') ?? '0');
      if (behavior.startsWith('padded:')) return send(401, 'text/plain', `${PADDING}${secrets[behavior.slice('padded:'.length)] ?? ''}`);
      switch (behavior) {
        case 'json401':
          return send(401, 'application/json', JSON.stringify({ imsx_codeMajor: 'failure', imsx_severity: 'error', imsx_description: `bad auth: ${echo()}` }));
        case 'text403':
          return send(403, 'text/plain', `forbidden for ${echo()}`);
        case 'html':
          return send(200, 'text/html', `<html><head><title>Sign in ${'y'.repeat(150)} ${echo()}</title></head><body><h1>${echo()}</h1></body></html>`);
        case 'redirect': {
          const query = Object.entries(secrets)
            .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
            .join('&');
          return send(302, 'text/html', `<html><title>Moved ${echo()}</title></html>`, { location: `https://login.example.org/sso?${query}` });
        }
        case 'records': {
          // One org per secret form; each carries it in `type`, whose issue quotes the value.
          const envelope = collection === 'orgs' ? 'orgs' : collection;
          const values = Object.values(secrets).flatMap((v) => [v, encodeURIComponent(v), `${PADDING}${v}`]);
          const orgs =
            offset > 0 || collection !== 'orgs'
              ? []
              : values.map((v, i) => ({ sourcedId: `org-${i}`, status: 'active', dateLastModified: '2024-05-01T00:00:00Z', name: `Org ${i}`, type: v }));
          return send(200, 'application/json', JSON.stringify({ [envelope]: orgs }));
        }
        default:
          return send(500, 'text/plain', `unknown behavior ${behavior}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Every encoding of a secret a server, a log line or a JSON body could carry it in. */
function encodings(secret: string): string[] {
  const rfc3986 = encodeURIComponent(secret).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  const base64 = Buffer.from(secret).toString('base64');
  return [
    secret,
    encodeURIComponent(secret),
    rfc3986,
    rfc3986.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    form,
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(JSON.stringify(secret)).slice(3, -3),
    base64,
    Buffer.from(secret).toString('base64url'),
  ];
}

/** Every 8-character piece of every secret in every encoding (an oracle independent of the host's censor). */
function forbiddenPieces(): Map<string, string> {
  // The HTTP Basic credential (base64 of `client id:client secret`) is a secret as a whole, its
  // first characters too, though they encode only the client id.
  const secrets: Record<string, string> = { ADMIN, CONSUMER_KEY, CONSUMER_SECRET, BEARER, CLIENT_SECRET, ACCESS_TOKEN, OUTSIDE_FILE_VALUE, BASIC };
  for (const [tenant, token] of tenantTokens) secrets[`token of ${tenant}`] = token;
  const pieces = new Map<string, string>();
  for (const [name, secret] of Object.entries(secrets))
    for (const form of encodings(secret)) for (let i = 0; i + 8 <= form.length; i++) pieces.set(form.slice(i, i + 8), name);
  return pieces;
}

/** The first forbidden piece in `text`, if any, with its secret's name and a little context. */
function leak(text: string, pieces: Map<string, string>): string | undefined {
  for (let i = 0; i + 8 <= text.length; i++) {
    const name = pieces.get(text.slice(i, i + 8));
    if (name !== undefined) return `${name}: …${text.slice(Math.max(0, i - 60), i + 40)}…`;
  }
  return undefined;
}

const TENANTS: [AuthKind, Behavior][] = [
  ...(['oauth1', 'bearer', 'oauth2'] as const).flatMap((kind) =>
    (['json401', 'text403', 'html', 'redirect', 'records'] as const).map((b): [AuthKind, Behavior] => [kind, b]),
  ),
  ['oauth1', 'padded:key'],
  ['oauth1', 'padded:secret'],
  ['bearer', 'padded:token'],
  ['oauth2', 'padded:access'],
  ['oauth2', 'padded:token-basic'],
  ['oauth2', 'padded:token-secret'],
  ['oauth2', 'token401'],
];
const runIdOf = (cliOutput: string) => /^run\s+([0-9a-f-]{36})/m.exec(cliOutput)?.[1] ?? 'missing';
const tenantId = (kind: AuthKind, behavior: Behavior) => `${kind}-${behavior.replace(':', '-')}`.toLowerCase();
const tenantTokens = new Map<string, string>(TENANTS.map(([k, b], i) => [tenantId(k, b), `tt${i}-Rw${(i * 7919).toString(36)}Lx4Qm8Zp2Vd`]));
tenantTokens.set('bearer-steals-admin', 'tt-steal-Pn5Ks9Xb2Wm7Qc');
tenantTokens.set('bearer-reads-outside', 'tt-outside-Gd4Hv8Jr1Ty6');

t.test('no 8-character piece of any secret in any API body, stream, log line, CLI output or stored record', async (t) => {
  const server = await startEchoServer();
  t.teardown(server.close);
  const root = mkdtempSync(path.join(tmpdir(), 'rb-secrets-echo-'));
  const tenantsDir = path.join(root, 'tenants');
  const secretsDir = path.join(tenantsDir, 'secrets');
  mkdirSync(secretsDir, { recursive: true });
  writeFileSync(path.join(secretsDir, 'consumer-secret'), `${CONSUMER_SECRET}\n`);
  writeFileSync(path.join(secretsDir, 'bearer'), BEARER);
  writeFileSync(path.join(root, 'outside.txt'), OUTSIDE_FILE_VALUE);

  const auth = (kind: AuthKind, base: string) =>
    kind === 'oauth1'
      ? { mode: 'oauth1', consumerKey: { env: 'ROSTERBRIDGE_SECRET_ECHO_CONSUMER_KEY' }, consumerSecret: { file: path.join(secretsDir, 'consumer-secret') } }
      : kind === 'bearer'
        ? { mode: 'bearer', token: { file: path.join(secretsDir, 'bearer') } }
        : { mode: 'oauth2', tokenUrl: `${base}/token`, clientId: CLIENT_ID, clientSecret: { env: 'ROSTERBRIDGE_SECRET_ECHO_CLIENT_SECRET' } };
  const writeTenant = (id: string, source: Record<string, unknown>) =>
    writeFileSync(
      path.join(tenantsDir, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'America/Chicago',
        source: { id: 'classlink', settings: { ...source, connectTimeoutMs: 2000, entities: ['orgs'] } },
        targets: [{ id: 'memo', schedule: 'manual' }],
      }),
    );
  for (const [kind, behavior] of TENANTS) {
    const id = tenantId(kind, behavior);
    const base = `${server.origin}/${kind}-${encodeURIComponent(behavior)}`;
    writeTenant(id, { baseUrl: `${base}/ims/oneroster/v1p1`, auth: auth(kind, base) });
  }
  // Finding 2: a tenant pointing its secret at the host's own token list, or at a file outside the secrets folder.
  writeTenant('bearer-steals-admin', {
    baseUrl: `${server.origin}/bearer-json401/ims/oneroster/v1p1`,
    auth: { mode: 'bearer', token: { env: 'RB_API_TOKENS' } },
  });
  writeTenant('bearer-reads-outside', {
    baseUrl: `${server.origin}/bearer-json401/ims/oneroster/v1p1`,
    auth: { mode: 'bearer', token: { file: path.join(root, 'outside.txt') } },
  });

  const tokens = [
    { name: 'ops', token: ADMIN, role: 'admin' as const },
    ...[...tenantTokens].map(([tenant, token]) => ({ name: `t-${tenant}`, token, role: 'tenant' as const, tenant })),
  ];
  const env = { ...ENV, RB_API_TOKENS: JSON.stringify(tokens) };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  t.teardown(() => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir, tokens });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  /** Everything read, with where it came from. */
  const outputs: { where: string; text: string }[] = [];
  const call = async (token: string, method: 'GET' | 'POST', url: string, body?: unknown) => {
    const res = await fetch(host.url + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    outputs.push({ where: `${method} ${url}`, text });
    return { status: res.status, body: JSON.parse(text) as Record<string, any> };
  };
  const stream = async (token: string, url: string): Promise<string> => {
    const res = await fetch(host.url + url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    outputs.push({ where: `GET ${url} (stream)`, text });
    return text;
  };
  const cli = (args: string[], token: string) =>
    new Promise<{ status: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args, '--url', host.url], { env: { PATH: process.env.PATH, RB_TOKEN: token } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('close', (status) => {
        outputs.push({ where: `rosterbridge ${args.join(' ')}`, text: out });
        resolve({ status, out });
      });
    });

  const ids = [...tenantTokens.keys()];
  const runIds: string[] = [];
  for (const id of ids) {
    const token = tenantTokens.get(id)!;
    await t.test(`${id}: source check, sync with its stream, run and issues, through its own token`, async (t) => {
      const check = await call(token, 'POST', `/tenants/${id}/source/check`);
      if (id === 'bearer-steals-admin' || id === 'bearer-reads-outside') {
        t.equal(check.status, 422, 'a tenant whose secret reference reaches outside is refused');
        t.equal(check.body.error?.code, 'TENANT_CONFIG_INVALID');
        t.match(check.body.error?.message, /source\.settings\.auth\.token/, 'naming the key');
        return;
      }
      const expectOk = id.endsWith('-records');
      t.equal(check.body.ok, expectOk, `check: ${JSON.stringify(check.body).slice(0, 300)}`);
      const started = await call(token, 'POST', `/tenants/${id}/syncs`, {});
      t.equal(started.status, 202);
      const runId = started.body.id as string;
      runIds.push(runId);
      const events = await stream(token, `/runs/${runId}/events`);
      t.match(events, /event: end/, 'the stream ends');
      const run = await call(token, 'GET', `/runs/${runId}`);
      if (expectOk) t.match(run.body.status, /^(success|partial)$/, `run: ${JSON.stringify(run.body).slice(0, 300)}`);
      else t.equal(run.body.status, 'failed', `run: ${JSON.stringify(run.body).slice(0, 300)}`);
      if (!expectOk) t.match(run.body.errorMessage, /./, 'the run says why it failed');
      const issues = await call(token, 'GET', `/runs/${runId}/issues`);
      if (expectOk) t.ok(issues.body.issues.length > 0, 'the records with echoed secrets gave issues');
      await call(token, 'GET', `/tenants/${id}/runs`);
      await call(token, 'GET', `/tenants/${id}`);
    });
  }

  await t.test('the CLI: sync (lines and --json) and run --issues', async (t) => {
    for (const id of ids.filter((i) => i.includes('padded') || i.endsWith('-records') || i.endsWith('-json401'))) {
      const token = tenantTokens.get(id)!;
      const r = await cli(['sync', id], token);
      if (id.endsWith('-records')) t.match(r.out, /^status\s+(success|partial)/m, `${id}: ${r.out.slice(-300)}`);
      else t.equal(r.status, 1, `${id} fails: ${r.out.slice(-300)}`);
      if (id.includes('padded') || id.endsWith('-records')) await cli(['run', runIdOf(r.out), '--issues'], token);
    }
    const json = await cli(['sync', 'oauth1-padded-key', '--json'], ADMIN);
    const run = JSON.parse(json.out) as { id: string; status: string };
    t.equal(run.status, 'failed');
    for (const id of runIds.slice(-3)) await cli(['run', id, '--issues', '--json'], ADMIN);
    await cli(['runs', 'oauth2-records'], ADMIN);
  });

  await t.test('the tenants as the API and the CLI show them', async (t) => {
    const tenants = await call(ADMIN, 'GET', '/tenants');
    t.equal(tenants.body.tenants.find((x: { id: string }) => x.id === 'bearer-steals-admin')?.status, 'invalid');
    await cli(['tenants'], ADMIN);
    await cli(['tenants', '--json'], ADMIN);
  });

  const pieces = forbiddenPieces();
  t.ok(pieces.size > 500, `${pieces.size} forbidden pieces`);

  await t.test('nothing read holds a piece of a secret', async (t) => {
    t.ok(outputs.length > 100, `${outputs.length} outputs read`);
    for (const { where, text } of outputs) t.equal(leak(text, pieces), undefined, where);
  });

  await t.test('the host log holds none', async (t) => {
    const logs = th.logs();
    t.ok(logs.split('\n').length > 100, 'the log was captured');
    t.match(logs, /run failed/, 'and it logged the failures');
    t.equal(leak(logs, pieces), undefined);
  });

  await t.test('the stored runs, their target progress and issues hold none', async (t) => {
    const db = host.database.db.withSchema('rosterbridge');
    const runs = await db.selectFrom('run').selectAll().execute();
    const issues = await db.selectFrom('run_issue').selectAll().execute();
    const progress = await db.selectFrom('run_target_progress').selectAll().execute();
    t.ok(runs.length >= runIds.length, `${runs.length} runs stored`);
    t.ok(issues.length > 0, `${issues.length} issues stored`);
    t.equal(leak(JSON.stringify(runs), pieces), undefined, 'runs');
    t.equal(leak(JSON.stringify(issues), pieces), undefined, 'issues');
    t.equal(leak(JSON.stringify(progress), pieces), undefined, 'target progress');
  });

  await t.test('the server did receive the secrets (the test could fail)', async (t) => {
    t.ok(
      server.requests.some((r) => r.startsWith('oauth2-records GET')),
      'the OAuth 2 tenant read its records',
    );
    t.ok(
      server.requests.some((r) => r.includes('/token')),
      'and fetched a token',
    );
  });
});
