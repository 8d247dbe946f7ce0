import { sql } from 'kysely';
import { type CommandRejection, type CommandResult, type Disposable, type PluginContext, type PluginStorage, upsertRows } from '@rosterbridge/core';
import { type AccountRow, emailKey, readAccountsFile } from './school-manager-accounts';
import type { SchoolManagerDatabase } from './school-manager-database';

/** Rejections a result lists, at most; `rejectedCount` counts them all. */
const LISTED_REJECTIONS = 500;

/** Arguments of `school-manager.importUsers` (see the manifest). */
export interface ImportUsersArguments {
  /** The CSV of School Manager's accounts: `id,email,display_name`. */
  csv: string;
}

/**
 * Registers School Manager's commands. `school-manager.importUsers` loads the accounts School
 * Manager already has (the seed: the sync matches roster users to them by email and never creates
 * them) from a CSV of the product's accounts, `id,email,display_name`. It adds accounts and updates
 * those whose email or name changed, in one transaction; it deletes none. Rows it cannot take are
 * reported with their line and reason, the others are taken. The same file again changes nothing.
 */
export function registerSchoolManagerCommands(context: PluginContext): Disposable {
  const storage: PluginStorage<SchoolManagerDatabase> = context.storage;
  return context.registerCommand<ImportUsersArguments>('school-manager.importUsers', async (tenantId, { csv }, { signal, log }): Promise<CommandResult> => {
    const file = await readAccountsFile(csv, signal);
    const rejected = [...file.rejected];
    const outcome = await storage.db.transaction().execute(async (trx) => {
      signal.throwIfAborted();
      // An email another account keeps (one this file does not give) cannot be given again: the
      // sync would match neither.
      const takenBy = new Map<string, string>();
      const inFile = new Set(file.accounts.map((a) => a.id));
      const keys = file.accounts.map((a) => emailKey(a.email));
      for (let i = 0; i < keys.length; i += 20_000) {
        const holders = await sql<{ id: string; k: string }>`
          select a.id, f.k from unnest(${keys.slice(i, i + 20_000)}::text[]) f(k)
          join ${sql.table(`${storage.schema}.user_account`)} a on a.tenant_id = ${tenantId} and lower(trim(a.email)) = f.k`.execute(trx);
        for (const h of holders.rows) if (!inFile.has(h.id)) takenBy.set(h.k, h.id);
      }
      const taken = new Set<AccountRow>();
      for (const a of file.accounts) {
        const holder = takenBy.get(emailKey(a.email));
        if (holder !== undefined) {
          taken.add(a);
          rejected.push({
            line: a.line,
            code: 'SCHOOL_MANAGER_ACCOUNT_EMAIL_TAKEN',
            reason: `account "${a.id}": ${a.email} is already School Manager account "${holder}"'s`,
          });
        }
      }
      const accounts = taken.size === 0 ? file.accounts : file.accounts.filter((a) => !taken.has(a));
      signal.throwIfAborted();
      const rows = accounts.map((a) => ({
        tenant_id: tenantId,
        id: a.id,
        email: a.email,
        ...(file.hasDisplayName ? { display_name: a.displayName ?? null } : {}),
      }));
      const written = await upsertRows<SchoolManagerDatabase>(trx, 'user_account', rows, {
        key: ['tenant_id', 'id'],
        columns: file.hasDisplayName ? ['email', 'display_name'] : ['email'],
        chunk: 5000,
      });
      const total = await trx
        .selectFrom('user_account')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return { ...written, accounts: Number(total.n) };
    });
    rejected.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const imported = outcome.created + outcome.updated + outcome.unchanged;
    log.info(
      { rows: file.rows, created: outcome.created, updated: outcome.updated, unchanged: outcome.unchanged, rejected: rejected.length },
      'School Manager accounts imported',
    );
    return {
      summary:
        `${file.rows.toLocaleString('en-US')} rows read: ${imported.toLocaleString('en-US')} accounts taken (${outcome.created.toLocaleString('en-US')} new, ` +
        `${outcome.updated.toLocaleString('en-US')} updated, ${outcome.unchanged.toLocaleString('en-US')} unchanged), ${rejected.length.toLocaleString('en-US')} rejected; ` +
        `School Manager now has ${outcome.accounts.toLocaleString('en-US')} accounts for this tenant, matched to roster users by email on the next sync`,
      rows: file.rows,
      created: outcome.created,
      updated: outcome.updated,
      unchanged: outcome.unchanged,
      accounts: outcome.accounts,
      ...(file.ignoredColumns.length > 0 ? { ignoredColumns: file.ignoredColumns } : {}),
      rejectedCount: rejected.length,
      rejected: rejected.slice(0, LISTED_REJECTIONS) satisfies CommandRejection[],
    };
  });
}
