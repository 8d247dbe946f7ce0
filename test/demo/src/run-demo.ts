#!/usr/bin/env node
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '@rosterbridge/core';
import { Host, guardHost, loadHostConfig, reloadOnHangup, stopOnSignals } from '@rosterbridge/host';
import { generateDistrict, writeOneRosterPackage } from '@rosterbridge/district-generator';
import { seedProductState } from '@rosterbridge/test-kit';

/** The local-only admin token of the demo; printed by the demo and in the README, nowhere else valid. */
export const DEMO_ADMIN_TOKEN = 'demo-admin-token-local-only';

const REPO = path.resolve(__dirname, '../../..');
const DEMO_TENANT = 'lincoln-demo';
const DEMO_SEED = 2024;
const DEMO_DIR = path.join(REPO, '.data/demo');
/** The demo's secrets folder (host config secrets.dir): outside the repository, made on first start. */
const DEMO_SECRETS_DIR = path.join(DEMO_DIR, 'secrets');
/** The secret file the demo tenant's KyberGate notifications read their SMTP password from. */
const DEMO_SMTP_PASSWORD = 'kybergate-smtp-password';

/**
 * `npm run demo`: generates a small district as a OneRoster CSV package (once), then starts the
 * host on the embedded database in .data/demo with the demo tenant and every plugin in plugins/.
 * Env vars (RB_*) still override any setting. The demo tenant's one secret (KyberGate's SMTP
 * password) is a random value written once to a file in the demo's secrets folder.
 */
async function main(): Promise<void> {
  const packageDir = path.join(DEMO_DIR, 'oneroster-bulk');
  if (!existsSync(path.join(packageDir, 'manifest.csv'))) {
    process.stdout.write(`generating the demo district into ${packageDir} …\n`);
    const district = generateDistrict({ seed: DEMO_SEED, size: 'small' });
    const summary = await writeOneRosterPackage(district, packageDir);
    process.stdout.write(
      `  ${Object.entries(summary.rows)
        .map(([e, n]) => `${e} ${n}`)
        .join(', ')}\n`,
    );
  }
  const secretsDir = process.env.RB_SECRETS_DIR ? path.resolve(process.env.RB_SECRETS_DIR) : DEMO_SECRETS_DIR;
  if (!existsSync(path.join(secretsDir, DEMO_SMTP_PASSWORD))) {
    mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(secretsDir, DEMO_SMTP_PASSWORD), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  }
  const config = loadHostConfig({
    overrides: {
      ...(process.env.RB_DATA_DIR ? {} : { dataDir: DEMO_DIR }),
      ...(process.env.RB_SECRETS_DIR ? {} : { secrets: { dir: DEMO_SECRETS_DIR } }),
      ...(process.env.RB_TENANTS_DIR ? {} : { tenants: { dir: path.join(REPO, 'test/demo/tenants') } }),
      ...(process.env.RB_PLUGIN_DIRS ? {} : { plugins: { dirs: [path.join(REPO, 'plugins')] } }),
      ...(process.env.RB_API_TOKENS ? {} : { api: { tokens: [{ name: 'demo', token: DEMO_ADMIN_TOKEN, role: 'admin' }] } }),
    },
  });
  const host = await Host.start(config);
  stopOnSignals(host, config);
  reloadOnHangup(host);
  guardHost(host, config);
  if (host.tenants.list().some((t) => t.id === DEMO_TENANT && t.config)) await firstSync(host);
  const auth = `-H 'Authorization: Bearer ${DEMO_ADMIN_TOKEN}'`;
  process.stdout.write(
    `\nRosterbridge demo is running at ${host.url} on ${host.database.description}\n` +
      `  Console: ${host.url}/ (sign in with the token ${DEMO_ADMIN_TOKEN})\n` +
      `  curl ${host.url}/healthz\n` +
      `  curl ${auth} ${host.url}/plugins\n` +
      `  curl ${auth} ${host.url}/tenants/lincoln-demo   # KyberGate's SMTP password shows as [secret from file ${DEMO_SMTP_PASSWORD}]\n` +
      `  curl ${auth} -X POST ${host.url}/tenants/lincoln-demo/source/check\n` +
      `  curl ${auth} -X POST -H 'content-type: application/json' -d '{}' ${host.url}/tenants/lincoln-demo/syncs\n` +
      `  RB_URL=${host.url} RB_TOKEN=${DEMO_ADMIN_TOKEN} npx rosterbridge sync lincoln-demo\n` +
      `  RB_URL=${host.url} RB_TOKEN=${DEMO_ADMIN_TOKEN} npx rosterbridge commands lincoln-demo   # the products' commands\n` +
      `  OpenAPI: ${host.url}/docs\nCtrl-C stops it.\n\n`,
  );
}

