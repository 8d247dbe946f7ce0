import t from 'tap';
import { isRosterbridgeError } from '@rosterbridge/core';
import { loadHostConfig } from '@rosterbridge/host';

t.test('the host config names plugins to run in a worker or in-process, and the workers\u2019 defaults', async (t) => {
  const config = loadHostConfig({
    env: { RB_PLUGIN_WORKERS: 'target-memo, source-spin-read', RB_PLUGIN_IN_PROCESS: 'target-gradient', RB_PLUGIN_WORKER_MAX_OLD_GENERATION_MB: '128' },
  });
  t.same(config.plugins.workers, ['target-memo', 'source-spin-read']);
  t.same(config.plugins.inProcess, ['target-gradient']);
  t.equal(config.plugins.worker.maxOldGenerationSizeMb, 128);
  t.equal(loadHostConfig({ env: {} }).plugins.worker.callTimeoutMs, 120_000, 'a call into a worker has two minutes by default');
});

t.test('a plugin id that is not one, a limit out of range, or a plugin in both lists stops startup naming the key', async (t) => {
  const refused = (env: NodeJS.ProcessEnv, message: RegExp) => {
    try {
      loadHostConfig({ env });
      t.fail(`accepted ${JSON.stringify(env)}`);
    } catch (err) {
      t.ok(isRosterbridgeError(err, 'CONFIG_INVALID'), 'CONFIG_INVALID');
      t.match((err as Error).message, message);
    }
  };
  refused({ RB_PLUGIN_WORKERS: 'Target_Memo' }, /plugins\.workers \(env RB_PLUGIN_WORKERS\): "Target_Memo" is not a plugin id/);
  refused({ RB_PLUGIN_WORKER_MAX_OLD_GENERATION_MB: '8' }, /plugins\.worker\.maxOldGenerationSizeMb .*must be a whole number from 16 to 65,536, got 8/);
  refused(
    { RB_PLUGIN_WORKERS: 'target-memo', RB_PLUGIN_IN_PROCESS: 'target-memo' },
    /plugins\.workers \(env RB_PLUGIN_WORKERS\) and plugins\.inProcess \(env RB_PLUGIN_IN_PROCESS\) both name target-memo/,
  );
});
