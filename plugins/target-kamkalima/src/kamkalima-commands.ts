import { sql } from 'kysely';
import { type CommandResult, type Disposable, type PluginContext, type PluginStorage, commandRefusal } from '@rosterbridge/core';
import type { KamkalimaDatabase, KamkalimaDb } from './kamkalima-database';

/** Why Kamkalima refuses to assign the teacher-admin role, carried as `details.productCode` of COMMAND_REFUSED. */
export const KamkalimaCommandCodes = {
  /** No teacher Kamkalima holds has this sourcedId or email. */
  KAMKALIMA_TEACHER_UNKNOWN: 'KAMKALIMA_TEACHER_UNKNOWN',
  /** The person is in Kamkalima, but as a student or an administrator. */
  KAMKALIMA_NOT_A_TEACHER: 'KAMKALIMA_NOT_A_TEACHER',
  /** The person is held back by a product rule: not in Kamkalima until it is fixed. */
  KAMKALIMA_TEACHER_HELD: 'KAMKALIMA_TEACHER_HELD',
  /** Several teachers share the email: name one by sourcedId. */
  KAMKALIMA_TEACHER_AMBIGUOUS: 'KAMKALIMA_TEACHER_AMBIGUOUS',
  /** The teacher's account is disabled. */
  KAMKALIMA_TEACHER_INACTIVE: 'KAMKALIMA_TEACHER_INACTIVE',
  /** The teacher's school has no teacher-admin account yet (it is created at the end of a sync). */
  KAMKALIMA_TEACHER_ADMIN_ACCOUNT_MISSING: 'KAMKALIMA_TEACHER_ADMIN_ACCOUNT_MISSING',
} as const;

/** Arguments of `kamkalima.assignTeacherAdmin` (see the manifest). */
export interface AssignTeacherAdminArguments {
  /** The teacher's OneRoster sourcedId, or their email. */
  teacher: string;
}

/**
 * Registers Kamkalima's commands. `kamkalima.assignTeacherAdmin` gives the teacher-admin role of a
 * teacher's school to that teacher: the system account `teacher-admin.<school>` the sync creates
 * for each school is assigned to them (the seed: "this role will be assigned to one of your
 * teachers"), replacing whoever had it. Refused, with the reason, for a person who is not a teacher
 * Kamkalima holds. Assigning the teacher who has it changes nothing.
 */
