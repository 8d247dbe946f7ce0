import type { ColumnType } from 'kysely';
import type { EngineDatabase } from '@rosterbridge/engine';
import type { TenantOperationKind } from '../sync/tenant-operations';

/** Which schema each plugin owns, and the plugin version whose migrations it holds. */
export interface PluginSchemaTable {
  plugin_id: string;
  schema_name: string;
  plugin_version: string;
  migrated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** The one operation a tenant is under, held by one host with a lease ({@link TenantOperations}). */
export interface TenantOperationTable {
  tenant_id: string;
  id: string;
  operation: TenantOperationKind;
  /** What it works on: a target, a command id. */
  detail: string | null;
  by: string;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  lease_until: ColumnType<Date, Date | string, Date | string>;
}

/**
 * The core schema's tables ({@link coreMigrations}): the engine's and the host's own, for a kysely
 * bound to the core schema (`withSchema(CORE_SCHEMA)`). Migrations do not use it: each builds the
 * schema as it stood at its time.
 */
export interface CoreDatabase extends EngineDatabase {
  plugin_schema: PluginSchemaTable;
  tenant_operation: TenantOperationTable;
}
