import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import t from 'tap';
import type { Logger } from '@rosterbridge/core';
import { OneRosterClient, type OneRosterCredentials } from '@rosterbridge/oneroster-rest';
import { generateDistrict, startOneRosterSimulator } from '@rosterbridge/test-kit';
import { FAST_RETRIES } from './oneroster-rest-kit';

const CONSUMER_SECRET = 'cs-SUPER-secret-4711';
const BEARER = 'bt-SUPER-secret-0815';
const CLIENT_SECRET = 'cl-SUPER-secret-1234';
const ACCESS_TOKEN = 'at-SUPER-secret-9999';
const SECRET_PATTERN = /SUPER-secret|Y2xpZW50|at-SUPER/;

/** Everything an error exposes: message, JSON body, and a deep inspection with its cause. */
function exposed(value: unknown): string {
  if (value instanceof Error)
    return `${value.message}\n${JSON.stringify((value as { toJSON?: () => unknown }).toJSON?.() ?? {})}\n${inspect(value, { depth: Infinity, showHidden: true })}`;
  return JSON.stringify(value);
}

function capturingLogger(lines: string[]): Logger {
  const log = (fields: unknown, message?: string): void => void lines.push(`${JSON.stringify(fields)} ${message ?? ''}`);
  const logger: Logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

/**
 * A careless server that echoes the request's headers back in every error it makes, the way some
 * vendor gateways do, and hands out an access token at /token.
 */
async function startEchoServer(answer: (req: IncomingMessage) => { status: number; type: string; body: (echo: string) => string }) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const echo = JSON.stringify({ headers: req.headers, body });
      if (req.url === '/token') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: ACCESS_TOKEN, expires_in: 3600 }));
        return;
      }
      const { status, type, body: make } = answer(req);
      res.writeHead(status, { 'content-type': type }).end(make(echo));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const CREDENTIALS: Record<string, (origin: string) => OneRosterCredentials> = {
  'OAuth 1.0a': () => ({ kind: 'oauth1', consumerKey: 'key', consumerSecret: CONSUMER_SECRET }),
  bearer: () => ({ kind: 'bearer', token: BEARER }),
  'OAuth 2': (origin) => ({ kind: 'oauth2', tokenUrl: `${origin}/token`, clientId: 'client', clientSecret: CLIENT_SECRET }),
};

const ECHOES = [
  {
    name: '401 echoing the headers as imsx',
    status: 401,
    type: 'application/json',
    body: (echo: string) => JSON.stringify({ imsx_codeMajor: 'failure', imsx_description: `bad auth: ${echo}` }),
  },
  { name: '403 echoing them as text', status: 403, type: 'text/plain', body: (echo: string) => `forbidden for ${echo}` },
  {
    name: '400 echoing them as vendor JSON',
    status: 400,
    type: 'application/json',
    body: (echo: string) => JSON.stringify({ error: 'bad_request', message: echo }),
  },
  { name: '200 HTML page echoing them in its title', status: 200, type: 'text/html', body: (echo: string) => `<html><title>${echo}</title></html>` },
  { name: '503 echoing them (retried, then given up)', status: 503, type: 'text/plain', body: (echo: string) => echo, retried: true },
];

t.test('secrets never appear in errors, check results or logs', async (t) => {
  for (const echo of ECHOES) {
    const server = await startEchoServer(() => echo);
    t.teardown(server.close);
    for (const [kind, credentials] of Object.entries(CREDENTIALS)) {
      await t.test(`${kind}, ${echo.name}`, async (t) => {
        const lines: string[] = [];
        const client = new OneRosterClient({
          baseUrl: `${server.origin}/ims/oneroster/v1p1`,
          credentials: credentials(server.origin),
          ...FAST_RETRIES,
          maxAttempts: 2,
          logger: capturingLogger(lines),
        });
        t.teardown(() => client.dispose());
        let error: unknown;
        try {
          for await (const _ of client.read('users'));
        } catch (err) {
          error = err;
        }
        t.match(error, { name: 'RosterbridgeError' }, 'the read fails with a coded error');
        t.match((error as Error).message, /users/, 'which says where');
        t.notMatch(exposed(error), SECRET_PATTERN, 'no secret in the error, its details or its cause');
        const check = await client.check({ collections: ['orgs'] });
        t.equal(check.ok, false);
        t.notMatch(exposed(check), SECRET_PATTERN, 'no secret in the check result');
        t.notMatch(lines.join('\n'), SECRET_PATTERN, 'no secret in the logs');
        // The logs are checked for secrets above: a retried request has its retry logged (so that check saw lines).
        t.equal(
          lines.some((l) => / retrying$/.test(l)),
          echo.retried ?? false,
          echo.retried ? 'the retry was logged' : 'no retry',
        );
      });
    }
  }
});

t.test('a token endpoint that echoes the Basic credentials does not leak them', async (t) => {
  const server = createServer((req, res) => {
    res
      .writeHead(401, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'invalid_client', error_description: `you sent ${req.headers.authorization}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OneRosterClient({ baseUrl: `${origin}/ims/oneroster/v1p1`, credentials: CREDENTIALS['OAuth 2']!(origin), ...FAST_RETRIES });
  t.teardown(() => client.dispose());
  const check = await client.check({ collections: ['orgs'] });
  t.match(check, { ok: false, code: 'SOURCE_BAD_CREDENTIALS', message: /invalid_client/ });
  t.match(check.message, /\[REDACTED\]/, 'the echoed credential was replaced');
  t.notMatch(exposed(check), /SUPER-secret|Y2xpZW50OmNs/);
});

t.test('refused credentials against the simulator name the problem, not the secret', async (t) => {
  const sim = await startOneRosterSimulator({
    dataset: generateDistrict({ seed: 1, size: 'tiny' }),
    auth: { oauth1: [{ consumerKey: 'key', consumerSecret: 'the-right-one' }] },
    errorBodies: 'text',
  });
  t.teardown(() => sim.close());
  const client = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: { kind: 'oauth1', consumerKey: 'key', consumerSecret: CONSUMER_SECRET } });
  t.teardown(() => client.dispose());
  await t.rejects(client.getRecord('users', 'usr-00000001'), { code: 'SOURCE_BAD_CREDENTIALS', message: /401 Unauthorized \(401 invalid signature\)/ });
  const check = await client.check();
  t.notMatch(exposed(check), SECRET_PATTERN);
});
