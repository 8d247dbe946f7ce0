#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { parseDistrictFaults, type DistrictFaultOptions } from '@rosterbridge/district-generator';
import { isDistrictSizeName, type DistrictSizeName } from '@rosterbridge/district-generator';
import { generateDistrict } from '@rosterbridge/district-generator';
import { OneRosterDataset } from './oneroster-dataset';
import { startOneRosterSimulator, type OneRosterSimulator } from './oneroster-simulator';
import type { SimulatorAuthOptions, SimulatorPagingOptions } from './oneroster-simulator-options';
import type { SimulatorFault } from './simulator-fault';

const DEFAULT_SECRET_ENV = 'ROSTERBRIDGE_SECRET_SIM';

const USAGE = `Starts a ClassLink-like OneRoster 1.1 REST server on 127.0.0.1 for a tenant to point at.

Usage:
  rosterbridge simulate [options]          (or: npx rosterbridge-simulate [options])

What it serves (a generated district by default):
  --seed <n|text>          seed of the generated district (default 42)
  --size <name>            tiny, small, medium or large (default small)
  --scale <factor>         multiply every count of the size (default 1)
  --district-faults <list> data-quality faults in the district: all, or e.g. duplicate-emails,missing-emails=5
  --no-demographics        serve no demographics
  --csv <dir or zip>       serve a OneRoster 1.1 CSV package instead of a generated district

Where and who may call:
  --port <n>               port on 127.0.0.1 (default 8090; 0 picks a free one)
  --base-path <path>       service root (default /ims/oneroster/v1p1; a prefix such as /<appId>/ims/oneroster/v1p1 mimics ClassLink's proxy)
  --auth <mode>            oauth1 (default; HMAC-SHA256 and HMAC-SHA1), bearer, oauth2 (client credentials at /oauth2/token) or none
  --key <key>              oauth1 consumer key, oauth2 client id (default rosterbridge-simulator)
  --secret-env <NAME>      env var holding the consumer secret, bearer token or client secret (default ${DEFAULT_SECRET_ENV})
  --secret <secret>        the secret itself (visible to other local users in the process list; prefer the env var)
                           With neither set, a random secret is written to a file readable only by you.

How it behaves:
  --page-max <n>           larger limits are clamped to this, silently (default 10000)
  --default-limit <n>      limit when a request gives none (default 100)
  --total-count <mode>     X-Total-Count: on, off or wrong (default on)
  --link <mode>            Link header: on, off or wrong (default on)
  --latency-ms <n>         added before every API response (default 0)
  --forbidden <list>       collections answered with 403, e.g. demographics,enrollments
  --error-bodies <kind>    imsx (default) or text
  --quirks <on|off>        ClassLink payload quirks: string booleans, "" for absent, FED ids, ref hrefs (default on)
  --fault <spec>           inject a fault; repeatable. <kind>[,key=value…] with kind one of
                             status:<code>  reset  reset-mid-body  slow:<ms>  truncated-json  missing-envelope  html-page[:<code>]
                           and keys rate=<0..1>, requests=<n>[+<n>…], path=<collection>, times=<n>,
                           retry-after=<s> and body=imsx|text|html (status only), e.g.
                             --fault status:429,retry-after=1,rate=0.05 --fault reset,path=users,requests=3
  --fault-seed <n>         seed of rate-based faults (default 1)
  --json                   print one JSON line with the address and settings instead of the text (no secret in it)
  -h, --help               this text

SIGINT or SIGTERM stops it.
`;

class UsageError extends Error {}

interface CliArguments {
  seed: string;
  size: string;
  scale: number;
  districtFaults?: DistrictFaultOptions;
  demographics: boolean;
  csv?: string;
  port: number;
  basePath?: string;
  auth: 'oauth1' | 'bearer' | 'oauth2' | 'none';
  key: string;
  secretEnv: string;
  secret?: string;
  paging: SimulatorPagingOptions;
  latencyMs: number;
  forbidden: string[];
  errorBodies: 'imsx' | 'text';
  quirks: boolean;
  faults: SimulatorFault[];
  faultSeed: number;
  json: boolean;
}

