import { createTransport } from 'nodemailer';
import type { PluginContext, SyncRunEvent, TenantContext } from '@rosterbridge/core';
import type { KybergateSettings } from './kybergate-settings';

/** Why a run failed for KyberGate, when it did. */
interface KybergateFailure {
  code: string;
  reason: string;
  /** Whether the whole run failed, or only the KyberGate target of a partial run. */
  whole: boolean;
}

/**
 * E-mails the tenant's contacts when a run that includes the KyberGate target fails, or ends
 * partial with the KyberGate target failed, through the SMTP server of the tenant's KyberGate
 * `notifications` settings. A notification that cannot be sent is logged; it never touches the run.
 * A readiness preview (`run.preview`) sends nothing, whatever it found.
 */
export class FailureNotifier {
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly context: PluginContext,
    private readonly targetId: string,
  ) {}

  /** Handles one run event (fire and forget; errors are logged). */
  hear(event: SyncRunEvent): void {
    const failure = this.failureOf(event);
    if (!failure) return;
    const sent = this.notify(event, failure).catch((err) =>
      this.context.logger.error({ tenant: event.tenantId, runId: event.runId, err: String(err) }, 'failure notification crashed'),
    );
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
  }

  /** Resolves once the notifications under way are sent or given up. */
  async settled(): Promise<void> {
    await Promise.all([...this.sending]);
  }

  private failureOf(event: SyncRunEvent): KybergateFailure | undefined {
    const run = event.data;
    if (!run.targets.includes(this.targetId)) return undefined;
    // A preview writes nothing and tells no one: its failures are read in its report.
    if (run.preview) return undefined;
    if (event.type === 'sync.run.failed') {
      return { code: run.errorCode ?? 'RUN_FAILED', reason: run.errorMessage ?? run.reason ?? 'no reason was recorded', whole: true };
    }
    const target = run.counts.targets[this.targetId];
    if (event.type === 'sync.run.completed' && target?.status === 'failed') {
      return { code: target.errorCode ?? 'TARGET_FAILED', reason: target.error ?? 'no reason was recorded', whole: false };
    }
    return undefined;
  }

  private async notify(event: SyncRunEvent, failure: KybergateFailure): Promise<void> {
    let tenant: TenantContext;
    try {
      tenant = this.context.forTenant(event.tenantId);
    } catch {
      return; // The tenant no longer enables KyberGate.
    }
    const log = tenant.logger.child({ runId: event.runId });
    const settings = await tenant.settings<KybergateSettings>();
    const notifications = settings.notifications;
    const info = tenant.info();
    if (!notifications) {
      log.info({ code: failure.code }, 'KyberGate sync failed; no e-mail sent: the tenant has no KyberGate "notifications" settings');
      return;
    }
    if (info.contacts.length === 0) {
      log.warn({ code: failure.code }, 'KyberGate sync failed; no e-mail sent: the tenant file lists no contacts');
      return;
    }
    const { smtp } = notifications;
    const secret = smtp.password;
    // The host's censor knows every resolved secret (this password too): no piece of one is mailed or logged.
    const redact = (text: string) => tenant.censor.scrub(text);
    const transport = createTransport({
      host: smtp.host,
      port: smtp.port ?? (smtp.secure ? 465 : 587),
      secure: smtp.secure ?? false,
      ...(smtp.user ? { auth: { user: smtp.user, pass: secret ?? '' } } : {}),
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
    });
    const run = event.data;
    const lines = [
      failure.whole
        ? `The roster sync of ${info.displayName} (tenant ${event.tenantId}) failed; KyberGate was not updated by it.`
        : `The roster sync of ${info.displayName} (tenant ${event.tenantId}) could not update KyberGate; other products were synced.`,
      '',
      `Run: ${event.runId}`,
      `Status: ${run.status}`,
      `Error code: ${failure.code}`,
      `Reason: ${failure.reason}`,
      `Started: ${run.startedAt ?? run.queuedAt}`,
      `Ended: ${run.endedAt ?? event.occurredAt}`,
      '',
      'KyberGate keeps the data of the last successful sync; the next sync catches up from where this one stopped.',
      `Details: GET /runs/${event.runId} and /runs/${event.runId}/issues on the Rosterbridge control API.`,
    ];
    try {
      await transport.sendMail({
        from: notifications.from,
        to: info.contacts,
        subject: redact(`KyberGate roster sync failed for ${info.displayName} (${failure.code})`),
        text: redact(lines.join('\n')),
      });
      log.info({ code: failure.code, recipients: info.contacts.length }, 'KyberGate sync failed; e-mail sent to the tenant contacts');
    } catch (err) {
      log.error(
        { code: failure.code, smtpHost: smtp.host, err: redact(err instanceof Error ? err.message : String(err)) },
        'KyberGate sync failed; the e-mail to the tenant contacts could not be sent',
      );
    } finally {
      transport.close();
    }
  }
}
