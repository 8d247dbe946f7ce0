import type { PluginStatus } from '@rosterbridge/engine';
import { getFromHost, inspectLocally } from './local-inspection';

/** `rosterbridge plugins`: one line per plugin with its state and, when failed, the reason. */
export async function listPlugins(options: { configFile?: string; url?: string; json: boolean }): Promise<void> {
  const plugins = options.url
    ? ((await getFromHost(options.url, '/plugins')) as { plugins: PluginStatus[] }).plugins
    : (await inspectLocally(options.configFile)).plugins.list();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(plugins, null, 2)}\n`);
    return;
  }
  if (plugins.length === 0) process.stdout.write('no plugins found\n');
  for (const p of plugins) {
    const timing = p.activation?.durationMs !== undefined ? ` (${p.activation.durationMs} ms on ${p.activation.event})` : '';
    const state = !options.url && p.state === 'inactive' ? 'valid' : p.state;
    process.stdout.write(`${p.id.padEnd(28)} ${(p.version ?? '').padEnd(8)} ${state}${timing}\n`);
    if (p.failure) process.stdout.write(`  ${p.failure.code}: ${p.failure.reason}\n`);
  }
  if (plugins.some((p) => p.state === 'failed')) process.exitCode = 1;
}
