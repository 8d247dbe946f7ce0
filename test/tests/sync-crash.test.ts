import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Client } from 'pg';
import { ROSTER_ENTITY_ORDER } from '@rosterbridge/core';
import { FIXTURES_DIR, SeededRandom, comparableRecord, createTestDatabase, generateDistrict, startHostProcess, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins'), path.join(FIXTURES_DIR, 'plugins/sync')].join(',');
const TOKEN = 'crash-admin-token-0123456789';
const KILLS = Number(process.env.RB_CRASH_POINTS ?? 20);
const SEED = Number(process.env.RB_CRASH_SEED ?? 20261123);


const api = async (url: string, method: string, route: string, body?: unknown) => {
  const res = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};

t.test('a host killed at random points of a sync: a restart completes it, the target equals a clean run', { skip: process.env.DATABASE_URL ? false : 'needs a PostgreSQL server (DATABASE_URL): PGlite is not the thing under test here' }, async (t) => {
  const database = await createTestDatabase();
  const root = mkdtempSync(path.join(tmpdir(), 'rb-crash-'));
  t.teardown(async () => {
    rmSync(root, { recursive: true, force: true });
    await database.drop();
  });
  const district = generateDistrict({ seed: 31, size: 'small', scale: 0.5 });
  await writeOneRosterPackage(district, path.join(root, 'package'));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  for (let i = 0; i < KILLS; i++)
    writeFileSync(path.join(tenants, `crash-${i}.json`), JSON.stringify({ displayName: `crash ${i}`, timezone: 'UTC', source: { id: 'oneroster-csv', settings: { location: '../package' } }, targets: [{ id: 'memo' }] }));
  const env = {
    RB_HTTP_PORT: '0',
    RB_DATABASE_URL: database.url,
    RB_DATA_DIR: path.join(root, 'data'),
    RB_PLUGIN_DIRS: PLUGINS,
    RB_TENANTS_DIR: tenants,
    RB_API_TOKENS: JSON.stringify([{ name: 'crash', token: TOKEN, role: 'admin' }]),
    RB_SYNC_LEASE_MS: '1500',
    RB_SCHEDULE_ENABLED: 'false',
    RB_SYNC_SWEEP_MS: '300',
    RB_SYNC_BATCH_SIZE: '500',
    RB_LOG_LEVEL: 'info',
  };

  // How long a clean run takes here, to spread the kill points over all of it.
  let host = await startHostProcess(env);
  const clean = await api(host.url, 'POST', '/tenants/crash-0/syncs', {});
  let run = clean.body;
  const began = Date.now();
  while (run.status === 'queued' || run.status === 'running') {
    await new Promise((r) => setTimeout(r, 50));
    run = (await api(host.url, 'GET', `/runs/${clean.body.id}`)).body;
  }
  const cleanMs = Date.now() - began;
  t.equal(run.status, 'success', 'the clean run succeeds');
  const spans = {
    staging: Date.parse(run.committedAt) - Date.parse(run.startedAt),
    applying: Date.parse(run.endedAt) - Date.parse(run.committedAt),
  };
  host.child.kill('SIGKILL');

  const db = new Client({ connectionString: database.url });
  await db.connect();
  t.teardown(() => db.end());
  const memo = async (tenant: string) =>
    new Map((await db.query('select entity, sourced_id, record from plugin_target_memo.record where tenant_id = $1', [tenant])).rows.map((r) => [`${r.entity}/${r.sourced_id}`, comparableRecord(r.record)]));
  const expected = new Map<string, string>();
  for (const entity of ROSTER_ENTITY_ORDER) for (const r of district.records(entity)) expected.set(`${entity}/${r.sourcedId}`, comparableRecord(r));
  const reference = await memo('crash-0');
  t.same([...reference.keys()].sort(), [...expected.keys()].sort(), 'the clean run holds every record');

  const random = new SeededRandom(SEED);
  t.comment(`kill points from seed ${SEED}: a clean run took ${cleanMs} ms (staging ${spans.staging} ms, applying ${spans.applying} ms)`);
  const killedIn: Record<string, number> = {};
  for (let i = 1; i < KILLS; i++) {
    const tenant = `crash-${i}`;
    // Alternate the phase aimed at; kill at a random point of that phase's clean duration.
    const aim = i % 2 === 1 ? 'staging' : 'applying';
    const delay = Math.floor(random.next() * spans[aim]);
    host = await startHostProcess(env);
    const started = await api(host.url, 'POST', `/tenants/${tenant}/syncs`, {});
    t.equal(started.status, 202);
    const phaseOf = async () => (await db.query('select status, phase from rosterbridge.run where id = $1', [started.body.id])).rows[0] as { status: string; phase: string };
    for (let p = await phaseOf(); p.phase !== aim && p.phase !== 'done'; p = await phaseOf()) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, delay));
    const phase = await phaseOf();
    killedIn[`${phase.status}/${phase.phase}`] = (killedIn[`${phase.status}/${phase.phase}`] ?? 0) + 1;
    host.child.kill('SIGKILL');
    await new Promise((r) => host.child.once('exit', r));

    host = await startHostProcess(env);
    let after = (await api(host.url, 'GET', `/runs/${started.body.id}`)).body;
    const deadline = Date.now() + 60000;
    while ((after.status === 'queued' || after.status === 'running') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      after = (await api(host.url, 'GET', `/runs/${started.body.id}`)).body;
    }
    t.equal(after.status, 'success', `kill ${i} after ${delay} ms (run was ${phase?.status}/${phase?.phase}): the restarted host finished the run (${after.errorMessage ?? after.reason ?? ''})`);
    const got = await memo(tenant);
    let differing = 0;
    for (const [key, value] of expected) if (got.get(key) !== value) differing++;
    t.equal(got.size, expected.size, `kill ${i}: the target holds as many rows as a clean run`);
    t.equal(differing, 0, `kill ${i}: every row equals the clean run's`);
    // The snapshot: each key's latest committed version, unless a deletion; and no version above
    // the watermark is left behind by the killed run.
    const ledger = (
      await db.query(
        `select count(*)::int as n from (
           select distinct on (entity, sourced_id) kind from rosterbridge.ledger_version
           where tenant_id = $1 and seq <= (select committed_seq from rosterbridge.ledger_state where tenant_id = $1)
           order by entity, sourced_id, seq desc) l where kind <> 'deleted'`,
        [tenant],
      )
    ).rows[0].n;
    t.equal(ledger, expected.size, `kill ${i}: the ledger's snapshot holds every record once`);
    const stray = (await db.query('select count(*)::int as n from rosterbridge.ledger_version where tenant_id = $1 and seq > (select committed_seq from rosterbridge.ledger_state where tenant_id = $1)', [tenant])).rows[0].n;
    t.equal(stray, 0, `kill ${i}: no staged version is left above the watermark`);
    host.child.kill('SIGKILL');
    await new Promise((r) => host.child.once('exit', r));
  }
  t.comment(`killed in: ${JSON.stringify(killedIn)}`);
  t.ok((killedIn['running/staging'] ?? 0) > 0 && (killedIn['running/applying'] ?? 0) > 0, 'kills landed in both staging and applying');
});
