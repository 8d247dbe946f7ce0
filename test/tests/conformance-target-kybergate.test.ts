import t from 'tap';
import { runTargetConformance, targetReference as ref } from '@rosterbridge/test-kit';

t.test('the KyberGate target conforms', (t) =>
  runTargetConformance(t, {
    targetId: 'kybergate',
    tables: { district: {}, school: {}, user_account: {}, classroom: {}, classroom_member: {} },
    references: [
      ref('school.district_sourced_id', 'district.sourced_id'),
      ref('user_account.school_sourced_ids', 'school.sourced_id', { array: true }),
      ref('classroom.school_sourced_id', 'school.sourced_id'),
      ref('classroom_member.classroom_sourced_id', 'classroom.sourced_id'),
      ref('classroom_member.user_sourced_id', 'user_account.sourced_id'),
      ref('classroom_member.school_sourced_id', 'school.sourced_id'),
    ],
  }),
);
