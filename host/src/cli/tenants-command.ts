import { redactTenant } from '../tenants/tenant-config';
import { getFromHost, inspectLocally } from './local-inspection';

interface TenantView {
  id: string;
  status: string;
  config?: Record<string, any>;
  problems?: { key: string; message: string }[];
}

/** `rosterbridge tenants`: each tenant, valid or with the keys that are wrong; secrets redacted. */
export async function listTenants(options: { configFile?: string; url?: string; json: boolean }): Promise<void> {
  let tenants: TenantView[];
  if (options.url) tenants = ((await getFromHost(options.url, '/tenants')) as { tenants: TenantView[] }).tenants;
  else
    tenants = (await inspectLocally(options.configFile)).tenants
      .list()
      .map((t) =>
        t.config
          ? { id: t.id, status: t.config.paused ? 'paused' : 'valid', config: redactTenant(t.config) }
          : { id: t.id, status: 'invalid', problems: t.problems },
      );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(tenants, null, 2)}\n`);
    return;
  }
  if (tenants.length === 0) process.stdout.write('no tenants configured\n');
  for (const t of tenants) {
    const source = t.config?.source ? `source ${t.config.source.id}` : 'no source';
    const targets = t.config
      ? `targets ${
          (t.config.targets as { id: string; enabled: boolean }[])
            .filter((x) => x.enabled)
            .map((x) => x.id)
            .join(', ') || '(none)'
        }`
      : '';
    process.stdout.write(`${t.id.padEnd(24)} ${t.status.padEnd(8)} ${t.config ? `${t.config.timezone}  ${source}  ${targets}` : ''}\n`);
    for (const p of t.problems ?? []) process.stdout.write(`  ${p.key}: ${p.message}\n`);
  }
  if (tenants.some((t) => t.status === 'invalid')) process.exitCode = 1;
}
