import type { Kysely } from 'kysely';

/**
 * The schema-qualified name of `table` as `db` (a kysely bound to a schema with `withSchema`) names
 * it, e.g. `"rosterbridge"."ledger_version"`: raw SQL fragments are not rewritten by `withSchema`,
 * so statements written as raw SQL name their tables with this.
 */
export function qualifiedTable(db: Kysely<any>, table: string): string {
  return db
    .selectFrom(table)
    .selectAll()
    .compile()
    .sql.replace(/^select \* from /, '');
}
