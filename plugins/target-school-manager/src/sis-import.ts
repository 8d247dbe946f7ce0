import type { Kysely } from 'kysely';
import type { AcademicSession, Enrollment, Org, RosterChangeEvent, RosterClass, RosterEntity, User } from '@rosterbridge/core';
import { upsertRows } from '@rosterbridge/core';
import type { ProductColumnKind, ProductTable } from '@rosterbridge/core';
import type { SchoolManagerDatabase, SisImportTable } from './school-manager-database';

/** Rows per INSERT statement: far below Postgres's 65535 parameters for the widest table. */
const CHUNK = 1000;

interface ImportTable<E extends RosterEntity> {
  table: SisImportTable;
  columns: string[];
  /** The types of `columns` (for a bulk load's COPY). */
  kinds: ProductColumnKind[];
  /** Whether rows keep the run that imported them (`import_run`), for the run to report what it did not take. */
  marked?: boolean;
  row(record: any): Record<string, unknown>;
  readonly entity?: E;
}

const TABLES: Partial<{ [E in RosterEntity]: ImportTable<E> }> = {
  orgs: {
    table: 'sis_school',
    columns: ['name', 'org_type', 'parent_sourced_id'],
    kinds: ['text', 'text', 'text'],
    row: (o: Org) => ({ name: o.name, org_type: o.type, parent_sourced_id: o.parentSourcedId ?? null }),
  },
  academicSessions: {
    table: 'sis_term',
    columns: ['title', 'session_type', 'start_date', 'end_date'],
    kinds: ['text', 'text', 'date', 'date'],
    row: (s: AcademicSession) => ({ title: s.title, session_type: s.type, start_date: s.startDate, end_date: s.endDate }),
  },
  classes: {
    table: 'sis_class',
    columns: ['title', 'class_code', 'school_sourced_id', 'term_sourced_ids', 'import_run'],
    kinds: ['text', 'text', 'text', 'text[]', 'text'],
    marked: true,
    row: (c: RosterClass) => ({ title: c.title, class_code: c.classCode ?? null, school_sourced_id: c.schoolSourcedId, term_sourced_ids: c.termSourcedIds }),
  },
  users: {
    table: 'sis_person',
    columns: ['role', 'email', 'given_name', 'family_name', 'phone', 'sms', 'org_sourced_ids', 'agent_sourced_ids', 'import_run'],
    kinds: ['text', 'text', 'text', 'text', 'text', 'text', 'text[]', 'text[]', 'text'],
    marked: true,
    row: (u: User) => ({
      role: u.role,
      email: u.email ?? null,
      given_name: u.givenName,
      family_name: u.familyName,
      phone: u.phone ?? null,
      sms: u.sms ?? null,
      org_sourced_ids: u.orgSourcedIds,
      agent_sourced_ids: u.agentSourcedIds,
    }),
  },
  enrollments: {
    table: 'sis_enrollment',
    columns: ['class_sourced_id', 'user_sourced_id', 'role', 'begin_date', 'end_date', 'import_run'],
    kinds: ['text', 'text', 'text', 'date', 'date', 'text'],
    marked: true,
    row: (e: Enrollment) => ({
      class_sourced_id: e.classSourcedId,
      user_sourced_id: e.userSourcedId,
      role: e.role,
      begin_date: e.beginDate ?? null,
      end_date: e.endDate ?? null,
    }),
  },
};

/** The tables of the SIS import area, emptied by a reset. */
export const SIS_IMPORT_TABLES = Object.values(TABLES).map((t) => t!.table);

/**
 * Writes a batch of roster changes into the SIS import area: the last change of each record wins;
 * creations and updates are one multi-row upsert per entity that leaves equal rows untouched,
 * deletions one DELETE per entity. Idempotent: a batch applied again changes nothing.
 */
export async function importChanges(trx: Kysely<SchoolManagerDatabase>, tenantId: string, events: readonly RosterChangeEvent[]): Promise<void> {
  const latest = new Map<string, RosterChangeEvent>();
  for (const e of events) latest.set(`${e.data.entity}\u0000${e.data.sourcedId}`, e);
  // Every change a creation (a first sync): rows are written with a plain INSERT first.
  const assumeNew = events.every((e) => e.data.kind === 'created');
  const upserts = new Map<RosterEntity, Record<string, unknown>[]>();
  const deletions = new Map<RosterEntity, string[]>();
  for (const e of latest.values()) {
    const spec = TABLES[e.data.entity];
    if (!spec) continue;
    if (e.data.kind === 'deleted') push(deletions, e.data.entity, e.data.sourcedId);
    else push(upserts, e.data.entity, importRow(spec, tenantId, e));
  }
  for (const [entity, rows] of upserts) {
    const { table, columns } = TABLES[entity]!;
    await upsertRows(trx, table, rows, { key: ['tenant_id', 'sourced_id'], columns, chunk: CHUNK, assumeNew });
  }
  for (const [entity, sourcedIds] of deletions) {
    const { table } = TABLES[entity]!;
    for (let i = 0; i < sourcedIds.length; i += CHUNK)
      await trx
        .deleteFrom(table)
        .where('tenant_id', '=', tenantId)
        .where('sourced_id', 'in', sourcedIds.slice(i, i + CHUNK))
        .execute();
  }
}

/** The import area's row of a created or updated record. */
function importRow(spec: ImportTable<RosterEntity>, tenantId: string, e: RosterChangeEvent): Record<string, unknown> {
  return {
    tenant_id: tenantId,
    sourced_id: e.data.sourcedId,
    ...spec.row(e.data.record),
    ...(spec.marked ? { import_run: e.runId } : {}),
  };
}

/**
 * Where a bulk load of `entity` goes in the import area: its table (with its columns' types) and
 * the row of each record, as {@link importChanges} writes it; undefined for an entity the area
 * does not keep.
 */
export function importTableOf(
  entity: RosterEntity,
): { table: ProductTable & { name: SisImportTable }; row(tenantId: string, e: RosterChangeEvent): Record<string, unknown> } | undefined {
  const spec = TABLES[entity] as ImportTable<RosterEntity> | undefined;
  if (!spec) return undefined;
  const columns: Record<string, ProductColumnKind> = { tenant_id: 'text', sourced_id: 'text' };
  spec.columns.forEach((c, i) => (columns[c] = spec.kinds[i]!));
  return { table: { name: spec.table, key: ['tenant_id', 'sourced_id'], columns }, row: (tenantId, e) => importRow(spec, tenantId, e) };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
