#!/usr/bin/env node
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '@rosterbridge/core';
import { Host, loadHostConfig, stopOnSignals } from '@rosterbridge/host';
import { generateDistrict, writeOneRosterPackage } from '../generator';

/** The local-only admin token of the demo; printed by the demo and in the README, nowhere else valid. */
export const DEMO_ADMIN_TOKEN = 'demo-admin-token-local-only';

const REPO = path.resolve(__dirname, '../../..');
const DEMO_DIR = path.join(REPO, '.data/demo');

/**
 * `npm run demo`: generates a small district as a OneRoster CSV package (once), then starts the
 * host on the embedded database in .data/demo with the demo tenant and every plugin in plugins/.
 * Env vars (RB_*) still override any setting.
 */
async function main(): Promise<void> {
  const packageDir = path.join(DEMO_DIR, 'oneroster-bulk');
  if (!existsSync(path.join(packageDir, 'manifest.csv'))) {
    process.stdout.write(`generating the demo district into ${packageDir} …\n`);
    const district = generateDistrict({ seed: 2024, size: 'small' });
    const summary = await writeOneRosterPackage(district, packageDir);
    process.stdout.write(`  ${Object.entries(summary.rows).map(([e, n]) => `${e} ${n}`).join(', ')}\n`);
  }
  const config = loadHostConfig({
    overrides: {
      ...(process.env.RB_DATA_DIR ? {} : { dataDir: DEMO_DIR }),
      ...(process.env.RB_TENANTS_DIR ? {} : { tenants: { dir: path.join(REPO, 'test/demo/tenants') } }),
      ...(process.env.RB_PLUGIN_DIRS ? {} : { plugins: { dirs: [path.join(REPO, 'plugins')] } }),
      ...(process.env.RB_API_TOKENS ? {} : { api: { tokens: [{ name: 'demo-admin', token: DEMO_ADMIN_TOKEN, role: 'admin' }] } }),
    },
  });
  const host = await Host.start(config);
  stopOnSignals(host, config);
  const auth = `-H 'Authorization: Bearer ${DEMO_ADMIN_TOKEN}'`;
  process.stdout.write(
    `\nRosterbridge demo is running at ${host.url} on ${host.database.description}\n` +
      `  curl ${host.url}/healthz\n` +
      `  curl ${auth} ${host.url}/plugins\n` +
      `  curl ${auth} ${host.url}/tenants/lincoln-demo\n` +
      `  curl ${auth} -X POST ${host.url}/tenants/lincoln-demo/source/check\n` +
      `  curl ${auth} -X POST -H 'content-type: application/json' -d '{}' ${host.url}/tenants/lincoln-demo/syncs\n` +
      `  RB_URL=${host.url} RB_TOKEN=${DEMO_ADMIN_TOKEN} node host/dist/cli/main.js sync lincoln-demo\n` +
      `  OpenAPI: ${host.url}/docs\nCtrl-C stops it.\n\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
