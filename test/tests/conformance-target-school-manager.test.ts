import t from 'tap';
import { runTargetConformance, seedProductState, targetReference as ref } from '@rosterbridge/test-kit';

t.test('the School Manager target conforms', (t) =>
  runTargetConformance(t, {
    targetId: 'school-manager',
    settings: { today: '2026-11-23' },
    // School Manager's own users, which the sync matches roster users to by email.
    prepare: async (host, tenantId, district) => void (await seedProductState(host, tenantId, district)),
    tables: {
      user_account: { key: ['id'], ignore: ['created_at'] },
      sis_school: {},
      sis_term: {},
      // import_run names the run whose change a row was imported from (migration 002), for that
      // run to report what it did not take: two tenants, or a tenant before and after a reset,
      // holding the same roster got it from different runs. It is bookkeeping, never product data.
      sis_class: { ignore: ['import_run'] },
      sis_person: { ignore: ['import_run'] },
      sis_enrollment: { ignore: ['import_run'] },
      sis_user_match: {},
      classroom: {},
      classroom_member: { key: ['enrollment_sourced_id'] },
      parent_contact: {},
      parent_student: { key: ['parent_sourced_id', 'student_user_id'] },
    },
    references: [
      ref('sis_school.parent_sourced_id', 'sis_school.sourced_id'),
      ref('sis_class.school_sourced_id', 'sis_school.sourced_id'),
      ref('sis_class.term_sourced_ids', 'sis_term.sourced_id', { array: true }),
      ref('sis_person.org_sourced_ids', 'sis_school.sourced_id', { array: true }),
      // The SIS import area (sis_person.agent_sourced_ids, sis_enrollment's class and user) keeps
      // the roster as the source sent it, unresolved references included (each has the source's
      // REFERENCE_UNRESOLVED warning): it is what memberships are rebuilt from when their user is
      // matched later, not product rows. The rows built from it are checked below.
      ref('sis_user_match.sourced_id', 'sis_person.sourced_id'),
      ref('sis_user_match.user_id', 'user_account.id'),
      ref('classroom.school_sourced_id', 'sis_school.sourced_id'),
      ref('classroom_member.classroom_sourced_id', 'classroom.sourced_id'),
      ref('classroom_member.user_id', 'user_account.id'),
      ref('parent_student.parent_sourced_id', 'parent_contact.sourced_id'),
      ref('parent_student.student_user_id', 'user_account.id'),
    ],
  }),
);