function parseArguments(argv: readonly string[]): CliArguments | 'help' {
  const args: CliArguments = {
    seed: '42',
    size: 'small',
    scale: 1,
    demographics: true,
    port: 8090,
    auth: 'oauth1',
    key: 'rosterbridge-simulator',
    secretEnv: DEFAULT_SECRET_ENV,
    paging: {},
    latencyMs: 0,
    forbidden: [],
    errorBodies: 'imsx',
    quirks: true,
    faults: [],
    faultSeed: 1,
    json: false,
  };
  let seedOrSizeGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    const whole = (text: string, min: number): number => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} needs a whole number of at least ${min}, got "${text}"`);
      return n;
    };
    const oneOf = <T extends string>(text: string, allowed: readonly T[]): T => {
      if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${text}"`);
      return text as T;
    };
    const headerMode = (text: string): 'correct' | 'absent' | 'wrong' =>
      (({ on: 'correct', off: 'absent', wrong: 'wrong' }) as const)[oneOf(text, ['on', 'off', 'wrong'])];
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--seed':
        args.seed = value();
        seedOrSizeGiven = true;
        break;
      case '--size':
        args.size = value();
        seedOrSizeGiven = true;
        break;
      case '--scale': {
        const text = value();
        args.scale = Number(text);
        if (!(args.scale > 0) || !Number.isFinite(args.scale)) throw new UsageError(`--scale needs a positive number, got "${text}"`);
        seedOrSizeGiven = true;
        break;
      }
      case '--district-faults':
        args.districtFaults = parseDistrictFaults(value());
        break;
      case '--no-demographics':
        args.demographics = false;
        break;
      case '--csv':
        args.csv = value();
        break;
      case '--port':
        args.port = whole(value(), 0);
        if (args.port > 65535) throw new UsageError(`--port must be at most 65535`);
        break;
      case '--base-path':
        args.basePath = value();
        break;
      case '--auth':
        args.auth = oneOf(value(), ['oauth1', 'bearer', 'oauth2', 'none'] as const);
        break;
      case '--key':
        args.key = value();
        break;
      case '--secret-env':
        args.secretEnv = value();
        break;
      case '--secret':
        args.secret = value();
        break;
      case '--page-max':
        args.paging.maxLimit = whole(value(), 1);
        break;
      case '--default-limit':
        args.paging.defaultLimit = whole(value(), 1);
        break;
      case '--total-count':
        args.paging.totalCount = headerMode(value());
        break;
      case '--link':
        args.paging.link = headerMode(value());
        break;
      case '--latency-ms':
        args.latencyMs = whole(value(), 0);
        break;
      case '--forbidden':
        args.forbidden = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--error-bodies':
        args.errorBodies = oneOf(value(), ['imsx', 'text'] as const);
        break;
      case '--quirks':
        args.quirks = oneOf(value(), ['on', 'off'] as const) === 'on';
        break;
      case '--fault':
        args.faults.push(parseFault(value()));
        break;
      case '--fault-seed':
        args.faultSeed = whole(value(), 0);
        break;
      case '--json':
        args.json = true;
        break;
      default:
        throw new UsageError(`unknown option "${flag}"`);
    }
  }
  if (args.csv !== undefined && (seedOrSizeGiven || args.districtFaults !== undefined || !args.demographics)) {
    throw new UsageError('--csv serves a package as it is; leave out --seed, --size, --scale, --district-faults and --no-demographics');
  }
  if (!isDistrictSizeName(args.size)) throw new UsageError(`unknown district size "${args.size}" (tiny, small, medium or large)`);
  return args;
}

