import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { FIXTURES_DIR, type TestHost, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

// A tenant does one thing at a time: a reset, a back-fill, a pause and a sync started at the same
// instant are never both accepted, and what is refused (409) names what is under way.

const ADMIN = 'admin-token-0123456789abcdef';
const PLUGINS = [path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/api')];
const ROUNDS = 50;

t.test('one operation per tenant at a time', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-api-op-'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(generateDistrict({ seed: 5, size: 'tiny' }), path.join(root, 'package'), { mode: 'bulk' });
  // Every run waits 150 ms into its read at least: a run accepted is still active when the other
  // request of its pair is looked at, whichever of the two the host reads first.
  const source = { id: 'slow-csv', settings: { location: '../package', readDelayMs: 150 } };
  // And a reset of `slow` takes 150 ms, as each of its applies: a sync that comes meanwhile meets it.
  writeFileSync(
    path.join(tenants, 'lincoln.json'),
    JSON.stringify({
      displayName: 'Lincoln',
      timezone: 'America/Chicago',
      source,
      targets: [{ id: 'memo' }, { id: 'slow', settings: { resetDelayMs: 150, applyDelayMs: 150 } }],
    }),
  );
  writeFileSync(
    path.join(tenants, 'adams.json'),
    JSON.stringify({ displayName: 'Adams', timezone: 'America/Chicago', source, targets: [{ id: 'memo' }, { id: 'slow', settings: { resetDelayMs: 800 } }] }),
  );
  const th: TestHost = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  const post = async (url: string, body?: unknown) => {
    const res = await fetch(host.url + url, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  /** Waits until the tenant has no active run. */
  const settle = async (tenantId: string) => {
    for (const run of await host.runs.list(tenantId, { limit: 5 })) if (run.status === 'queued' || run.status === 'running') await host.syncs.settled(run.id);
  };
  const first = await post('/tenants/lincoln/syncs', {});
  t.equal(first.status, 202, 'a first sync fills memo');
  await settle('lincoln');

  await t.test(`reset and sync sent at the same instant: exactly one accepted, ${ROUNDS} times out of ${ROUNDS}`, async (t) => {
    const won = { sync: 0, reset: 0 };
    const refusals = new Map<string, number>();
    let exactlyOne = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const sync = () => post('/tenants/lincoln/syncs', {});
      const reset = () => post('/tenants/lincoln/targets/slow/reset');
      // Which request leaves first alternates, so that each kind gets to win.
      const [s, r] = round % 2 === 0 ? await Promise.all([sync(), reset()]) : (await Promise.all([reset(), sync()])).reverse();
      const accepted = [s!.status === 202, r!.status === 200].filter(Boolean).length;
      if (accepted === 1) exactlyOne++;
      else t.fail(`round ${round}: sync ${s!.status} ${JSON.stringify(s!.body.error ?? {})}, reset ${r!.status} ${JSON.stringify(r!.body.error ?? {})}`);
      const refused = s!.status === 202 ? r! : s!;
      t.equal(refused.status, 409, `round ${round}: the other is refused with 409`);
      t.ok(['TENANT_BUSY', 'CONFLICT'].includes(refused.body.error?.code), `round ${round}: coded ${refused.body.error?.code}`);
      // It names what is running: the run (by id) or the reset (by target).
      t.match(
        refused.body.error?.message,
        s!.status === 202 ? new RegExp(`${s!.body.id}|a sync starting`) : /reset of target "slow"/,
        `round ${round}: the refusal names what runs`,
      );
      refusals.set(refused.body.error?.code, (refusals.get(refused.body.error?.code) ?? 0) + 1);
      if (s!.status === 202) won.sync++;
      if (r!.status === 200) won.reset++;
      await settle('lincoln');
    }
    t.equal(exactlyOne, ROUNDS, `exactly one accepted in ${exactlyOne} of ${ROUNDS} rounds`);
    t.comment(`won: sync ${won.sync}, reset ${won.reset}; refusals: ${JSON.stringify(Object.fromEntries(refusals))}`);
  });

  await t.test('a reset sent 2 to 21 ms after a sync: exactly one accepted, the refusal naming what runs', async (t) => {
    const codes = new Map<string, number>();
    for (let round = 0; round < 20; round++) {
      const sync = post('/tenants/lincoln/syncs', {});
      await new Promise((resolve) => setTimeout(resolve, round + 2));
      const r = await post('/tenants/lincoln/targets/slow/reset');
      const s = await sync;
      t.equal([s.status === 202, r.status === 200].filter(Boolean).length, 1, `round ${round}: sync ${s.status}, reset ${r.status}`);
      const refused = s.status === 202 ? r : s;
      t.equal(refused.status, 409);
      t.match(
        refused.body.error?.message,
        s.status === 202 ? new RegExp(`active run ${s.body.id}|a sync starting`) : /reset of target "slow"/,
        `round ${round}: ${refused.body.error?.message}`,
      );
      codes.set(refused.body.error?.code, (codes.get(refused.body.error?.code) ?? 0) + 1);
      await settle('lincoln');
    }
    t.ok(codes.get('CONFLICT'), `some resets met the run itself: ${JSON.stringify(Object.fromEntries(codes))}`);
  });

  await t.test('back-fill and reset at the same instant: exactly one accepted', async (t) => {
    const cursors = host.database.db.withSchema('rosterbridge');
    for (let round = 0; round < 10; round++) {
      // Without its cursor, `slow` is back-filled the whole snapshot, 150 ms a batch: the back-fill
      // is still running when the reset is looked at, whichever comes first.
      await cursors.deleteFrom('target_cursor').where('tenant_id', '=', 'lincoln').where('target_id', '=', 'slow').execute();
      const [b, r] = await Promise.all([post('/tenants/lincoln/targets/slow/backfill'), post('/tenants/lincoln/targets/slow/reset')]);
      t.equal([b.status === 202, r.status === 200].filter(Boolean).length, 1, `round ${round}: back-fill ${b.status}, reset ${r.status}`);
      const refused = b.status === 202 ? r : b;
      t.equal(refused.status, 409);
      t.match(
        refused.body.error?.message,
        b.status === 202 ? new RegExp(`active run ${b.body.id}|back-fill of target "slow" starting`) : /reset of target "slow"/,
        refused.body.error?.message,
      );
      await settle('lincoln');
    }
  });

  await t.test('pause and sync at the same instant: exactly one accepted', async (t) => {
    for (let round = 0; round < 10; round++) {
      const [p, s] = await Promise.all([post('/tenants/lincoln/pause', { reason: `round ${round}` }), post('/tenants/lincoln/syncs', {})]);
      t.equal(
        [p.status === 200, s.status === 202].filter(Boolean).length,
        1,
        `round ${round}: pause ${p.status}, sync ${s.status} ${JSON.stringify(s.body.error ?? p.body.error)}`,
      );
      const refused = p.status === 200 ? s : p;
      t.ok(['TENANT_BUSY', 'TENANT_PAUSED', 'CONFLICT'].includes(refused.body.error?.code), refused.body.error?.message);
      await settle('lincoln');
      if (p.status === 200) t.equal((await post('/tenants/lincoln/resume')).status, 200);
    }
  });

  await t.test('while a reset is under way, a sync, a back-fill, a pause and another reset are refused naming it', async (t) => {
    const reset = post('/tenants/adams/targets/slow/reset');
    // The reset holds the tenant for 800 ms; wait until it does.
    for (
      let i = 0;
      i < 100 &&
      !(await host.database.db
        .withSchema('rosterbridge')
        .selectFrom('tenant_operation')
        .select('operation')
        .where('tenant_id', '=', 'adams')
        .executeTakeFirst());
      i++
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    for (const [what, url, body] of [
      ['sync', '/tenants/adams/syncs', {}],
      ['back-fill', '/tenants/adams/targets/memo/backfill', undefined],
      ['pause', '/tenants/adams/pause', {}],
      ['reset', '/tenants/adams/targets/memo/reset', undefined],
    ] as const) {
      const r = await post(url, body);
      t.equal(r.status, 409, `${what} refused`);
      t.equal(r.body.error.code, 'TENANT_BUSY');
      t.match(r.body.error.message, /tenant "adams" is busy with a reset of target "slow" \(by ops, since .+\)/);
      t.match(r.body.error.details, { tenant: 'adams', operation: 'reset', target: 'slow', by: 'ops' });
    }
    t.equal((await reset).status, 200, 'the reset itself went through');
    t.equal((await post('/tenants/adams/syncs', {})).status, 202, 'and once it ended, a sync is taken');
    await settle('adams');
  });

  await t.test('while a run is active, a reset and a pause are refused naming the run', async (t) => {
    const s = await post('/tenants/adams/syncs', {});
    t.equal(s.status, 202);
    const reset = await post('/tenants/adams/targets/memo/reset');
    t.equal(reset.status, 409);
    t.equal(reset.body.error.code, 'CONFLICT');
    t.match(reset.body.error.message, new RegExp(`active run ${s.body.id}`));
    const pause = await post('/tenants/adams/pause', {});
    t.equal(pause.status, 409);
    t.equal(pause.body.error.code, 'TENANT_BUSY');
    t.match(pause.body.error.message, new RegExp(`busy with run ${s.body.id} \\((queued|running)\\); cancel it or pause after it ends`));
    await settle('adams');
    t.equal((await post('/tenants/adams/pause', {})).status, 200, 'after it ended, the pause is taken');
    t.equal((await post('/tenants/adams/resume')).status, 200);
  });

  await t.test("a host that died holding a tenant frees it when the operation's lease runs out", async (t) => {
    const ops = host.database.db.withSchema('rosterbridge');
    await ops
      .insertInto('tenant_operation')
      .values({ tenant_id: 'adams', id: 'dead-host-op', operation: 'reset', detail: 'memo', by: 'a host gone', lease_until: new Date(Date.now() - 1000) })
      .execute();
    t.equal((await post('/tenants/adams/syncs', {})).status, 202, 'an expired hold does not block');
    await settle('adams');
    await ops
      .insertInto('tenant_operation')
      .values({ tenant_id: 'adams', id: 'live-op', operation: 'pause', by: 'another host', lease_until: new Date(Date.now() + 60_000) })
      .execute();
    const refused = await post('/tenants/adams/syncs', {});
    t.equal(refused.status, 409);
    t.match(refused.body.error.message, /busy with a pause \(by another host/);
    await ops.deleteFrom('tenant_operation').where('id', '=', 'live-op').execute();
  });
});
