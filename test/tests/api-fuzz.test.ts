import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import t from 'tap';
import { Pool } from 'undici';
import { ErrorCodes } from '@rosterbridge/core';
import { SeededRandom } from '@rosterbridge/test-kit';
import { ADMIN, startLincolnHost } from './api-kit';

// A bounded fuzz of the control API over real HTTP: it reads the OpenAPI document and sends every
// route malformed variants of a valid request — bad ids, integers out of every range, NUL bytes,
// broken UTF-8, wrong types, unknown fields, oversized bodies, wrong content types, long URLs,
// huge headers, malformed HTTP, and seeded random mutations — and checks that none is answered
// 5xx, that every answer is the envelope with a catalogued code and its status, and that the host
// is healthy at the end.

const SEED = Number(process.env.RB_FUZZ_SEED ?? 15);
/** Requests per route the random mutations top up to. */
const PER_ROUTE = 115;
const CONCURRENCY = 4;

interface Operation {
  method: string;
  /** As in the document: `/runs/{id}/issues`. */
  template: string;
  params: string[];
  query: Record<string, QuerySchema>;
  body?: { properties: Record<string, BodySchema>; limit: number };
  public: boolean;
}
interface QuerySchema {
  type?: string;
  format?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}
interface BodySchema {
  type?: string;
  enum?: string[];
  maxLength?: number;
  items?: { type?: string };
}
/** One request as sent: `path` is the raw request target. */
interface Probe {
  category: string;
  method: string;
  path: string;
  headers?: Record<string, string> | string[];
  body?: string | Buffer;
  /** Bytes written on a socket as they are, for what no HTTP client sends. */
  raw?: string | Buffer;
}