/** `status:429,retry-after=1,rate=0.05` → a {@link SimulatorFault}. */
function parseFault(spec: string): SimulatorFault {
  const [head = '', ...pairs] = spec.split(',').map((s) => s.trim());
  const [kind, argument] = head.split(':');
  const number = (text: string | undefined, what: string): number => {
    const n = Number(text);
    if (text === undefined || text === '' || !Number.isFinite(n) || n < 0)
      throw new UsageError(`--fault "${spec}": ${what} needs a number, got "${text ?? ''}"`);
    return n;
  };
  let fault: SimulatorFault;
  switch (kind) {
    case 'status': {
      const status = number(argument, 'status');
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new UsageError(`--fault "${spec}": status must be an HTTP error status (400–599)`);
      fault = { kind: 'status', status };
      break;
    }
    case 'reset':
      fault = { kind: 'reset' };
      break;
    case 'reset-mid-body':
      fault = { kind: 'resetMidBody' };
      break;
    case 'slow':
      fault = { kind: 'slow', delayMs: number(argument, 'slow') };
      break;
    case 'truncated-json':
      fault = { kind: 'truncatedJson' };
      break;
    case 'missing-envelope':
      fault = { kind: 'missingEnvelope' };
      break;
    case 'html-page':
      fault = argument === undefined ? { kind: 'htmlPage' } : { kind: 'htmlPage', status: number(argument, 'html-page') };
      break;
    default:
      throw new UsageError(
        `--fault "${spec}": unknown kind "${kind}" (status:<code>, reset, reset-mid-body, slow:<ms>, truncated-json, missing-envelope, html-page)`,
      );
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const text = eq < 0 ? undefined : pair.slice(eq + 1);
    switch (key) {
      case 'rate': {
        const rate = number(text, 'rate');
        if (rate > 1) throw new UsageError(`--fault "${spec}": rate is a share from 0 to 1`);
        fault.rate = rate;
        break;
      }
      case 'requests':
        fault.requests = (text ?? '').split('+').map((n) => number(n, 'requests'));
        break;
      case 'path':
        if (!text) throw new UsageError(`--fault "${spec}": path needs a collection`);
        fault.path = text;
        break;
      case 'times':
        fault.times = number(text, 'times');
        break;
      case 'retry-after':
        if (fault.kind !== 'status') throw new UsageError(`--fault "${spec}": retry-after goes with status faults`);
        fault.retryAfter = number(text, 'retry-after');
        break;
      case 'body':
        if (fault.kind !== 'status' || (text !== 'imsx' && text !== 'text' && text !== 'html'))
          throw new UsageError(`--fault "${spec}": body is imsx, text or html, with status faults`);
        fault.body = text;
        break;
      default:
        throw new UsageError(`--fault "${spec}": unknown key "${key}" (rate, requests, path, times, retry-after, body)`);
    }
  }
  return fault;
}

/** Where the secret came from, said without saying it. */
type SecretSource = { from: 'env'; env: string } | { from: 'command line'; length: number } | { from: 'file'; file: string };

function resolveSecret(args: CliArguments): { secret: string; source: SecretSource } | undefined {
  if (args.auth === 'none') return undefined;
  if (args.secret !== undefined) {
    if (args.secret === '') throw new UsageError('--secret must not be empty');
    return { secret: args.secret, source: { from: 'command line', length: args.secret.length } };
  }
  const fromEnv = process.env[args.secretEnv];
  if (fromEnv !== undefined && fromEnv !== '') return { secret: fromEnv, source: { from: 'env', env: args.secretEnv } };
  const secret = randomBytes(24).toString('base64url');
  const file = path.join(tmpdir(), `rosterbridge-simulator-${process.pid}.secret`);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, source: { from: 'file', file } };
}

function authOptions(args: CliArguments, secret: string | undefined): SimulatorAuthOptions | 'none' {
  switch (args.auth) {
    case 'none':
      return 'none';
    case 'oauth1':
      return { oauth1: [{ consumerKey: args.key, consumerSecret: secret! }] };
    case 'bearer':
      return { bearerTokens: [secret!] };
    case 'oauth2':
      return { oauth2Clients: [{ clientId: args.key, clientSecret: secret! }] };
  }
}

/** The `source` block of a tenant file that points the classlink source at this simulator. */
function tenantSource(args: CliArguments, sim: OneRosterSimulator, source: SecretSource | undefined): Record<string, unknown> {
  const reference =
    source === undefined ? undefined : source.from === 'file' ? { file: source.file } : { env: source.from === 'env' ? source.env : args.secretEnv };
  const auth =
    args.auth === 'oauth1'
      ? { mode: 'oauth1', consumerKey: args.key, consumerSecret: reference }
      : args.auth === 'bearer'
        ? { mode: 'bearer', token: reference }
        : args.auth === 'oauth2'
          ? { mode: 'oauth2', tokenUrl: sim.tokenUrl, clientId: args.key, clientSecret: reference }
          : undefined;
  return {
    id: 'classlink',
    settings: { baseUrl: sim.baseUrl, ...(auth === undefined ? {} : { auth }), pageSize: Math.min(args.paging.maxLimit ?? 10_000, 1000) },
  };
}

