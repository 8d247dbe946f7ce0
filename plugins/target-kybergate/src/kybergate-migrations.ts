import { type ExpressionBuilder, type Kysely, type Migration, sql } from 'kysely';

/**
 * The KyberGate product schema (`plugin_target_kybergate`). Every table is keyed by tenant first;
 * references between tables are by sourcedId within a tenant, without foreign keys: the target
 * itself keeps every reference whole (002), parking a classroom or class member whose school, user
 * or class KyberGate does not hold in a pending table until it does.
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
  /**
   * Referential integrity. A classroom whose school KyberGate does not hold, and a class member
   * whose user or classroom it does not hold, wait in `pending_classroom` / `pending_member` (same
   * columns as the product table: the record as KyberGate would hold it) until what they point at
   * arrives: the roster does not send an unchanged enrollment again when its user is fixed. A
   * user's `school_sourced_ids` are the schools (and district) of `roster_school_sourced_ids`, the
   * roster's in-scope orgs, that KyberGate holds.
   */
  '002_kybergate_pending': {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('user_account')
        .addColumn('roster_school_sourced_ids', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
        .execute();
      await db
        .updateTable('user_account')
        .set({ roster_school_sourced_ids: sql`school_sourced_ids` })
        .execute();
      await db.schema
        .createTable('pending_classroom')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('class_code', 'text')
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('grades', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('pending_classroom_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('pending_classroom_school').on('pending_classroom').columns(['tenant_id', 'school_sourced_id']).execute();
      await db.schema
        .createTable('pending_member')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('classroom_sourced_id', 'text', (c) => c.notNull())
        .addColumn('user_sourced_id', 'text', (c) => c.notNull())
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('is_primary', 'boolean')
        .addPrimaryKeyConstraint('pending_member_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('pending_member_classroom').on('pending_member').columns(['tenant_id', 'classroom_sourced_id']).execute();
      await db.schema.createIndex('pending_member_user').on('pending_member').columns(['tenant_id', 'user_sourced_id']).execute();
      // Members stored before this migration that point at nothing wait like the later ones.
      const dangling = (eb: ExpressionBuilder<any, 'm'>) =>
        eb.or([
          eb.not(
            eb.exists(
              eb
                .selectFrom('user_account as u')
                .select('u.sourced_id')
                .whereRef('u.tenant_id', '=', 'm.tenant_id')
                .whereRef('u.sourced_id', '=', 'm.user_sourced_id'),
            ),
          ),
          eb.not(
            eb.exists(
              eb
                .selectFrom('classroom as k')
                .select('k.sourced_id')
                .whereRef('k.tenant_id', '=', 'm.tenant_id')
                .whereRef('k.sourced_id', '=', 'm.classroom_sourced_id'),
            ),
          ),
        ]);
      const memberColumns = ['tenant_id', 'sourced_id', 'classroom_sourced_id', 'user_sourced_id', 'school_sourced_id', 'role', 'is_primary'] as const;
      await db
        .insertInto('pending_member')
        .columns([...memberColumns])
        .expression(
          db
            .selectFrom('classroom_member as m')
            .select(memberColumns.map((c) => `m.${c}` as const))
            .where(dangling),
        )
        .execute();
      await db.deleteFrom('classroom_member as m').where(dangling).execute();
      await db.schema.createIndex('user_account_roster_schools').on('user_account').using('gin').columns(['roster_school_sourced_ids']).execute();
    },
  },
};
