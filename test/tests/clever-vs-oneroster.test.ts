import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { ROSTER_ENTITY_ORDER, type SyncRun } from '@rosterbridge/core';
import { OneRosterDataset, changeDistrict, generateDistrict, startOneRosterSimulator, startTestHost, type RosterRecordSource } from '@rosterbridge/test-kit';
import { startCleverSimulator } from '@rosterbridge/simulators';

const PLUGINS = [path.resolve(__dirname, '../../plugins')];
const SIZE = process.env.DATABASE_URL ? 'small' : 'tiny';
const SCHEMA = 'plugin_target_kybergate';
const TABLES = ['district', 'school', 'user_account', 'classroom', 'classroom_member'] as const;
const CLEVER_TOKEN = 'clever-vs-oneroster-district-token';
const ONEROSTER_TOKEN = 'clever-vs-oneroster-bearer-token';

type Row = Record<string, unknown>;
/** A tenant's KyberGate rows, tenant id aside, by `table key` (a class member by class, role and user: Clever has no enrollment ids). */
type ProductRows = Map<string, Row>;

async function productRows(db: any, tenantId: string): Promise<ProductRows> {
  const rows: ProductRows = new Map();
  for (const table of TABLES) {
    for (const row of await db.withSchema(SCHEMA).selectFrom(table).selectAll().where('tenant_id', '=', tenantId).execute()) {
      const { tenant_id: _tenant, ...rest } = row as Row;
      rows.set(
        table === 'classroom_member' ? `${table} ${rest.classroom_sourced_id} ${rest.role} ${rest.user_sourced_id}` : `${table} ${rest.sourced_id}`,
        rest,
      );
    }
  }
  return rows;
}

/**
 * Where KyberGate's rows from Clever may differ from its rows from OneRoster, because Clever cannot
 * express what OneRoster says (see plugins/source-clever/README.md for the whole list). Each rule
 * checks the Clever side is what Clever makes of it, then sets both sides alike; it returns how
 * many rows it had to explain. Anything else that differs fails the comparison.
 */
const EXCEPTIONS: Record<string, (clever: ProductRows, oneRoster: ProductRows, wrong: string[]) => number> = {
  'class members are keyed by class, role and user: Clever has no enrollment objects, so no enrollment sourcedIds': (clever, oneRoster, wrong) => {
    let n = 0;
    for (const [key, row] of clever) {
      if (!key.startsWith('classroom_member ')) continue;
      const other = oneRoster.get(key);
      if (other && row.sourced_id !== other.sourced_id) n++;
      if (row.sourced_id !== `${row.classroom_sourced_id}:${row.role}:${row.user_sourced_id}`)
        wrong.push(`${key}: sourced_id ${String(row.sourced_id)} is not Clever's made-up enrollment id`);
      delete row.sourced_id;
      if (other) delete other.sourced_id;
    }
    return n;
  },
  'only students have grades in Clever: a teacher or staff account has no grade': (clever, oneRoster, wrong) => {
    let n = 0;
    for (const [key, row] of clever) {
      const other = oneRoster.get(key);
      if (!key.startsWith('user_account ') || row.roster_role === 'student' || !other) continue;
      if (row.grade !== null) wrong.push(`${key}: a grade from Clever for a ${String(row.roster_role)}`);
      if (other.grade !== null) n++;
      other.grade = null;
    }
    return n;
  },
  'Clever has no enabledUser: every account it gives is enabled': (clever, oneRoster, wrong) => {
    let n = 0;
    for (const [key, row] of clever) {
      const other = oneRoster.get(key);
      if (!key.startsWith('user_account ') || !other) continue;
      if (row.enabled !== true) wrong.push(`${key}: disabled from Clever`);
      if (other.enabled !== true) n++;
      other.enabled = true;
    }
    return n;
  },
  "a class whose teachers are none of them primary: Clever's section names one as its (primary) teacher": (clever, oneRoster, wrong) => {
    let n = 0;
    const teachersOf = (rows: ProductRows) => {
      const byClass = new Map<string, Row[]>();
      for (const [key, row] of rows) {
        if (!key.startsWith('classroom_member ') || row.role !== 'teacher') continue;
        const list = byClass.get(row.classroom_sourced_id as string) ?? [];
        list.push(row);
        byClass.set(row.classroom_sourced_id as string, list);
      }
      return byClass;
    };
    const cleverTeachers = teachersOf(clever);
    for (const [classId, teachers] of teachersOf(oneRoster)) {
      if (teachers.some((r) => r.is_primary === true)) continue;
      const mine = cleverTeachers.get(classId) ?? [];
      if (mine.filter((r) => r.is_primary === true).length !== 1)
        wrong.push(`${classId}: Clever names ${mine.filter((r) => r.is_primary === true).length} primary teachers, not one`);
      for (const row of [...teachers, ...mine]) {
        if (row.is_primary === true) n++;
        row.is_primary = null;
      }
    }
    return n;
  },
};

