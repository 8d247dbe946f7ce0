import type { Disposable } from '../base/lifecycle';
import type { Logger } from '../base/logger';
import { RosterbridgeError } from '../errors/rosterbridge-error';
import type { TenantContext } from './plugin-context';

/** Something a command could not take (a row of a file, say), and why. */
export interface CommandRejection {
  /** 1-based line of the file the rejected row starts on, where there is one. */
  line?: number;
  /** The product's code for the reason (`SCHOOL_MANAGER_ACCOUNT_EMAIL_TAKEN`). */
  code: string;
  /** Why, in words an operator acts on. */
  reason: string;
  [fact: string]: unknown;
}

/**
 * What a command answers: a small summary, JSON-able. The host answers it as the API's `result` and
 * the CLI prints `summary` first, then the other facts, then the rejections (and exits 2 when there
 * are any).
 */
export interface CommandResult {
  /** One line a person reads: what the command did. */
  summary: string;
  /** What could not be taken, each with its reason: at most a few hundred (count the rest in `rejectedCount`). */
  rejected?: CommandRejection[];
  /** How many were rejected in all, when `rejected` lists only the first. */
  rejectedCount?: number;
  /** Other facts (counts, ids, dates), JSON values. */
  [fact: string]: unknown;
}

/** What a command's handler is given besides the tenant and the arguments. */
export interface CommandRunContext {
  /** Aborted when the command's deadline passes, the caller hangs up or the host stops. */
  signal: AbortSignal;
  /** Logger bound to `{ plugin, tenant, command }`. */
  log: Logger;
  /** The plugin's view of the tenant (settings, time zone…). */
  tenant: TenantContext;
  /** Who asked: a token's name (`ops`), or what (`demo`). */
  by: string;
}

/**
 * Runs a command for one tenant. `args` were validated against the command's argument schema
 * (defaults filled in). A refusal the operator can act on is a `RosterbridgeError('COMMAND_REFUSED',
 * reason, { productCode, argument })`; anything else thrown is answered COMMAND_FAILED. A command
 * that writes should do so in one transaction: an abort (deadline, caller gone) then leaves nothing
 * half done.
 */
export type CommandHandler<A = Record<string, unknown>> = (tenantId: string, args: A, context: CommandRunContext) => Promise<CommandResult> | CommandResult;

/**
 * Registers the handler of a command this plugin's manifest contributes; dispose to unregister. A
 * command the manifest does not declare is refused (MANIFEST_INVALID).
 *
 * ```ts
 * context.subscriptions.add(
 *   context.registerCommand<{ year?: number }>('gradient.startAcademicYear', async (tenantId, { year }, { by }) => {
 *     await start(tenantId, year, by);
 *     return { summary: `academic year ${year} started` };
 *   }),
 * );
 * ```
 */
export type RegisterCommand = <A = Record<string, unknown>>(commandId: string, handler: CommandHandler<A>) => Disposable;

/**
 * The product's refusal of a command, with its own code and the argument at fault: answered 422
 * COMMAND_REFUSED with `details.productCode` (and `details.argument`).
 *
 * ```ts
 * throw commandRefusal('KAMKALIMA_TEACHER_UNKNOWN', `Kamkalima holds no teacher "${teacher}"`, { argument: 'teacher' });
 * ```
 */
export function commandRefusal(productCode: string, reason: string, details: { argument?: string; [fact: string]: unknown } = {}): RosterbridgeError {
  return new RosterbridgeError('COMMAND_REFUSED', reason, { productCode, ...details });
}