/**
 * The demo tenant's first sync, once (while it has no run). What a real deployment's products would
 * already hold is put there first with the products' own commands, as an operator runs them —
 * School Manager's existing accounts (`school-manager.importUsers`, nine in ten of the district's
 * students and staff, so some stay unmatched) and Gradient's academic year
 * (`gradient.startAcademicYear`) — then every product's tables fill and the run's counts per
 * target are printed; last, Kamkalima's teacher-admin role goes to one of the district's teachers
 * (`kamkalima.assignTeacherAdmin`).
 */
async function firstSync(host: Host): Promise<void> {
  if ((await host.runs.list(DEMO_TENANT, { limit: 1 })).length > 0) return;
  const district = generateDistrict({ seed: DEMO_SEED, size: 'small' });
  const seeded = await seedProductState(host, DEMO_TENANT, district);
  if (seeded.schoolManagerUsers !== undefined)
    process.stdout.write(
      `School Manager: ${seeded.schoolManagerUsers} existing accounts imported (school-manager.importUsers: nine in ten of the district's students and staff)\n`,
    );
  if (seeded.gradientYear !== undefined)
    process.stdout.write(
      `Gradient: academic year ${seeded.gradientYear - 1}-${String(seeded.gradientYear % 100).padStart(2, '0')} started (gradient.startAcademicYear; until then Gradient runs are skipped)\n`,
    );
  process.stdout.write(`first sync of ${DEMO_TENANT} …\n`);
  const run = await host.syncs.settled((await host.syncs.trigger(DEMO_TENANT, { trigger: 'demo' })).id);
  process.stdout.write(
    `  ${run.status} in ${((run.durationMs ?? 0) / 1000).toFixed(1)} s, ${run.counts.issues.errors} errors, ${run.counts.issues.warnings} warnings${run.reason ? ` (${run.reason})` : ''}\n`,
  );
  for (const [target, entry] of Object.entries(run.counts.targets)) {
    const sum = (k: 'created' | 'updated' | 'skipped' | 'errors') => Object.values(entry.entities).reduce((a, c) => a + (c?.[k] ?? 0), 0);
    process.stdout.write(
      `  ${target.padEnd(15)} ${entry.status.padEnd(8)} created ${sum('created')}, updated ${sum('updated')}, skipped ${sum('skipped')}, errors ${sum('errors')}${entry.errorCode ? ` (${entry.errorCode})` : ''}\n`,
    );
  }
  const teacher = [...district.records('users')].find((u) => u.role === 'teacher' && u.email);
  if (teacher && host.tenants.config(DEMO_TENANT).targets.some((t) => t.id === 'kamkalima' && t.enabled)) {
    try {
      const { result } = await host.commands.run(DEMO_TENANT, 'kamkalima.assignTeacherAdmin', { teacher: teacher.email }, { by: 'demo' });
      process.stdout.write(`Kamkalima: ${result.summary} (kamkalima.assignTeacherAdmin)\n`);
    } catch (err) {
      process.stdout.write(`Kamkalima: the teacher-admin role was not assigned: ${errorMessage(err)}\n`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
