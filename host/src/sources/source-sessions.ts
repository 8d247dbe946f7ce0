import { type ConnectionCheck, RosterbridgeError, type RosterSourceSession, errorMessage, isRosterbridgeError, withDeadline } from '@rosterbridge/core';
import { type PluginRegistry, type SourceRegistry } from '@rosterbridge/engine';
import type { TenantRegistry } from '../tenants/tenant-registry';

/**
 * Opens a tenant's source: activates its plugin on `onSource:<id>` (lazily, the first time), finds
 * the implementation the plugin registered, and opens a session over the tenant's settings.
 */
export class SourceSessions {
  constructor(
    private readonly plugins: PluginRegistry,
    private readonly sources: SourceRegistry,
    private readonly tenants: TenantRegistry,
    private readonly deadlineMs: number,
    /** Deadlines of `check` and `dispose` (host config `deadlines`). */
    private readonly deadlines: { checkMs: number; disposeMs: number } = { checkMs: 60_000, disposeMs: 30_000 },
  ) {}

  /** A session on the tenant's source; the caller disposes it. */
  async open(tenantId: string): Promise<RosterSourceSession> {
    const config = this.tenants.config(tenantId);
    const use = config.source;
    if (!use || !use.enabled || !use.pluginId)
      throw new RosterbridgeError('TENANT_CONFIG_INVALID', `tenant "${tenantId}" has no enabled source (key "source" in ${config.file})`, {
        tenant: tenantId,
        key: 'source',
      });
    await this.plugins.activateByEvent(`onSource:${use.id}`);
    await this.plugins.activate(use.pluginId, `onSource:${use.id}`);
    const source = this.sources.get(use.id);
    if (!source)
      throw new RosterbridgeError('PLUGIN_FAILED', `plugin "${use.pluginId}" is active but registered no implementation for source "${use.id}"`, {
        plugin: use.pluginId,
      });
    const tenant = this.plugins.contextOf(use.pluginId).forTenant(tenantId);
    return withDeadline(source.open(tenant), this.deadlineMs, `source "${use.id}" open() for tenant ${tenantId}`);
  }

  /**
   * Checks the tenant's source connection: a real round trip for a remote source, a manifest and
   * header check for a package. Failures to even open the source are answered as a failed check.
   */
  async check(tenantId: string, signal?: AbortSignal): Promise<ConnectionCheck> {
    let session: RosterSourceSession;
    try {
      session = await this.open(tenantId);
    } catch (err) {
      if (
        isRosterbridgeError(err) &&
        (err.code === 'TENANT_NOT_FOUND' || err.code === 'TENANT_CONFIG_INVALID' || err.code.startsWith('PLUGIN_') || err.code.startsWith('SECRET_'))
      )
        throw err;
      // Not there, or not readable, is not the same as broken: the operator's next step differs.
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      const code = cause === 'ENOENT' ? 'SOURCE_NOT_FOUND' : cause === 'EACCES' || cause === 'EPERM' ? 'SOURCE_FORBIDDEN' : 'SOURCE_INVALID';
      return { ok: false, code, message: errorMessage(err) };
    }
    const use = this.tenants.config(tenantId).source!;
    try {
      return await withDeadline(() => session.check(signal), this.deadlines.checkMs, `source "${use.id}" (plugin ${use.pluginId}) check()`);
    } catch (err) {
      if (!isRosterbridgeError(err) || err.code !== 'DEADLINE_EXCEEDED') throw err;
      // A check that does not answer is a source that cannot be reached, as far as the operator goes.
      return { ok: false, code: 'SOURCE_UNREACHABLE', message: `${err.message} (deadlines.checkMs)` };
    } finally {
      // Abandoned (logged by no one) if it overruns: the answer does not wait for it.
      await withDeadline(() => Promise.resolve(session.dispose()), this.deadlines.disposeMs, 'dispose').catch(() => undefined);
    }
  }
}
