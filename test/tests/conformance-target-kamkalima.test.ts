import t from 'tap';
import { runTargetConformance, targetReference as ref } from '@rosterbridge/test-kit';

t.test('the Kamkalima target conforms', (t) =>
  runTargetConformance(t, {
    targetId: 'kamkalima',
    // The generated district's school year (2026–27) is the current one on this date.
    settings: { today: '2026-11-23' },
    tables: {
      school: {},
      term: {},
      course: {},
      classroom: {},
      teacher: {},
      student: {},
      administrator: {},
      class_membership: {},
      teacher_admin_account: { key: ['school_sourced_id'], ignore: ['created_at'] },
      held_record: { key: ['entity', 'sourced_id'] },
    },
    references: [
      ref('term.parent_sourced_id', 'term.sourced_id'),
      ref('course.school_sourced_id', 'school.sourced_id'),
      ref('classroom.course_sourced_id', 'course.sourced_id'),
      ref('classroom.school_sourced_id', 'school.sourced_id'),
      ref('classroom.term_sourced_ids', 'term.sourced_id', { array: true }),
      ref('teacher.school_sourced_id', 'school.sourced_id'),
      ref('student.school_sourced_id', 'school.sourced_id'),
      ref('administrator.school_sourced_ids', 'school.sourced_id', { array: true }),
      ref('class_membership.classroom_sourced_id', 'classroom.sourced_id'),
      ref('class_membership.member_sourced_id', 'teacher.sourced_id', { where: "role = 'teacher'" }),
      ref('class_membership.member_sourced_id', 'student.sourced_id', { where: "role = 'student'" }),
      ref('teacher_admin_account.school_sourced_id', 'school.sourced_id'),
      ref('teacher_admin_account.assigned_teacher_sourced_id', 'teacher.sourced_id'),
    ],
  }),
);
