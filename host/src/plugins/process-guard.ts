import { type Disposable, type Logger, errorMessage } from '@rosterbridge/core';
import type { PluginRegistry } from '@rosterbridge/engine';

/**
 * Keeps one plugin's stray throw from ending the host. An uncaught exception or an unhandled
 * rejection whose stack runs through a plugin's folder fails that plugin (PLUGIN_CRASHED, with the
 * message) and the host goes on serving the others. One that no plugin can be charged with is a bug
 * of the host, after which its state cannot be trusted: it is logged as such and `onFatal` runs (the
 * CLI stops the host gracefully and exits 1).
 *
 * Installed by `rosterbridge start` (and the demo) for the life of the process, not by hosts that
 * tests start inside their own process.
 */
export function guardProcess(plugins: PluginRegistry, logger: Logger, onFatal: (err: unknown) => void): Disposable {
  const handle = (kind: 'uncaught exception' | 'unhandled rejection') => (err: unknown) => {
    const pluginId = plugins.attribute(err);
    if (pluginId) {
      const reason = `${kind} in its code: ${errorMessage(err)}`;
      plugins.crash(pluginId, reason).catch((e: unknown) => logger.error({ plugin: pluginId, err: errorMessage(e) }, 'failing a crashed plugin failed'));
      return;
    }
    logger.error({ err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined }, `${kind} outside any plugin's code; stopping the host`);
    onFatal(err);
  };
  const onException = handle('uncaught exception');
  const onRejection = handle('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    dispose() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}
