import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

/** The CLI of the built host. */
export const HOST_CLI = path.resolve(__dirname, '../../../host/dist/cli/main.js');

/** A `rosterbridge start` process of a test. */
export interface HostProcess {
  child: ChildProcess;
  /** Its control API's address. */
  url: string;
  /** Everything it wrote (JSON log lines), so far. */
  output(): string;
  /** SIGTERM, and resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `rosterbridge start` in a process of its own with only `env` (and PATH); resolves once its
 * control API listens (set RB_HTTP_PORT=0 and RB_LOG_LEVEL=info or lower so it says where).
 */
export async function startHostProcess(env: NodeJS.ProcessEnv): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_CLI, 'start'], { env: { PATH: process.env.PATH, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start:\n${out}`)), 60000);
    const onData = () => {
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`host exited ${code} before listening:\n${out}`)));
  });
  return {
    child,
    url,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The env of a `rosterbridge start` process of a test: an ephemeral port, info logs (so that
 * {@link startHostProcess} sees the address), schedules off, one admin token; `databaseUrl` '' runs it
 * on the embedded database in `dataDir`.
 */
export function hostProcessEnv(options: {
  databaseUrl: string;
  dataDir: string;
  pluginDirs: readonly string[];
  tenantsDir: string;
  adminToken: string;
}): NodeJS.ProcessEnv {
  return {
    RB_HTTP_PORT: '0',
    RB_LOG_LEVEL: 'info',
    RB_DATABASE_URL: options.databaseUrl,
    RB_DATA_DIR: options.dataDir,
    RB_PLUGIN_DIRS: options.pluginDirs.join(','),
    RB_TENANTS_DIR: options.tenantsDir,
    RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: options.adminToken, role: 'admin' }]),
    RB_SCHEDULE_ENABLED: 'false',
  };
}