t.test('fuzzing every route of the OpenAPI document', async (t) => {
  const { root, th } = await startLincolnHost('api-fuzz', 3);
  const pool = new Pool(th.host.url, { connections: CONCURRENCY, pipelining: 1, headersTimeout: 20_000, bodyTimeout: 20_000 });
  t.teardown(async () => {
    await pool.close();
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const auth = { authorization: `Bearer ${ADMIN}` };

  // A finished run, with its id the fuzz's valid run id.
  const started = await pool.request({ method: 'POST', path: '/tenants/lincoln/syncs', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
  const run = (await started.body.json()) as { id: string };
  t.equal(started.statusCode, 202, 'a run to aim at');
  t.equal((await host.syncs.settled(run.id)).status, 'success');

  const docResponse = await pool.request({ method: 'GET', path: '/docs/json', headers: auth });
  const doc = (await docResponse.body.json()) as { paths: Record<string, Record<string, any>> };
  const operations = readOperations(doc);
  t.ok(operations.length >= 20, `${operations.length} operations in the document`);
  // A command's arguments may carry a file's content (School Manager's accounts), a sync may name 200
  // schools of 100 characters for a preview; every other route takes 16 KiB at most.
  const bodyCap = (op: Operation) =>
    op.template === '/tenants/{id}/commands/{command}' ? 16 * 1024 * 1024 : op.template === '/tenants/{id}/syncs' ? 32 * 1024 : 16 * 1024;
  for (const op of operations.filter((o) => o.body))
    t.ok(op.body!.limit > 0 && op.body!.limit <= bodyCap(op), `${op.method} ${op.template} takes a body of ${op.body!.limit} bytes at most`);

  const valid: Record<string, string> = { run: run.id, tenant: 'lincoln', target: 'memo', plugin: 'target-memo', command: 'memo.count' };
  const paramValue = (op: Operation, param: string) =>
    param === 'target'
      ? valid.target!
      : param === 'command'
        ? valid.command!
        : op.template.startsWith('/runs/')
          ? valid.run!
          : op.template.startsWith('/plugins/')
            ? valid.plugin!
            : valid.tenant!;
  const pathOf = (op: Operation, values: Record<string, string> = {}) =>
    op.template.replace(/\{(\w+)\}/g, (_, p: string) => values[p] ?? encodeURIComponent(paramValue(op, p)));

  const random = new SeededRandom(SEED);
  const tally = new Map<string, { bad: number; accidental: number; unsent: number; categories: Map<string, number> }>();
  const failures: string[] = [];

  for (const op of operations) {
    const probes = probesFor(op, pathOf, random);
    const key = `${op.method} ${op.template}`;
    const counts = { bad: 0, accidental: 0, unsent: 0, categories: new Map<string, number>() };
    tally.set(key, counts);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < probes.length; i = next++) {
        const probe = probes[i]!;
        const answer = probe.raw ? await sendRaw(th.host.url, probe.raw) : await send(pool, probe, probe.category.startsWith('auth') ? {} : auth);
        if (answer.status === -1) {
          counts.unsent++;
          continue;
        }
        const problem = judge(answer);
        if (problem) failures.push(`${key} [${probe.category}] ${probe.method} ${probe.path.slice(0, 120)}: ${problem}`);
        if (answer.status >= 400) {
          counts.bad++;
          counts.categories.set(probe.category, (counts.categories.get(probe.category) ?? 0) + 1);
        } else counts.accidental++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }

  const total = [...tally.values()].reduce((n, c) => n + c.bad, 0);
  for (const [key, c] of tally)
    t.comment(
      `${key}: ${c.bad} bad requests (${[...c.categories].map(([k, n]) => `${k} ${n}`).join(', ')})${c.accidental ? `; ${c.accidental} mutations happened to be valid` : ''}${c.unsent ? `; ${c.unsent} undici would not send` : ''}`,
    );
  t.comment(`${total} bad requests in all, seed ${SEED}`);
  t.same(failures.slice(0, 20), [], `no answer 5xx or outside the envelope (${failures.length} failures)`);
  t.ok(total >= 2000, `at least 2,000 bad requests: ${total}`);
  for (const op of operations) t.ok(tally.get(`${op.method} ${op.template}`)!.bad >= 60, `${op.method} ${op.template} got at least 60 bad requests`);
  // The docs' own routes (the UI and its files) are not in the document; they answer the same way.
  const docsFailures: string[] = [];
  for (const docsPath of [
    '/docs/static/../../package.json',
    '/docs/static/%2e%2e/%2e%2e/package.json',
    '/docs/static/.%2e/x',
    '/docs/static/%00',
    '/docs/static/%c0%ae',
    '/docs/json?x=%ff',
    '/docs/nothing',
    `/docs/${'d'.repeat(3000)}`,
  ]) {
    const problem = judge(await send(pool, { category: 'docs', method: 'GET', path: docsPath }, {}));
    if (problem) docsFailures.push(`${docsPath}: ${problem}`);
  }
  t.same(docsFailures, [], "the docs' routes answer in the envelope too");
  const health = await pool.request({ method: 'GET', path: '/healthz' });
  t.equal(health.statusCode, 200, 'the host is healthy at the end');
  await health.body.dump();
  const ready = await pool.request({ method: 'GET', path: '/readyz' });
  t.equal(ready.statusCode, 200, 'and ready');
  await ready.body.dump();
});

/** The operations of the document, with what the fuzz needs of their schemas. */
function readOperations(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const out: Operation[] = [];
  for (const [template, methods] of Object.entries(doc.paths))
    for (const [method, operation] of Object.entries(methods)) {
      const parameters: { in: string; name: string; schema: QuerySchema }[] = operation.parameters ?? [];
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      out.push({
        method: method.toUpperCase(),
        template,
        params: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
        ...(schema ? { body: { properties: schema.properties ?? {}, limit: operation['x-body-limit'] } } : {}),
        public: Array.isArray(operation.security) && operation.security.length === 0,
      });
    }
  return out;
}

const BAD_SEGMENTS = [
  '%00',
  'a%00b',
  '%ff',
  '%c0%80',
  '%e2%82',
  '%ed%a0%80',
  '%',
  '%zz',
  '%0a',
  '%0d%0a',
  '..',
  '%2e%2e',
  '%2f',
  '%5c',
  '',
  '%20',
  'x'.repeat(101),
  '%F0%9F%98%80',
  '\u00e9',
  '\u00ff\u00fe',
  'nowhere',
  '-1',
  '9223372036854775807',
  '1e30',
  'null',
  '__proto__',
  'constructor',
  '*',
  '{id}',
];
const uuidLike = (id: string) => [
  '------------------------------------',
  'g'.repeat(36),
  `${id}0`,
  id.slice(1),
  `urn:uuid:${id}`,
  `%7B${id}%7D`,
  id.replace(/-/g, ''),
  '00000000-0000-0000-0000-000000000000',
  `${id.slice(0, 35)}%00`,
  `${id.slice(0, 35)}%ff`,
  id.replace(/-/g, '_'),
  ' '.repeat(36).replace(/ /g, '0'),
];
const BAD_INTEGERS = [
  '-1',
  '1e30',
  '1e3',
  '9223372036854775807',
  '99999999999999999999',
  '1.5',
  '0x10',
  '%205',
  '+5',
  '',
  'abc',
  'NaN',
  'Infinity',
  '%00',
  '%ff',
  '1,2',
  '%5B1%5D',
  '0',
];
const BAD_STRINGS = ['%00', '%ff', 'x'.repeat(101), '%c3%28', 'UPPER', '%0a'];
const BAD_DATES = [
  '2026-13-01T00:00:00Z',
  'yesterday',
  '0000-01-01T00:00:00Z',
  '2026-12-31T23:59:60Z',
  '1e30',
  '-271821-04-20T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '%00',
  '2026-01-01',
];
const UNKNOWN_QUERY = ['zzz=1', '__proto__=1', 'constructor%5Bprototype%5D=1', 'a%5Bb%5D=1', '%00=1', '%ff=%ff'];
const WRONG_TYPES: unknown[] = [1, -1, 1.5, 1e308, true, false, 'text', [], {}, null, [1], ['a', 1], [[]], [{}]];
const BAD_JSON = [
  '{',
  '{"a":}',
  '{"a":1}x',
  "{'a':1}",
  'NaN',
  '{"a":1,}',
  '\u0000',
  '[',
  '"',
  '{"a":"\\x"}',
  '{"a":"\\ud800"}',
  `${'['.repeat(600)}${']'.repeat(600)}`,
  ' ',
];
const BAD_UTF8 = [
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0xc0, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d]),
];
const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonx',
  'application/vnd.api+json',
  'image/png',
  '*/*',
];

/** Every malformed variant of the operation's valid request, then seeded random mutations up to {@link PER_ROUTE}. */
function probesFor(op: Operation, pathOf: (op: Operation, values?: Record<string, string>) => string, random: SeededRandom): Probe[] {
  const probes: Probe[] = [];
  const base = pathOf(op);
  const json = { 'content-type': 'application/json' };
  const add = (category: string, p: Omit<Probe, 'category' | 'method'> & { method?: string }) => probes.push({ category, method: op.method, ...p });
  const validBody = op.body ? '{}' : undefined;
  const bodyHeaders = op.body ? json : undefined;

  for (const param of op.params) {
    const values = [...BAD_SEGMENTS, ...(op.template.startsWith('/runs/') && param === 'id' ? uuidLike(pathOf(op).split('/')[2]!) : [])];
    for (const value of values) add(`path ${param}`, { path: pathOf(op, { [param]: value }), headers: bodyHeaders, body: validBody });
  }

  const withQuery = (query: string) => `${base}?${query}`;
  for (const [name, schema] of Object.entries(op.query)) {
    const values = schema.type === 'integer' ? [...BAD_INTEGERS, String((schema.maximum ?? 0) + 1)] : schema.format === 'date-time' ? BAD_DATES : BAD_STRINGS;
    for (const value of values) add(`query ${schema.type === 'integer' ? 'integer' : 'string'}`, { path: withQuery(`${name}=${value}`) });
    add('query repeated', { path: withQuery(`${name}=1&${name}=2`) });
  }
  for (const unknown of UNKNOWN_QUERY) add('query unknown', { path: withQuery(unknown), headers: bodyHeaders, body: validBody });

  if (op.body) {
    const props = Object.entries(op.body.properties);
    for (const [name, schema] of props) {
      for (const value of WRONG_TYPES) if (!fits(value, schema)) add('body wrong type', { path: base, headers: json, body: JSON.stringify({ [name]: value }) });
      if (schema.type === 'string') {
        add('body NUL', { path: base, headers: json, body: JSON.stringify({ [name]: 'a\u0000b' }) });
        add('body lone surrogate', { path: base, headers: json, body: `{"${name}":"\\ud800x"}` });
        add('body too long', { path: base, headers: json, body: JSON.stringify({ [name]: 'x'.repeat((schema.maxLength ?? 100) + 1) }) });
      }
      if (schema.type === 'array') {
        for (const items of [[1], [null], [''], ['memo', 'memo'], Array.from({ length: 51 }, (_, i) => `t${i}`), ['a\u0000'], ['x'.repeat(101)]])
          add('body bad items', { path: base, headers: json, body: JSON.stringify({ [name]: items }) });
      }
    }
    for (const unknown of [{ bogus: 1 }, { Mode: 'full' }, { constructor: { prototype: {} } }, { 'a\u0000': 1 }, { '': 1 }])
      add('body unknown field', { path: base, headers: json, body: JSON.stringify(unknown) });
    add('body unknown field', { path: base, headers: json, body: '{"__proto__":{"admin":true}}' });
    for (const top of ['[]', '"x"', '1', 'true', '0', '[{}]']) add('body not an object', { path: base, headers: json, body: top });
    for (const text of BAD_JSON) add('body bad JSON', { path: base, headers: json, body: text });
    for (const bytes of BAD_UTF8) add('body bad UTF-8', { path: base, headers: json, body: bytes });
    add('body empty', { path: base, headers: json, body: '' });
    add('body too large', { path: base, headers: json, body: `{"a":"${'x'.repeat(op.body.limit)}"}` });
    add('body too large', { path: base, headers: json, body: `${' '.repeat(op.body.limit)}{}` });
    add('body too large', { path: base, headers: json, body: 'x'.repeat(1024 * 1024) });
    for (const type of CONTENT_TYPES) add('content type', { path: base, headers: { 'content-type': type }, body: '{}' });
    add('content type', { path: base, headers: {}, body: '{"mode":"full"}' });
  } else if (op.method === 'GET') {
    for (const type of ['application/json', 'text/plain']) add('body on GET', { path: base, method: 'POST', headers: { 'content-type': type }, body: '{}' });
  }

  add('long URL', { path: withQuery(`a=${'x'.repeat(3000)}`) });
  add('long URL', { path: `${base}/${'y'.repeat(5000)}` });
  add('huge headers', { path: base, headers: { 'x-big': 'x'.repeat(20_000) } });
  add('huge headers', { path: withQuery(`a=${'x'.repeat(20_000)}`) });
  add('many headers', { path: base, headers: Array.from({ length: 400 }, (_, i) => [`x-h${i}`, 'v'.repeat(50)]).flat() });
  if (!op.public)
    for (const header of [
      '',
      'Bearer',
      'Bearer wrong-token-0123456789',
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${ADMIN} extra`,
      `Bearer ${'x'.repeat(5000)}`,
      `bearer${ADMIN}`,
    ])
      add('auth', { path: base, headers: { ...(header ? { authorization: header } : {}), ...bodyHeaders }, body: validBody });
  add('wrong method', { path: base, method: op.method === 'GET' ? 'DELETE' : 'PUT', headers: bodyHeaders, body: validBody });
  add('wrong method', { path: base, method: 'PATCH', headers: json, body: '{}' });

  const target = base.replace(/ /g, '%20');
  for (const raw of [
    `${op.method} ${target.replace('/', '/\u0000')} HTTP/1.1\r\nHost: x\r\n\r\n`,
    `${op.method} ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}`,
    `${op.method} ${target} HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n`,
    `${op.method} ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`,
    `${op.method} ${target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    `${op.method} ${target} HTTP/9.9\r\nHost: x\r\n\r\n`,
    `${op.method} ${target} HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`,
  ])
    add('malformed HTTP', { path: target, raw });

  const fixed = probes.length;
  for (let i = 0; probes.length < Math.max(PER_ROUTE, fixed + 25); i++) probes.push(mutate(op, base, random));
  return probes;
}

/** Whether `value` is of the schema's type (so not a wrong-type probe). */
function fits(value: unknown, schema: BodySchema): boolean {
  if (schema.type === 'string') return typeof value === 'string' && (!schema.enum || schema.enum.includes(value));
  if (schema.type === 'boolean') return typeof value === 'boolean';
  if (schema.type === 'array') return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string');
  return false;
}

/** A seeded random mutation of the operation's valid request: path, query, body or method. */
function mutate(op: Operation, base: string, random: SeededRandom): Probe {
  const byte = () => `%${random.int(256).toString(16).padStart(2, '0')}`;
  const chars = ['%00', '%ff', '%', '..', '/', '?', '#', '&', '=', ';', '\u00e9', '~', '%2f', '%25', '%c0%af', '%e0%80%80', '%f4%90%80%80'];
  let pathPart = base;
  let query = '';
  let body = op.body ? '{}' : undefined;
  let method = op.method;
  const headers: Record<string, string> = op.body ? { 'content-type': 'application/json' } : {};
  const steps = 1 + random.int(3);
  for (let s = 0; s < steps; s++) {
    switch (random.int(op.body ? 6 : 4)) {
      case 0: {
        // A character of the path replaced or inserted, as text or as an escaped byte.
        const at = 1 + random.int(Math.max(1, pathPart.length - 1));
        const piece = random.chance(0.5) ? byte() : random.pick(chars);
        pathPart = pathPart.slice(0, at) + piece + pathPart.slice(at + (random.chance(0.5) ? 1 : 0));
        break;
      }
      case 1:
        query += `${query ? '&' : ''}${random.pick(['limit', 'after', 'severity', 'target', 'before', 'x', byte()])}=${Array.from({ length: 1 + random.int(6) }, () => (random.chance(0.5) ? byte() : random.pick(['1', '-', 'e', '9', '.', 'a']))).join('')}`;
        break;
      case 2:
        pathPart += random.pick(['/', '//', '/x', '/..', '/%00', '%ff', '.json', '/' + 'z'.repeat(random.int(300))]);
        break;
      case 3:
        method = random.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
        if (method !== 'GET' && body === undefined && random.chance(0.5)) body = '{"x":1}';
        break;
      case 4: {
        // A known field given a value of a random kind.
        const name = random.pick([...Object.keys(op.body!.properties), 'x']);
        const value = random.pick<unknown>([
          random.int(1e9) - 5e8,
          1e300,
          -0.5,
          'a\u0000',
          '\ud800',
          'x'.repeat(random.int(6000)),
          [random.int(9)],
          { nested: true },
          true,
          '',
        ]);
        body = JSON.stringify({ [name]: value });
        break;
      }
      case 5: {
        // The JSON text itself damaged: a byte flipped, or cut short.
        const text = Buffer.from(body ?? '{}');
        if (random.chance(0.5) && text.length > 0) text[random.int(text.length)] = random.int(256);
        body = random.chance(0.5) ? text.subarray(0, Math.max(0, text.length - 1 - random.int(3))).toString('latin1') : text.toString('latin1');
        break;
      }
    }
  }
  if (body !== undefined && method === 'GET') method = 'POST';
  return {
    category: 'random',
    method,
    path: query ? `${pathPart}?${query}` : pathPart,
    headers,
    ...(body === undefined ? {} : { body: Buffer.from(body, 'latin1') }),
  };
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** Set when no HTTP answer came back at all. */
  error?: string;
}

async function send(pool: Pool, probe: Probe, auth: Record<string, string>): Promise<Answer> {
  try {
    const headers = Array.isArray(probe.headers) ? [...Object.entries(auth).flat(), ...probe.headers] : { ...auth, ...probe.headers };
    const res = await pool.request({ method: probe.method, path: probe.path, headers, body: probe.body });
    const text = await res.body.text();
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text };
  } catch (err) {
    const e = err as { code?: string; message: string };
    // undici refuses to send some requests at all (a path with a space): nothing reached the host.
    if (e.code === 'UND_ERR_INVALID_ARG') return { status: -1, contentType: '', text: '' };
    return { status: 0, contentType: '', text: '', error: `${e.code ?? ''} ${e.message}` };
  }
}

