import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The KyberGate product schema (`plugin_target_kybergate`). Every table is keyed by tenant first;
 * references between tables are by sourcedId within a tenant, without foreign keys, so that a class
 * member whose user was rejected (say, for a duplicate email) is kept and becomes whole once the
 * user is fixed.
 */
export const migrations: Record<string, Migration> = {
  '001_kybergate': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('district')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('identifier', 'text')
        .addPrimaryKeyConstraint('district_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('school')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('identifier', 'text')
        .addColumn('district_sourced_id', 'text')
        .addPrimaryKeyConstraint('school_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('user_account')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        // Lower-cased email: KyberGate signs users in by email, so it is unique per tenant.
        .addColumn('email_key', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('first_name', 'text', (c) => c.notNull())
        .addColumn('last_name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('student', 'staff', 'admin')`))
        .addColumn('roster_role', 'text', (c) => c.notNull())
        .addColumn('grade', 'text')
        .addColumn('school_sourced_ids', sql`text[]`, (c) => c.notNull())
        .addColumn('enabled', 'boolean', (c) => c.notNull())
        // Set by the KyberGate UI when an admin edits a field; with conflictResolution
        // "local-wins" those fields keep their local value.
        .addColumn('locally_edited_fields', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
        .addPrimaryKeyConstraint('user_account_pk', ['tenant_id', 'sourced_id'])
        // Deferred so that two users swapping emails inside one batch do not trip it mid-statement.
        .addUniqueConstraint('user_account_email_unique', ['tenant_id', 'email_key'], (c) => c.deferrable().initiallyDeferred())
        .execute();
      await db.schema
        .createTable('classroom')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('class_code', 'text')
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('grades', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('classroom_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('classroom_member')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('classroom_sourced_id', 'text', (c) => c.notNull())
        .addColumn('user_sourced_id', 'text', (c) => c.notNull())
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('is_primary', 'boolean')
        .addPrimaryKeyConstraint('classroom_member_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('classroom_member_classroom').on('classroom_member').columns(['tenant_id', 'classroom_sourced_id']).execute();
      await db.schema.createIndex('classroom_member_user').on('classroom_member').columns(['tenant_id', 'user_sourced_id']).execute();
      // What the tenant's scope (schools, user types) was when its data was imported.
      await db.schema
        .createTable('sync_scope')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
