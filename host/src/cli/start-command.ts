import { errorMessage } from '@rosterbridge/core';
import { type HostConfig, loadHostConfig } from '../config/host-config';
import { Host } from '../host';
import { guardProcess } from '../plugins/process-guard';

/** `rosterbridge start`: starts the host, stops it gracefully on SIGINT/SIGTERM, reloads the tenant files on SIGHUP. */
export async function startHost(options: { configFile?: string }): Promise<void> {
  const config = loadHostConfig({ file: options.configFile });
  const host = await Host.start(config);
  stopOnSignals(host, config);
  reloadOnHangup(host);
  guardHost(host, config);
}

/**
 * A stray throw in a plugin's code fails that plugin and the host goes on; one outside any plugin
 * stops the host gracefully (within `shutdownTimeoutMs`) and exits 1 (see {@link guardProcess}).
 */
export function guardHost(host: Host, config: HostConfig): void {
  let fatal = false;
  guardProcess(host.plugins, host.logger, () => {
    if (fatal) return;
    fatal = true;
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs).unref();
    host.stop().then(
      () => process.exit(1),
      () => process.exit(1),
    );
  });
}

/**
 * Reads the tenant files again on SIGHUP (as `POST /tenants/reload` does), logging what changed; the
 * host goes on serving. Without this handler SIGHUP would end the process.
 */
export function reloadOnHangup(host: Host): void {
  process.on('SIGHUP', () => {
    host.logger.info({ signal: 'SIGHUP' }, 'signal received; reading the tenant files again');
    host.tenants.reload().then(
      (report) => {
        const changed = report.tenants.filter((t) => t.change !== 'unchanged');
        host.logger.info(
          { tenants: report.tenants.length, changed: changed.map((t) => `${t.id}: ${t.change}${t.runInFlight ? ' (run in flight keeps its config)' : ''}`) },
          'tenant files reloaded',
        );
        for (const t of report.tenants.filter((t) => t.problems?.length))
          host.logger.error(
            { tenant: t.id, change: t.change, problems: t.problems!.map((p) => `${p.key}: ${p.message}`) },
            t.change === 'kept-last-valid' ? 'tenant file invalid; its last valid config stays in effect' : 'tenant config invalid; tenant disabled',
          );
      },
      (err: unknown) => host.logger.error({ err: errorMessage(err) }, 'reading the tenant files again failed; the tenants stay as they were'),
    );
  });
}

/**
 * Stops the host gracefully on SIGINT or SIGTERM, within `shutdownTimeoutMs`; a second signal exits
 * at once.
 */
export function stopOnSignals(host: Host, config: HostConfig): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    host.logger.info({ signal }, 'signal received; stopping');
    const deadline = setTimeout(() => {
      host.logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful shutdown overran; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    host.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        host.logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
