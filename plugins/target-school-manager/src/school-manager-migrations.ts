import { sql, type Kysely, type Migration } from 'kysely';

/**
 * School Manager's schema. Three parts:
 * - `user_account`: the users School Manager already has (created in the product, never by the
 *   sync); the sync only matches roster users to them by email.
 * - the SIS import area (`sis_*`): what the integration last received from the SIS, so that every
 *   run can recompute the product's view under the tenant's current settings and today's date.
 * - the product's synced data: `sis_user_match` (which roster user is which School Manager user),
 *   `classroom`, `classroom_member`, `parent_contact`, `parent_student`, and `sync_state` (the
 *   last sync date and the Sync Details figures).
 * Every table is keyed by tenant first.
 */
export const schoolManagerMigrations: Record<string, Migration> = {
  '001_school_manager': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('user_account')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('user_account_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('user_account_email')
        .on('user_account')
        .expression(sql`tenant_id, lower(email)`)
        .execute();

      await db.schema
        .createTable('sis_school')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('org_type', 'text', (c) => c.notNull())
        .addColumn('parent_sourced_id', 'text')
        .addPrimaryKeyConstraint('sis_school_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('sis_term')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('session_type', 'text', (c) => c.notNull())
        .addColumn('start_date', 'date', (c) => c.notNull())
        .addColumn('end_date', 'date', (c) => c.notNull())
        .addPrimaryKeyConstraint('sis_term_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('sis_class')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('class_code', 'text')
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('term_sourced_ids', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('sis_class_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('sis_person')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('given_name', 'text', (c) => c.notNull())
        .addColumn('family_name', 'text', (c) => c.notNull())
        .addColumn('phone', 'text')
        .addColumn('sms', 'text')
        .addColumn('org_sourced_ids', sql`text[]`, (c) => c.notNull())
        .addColumn('agent_sourced_ids', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('sis_person_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('sis_enrollment')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('class_sourced_id', 'text', (c) => c.notNull())
        .addColumn('user_sourced_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('begin_date', 'date')
        .addColumn('end_date', 'date')
        .addPrimaryKeyConstraint('sis_enrollment_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('sis_enrollment_class').on('sis_enrollment').columns(['tenant_id', 'class_sourced_id']).execute();

      await db.schema
        .createTable('sis_user_match')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull()) // student | teacher
        .addColumn('status', 'text', (c) => c.notNull()) // matched | unmatched | no_email | duplicate_email
        .addColumn('email', 'text')
        .addColumn('user_id', 'text')
        .addPrimaryKeyConstraint('sis_user_match_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('classroom')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('class_code', 'text')
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('school_name', 'text')
        .addPrimaryKeyConstraint('classroom_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('classroom_member')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('enrollment_sourced_id', 'text', (c) => c.notNull())
        .addColumn('classroom_sourced_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull()) // student | teacher
        .addPrimaryKeyConstraint('classroom_member_pk', ['tenant_id', 'enrollment_sourced_id'])
        .execute();
      await db.schema.createIndex('classroom_member_classroom').on('classroom_member').columns(['tenant_id', 'classroom_sourced_id']).execute();
      await db.schema
        .createTable('parent_contact')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('given_name', 'text', (c) => c.notNull())
        .addColumn('family_name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('phone', 'text')
        .addColumn('sms', 'text')
        .addPrimaryKeyConstraint('parent_contact_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('parent_student')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('parent_sourced_id', 'text', (c) => c.notNull())
        .addColumn('student_user_id', 'text', (c) => c.notNull())
        .addColumn('relationship', 'text', (c) => c.notNull()) // parent | guardian | relative
        .addPrimaryKeyConstraint('parent_student_pk', ['tenant_id', 'parent_sourced_id', 'student_user_id'])
        .execute();
      await db.schema
        .createTable('sync_state')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('last_sync_at', 'timestamptz')
        .addColumn('unmatched_users', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('matched_students', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('matched_teachers', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('imported_classes', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('imported_parents', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  /**
   * The run that last imported each person, class and enrollment (`import_run`): a sync reports the
   * records it was given and School Manager did not take (a first sync, all of them).
   */
  '002_school_manager_import_run': {
    async up(db: Kysely<any>) {
      for (const table of ['sis_person', 'sis_class', 'sis_enrollment']) await db.schema.alterTable(table).addColumn('import_run', 'text').execute();
    },
  },
};