export function registerKamkalimaCommands(context: PluginContext): Disposable {
  const storage: PluginStorage<KamkalimaDatabase> = context.storage;
  return context.registerCommand<AssignTeacherAdminArguments>(
    'kamkalima.assignTeacherAdmin',
    async (tenantId, args, { by, signal }): Promise<CommandResult> => {
      const wanted = args.teacher.trim();
      return storage.db.transaction().execute(async (trx) => {
        signal.throwIfAborted();
        const teachers = await trx
          .selectFrom('teacher')
          .select(['sourced_id', 'given_name', 'family_name', 'active', 'school_sourced_id'])
          .where('tenant_id', '=', tenantId)
          .where((eb) => eb.or([eb('sourced_id', '=', wanted), eb(sql<string | null>`lower(trim(email))`, '=', wanted.toLowerCase())]))
          .orderBy('sourced_id')
          .execute();
        if (teachers.length === 0) throw await notATeacher(trx, tenantId, wanted);
        const teacher = teachers.find((t) => t.sourced_id === wanted) ?? (teachers.length === 1 ? teachers[0] : undefined);
        if (!teacher)
          throw commandRefusal(
            KamkalimaCommandCodes.KAMKALIMA_TEACHER_AMBIGUOUS,
            `${teachers.length} teachers have the email ${wanted} (${teachers.map((t) => t.sourced_id).join(', ')}): name one by sourcedId`,
            { argument: 'teacher', teachers: teachers.map((t) => t.sourced_id) },
          );
        const who = `${teacher.given_name} ${teacher.family_name} (${teacher.sourced_id})`;
        if (!teacher.active)
          throw commandRefusal(
            KamkalimaCommandCodes.KAMKALIMA_TEACHER_INACTIVE,
            `teacher ${who} is not active in Kamkalima (enabledUser is false in the roster)`,
            { argument: 'teacher' },
          );
        const account = await trx
          .selectFrom('teacher_admin_account as a')
          .leftJoin('school as s', (j) => j.onRef('s.tenant_id', '=', 'a.tenant_id').onRef('s.sourced_id', '=', 'a.school_sourced_id'))
          .select(['a.username', 'a.assigned_teacher_sourced_id', 's.name'])
          .where('a.tenant_id', '=', tenantId)
          .where('a.school_sourced_id', '=', teacher.school_sourced_id)
          .executeTakeFirst();
        if (!account)
          throw commandRefusal(
            KamkalimaCommandCodes.KAMKALIMA_TEACHER_ADMIN_ACCOUNT_MISSING,
            `school ${teacher.school_sourced_id} of teacher ${who} has no teacher-admin account yet: Kamkalima creates it at the end of a sync`,
            { argument: 'teacher', school: teacher.school_sourced_id },
          );
        const previous = account.assigned_teacher_sourced_id;
        const already = previous === teacher.sourced_id;
        if (!already)
          await trx
            .updateTable('teacher_admin_account')
            .set({ assigned_teacher_sourced_id: teacher.sourced_id, assigned_at: sql<Date>`now()`, assigned_by: by })
            .where('tenant_id', '=', tenantId)
            .where('school_sourced_id', '=', teacher.school_sourced_id)
            .execute();
        const school = `${account.name ?? teacher.school_sourced_id} (${teacher.school_sourced_id})`;
        return {
          summary: already
            ? `${account.username}, the teacher-admin account of ${school}, is already assigned to ${who}`
            : `${account.username}, the teacher-admin account of ${school}, is now assigned to ${who}${previous ? `, instead of ${previous}` : ''}`,
          account: account.username,
          school: teacher.school_sourced_id,
          teacher: teacher.sourced_id,
          previousTeacher: previous,
          alreadyAssigned: already,
        };
      });
    },
  );
}

/** The refusal for someone who is no teacher Kamkalima holds: a student, an administrator, held back, or unknown. */
async function notATeacher(db: KamkalimaDb, tenantId: string, wanted: string) {
  const other = async (table: 'student' | 'administrator') =>
    db
      .selectFrom(table)
      .select('sourced_id')
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('sourced_id', '=', wanted), eb(sql<string | null>`lower(trim(email))`, '=', wanted.toLowerCase())]))
      .executeTakeFirst();
  for (const table of ['student', 'administrator'] as const) {
    const found = await other(table);
    if (found)
      return commandRefusal(
        KamkalimaCommandCodes.KAMKALIMA_NOT_A_TEACHER,
        `${found.sourced_id} is ${table === 'student' ? 'a student' : 'an administrator'} in Kamkalima, not a teacher: the teacher-admin role goes to a teacher`,
        {
          argument: 'teacher',
        },
      );
  }
  const held = await db
    .selectFrom('held_record')
    .select(['sourced_id', 'code'])
    .where('tenant_id', '=', tenantId)
    .where('entity', '=', 'users')
    .where((eb) => eb.or([eb('sourced_id', '=', wanted), eb(sql<string | null>`lower(trim(record->>'email'))`, '=', wanted.toLowerCase())]))
    .executeTakeFirst();
  if (held)
    return commandRefusal(
      KamkalimaCommandCodes.KAMKALIMA_TEACHER_HELD,
      `${held.sourced_id} is held back by Kamkalima (${held.code}) and is not in Kamkalima until that is fixed in the roster`,
      {
        argument: 'teacher',
        heldFor: held.code,
      },
    );
  return commandRefusal(
    KamkalimaCommandCodes.KAMKALIMA_TEACHER_UNKNOWN,
    `Kamkalima holds no teacher whose sourcedId or email is "${wanted.length > 80 ? `${wanted.slice(0, 80)}…` : wanted}" (teachers arrive with a sync)`,
    { argument: 'teacher' },
  );
}
