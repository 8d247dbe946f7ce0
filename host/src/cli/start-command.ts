import { errorMessage } from '@rosterbridge/core';
import { type HostConfig, loadHostConfig } from '../config/host-config';
import { Host } from '../host';

/** `rosterbridge start`: starts the host and stops it gracefully on SIGINT/SIGTERM. */
export async function startHost(options: { configFile?: string }): Promise<void> {
  const config = loadHostConfig({ file: options.configFile });
  stopOnSignals(await Host.start(config), config);
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
