import { type ExpressionBuilder, type Kysely, type Migration, sql } from 'kysely';

/**
 * Gradient's roster, as its Admin Mode shows it: organizations (the district and its schools),
 * terms with their dates, classes and the terms they run in, staff members, students, and class
 * memberships. Every table is keyed by tenant first; the OneRoster sourcedId is kept as the
 * record's id for traceability. `academic_year` is the product's own state, not roster data: a
 * Gradient Leader starts the year, which unpauses roster syncing.
 */
export const gradientMigrations: Record<string, Migration> = {
  '001_roster': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('academic_year')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('school_year', 'text', (c) => c.notNull())
        .addColumn('started_at', 'timestamptz')
        .addColumn('started_by', 'text')
        .addPrimaryKeyConstraint('academic_year_pk', ['tenant_id', 'school_year'])
        .execute();
      await db.schema
        .createTable('organization')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('org_type', 'text', (c) => c.notNull())
        .addColumn('identifier', 'text')
        .addColumn('parent_sourced_id', 'text')
        .addPrimaryKeyConstraint('organization_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('term')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('session_type', 'text', (c) => c.notNull())
        .addColumn('start_date', 'date', (c) => c.notNull())
        .addColumn('end_date', 'date', (c) => c.notNull())
        .addColumn('parent_sourced_id', 'text')
        .addColumn('school_year', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('term_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('class')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('class_code', 'text')
        .addColumn('class_type', 'text', (c) => c.notNull())
        .addColumn('school_sourced_id', 'text', (c) => c.notNull())
        .addColumn('course_sourced_id', 'text', (c) => c.notNull())
        .addColumn('location', 'text')
        .addColumn('grades', sql`text[]`, (c) => c.notNull())
        .addColumn('subjects', sql`text[]`, (c) => c.notNull())
        .addColumn('periods', sql`text[]`, (c) => c.notNull())
        .addPrimaryKeyConstraint('class_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema
        .createTable('class_term')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('class_sourced_id', 'text', (c) => c.notNull())
        .addColumn('term_sourced_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('class_term_pk', ['tenant_id', 'class_sourced_id', 'term_sourced_id'])
        .execute();
      await db.schema.createIndex('class_term_by_term').on('class_term').columns(['tenant_id', 'term_sourced_id']).execute();
      for (const table of ['staff_member', 'student'] as const) {
        let builder = db.schema
          .createTable(table)
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('sourced_id', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('given_name', 'text', (c) => c.notNull())
          .addColumn('middle_name', 'text')
          .addColumn('family_name', 'text', (c) => c.notNull())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('email', 'text')
          .addColumn(table === 'staff_member' ? 'employee_id' : 'student_number', 'text')
          .addColumn('school_sourced_ids', sql`text[]`, (c) => c.notNull())
          .addColumn('enabled', 'boolean', (c) => c.notNull());
        if (table === 'student') builder = builder.addColumn('grades', sql`text[]`, (c) => c.notNull());
        await builder.addPrimaryKeyConstraint(`${table}_pk`, ['tenant_id', 'sourced_id']).execute();
      }
      await db.schema
        .createTable('class_member')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('class_sourced_id', 'text', (c) => c.notNull())
        .addColumn('person_sourced_id', 'text', (c) => c.notNull())
        .addColumn('member_kind', 'text', (c) => c.notNull().check(sql`member_kind in ('staff', 'student')`))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('is_primary', 'boolean')
        .addColumn('begin_date', 'date')
        .addColumn('end_date', 'date')
        .addPrimaryKeyConstraint('class_member_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('class_member_by_class').on('class_member').columns(['tenant_id', 'class_sourced_id']).execute();
      await db.schema.createIndex('class_member_by_person').on('class_member').columns(['tenant_id', 'person_sourced_id']).execute();

      // One row per term a class runs in and person in the class: the spot check of schedules.
      // `current_term_schedule` keeps the rows of today (the database's date); the plugin's API
      // answers for any date, and by default for today in the tenant's time zone.
      const schedule = db
        .selectFrom('class_member as m')
        .innerJoin('class as c', (j) => j.onRef('c.tenant_id', '=', 'm.tenant_id').onRef('c.sourced_id', '=', 'm.class_sourced_id'))
        .innerJoin('class_term as ct', (j) => j.onRef('ct.tenant_id', '=', 'c.tenant_id').onRef('ct.class_sourced_id', '=', 'c.sourced_id'))
        .innerJoin('term as t', (j) => j.onRef('t.tenant_id', '=', 'ct.tenant_id').onRef('t.sourced_id', '=', 'ct.term_sourced_id'))
        .leftJoin('staff_member as s', (j) => j.onRef('s.tenant_id', '=', 'm.tenant_id').onRef('s.sourced_id', '=', 'm.person_sourced_id'))
        .leftJoin('student as p', (j) => j.onRef('p.tenant_id', '=', 'm.tenant_id').onRef('p.sourced_id', '=', 'm.person_sourced_id'))
        .select([
          'm.tenant_id',
          't.sourced_id as term_sourced_id',
          't.title as term_title',
          't.session_type as term_type',
          't.start_date as term_start_date',
          't.end_date as term_end_date',
          'c.sourced_id as class_sourced_id',
          'c.title as class_title',
          'c.class_code',
          'c.school_sourced_id',
          'c.periods',
          'm.sourced_id as membership_sourced_id',
          'm.person_sourced_id',
          'm.member_kind',
          'm.role',
          'm.is_primary',
          'm.begin_date as member_begin_date',
          'm.end_date as member_end_date',
          sql<string>`coalesce(s.given_name, p.given_name)`.as('given_name'),
          sql<string>`coalesce(s.family_name, p.family_name)`.as('family_name'),
        ]);
      await db.schema.createView('term_schedule').as(schedule).execute();
      await db.schema
        .createView('current_term_schedule')
        .as(
          db
            .selectFrom('term_schedule')
            .selectAll()
            .where(sql<boolean>`current_date between term_start_date and term_end_date`)
            .where(sql<boolean>`(member_begin_date is null or member_begin_date <= current_date)`)
            .where(sql<boolean>`(member_end_date is null or member_end_date >= current_date)`),
        )
        .execute();
    },
  },
  '002_pending': {
    // Roster links Gradient cannot hold yet, kept so that they arrive as soon as what they name
    // does (the ledger does not send an unchanged enrollment or class again): an enrollment whose
    // class or person Gradient lacks, and a class's term Gradient lacks. Not product rows: nothing
    // in Gradient reads them. The class's course goes: Gradient holds no courses, so the column
    // pointed at nothing on every row.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('pending_membership')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sourced_id', 'text', (c) => c.notNull())
        .addColumn('class_sourced_id', 'text', (c) => c.notNull())
        .addColumn('person_sourced_id', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('record', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('pending_membership_pk', ['tenant_id', 'sourced_id'])
        .execute();
      await db.schema.createIndex('pending_membership_by_class').on('pending_membership').columns(['tenant_id', 'class_sourced_id']).execute();
      await db.schema.createIndex('pending_membership_by_person').on('pending_membership').columns(['tenant_id', 'person_sourced_id']).execute();
      await db.schema
        .createTable('pending_class_term')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('class_sourced_id', 'text', (c) => c.notNull())
        .addColumn('term_sourced_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('pending_class_term_pk', ['tenant_id', 'class_sourced_id', 'term_sourced_id'])
        .execute();
      await db.schema.createIndex('pending_class_term_by_term').on('pending_class_term').columns(['tenant_id', 'term_sourced_id']).execute();
      // Links already stored to a term Gradient lacks become pending.
      const termless = (eb: ExpressionBuilder<any, any>) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('term as t')
              .select('t.sourced_id')
              .whereRef('t.tenant_id', '=', 'class_term.tenant_id')
              .whereRef('t.sourced_id', '=', 'class_term.term_sourced_id'),
          ),
        );
      await db
        .insertInto('pending_class_term')
        .columns(['tenant_id', 'class_sourced_id', 'term_sourced_id'])
        .expression(db.selectFrom('class_term').select(['tenant_id', 'class_sourced_id', 'term_sourced_id']).where(termless))
        .execute();
      await db.deleteFrom('class_term').where(termless).execute();
      await db.schema.alterTable('class').dropColumn('course_sourced_id').execute();
    },
  },
};
