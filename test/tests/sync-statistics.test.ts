import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SCHEMA = 'plugin_target_kybergate';
const TENANT = 'polk';

// The engine analyzes a target's tables as a run fills them (the planner would otherwise take
// them for the empty tables they were and scan them whole for each batch's look-ups), and leaves
// a run that changes little to autovacuum.
t.test('a first sync analyzes the product tables it fills', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-statistics-'));
  const tenants = path.join(root, 'tenants');
  const pkg = path.join(root, 'package');
  mkdirSync(tenants);
  writeFileSync(
    path.join(tenants, `${TENANT}.json`),
    JSON.stringify({
      displayName: 'Polk',
      timezone: 'America/Chicago',
      source: { id: 'oneroster-csv', settings: { location: pkg } },
      targets: [{ id: 'kybergate', settings: { userTypes: ['students', 'teachers', 'administrators'] } }],
    }),
  );
  await writeOneRosterPackage(generateDistrict({ seed: 5, size: 'small' }), pkg, { mode: 'bulk' });
  const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
  t.teardown(async () => {
    await th.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const { host } = th;
  // What the planner believes the tables hold: -1 until a table is first analyzed.
  const believed = async () => {
    const { rows } = await sql<{ table: string; n: number }>`
      select c.relname as table, c.reltuples::float8 as n from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
      where ns.nspname = ${SCHEMA} and c.relkind = 'r' order by c.relname`.execute(host.database.db);
    return Object.fromEntries(rows.map((r) => [r.table, Number(r.n)]));
  };
  const held = async (table: string) =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(`${SCHEMA}.${table}`)}`.execute(host.database.db)).rows[0]!.n);
  const sync = async () => host.syncs.settled((await host.syncs.trigger(TENANT, { trigger: 'test', mode: 'full' })).id);

  const before = await believed();
  t.ok((before.classroom_member ?? 0) <= 0, 'the planner believes the empty membership table empty');
  const first = await sync();
  t.equal(first.counts.targets.kybergate?.status, 'applied');
  const after = await believed();
  const members = await held('classroom_member');
  t.ok(members > 5_000, `the first sync filled the membership table (${members} rows)`);
  // Analyzed during the run, once it had grown past 4,000 changes: not empty to the planner, and
  // within a factor of 4 of what it holds at the end.
  t.ok(after.classroom_member! >= members / 4, `the planner believes classroom_member holds ${after.classroom_member} rows (it holds ${members})`);
  t.ok(after.user_account! > 0, `the planner believes user_account holds ${after.user_account} rows`);
});
