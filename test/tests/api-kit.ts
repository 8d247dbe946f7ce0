import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FIXTURES_DIR, type TestHost, generateDistrict, startTestHost, writeOneRosterPackage } from '@rosterbridge/test-kit';

/** The admin token of {@link startLincolnHost}'s host. */
export const ADMIN = 'admin-token-0123456789abcdef';

/**
 * A host for the control API's tests: tenant `lincoln` reads a tiny generated district through the
 * slow CSV source into memo, and one admin token. `root` holds its files (the caller removes it).
 */
export async function startLincolnHost(name: string, seed: number): Promise<{ root: string; th: TestHost }> {
  const root = mkdtempSync(path.join(tmpdir(), `rb-${name}-`));
  const tenants = path.join(root, 'tenants');
  mkdirSync(tenants);
  await writeOneRosterPackage(generateDistrict({ seed, size: 'tiny' }), path.join(root, 'package'), { mode: 'bulk' });
  writeFileSync(
    path.join(tenants, 'lincoln.json'),
    JSON.stringify({
      displayName: 'Lincoln',
      timezone: 'America/Chicago',
      source: { id: 'slow-csv', settings: { location: '../package' } },
      targets: [{ id: 'memo' }],
    }),
  );
  const th = await startTestHost({
    pluginDirs: [path.join(FIXTURES_DIR, 'plugins/sync'), path.join(FIXTURES_DIR, 'plugins/api')],
    tenantsDir: tenants,
    tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }],
  });
  return { root, th };
}