/** Writes bytes as they are and reads the answer until the host closes the connection. */
function sendRaw(url: string, raw: string | Buffer): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.end(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1')));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const head = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
      if (!head) return resolve({ status: 0, contentType: '', text, error: `no HTTP answer: ${JSON.stringify(text.slice(0, 80))}` });
      const contentType = /^content-type:\s*(.*)$/im.exec(head[2]!)?.[1] ?? '';
      const length = /^content-length:\s*(\d+)$/im.exec(head[2]!)?.[1];
      resolve({ status: Number(head[1]), contentType, text: length ? head[3]!.slice(0, Number(length)) : head[3]! });
    });
  });
}

/** What is wrong with an answer, or undefined. */
function judge(answer: Answer): string | undefined {
  if (answer.error) return answer.error;
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 200)}`;
  if (answer.status < 400) return answer.status >= 200 ? undefined : `answered ${answer.status}`;
  if (!answer.contentType.startsWith('application/json')) return `${answer.status} with content-type ${answer.contentType}: ${answer.text.slice(0, 100)}`;
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `${answer.status} with a body that is not JSON: ${answer.text.slice(0, 100)}`;
  }
  const error = body?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || typeof error.details !== 'object' || Object.keys(body).length !== 1)
    return `${answer.status} outside the envelope: ${answer.text.slice(0, 200)}`;
  const catalogued = (ErrorCodes as Record<string, { status: number }>)[error.code];
  if (!catalogued) return `code ${error.code} is not in the catalogue`;
  if (catalogued.status !== answer.status) return `code ${error.code} is ${catalogued.status} in the catalogue, answered ${answer.status}`;
  if (error.message.length === 0) return 'an empty message';
  return undefined;
}
