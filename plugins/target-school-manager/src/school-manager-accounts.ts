import { Readable } from 'node:stream';
import type { CommandRejection } from '@rosterbridge/core';
import { commandRefusal } from '@rosterbridge/core';
import { readCsvRows } from '@rosterbridge/oneroster-csv';

/**
 * Why School Manager does not take an accounts file (COMMAND_REFUSED, `details.productCode`) or one of
 * its rows (a rejection with its line).
 */
export const SchoolManagerAccountCodes = {
  /** The file: no header with `id` and `email`, or a column named twice. */
  SCHOOL_MANAGER_ACCOUNTS_HEADER: 'SCHOOL_MANAGER_ACCOUNTS_HEADER',
  /** The file: a header and no rows. */
  SCHOOL_MANAGER_ACCOUNTS_EMPTY: 'SCHOOL_MANAGER_ACCOUNTS_EMPTY',
  /** The file: more rows than one import takes. */
  SCHOOL_MANAGER_ACCOUNTS_TOO_MANY: 'SCHOOL_MANAGER_ACCOUNTS_TOO_MANY',
  /** A row that is not valid CSV, too long, or with more fields than the header. */
  SCHOOL_MANAGER_ACCOUNT_ROW_UNREADABLE: 'SCHOOL_MANAGER_ACCOUNT_ROW_UNREADABLE',
  SCHOOL_MANAGER_ACCOUNT_ID_MISSING: 'SCHOOL_MANAGER_ACCOUNT_ID_MISSING',
  SCHOOL_MANAGER_ACCOUNT_EMAIL_MISSING: 'SCHOOL_MANAGER_ACCOUNT_EMAIL_MISSING',
  SCHOOL_MANAGER_ACCOUNT_EMAIL_INVALID: 'SCHOOL_MANAGER_ACCOUNT_EMAIL_INVALID',
  SCHOOL_MANAGER_ACCOUNT_FIELD_TOO_LONG: 'SCHOOL_MANAGER_ACCOUNT_FIELD_TOO_LONG',
  /** An id an earlier row of the file already gave. */
  SCHOOL_MANAGER_ACCOUNT_ID_REPEATED: 'SCHOOL_MANAGER_ACCOUNT_ID_REPEATED',
  /** An email an earlier row of the file gave another account. */
  SCHOOL_MANAGER_ACCOUNT_EMAIL_REPEATED: 'SCHOOL_MANAGER_ACCOUNT_EMAIL_REPEATED',
  /** An email another School Manager account already has (one the file does not change). */
  SCHOOL_MANAGER_ACCOUNT_EMAIL_TAKEN: 'SCHOOL_MANAGER_ACCOUNT_EMAIL_TAKEN',
} as const;

/** Bounds of one import: rows, and each field's length (characters). */
export const ACCOUNT_LIMITS = { rows: 200_000, id: 200, email: 254, displayName: 200, lineBytes: 8192 } as const;

/** One account a file gives, as School Manager stores it. */
export interface AccountRow {
  line: number;
  id: string;
  email: string;
  /** Absent when the file has no `display_name` column (an update then keeps the stored one). */
  displayName?: string | null;
}

/** An accounts file read: the rows it gives, the rows it does not, and what else it holds. */
export interface AccountsFile {
  accounts: AccountRow[];
  rejected: CommandRejection[];
  /** Whether the file has a `display_name` column. */
  hasDisplayName: boolean;
  /** Columns other than id, email and display_name: read past, named in the result. */
  ignoredColumns: string[];
  /** Data rows read (taken or not). */
  rows: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The key two emails are the same by: what the sync matches with (trimmed, lower case). */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Reads a CSV of School Manager's accounts: a header naming `id` and `email` (and optionally
 * `display_name`; case, spaces and a byte order mark do not matter; other columns are read past),
 * then one account a row. A row that cannot be taken is a rejection with its line and reason; the
 * first row giving an id or an email wins. Throws COMMAND_REFUSED for a file that cannot be read at
 * all (no such header, no rows, too many).
 */