function describeSecret(source: SecretSource, secretEnv: string): string {
  switch (source.from) {
    case 'env':
      return `from env ${source.env} (not shown)`;
    case 'command line':
      return `given on the command line, ${source.length} characters (not shown); set env ${secretEnv} to the same value for the host`;
    case 'file':
      return `random, written to ${source.file} (readable only by you; removed when the simulator stops); a host reads secret files only from its secrets folder (secrets.dir): copy it there, or export ${secretEnv}`;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArguments | 'help';
  let secret: { secret: string; source: SecretSource } | undefined;
  try {
    args = parseArguments(argv);
    if (args === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    secret = resolveSecret(args);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError) {
      process.stderr.write(`error: ${error.message}\n\nrun with --help for the options\n`);
      return 2;
    }
    throw error;
  }
  const removeSecretFile = (): void => {
    if (secret?.source.from === 'file') rmSync(secret.source.file, { force: true });
  };

  let dataset: OneRosterDataset;
  let described: string;
  try {
    if (args.csv !== undefined) {
      dataset = await OneRosterDataset.fromCsvPackage(path.resolve(args.csv));
      described = `OneRoster CSV package ${path.resolve(args.csv)}${dataset.loadIssues.length > 0 ? ` (${dataset.loadIssues.length} load issues; rejected rows are not served)` : ''}`;
    } else {
      const seed = /^\d+$/.test(args.seed) ? Number(args.seed) : args.seed;
      if (!args.json) process.stderr.write(`generating the ${args.size} district (seed ${args.seed}) …\n`);
      dataset = OneRosterDataset.from(
        generateDistrict({ seed, size: args.size as DistrictSizeName, scale: args.scale, faults: args.districtFaults, demographics: args.demographics }),
      );
      described = `generated district, seed ${args.seed}, size ${args.size}${args.scale === 1 ? '' : ` ×${args.scale}`}`;
    }
  } catch (error) {
    removeSecretFile();
    process.stderr.write(`error: cannot load the roster: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  let sim: OneRosterSimulator;
  try {
    sim = await startOneRosterSimulator({
      dataset,
      auth: authOptions(args, secret?.secret),
      port: args.port,
      paging: args.paging,
      latencyMs: args.latencyMs,
      forbidden: args.forbidden,
      errorBodies: args.errorBodies,
      faults: args.faults,
      seed: args.faultSeed,
      ...(args.quirks ? {} : { quirks: false as const }),
      ...(args.basePath === undefined ? {} : { basePath: args.basePath }),
    });
  } catch (error) {
    removeSecretFile();
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(
      `error: cannot listen on 127.0.0.1:${args.port}: ${code === 'EADDRINUSE' ? 'the port is in use (choose another with --port, or 0 for any)' : error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }

  const counts = dataset.counts();
  const source = tenantSource(args, sim, secret?.source);
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({
        baseUrl: sim.baseUrl,
        origin: sim.origin,
        tokenUrl: sim.tokenUrl,
        auth: args.auth,
        ...(args.auth === 'oauth1' || args.auth === 'oauth2' ? { key: args.key } : {}),
        ...(secret === undefined ? {} : { secret: secret.source }),
        roster: described,
        counts,
        source,
      })}\n`,
    );
  } else {
    const total = ROSTER_ENTITY_ORDER.reduce((sum, entity) => sum + counts[entity], 0);
    const paging = args.paging;
    const header = (mode: string | undefined): string => mode ?? 'correct';
    const lines = [
      `OneRoster 1.1 simulator (ClassLink-like) listening on ${sim.origin}`,
      `  roster     ${described}: ${ROSTER_ENTITY_ORDER.map((e) => `${e} ${counts[e]}`).join(', ')} (${total} records)`,
      `  base URL   ${sim.baseUrl}`,
      `  auth       ${
        args.auth === 'oauth1'
          ? `oauth1 (HMAC-SHA256 or HMAC-SHA1), consumer key "${args.key}"`
          : args.auth === 'bearer'
            ? 'bearer token'
            : args.auth === 'oauth2'
              ? `oauth2 client credentials at ${sim.tokenUrl}, client id "${args.key}"`
              : 'none: every request is served'
      }`,
      ...(secret === undefined ? [] : [`  secret     ${describeSecret(secret.source, args.secretEnv)}`]),
      `  paging     limit clamped at ${paging.maxLimit ?? 10_000}, X-Total-Count ${header(paging.totalCount)}, Link ${header(paging.link)}`,
      `  latency    ${args.latencyMs} ms per request`,
      `  faults     ${args.faults.length === 0 ? 'none' : args.faults.map((f) => JSON.stringify(f)).join(' ')}`,
      ...(args.forbidden.length === 0 ? [] : [`  forbidden  ${args.forbidden.join(', ')}`]),
      '',
      `A tenant's source for it${secret?.source.from === 'command line' ? ` (export ${args.secretEnv} with the secret for the host)` : ''}:`,
      `  "source": ${JSON.stringify(source)}`,
      '',
      'Ctrl-C stops it.',
      '',
    ];
    process.stdout.write(lines.join('\n'));
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      sim.close().then(
        () => {
          removeSecretFile();
          resolve(0);
        },
        (error: unknown) => {
          removeSecretFile();
          process.stderr.write(`error while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
