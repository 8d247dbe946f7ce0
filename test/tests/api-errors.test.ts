import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { Pool } from 'undici';
import { ADMIN, startLincolnHost } from './api-kit';

// What the hardening review found, one by one: each input that answered 500 or outside the envelope,
// with the code and the words it is now answered with.

t.test('control API answers', async (t) => {
  const { root, th } = await startLincolnHost('api-errors', 9);
  const tenants = path.join(root, 'tenants');
  const pool = new Pool(th.host.url, { connections: 2 });
  let stopped = false;
  t.teardown(async () => {
    await pool.close();
    if (!stopped) await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const call = async (method: string, url: string, options: { body?: string | Buffer; type?: string; headers?: Record<string, string> } = {}) => {
    const res = await pool.request({
      method,
      path: url,
      headers: { authorization: `Bearer ${ADMIN}`, ...(options.type ? { 'content-type': options.type } : {}), ...options.headers },
      body: options.body,
    });
    const text = await res.body.text();
    return { status: res.statusCode, type: String(res.headers['content-type']), body: JSON.parse(text) as any };
  };
  const json = (url: string, body: unknown) =>
    call('POST', url, { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), type: 'application/json' });
  const expectError = (t: Test, r: { status: number; body: any }, status: number, code: string, message?: RegExp) => {
    t.equal(r.status, status, `${status} ${code}`);
    t.same(Object.keys(r.body), ['error'], 'only the envelope');
    t.equal(r.body.error?.code, code, r.body.error?.message);
    if (message) t.match(r.body.error?.message, message);
    t.type(r.body.error?.details, 'object');
  };
  const started = await json('/tenants/lincoln/syncs', {});
  const runId: string = started.body.id;
  await th.host.syncs.settled(runId);

  await t.test('run ids that are not UUIDs name no run (404), on every run route', async (t) => {
    for (const id of ['------------------------------------', 'ffffffff-ffff-ffff-ffff-fffffffffffg', runId.replace(/-/g, ''), `{${runId}}`]) {
      for (const [method, suffix] of [
        ['GET', ''],
        ['GET', '/issues'],
        ['GET', '/events'],
        ['POST', '/cancel'],
        ['POST', '/approve'],
        ['POST', '/reject'],
      ] as const)
        expectError(t, await call(method, `/runs/${encodeURIComponent(id)}${suffix}`), 404, 'NOT_FOUND', /run ".*" does not exist/);
    }
    t.equal((await call('GET', `/runs/${runId.toUpperCase()}`)).status, 200, 'an upper-case UUID is the same run');
  });

  await t.test('integers in the query: digits only, within their bounds', async (t) => {
    for (const after of ['9223372036854775807', '1e30', '1e3', '-1', '1.5', '0x10', '', ' 1']) {
      const r = await call('GET', `/runs/${runId}/issues?after=${encodeURIComponent(after)}`);
      expectError(t, r, 400, 'BAD_REQUEST', /query parameter "after" must be integer written in digits/);
      t.same(r.body.error.details, { field: 'after', in: 'querystring' });
    }
    expectError(t, await call('GET', `/runs/${runId}/issues?limit=1001`), 400, 'BAD_REQUEST', /"limit" must be <= 1000/);
    expectError(t, await call('GET', `/runs/${runId}/issues?limit=5&limit=6`), 400, 'BAD_REQUEST', /"limit" must be integer/);
    t.equal((await call('GET', `/runs/${runId}/issues?after=9007199254740991&limit=1000`)).status, 200, 'the largest safe integer is read');
    expectError(t, await call('GET', '/tenants/lincoln/runs?before=2026-12-31T23:59:60Z'), 400, 'BAD_REQUEST', /"before" must be an instant/);
    expectError(t, await call('GET', '/tenants/lincoln/runs?before=0000-01-01T00:00:00Z'), 400, 'BAD_REQUEST', /"before" must be an instant/);
  });

  await t.test('NUL bytes and broken UTF-8: 400 wherever they are', async (t) => {
    expectError(t, await call('GET', '/tenants/lin%00coln'), 400, 'BAD_REQUEST', /control character/);
    expectError(t, await call('GET', `/runs/${runId}/issues?target=me%00mo`), 400, 'BAD_REQUEST', /control character/);
    expectError(t, await json('/tenants/lincoln/pause', { reason: 'over\u0000the holidays' }), 400, 'BAD_REQUEST', /body field "reason" holds a NUL character/);
    expectError(t, await json('/tenants/lincoln/syncs', { targets: ['me\u0000mo'] }), 400, 'BAD_REQUEST', /body field "targets\[0\]" holds a NUL/);
    expectError(t, await json('/tenants/lincoln/pause', '{"reason":"\\udc00"}'), 400, 'BAD_REQUEST', /"reason" is not valid Unicode/);
    expectError(t, await call('GET', '/tenants/%ff'), 400, 'BAD_REQUEST', /not valid percent-encoded UTF-8/);
    expectError(t, await call('GET', '/tenants/lincoln/runs?limit=%ff'), 400, 'BAD_REQUEST', /not valid percent-encoded UTF-8/);
    expectError(t, await json('/tenants/lincoln/pause', Buffer.from('{"reason":"\xff"}', 'latin1')), 400, 'BAD_REQUEST', /body is not valid UTF-8/);
    t.equal((await th.host.runs.tenantState('lincoln'))?.paused ?? false, false, 'nothing was paused on the way');
  });

  await t.test('wrong types are refused, not coerced; unknown fields and parameters are named', async (t) => {
    const r = await json('/tenants/lincoln/syncs', { targets: 'memo' });
    expectError(t, r, 400, 'BAD_REQUEST', /body field "targets" must be array/);
    t.same(r.body.error.details, { field: 'targets', in: 'body' });
    expectError(t, await json('/tenants/lincoln/syncs', { dryRun: 'true' }), 400, 'BAD_REQUEST', /"dryRun" must be boolean/);
    expectError(t, await json('/tenants/lincoln/syncs', { mode: 'full', dry_run: true }), 400, 'BAD_REQUEST', /unknown body field "dry_run"/);
    expectError(t, await json('/tenants/lincoln/syncs', []), 400, 'BAD_REQUEST', /the body must be object/);
    expectError(t, await json('/tenants/lincoln/targets/memo/reset', { force: true }), 400, 'BAD_REQUEST', /unknown body field "force"/);
    expectError(t, await call('GET', '/tenants/lincoln/runs?limt=5'), 400, 'BAD_REQUEST', /unknown query parameter "limt"/);
    expectError(t, await call('GET', '/plugins?verbose=1'), 400, 'BAD_REQUEST', /unknown query parameter "verbose"/);
    t.equal((await th.host.runs.list('lincoln', { limit: 10 })).length, 1, 'no run was started by any of them');
  });

  await t.test('an unknown tenant is 404 on every tenant route', async (t) => {
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/runs'],
      ['GET', '/schedules'],
      ['POST', '/source/check'],
      ['POST', '/syncs'],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/targets/memo/reset'],
      ['POST', '/targets/memo/backfill'],
    ] as const)
      expectError(t, await call(method, `/tenants/nowhere${suffix}`), 404, 'TENANT_NOT_FOUND', /tenant "nowhere" is not configured/);
  });

  await t.test("the framework's refusals: each its own code, in the envelope", async (t) => {
    const big = await json('/tenants/lincoln/syncs', { targets: Array.from({ length: 400 }, (_, i) => `target-${i}-${'x'.repeat(90)}`) });
    expectError(t, big, 413, 'PAYLOAD_TOO_LARGE', /larger than the 32768 bytes this route takes/);
    expectError(t, await json('/runs/' + runId + '/cancel', `{"a":"${'x'.repeat(1100)}"}`), 413, 'PAYLOAD_TOO_LARGE', /1024 bytes/);
    expectError(t, await call('POST', '/tenants/lincoln/syncs', { body: '{}', type: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/);
    expectError(
      t,
      await call('POST', '/tenants/lincoln/syncs', { body: 'mode=full', type: 'application/x-www-form-urlencoded' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectError(t, await call('GET', `/plugins?q=${'x'.repeat(3000)}`), 414, 'URL_TOO_LONG', /at most 2048/);
    expectError(t, await call('GET', `/tenants/${'x'.repeat(150)}`), 414, 'URL_TOO_LONG', /path segment/);
    expectError(t, await call('GET', '/plugins', { headers: { 'x-big': 'x'.repeat(20_000) } }), 431, 'HEADERS_TOO_LARGE');
    expectError(t, await call('GET', '/docs/static/%2e%2e/%2e%2e/package.json'), 403, 'FORBIDDEN');
    expectError(t, await json('/tenants/lincoln/syncs', ''), 400, 'BAD_REQUEST', /body is empty/);
    expectError(t, await json('/tenants/lincoln/syncs', '{"mode":'), 400, 'BAD_REQUEST', /not valid JSON/);
    expectError(t, await call('DELETE', '/tenants/lincoln'), 404, 'NOT_FOUND', /no route DELETE "\/tenants\/lincoln"/);
  });

  await t.test("Node's HTTP parser refusals are in the envelope too", async (t) => {
    const { hostname, port } = new URL(th.host.url);
    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        let text = '';
        const socket = connect({ host: hostname, port: Number(port) }, () => socket.end(Buffer.from(request, 'latin1')));
        socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(text));
      });
    for (const [request, status, code] of [
      ['GET /plugins HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400, 'BAD_REQUEST'],
      ['GET /plu\u0000gins HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'BAD_REQUEST'],
      [`GET /plugins HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ] as const) {
      const answer = await raw(request);
      t.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${code}: status line`);
      t.match(answer, /\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      t.equal(body.error.code, code);
      t.type(body.error.message, 'string');
    }
  });

  await t.test('a source check that fails answers with a catalogued code', async (t) => {
    writeFileSync(
      path.join(tenants, 'broken.json'),
      JSON.stringify({
        displayName: 'Broken',
        timezone: 'America/Chicago',
        source: { id: 'slow-csv', settings: { location: '../not-a-package.txt' } },
        targets: [{ id: 'memo' }],
      }),
    );
    writeFileSync(path.join(root, 'not-a-package.txt'), 'hello');
    await th.host.tenants.load();
    const r = await call('POST', '/tenants/broken/source/check');
    t.equal(r.status, 200);
    t.equal(r.body.ok, false);
    t.ok(['SOURCE_INVALID', 'SOURCE_NOT_FOUND'].includes(r.body.code), r.body.code);
    const { ErrorCodes } = await import('@rosterbridge/core');
    t.ok(r.body.code in ErrorCodes, `${r.body.code} is in the catalogue`);
  });

  await t.test('readiness says "database unreachable" and leaves the detail to the log', async (t) => {
    await th.host.database.dispose();
    const r = await pool.request({ method: 'GET', path: '/readyz' });
    const body = (await r.body.json()) as any;
    t.equal(r.statusCode, 503);
    t.same(body.checks.database, { ok: false, detail: 'database unreachable' });
    const line = th
      .logs()
      .split('\n')
      .find((l) => l.includes('readiness: database unreachable'));
    t.ok(line, 'the log has the line');
    t.ok(JSON.parse(line!).err.length > 0, 'with the driver error');
    await th.stop().catch(() => undefined);
    stopped = true;
  });
});
