import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The Kamkalima schema: schools, terms, courses, classrooms, teachers, students, administrators,
 * class memberships, the system teacher-admin accounts, and the roster records held back by a
 * product rule (kept so that they are taken as soon as what they depend on is fixed). Every table
 * is keyed by tenant first; each row keeps the OneRoster sourcedId it came from.
 */
export const kamkalimaMigrations: Record<string, Migration> = {
  '001_kamkalima': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('school')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('identifier', 'text')
        .addPrimaryKeyConstraint('school_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('term')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('school_year', 'integer', (c) => c.notNull())
        .addColumn('starts_on', 'date', (c) => c.notNull())
        .addColumn('ends_on', 'date', (c) => c.notNull())
        .addColumn('parent_sourced_id', 'text')
        .addPrimaryKeyConstraint('term_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('course')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('school_sourced_id', 'text')
        .addColumn('grades', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('course_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('classroom')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('course_sourced_id', 'text', (c) => c.notNull())
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('grades', sql`text[]`, (c) => c.notNull())
        .addColumn('term_sourced_ids', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('classroom_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('classroom_course_idx').on('classroom').columns(['tenant_id', 'course_sourced_id']).execute();
      for (const table of ['teacher', 'student'] as const) {
        await db.schema
          .createTable(table)
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('sourced_id', 'text', (c) => c.notNull())
          .addColumn('school_sourced_id', 'text', (c) => c.notNull())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('given_name', 'text', (c) => c.notNull())
          .addColumn('family_name', 'text', (c) => c.notNull())
          .addColumn('email', 'text')
          .addColumn('active', 'boolean', (c) => c.notNull())
          .$call((t) => (table === 'teacher' ? t.addColumn('grades', sql`text[]`, (c) => c.notNull()) : t.addColumn('grade', 'text', (c) => c.notNull())))
          .addPrimaryKeyConstraint(`${table}_pk`, ['tenant_id', 'sourced_id'])
          .execute();
      }
      await db.schema
        .createTable('administrator')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('school_sourced_ids', sql`text[]`, (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('given_name', 'text', (c) => c.notNull())
        .addColumn('family_name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('active', 'boolean', (c) => c.notNull())
        .addPrimaryKeyConstraint('administrator_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('class_membership')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('classroom_sourced_id', 'text', (c) => c.notNull())
        .addColumn('member_sourced_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('teacher', 'student')`))
        .addColumn('is_primary', 'boolean')
        .addPrimaryKeyConstraint('class_membership_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('class_membership_classroom_idx').on('class_membership').columns(['tenant_id', 'classroom_sourced_id']).execute();
      await db.schema.createIndex('class_membership_member_idx').on('class_membership').columns(['tenant_id', 'member_sourced_id']).execute();
      await db.schema
        .createTable('teacher_admin_account')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('assigned_teacher_sourced_id', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('teacher_admin_account_pk', ['tenant_id', 'school_sourced_id'])
        .execute();
      await db.schema
        .createTable('held_record')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('record', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('held_record_pk', ['tenant_id', 'entity', 'sourced_id'])
        .execute();
    },
  },
  /**
   * Who assigned a school's teacher-admin account to a teacher, and when (the
   * `kamkalima.assignTeacherAdmin` command): the Customer Success Team's step the seed describes.
   */
  '002_teacher_admin_assignment': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('teacher_admin_account').addColumn('assigned_at', 'timestamptz').execute();
      await db.schema.alterTable('teacher_admin_account').addColumn('assigned_by', 'text').execute();
    },
  },
};