/** Compares the two tenants' rows, modulo the exceptions; reports each exception's count. */
async function sameProductRows(t: Test, db: unknown, phase: string): Promise<void> {
  const clever = await productRows(db, 'via-clever');
  const oneRoster = await productRows(db, 'via-oneroster');
  t.ok(oneRoster.size > 0, `${phase}: KyberGate holds ${oneRoster.size} rows from OneRoster`);
  t.same([...clever.keys()].sort(), [...oneRoster.keys()].sort(), `${phase}: the same rows (districts, schools, accounts, classrooms, members)`);
  for (const [rule, explain] of Object.entries(EXCEPTIONS)) {
    const wrong: string[] = [];
    const explained = explain(clever, oneRoster, wrong);
    t.same(wrong.slice(0, 10), [], `${phase}: ${explained} row(s) differ because ${rule}`);
  }
  const differing = [...oneRoster.keys()].filter((key) => JSON.stringify(sorted(clever.get(key))) !== JSON.stringify(sorted(oneRoster.get(key))));
  t.same(
    differing.slice(0, 10).map((key) => ({ key, clever: clever.get(key), oneRoster: oneRoster.get(key) })),
    [],
    `${phase}: every row is the same in every other column (${differing.length} differ)`,
  );
}

t.test(
  'one district served by the Clever simulator and by the OneRoster simulator gives KyberGate the same rows, first in full and then after a change',
  async (t) => {
    const district = generateDistrict({ seed: 2027, size: SIZE });
    const clever = await startCleverSimulator({ dataset: district, tokens: [CLEVER_TOKEN] });
    t.teardown(() => clever.stop());
    const dataset = OneRosterDataset.from(district);
    const oneRoster = await startOneRosterSimulator({ dataset, auth: { bearerTokens: [ONEROSTER_TOKEN] } });
    t.teardown(() => oneRoster.close());

    const root = mkdtempSync(path.join(tmpdir(), 'rb-clever-vs-oneroster-'));
    const tenants = path.join(root, 'tenants');
    mkdirSync(tenants);
    const tenant = (id: string, source: Record<string, unknown>) =>
      writeFileSync(path.join(tenants, `${id}.json`), JSON.stringify({ displayName: id, timezone: 'UTC', source, targets: [{ id: 'kybergate' }] }));
    tenant('via-clever', { id: 'clever', settings: { baseUrl: clever.origin, token: { env: 'ROSTERBRIDGE_SECRET_CVO_CLEVER_TOKEN' } } });
    tenant('via-oneroster', {
      id: 'classlink',
      settings: { baseUrl: oneRoster.baseUrl, auth: { mode: 'bearer', token: { env: 'ROSTERBRIDGE_SECRET_CVO_ONEROSTER_TOKEN' } } },
    });
    process.env.ROSTERBRIDGE_SECRET_CVO_CLEVER_TOKEN = CLEVER_TOKEN;
    process.env.ROSTERBRIDGE_SECRET_CVO_ONEROSTER_TOKEN = ONEROSTER_TOKEN;
    const th = await startTestHost({ pluginDirs: PLUGINS, tenantsDir: tenants });
    t.teardown(async () => {
      await th.stop();
      delete process.env.ROSTERBRIDGE_SECRET_CVO_CLEVER_TOKEN;
      delete process.env.ROSTERBRIDGE_SECRET_CVO_ONEROSTER_TOKEN;
      rmSync(root, { recursive: true, force: true });
    });
    const sync = async (tenantId: string, mode: 'full' | 'delta' = 'full'): Promise<SyncRun> =>
      th.host.syncs.settled((await th.host.syncs.trigger(tenantId, { trigger: 'test', mode })).id);
    const succeeded = (t: Test, run: SyncRun, what: string) =>
      t.equal(run.status, 'success', `${what}: ${run.status} ${run.reason ?? ''} ${run.errorMessage ?? ''}`);

    await t.test('a first full sync from each', async (t) => {
      succeeded(t, await sync('via-clever'), 'Clever, full');
      succeeded(t, await sync('via-oneroster'), 'OneRoster, full');
      await sameProductRows(t, th.host.database.db, 'first sync');
    });

    await t.test("after the district changes: a delta from Clever's events, a full sync from OneRoster", async (t) => {
      const changed = changeDistrict(district, { seed: 2028, fraction: SIZE === 'tiny' ? 0.1 : 0.02 });
      const events = clever.changeTo(changed);
      replace(dataset, changed);
      const delta = await sync('via-clever', 'delta');
      succeeded(t, delta, `Clever, delta from ${events.length} events`);
      const changes = Object.values(delta.counts.source).reduce((n, c) => n + (c ? c.created + c.updated + c.deleted : 0), 0);
      t.ok(changes > 0, `the delta changed ${changes} records`);
      succeeded(t, await sync('via-oneroster'), 'OneRoster, full');
      await sameProductRows(t, th.host.database.db, 'after the change');
    });
  },
);

/** Makes `dataset` serve `roster` (records it no longer has vanish, as from a server's full listing). */
function replace(dataset: OneRosterDataset, roster: RosterRecordSource): void {
  for (const entity of ROSTER_ENTITY_ORDER) {
    const keep = new Set<string>();
    for (const record of roster.records(entity)) {
      dataset.put(entity, record);
      keep.add(record.sourcedId);
    }
    for (const record of [...dataset.records(entity)]) if (!keep.has(record.sourcedId)) dataset.remove(entity, record.sourcedId);
  }
}

function sorted(row: Row | undefined): unknown {
  return (
    row &&
    Object.fromEntries(
      Object.keys(row)
        .sort()
        .map((k) => [k, row[k]]),
    )
  );
}
