import t from 'tap';
import { type PluginManifest, readManifest } from '@rosterbridge/core';
import { CommandRegistry } from '@rosterbridge/engine';

const good = {
  name: '@rosterbridge/target-kybergate',
  version: '1.0.0',
  main: 'dist/index.js',
  engines: { rosterbridge: '^1.0.0' },
  rosterbridge: {
    id: 'target-kybergate',
    displayName: 'KyberGate',
    activationEvents: ['onTarget:kybergate'],
    dependencies: [],
    contributes: {
      targets: [{ id: 'kybergate', consumes: ['roster.users@1', 'roster.orgs@1'] }],
      configuration: { type: 'object', properties: {} },
      schedules: { default: '0 */6 * * *' } as Record<string, unknown>,
    },
  },
};

t.test('a plugin may register only the commands its manifest declares, each once', async (t) => {
  const r = readManifest({
    ...structuredClone(good),
    rosterbridge: {
      ...structuredClone(good.rosterbridge),
      contributes: { ...structuredClone(good.rosterbridge.contributes), commands: [{ id: 'kybergate.sync', title: 'Sync' }] },
    },
  });
  t.equal(r.ok, true);
  const manifest = (r as { manifest: PluginManifest }).manifest;
  const registry = new CommandRegistry();
  const handler = async () => ({ summary: 'done' });
  t.throws(() => registry.register(manifest, 'kybergate.other', handler), {
    code: 'MANIFEST_INVALID',
    message: /registers command "kybergate.other" but its manifest does not contribute it/,
  });
  t.equal(registry.get('kybergate.other'), undefined, 'nothing registered');
  const registration = registry.register(manifest, 'kybergate.sync', handler);
  t.equal(registry.get('kybergate.sync'), handler);
  t.throws(() => registry.register(manifest, 'kybergate.sync', handler), { code: 'MANIFEST_INVALID', message: /already registered/ });
  registration.dispose();
  t.equal(registry.get('kybergate.sync'), undefined, 'disposing the registration removes it');
});
