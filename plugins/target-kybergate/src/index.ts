import { toDisposable, type PluginContext, type PluginStorage } from '@rosterbridge/core';
import { FailureNotifier } from './failure-notifier';
import type { KybergateDatabase } from './kybergate-database';
import { KybergateSession } from './kybergate-session';

export { migrations } from './kybergate-migrations';
export { KybergateSession, EDITABLE_USER_FIELDS } from './kybergate-session';
export { KybergateIssueCodes } from './kybergate-issues';
export type { KybergateSettings, KybergateUserType, KybergateRole } from './kybergate-settings';
export type { KybergateDatabase } from './kybergate-database';

/** The target id this plugin contributes. */
export const KYBERGATE_TARGET = 'kybergate';

/**
 * Registers the `kybergate` target and the failure e-mails. Activated at startup as well as by the
 * target, so that a run failing before it reaches KyberGate (say, its source is down) is still heard.
 */
export function activate(context: PluginContext): void {
  const storage: PluginStorage<KybergateDatabase> = context.storage;
  const db = storage.db;
  context.subscriptions.add(context.registerTarget(KYBERGATE_TARGET, { open: (tenant) => KybergateSession.open(tenant, db) }));
  const notifier = new FailureNotifier(context, KYBERGATE_TARGET);
  context.subscriptions.add(context.onDidRunEvent((event) => notifier.hear(event)));
  context.subscriptions.add(toDisposable(() => notifier.settled()));
}
