import { describeMissingFolder, missingFolders } from '../config/configured-folders';
import { NO_API_TOKEN_WARNING, describeHostConfig } from '../config/host-config';
import { inspectLocally } from './local-inspection';

/**
 * `rosterbridge config check`: host config, every plugin manifest, every tenant file. Prints each
 * problem with the key it is about; returns the exit code (0 all good, 1 problems).
 */
export async function configCheck(options: { configFile?: string }): Promise<number> {
  let problems = 0;
  const { config, plugins, tenants } = await inspectLocally(options.configFile);
  const missing = await missingFolders(config);
  if (missing.length === 0)
    process.stdout.write(`host config: ok (database ${config.database.url ? 'postgres' : 'embedded'}, ${describeHostConfig().length} keys)\n`);
  for (const m of missing) {
    problems++;
    process.stdout.write(`host config: ${describeMissingFolder(m)}\n`);
  }
  if (config.api.tokens.length === 0) process.stdout.write(`host config: warning: ${NO_API_TOKEN_WARNING}\n`);
  for (const p of plugins.list()) {
    if (p.failure) {
      problems++;
      process.stdout.write(`plugin ${p.id}: ${p.failure.code}: ${p.failure.reason}\n`);
    } else process.stdout.write(`plugin ${p.id}: ok\n`);
  }
  for (const t of tenants.list()) {
    if (t.problems.length === 0) process.stdout.write(`tenant ${t.id}: ok\n`);
    for (const p of t.problems) {
      problems++;
      process.stdout.write(`tenant ${t.id}: ${t.file} ${p.key}: ${p.message}\n`);
    }
  }
  process.stdout.write(problems === 0 ? 'config check passed\n' : `config check found ${problems} problem(s)\n`);
  return problems === 0 ? 0 : 1;
}
