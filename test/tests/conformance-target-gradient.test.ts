import t from 'tap';
import { runTargetConformance, seedProductState, targetReference as ref } from '@rosterbridge/test-kit';

t.test('the Gradient target conforms', (t) =>
  runTargetConformance(t, {
    targetId: 'gradient',
    settings: { today: '2026-11-23' },
    // Gradient takes roster changes once a Gradient Leader has started the academic year.
    prepare: async (host, tenantId, district) => void (await seedProductState(host, tenantId, district)),
    tables: {
      organization: {},
      term: {},
      class: {},
      class_term: { key: ['class_sourced_id', 'term_sourced_id'] },
      staff_member: {},
      student: {},
      class_member: {},
    },
    references: [
      ref('organization.parent_sourced_id', 'organization.sourced_id'),
      ref('term.parent_sourced_id', 'term.sourced_id'),
      ref('class.school_sourced_id', 'organization.sourced_id'),
      ref('class_term.class_sourced_id', 'class.sourced_id'),
      ref('class_term.term_sourced_id', 'term.sourced_id'),
      ref('staff_member.school_sourced_ids', 'organization.sourced_id', { array: true }),
      ref('student.school_sourced_ids', 'organization.sourced_id', { array: true }),
      ref('class_member.class_sourced_id', 'class.sourced_id'),
      ref('class_member.person_sourced_id', 'staff_member.sourced_id', { where: "member_kind = 'staff'" }),
      ref('class_member.person_sourced_id', 'student.sourced_id', { where: "member_kind = 'student'" }),
    ],
  }),
);