export async function readAccountsFile(csv: string, signal: AbortSignal): Promise<AccountsFile> {
  const rows = readCsvRows(Readable.from([Buffer.from(csv, 'utf8')]), { maxLineBytes: ACCOUNT_LIMITS.lineBytes, maxFieldBytes: ACCOUNT_LIMITS.lineBytes });
  const out: AccountsFile = { accounts: [], rejected: [], hasDisplayName: false, ignoredColumns: [], rows: 0 };
  let columns: { id: number; email: number; name: number; count: number } | undefined;
  const ids = new Map<string, number>();
  const emails = new Map<string, { line: number; id: string }>();
  const reject = (line: number, code: keyof typeof SchoolManagerAccountCodes, reason: string) => out.rejected.push({ line, code, reason });
  for await (const row of rows) {
    if (!columns) {
      columns = readHeader(row);
      out.hasDisplayName = columns.name >= 0;
      out.ignoredColumns = row.fields!.map((f) => f.trim()).filter((_, i) => i !== columns!.id && i !== columns!.email && i !== columns!.name);
      continue;
    }
    out.rows++;
    if (out.rows > ACCOUNT_LIMITS.rows)
      throw commandRefusal(
        SchoolManagerAccountCodes.SCHOOL_MANAGER_ACCOUNTS_TOO_MANY,
        `the file has more than ${ACCOUNT_LIMITS.rows.toLocaleString('en-US')} rows; import it in parts (an import adds and updates accounts, so parts add up)`,
        { argument: 'csv' },
      );
    if (out.rows % 10_000 === 0) signal.throwIfAborted();
    if (row.error !== undefined) {
      reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_ROW_UNREADABLE', `not readable as CSV: ${row.error}`);
      continue;
    }
    if (row.fields.length > columns.count) {
      reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_ROW_UNREADABLE', `has ${row.fields.length} fields; the header has ${columns.count}`);
      continue;
    }
    const id = (row.fields[columns.id] ?? '').trim();
    const email = (row.fields[columns.email] ?? '').trim();
    const name = columns.name >= 0 ? (row.fields[columns.name] ?? '').trim() : undefined;
    if (id === '') reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_ID_MISSING', 'has no id');
    else if (email === '') reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_EMAIL_MISSING', `account "${clip(id)}" has no email: the sync matches by email`);
    else if (id.length > ACCOUNT_LIMITS.id)
      reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_FIELD_TOO_LONG', `its id is ${id.length} characters long; at most ${ACCOUNT_LIMITS.id}`);
    else if (email.length > ACCOUNT_LIMITS.email)
      reject(
        row.line,
        'SCHOOL_MANAGER_ACCOUNT_FIELD_TOO_LONG',
        `account "${id}": its email is ${email.length} characters long; at most ${ACCOUNT_LIMITS.email}`,
      );
    else if (name !== undefined && name.length > ACCOUNT_LIMITS.displayName)
      reject(
        row.line,
        'SCHOOL_MANAGER_ACCOUNT_FIELD_TOO_LONG',
        `account "${id}": its display_name is ${name.length} characters long; at most ${ACCOUNT_LIMITS.displayName}`,
      );
    else if (!EMAIL.test(email)) reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_EMAIL_INVALID', `account "${id}": "${clip(email)}" is not an email address`);
    else if (ids.has(id)) reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_ID_REPEATED', `account "${id}" is already given on line ${ids.get(id)}`);
    else {
      const key = emailKey(email);
      const earlier = emails.get(key);
      if (earlier) {
        reject(row.line, 'SCHOOL_MANAGER_ACCOUNT_EMAIL_REPEATED', `account "${id}": ${email} is already account "${earlier.id}"'s, on line ${earlier.line}`);
        continue;
      }
      ids.set(id, row.line);
      emails.set(key, { line: row.line, id });
      out.accounts.push({ line: row.line, id, email, ...(name !== undefined ? { displayName: name === '' ? null : name } : {}) });
    }
  }
  if (!columns)
    throw commandRefusal(
      SchoolManagerAccountCodes.SCHOOL_MANAGER_ACCOUNTS_HEADER,
      'the file is empty: it needs a header naming the columns id and email (and display_name)',
      { argument: 'csv' },
    );
  if (out.rows === 0)
    throw commandRefusal(SchoolManagerAccountCodes.SCHOOL_MANAGER_ACCOUNTS_EMPTY, 'the file has a header and no accounts', { argument: 'csv' });
  return out;
}

function readHeader(row: { line: number; fields?: string[]; error?: string }): { id: number; email: number; name: number; count: number } {
  const refuse = (reason: string) =>
    commandRefusal(SchoolManagerAccountCodes.SCHOOL_MANAGER_ACCOUNTS_HEADER, `line ${row.line}, the header: ${reason}`, { argument: 'csv', line: row.line });
  if (row.error !== undefined || !row.fields) throw refuse(`not readable as CSV: ${row.error}`);
  const names = row.fields.map((f) => f.trim().toLowerCase());
  const repeated = names.find((n, i) => n !== '' && names.indexOf(n) !== i);
  if (repeated !== undefined) throw refuse(`the column "${clip(repeated)}" is named twice`);
  const id = names.indexOf('id');
  const email = names.indexOf('email');
  if (id < 0 || email < 0)
    throw refuse(
      `it names ${names
        .map((n) => `"${clip(n, 40)}"`)
        .slice(0, 10)
        .join(', ')}; it must name the columns id and email (and display_name), as School Manager's accounts export does`,
    );
  return { id, email, name: names.indexOf('display_name'), count: names.length };
}

function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
