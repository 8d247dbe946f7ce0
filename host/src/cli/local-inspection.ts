import { nullLogger } from '@rosterbridge/core';
import { PluginRegistry, discoverPlugins } from '@rosterbridge/engine';
import satisfies from 'semver/functions/satisfies';
import { type HostConfig, loadHostConfig, secretPolicy } from '../config/host-config';
import { SecretResolver } from '../tenants/secret-reference';
import { TenantRegistry } from '../tenants/tenant-registry';
import { cliCensor } from './cli-output';
import { invalidCommandContributions } from '../commands/command-service';
import { controlApi } from './runs-command';
import { invalidConfigurationSchemas } from '../tenants/tenant-config';
import { ROSTERBRIDGE_VERSION } from '../version';

/**
 * Reads config, plugin manifests and tenant files as the host would (secret references checked
 * against the secret policy, their values read and censored from the CLI's output), loading no
 * plugin code and touching no database.
 */
export async function inspectLocally(configFile?: string): Promise<{ config: HostConfig; plugins: PluginRegistry; tenants: TenantRegistry }> {
  const config = loadHostConfig({ file: configFile });
  const plugins = new PluginRegistry({
    hostVersion: ROSTERBRIDGE_VERSION,
    satisfiesEngine: (range, version) => satisfies(version, range, { includePrerelease: true }),
    activationTimeoutMs: config.plugins.activationTimeoutMs,
    logger: nullLogger,
    createContext: () => Promise.reject(new Error('inspection loads no plugin code')),
    migrate: () => Promise.reject(new Error('inspection runs no migrations')),
  });
  plugins.register(await discoverPlugins(config.plugins.dirs));
  for (const { pluginId, reason } of invalidConfigurationSchemas(plugins.manifests())) plugins.refuse(pluginId, 'MANIFEST_INVALID', reason);
  for (const { pluginId, reason } of invalidCommandContributions(plugins.manifests())) plugins.refuse(pluginId, 'MANIFEST_INVALID', reason);
  // A target whose consumed contracts no installed source delivers is refused when activated: say so here.
  const unmet = plugins.manifests().flatMap((m) => {
    const reason = plugins.unmetContracts(m);
    return reason === undefined ? [] : [{ pluginId: m.id, reason }];
  });
  for (const { pluginId, reason } of unmet) plugins.refuse(pluginId, 'CONTRACT_UNSATISFIED', reason);
  const tenants = new TenantRegistry(config.tenants.dir, () => plugins.allManifests(), new SecretResolver(cliCensor, secretPolicy(config)), {
    maxFileBytes: config.tenants.maxFileBytes,
  });
  await tenants.load();
  return { config, plugins, tenants };
}

/** GETs a path of a running host's control API with the token in RB_TOKEN (a refusal throws with its code). */
export async function getFromHost(url: string, path: string): Promise<unknown> {
  return controlApi(url).request('GET', path);
}
