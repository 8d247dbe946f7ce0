import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import { RosterbridgeError, errorMessage } from '@rosterbridge/core';
import { syncMigrations } from '@rosterbridge/engine';

/** The core schema's name. */
export const CORE_SCHEMA = 'rosterbridge';

/** Migrations of the core schema, in name order. */
export const coreMigrations: Record<string, Migration> = {
  '0001_plugin_schemas': {
    async up(db) {
      await db.schema
        .createTable('plugin_schema')
        .addColumn('plugin_id', 'text', (c) => c.primaryKey())
        .addColumn('schema_name', 'text', (c) => c.notNull().unique())
        .addColumn('plugin_version', 'text', (c) => c.notNull())
        .addColumn('migrated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  ...syncMigrations,
  '0109_tenant_operation': {
    async up(db) {
      // The one operation a tenant is under (starting a run, a reset, a pause), held by one host
      // with a lease: operations that must not overlap are refused across every host sharing the
      // database, and a host that dies holding one frees it when its lease runs out.
      await db.schema
        .createTable('tenant_operation')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('by', 'text', (c) => c.notNull())
        .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('lease_until', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * Runs migrations into `schema` (created when absent), keeping their bookkeeping tables in that
 * schema. Fails with MIGRATION_FAILED naming the migration.
 */
export async function migrateSchema<DB>(db: Kysely<DB>, schema: string, migrations: Record<string, Migration>): Promise<string[]> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (err) {
    // Two hosts starting together: `if not exists` does not stop the loser of the race from failing
    // on the catalog's unique index. The schema is there; go on.
    if ((err as { code?: string }).code !== '23505') throw err;
  }
  const migrator = new Migrator({
    db: db.withSchema(schema),
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
    migrationTableName: 'schema_migration',
    migrationLockTableName: 'schema_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new RosterbridgeError(
      'MIGRATION_FAILED',
      `migration ${failed ? `"${failed.migrationName}" ` : ''}of schema ${schema} failed: ${errorMessage(error)}`,
      { schema, migration: failed?.migrationName },
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The schema a plugin owns: `plugin_<id with dashes as underscores>`. */
export function pluginSchemaName(pluginId: string): string {
  return `plugin_${pluginId.replace(/-/g, '_')}`;
}
