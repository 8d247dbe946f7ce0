import * as path from 'node:path';
import { errorMessage } from '@rosterbridge/core';
import { loadHostConfig } from '../config/host-config';
import { Host } from '../host';

/** The local-only admin token of `start --demo`; printed in the README, valid only in demo mode. */
export const DEMO_ADMIN_TOKEN = 'demo-admin-token-local-only';

/**
 * `rosterbridge start`: starts the host and stops it gracefully on SIGINT/SIGTERM (a second signal
 * exits at once).
 */
export async function startHost(options: { configFile?: string; demo: boolean }): Promise<void> {
  const repo = path.resolve(__dirname, '../../..');
  const overrides: Record<string, unknown> = {};
  if (options.demo) {
    if (!process.env.RB_DATA_DIR) overrides.dataDir = path.join(repo, '.data/demo');
    if (!process.env.RB_TENANTS_DIR) overrides.tenants = { dir: path.join(repo, 'host/demo/tenants') };
    if (!process.env.RB_PLUGIN_DIRS) overrides.plugins = { dirs: [path.join(repo, 'plugins')] };
    if (!process.env.RB_API_TOKENS) overrides.api = { tokens: [{ name: 'demo-admin', token: DEMO_ADMIN_TOKEN, role: 'admin' }] };
  }
  const config = loadHostConfig({ file: options.configFile, overrides });
  const host = await Host.start(config);
  if (options.demo) {
    process.stdout.write(
      `\nRosterbridge demo is running at ${host.url} on ${host.database.description}\n` +
        `  curl ${host.url}/healthz\n  curl -H 'Authorization: Bearer ${DEMO_ADMIN_TOKEN}' ${host.url}/plugins\n  OpenAPI: ${host.url}/docs\nCtrl-C stops it.\n\n`,
    );
  }
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
