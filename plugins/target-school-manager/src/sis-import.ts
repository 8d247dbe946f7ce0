import type {
  AcademicSession,
  Enrollment,
  EntityHookContext,
  Org,
  RosterClass,
  RosterDeletion,
  RosterEntity,
  RosterRecord,
  RosterWrite,
  TargetEntityHooks,
  User,
} from '@rosterbridge/core';
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
  /** The row's columns of a record (besides tenant, sourcedId and run). */
  row(record: RosterRecord<E>): Record<string, unknown>;
}

/** The entities the import area keeps. */
type ImportedEntity = 'orgs' | 'academicSessions' | 'classes' | 'users' | 'enrollments';

const TABLES: { [E in ImportedEntity]: ImportTable<E> } = {
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

/** The import table of each entity, looked up by any entity (undefined for one the area does not keep). */
const TABLE_OF: { [E in RosterEntity]?: ImportTable<E> } = TABLES;

/** The tables of the SIS import area, emptied by a reset. */
export const SIS_IMPORT_TABLES = Object.values(TABLES).map((t) => t.table);

/**
 * What a batch does to the SIS import area, entity by entity ({@link TargetSessionBase} folds the
 * batch: the last change of each record wins): creations and updates are one multi-row upsert per
 * entity that leaves equal rows untouched, deletions one DELETE per entity. Idempotent: a batch
 * applied again changes nothing.
 */
export function importHooks(tenantId: string): TargetEntityHooks<SchoolManagerDatabase> {
  return {
    orgs: entityHooks(tenantId, TABLES.orgs),
    academicSessions: entityHooks(tenantId, TABLES.academicSessions),
    classes: entityHooks(tenantId, TABLES.classes),
    users: entityHooks(tenantId, TABLES.users),
    enrollments: entityHooks(tenantId, TABLES.enrollments),
  };
}

/** The hooks that write one entity's changes to its import table. */
function entityHooks<E extends ImportedEntity>(tenantId: string, spec: ImportTable<E>) {
  const { table, columns } = spec;
  return {
    async write(changes: RosterWrite<E>[], { trx, batch }: EntityHookContext<SchoolManagerDatabase>): Promise<void> {
      const rows = changes.map((e) => importRow(spec, tenantId, e));
      // Every change of the batch a creation (a first sync): rows are written with a plain INSERT first.
      await upsertRows(trx, table, rows, { key: ['tenant_id', 'sourced_id'], columns, chunk: CHUNK, assumeNew: batch.allNew });
    },
    async delete(changes: RosterDeletion<E>[], { trx }: EntityHookContext<SchoolManagerDatabase>): Promise<void> {
      const sourcedIds = changes.map((e) => e.data.sourcedId);
      for (let i = 0; i < sourcedIds.length; i += CHUNK)
        await trx
          .deleteFrom(table)
          .where('tenant_id', '=', tenantId)
          .where('sourced_id', 'in', sourcedIds.slice(i, i + CHUNK))
          .execute();
    },
  };
}

/** The import area's row of a record. */
function importRow<E extends RosterEntity>(spec: ImportTable<E>, tenantId: string, e: RosterWrite<E> | RosterDeletion<E>): Record<string, unknown> {
  return {
    tenant_id: tenantId,
    sourced_id: e.data.sourcedId,
    ...spec.row(e.data.record),
    ...(spec.marked ? { import_run: e.runId } : {}),
  };
}

/**
 * Where a bulk load of `entity` goes in the import area: its table (with its columns' types) and
 * the row of each record, as {@link importHooks} write it; undefined for an entity the area
 * does not keep.
 */
export function importTableOf<E extends RosterEntity>(
  entity: E,
): { table: ProductTable & { name: SisImportTable }; row(tenantId: string, e: RosterWrite<E> | RosterDeletion<E>): Record<string, unknown> } | undefined {
  const spec: ImportTable<E> | undefined = TABLE_OF[entity];
  if (!spec) return undefined;
  const columns: Record<string, ProductColumnKind> = { tenant_id: 'text', sourced_id: 'text' };
  spec.columns.forEach((c, i) => (columns[c] = spec.kinds[i]!));
  return { table: { name: spec.table, key: ['tenant_id', 'sourced_id'], columns }, row: (tenantId, e) => importRow(spec, tenantId, e) };
}
