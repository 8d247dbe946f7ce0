import type { Kysely } from 'kysely';

/**
 * The schema-qualified name of `table` as `db` (a kysely bound to a schema with `withSchema`) names
 * it, e.g. `"rosterbridge"."ledger_version"`: raw SQL fragments are not rewritten by `withSchema`,
 * so statements written as raw SQL name their tables with this.
 */
export function qualifiedTable<DB>(db: Kysely<DB>, table: string): string {
  // Any table name, whatever `DB` declares: only the statement's text is wanted, never its rows.
  return db
    .withTables<Record<string, Record<string, unknown>>>()
    .selectFrom(table)
    .selectAll()
    .compile()
    .sql.replace(/^select \* from /, '');
}
