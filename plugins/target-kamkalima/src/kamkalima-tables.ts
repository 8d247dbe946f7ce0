import type { ProductTable } from '@rosterbridge/core';
import type { KamkalimaRecordTable } from './kamkalima-database';

/** The Kamkalima tables a bulk load writes, with their columns' types (see the migrations). */
const PERSON = { username: 'text', given_name: 'text', family_name: 'text', email: 'text', active: 'boolean' } as const;
const KEY = ['tenant_id', 'sourced_id'];
export const KAMKALIMA_TABLES: Record<KamkalimaRecordTable | 'held_record', ProductTable> = {
  school: { name: 'school', key: KEY, columns: { tenant_id: 'text', sourced_id: 'text', name: 'text', identifier: 'text' } },
  term: {
    name: 'term',
    key: KEY,
    columns: {
      tenant_id: 'text',
      sourced_id: 'text',
      title: 'text',
      kind: 'text',
      school_year: 'integer',
      starts_on: 'date',
      ends_on: 'date',
      parent_sourced_id: 'text',
    },
  },
  course: {
    name: 'course',
    key: KEY,
    columns: { tenant_id: 'text', sourced_id: 'text', title: 'text', code: 'text', school_sourced_id: 'text', grades: 'text[]' },
  },
  classroom: {
    name: 'classroom',
    key: KEY,
    columns: {
      tenant_id: 'text',
      sourced_id: 'text',
      title: 'text',
      code: 'text',
      course_sourced_id: 'text',
      school_sourced_id: 'text',
      grades: 'text[]',
      term_sourced_ids: 'text[]',
    },
  },
  teacher: { name: 'teacher', key: KEY, columns: { tenant_id: 'text', sourced_id: 'text', school_sourced_id: 'text', ...PERSON, grades: 'text[]' } },
  student: { name: 'student', key: KEY, columns: { tenant_id: 'text', sourced_id: 'text', school_sourced_id: 'text', ...PERSON, grade: 'text' } },
  administrator: { name: 'administrator', key: KEY, columns: { tenant_id: 'text', sourced_id: 'text', school_sourced_ids: 'text[]', ...PERSON } },
  class_membership: {
    name: 'class_membership',
    key: KEY,
    columns: { tenant_id: 'text', sourced_id: 'text', classroom_sourced_id: 'text', member_sourced_id: 'text', role: 'text', is_primary: 'boolean' },
  },
  held_record: {
    name: 'held_record',
    key: ['tenant_id', 'entity', 'sourced_id'],
    columns: { tenant_id: 'text', entity: 'text', sourced_id: 'text', code: 'text', record: 'jsonb' },
  },
};
