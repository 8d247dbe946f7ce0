import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { type ApiToken, Host, type HostConfig, loadHostConfig } from '@rosterbridge/host';
import { type TestDatabase, createTestDatabase } from './test-database';

/**
 * A database and data folder that outlive one test host, for tests that stop a host and start
 * another on the same state (a tenant file edited between them, say). Dispose it at the end.
 */
export interface TestHostState {
  database: TestDatabase;
  dataDir: string;
  dispose(): Promise<void>;
}

/** Creates a {@link TestHostState}: a fresh database (or the embedded one in a fresh folder). */
export async function createTestHostState(): Promise<TestHostState> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'rb-test-'));
  return {
    database,
    dataDir,
    async dispose() {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A running host for a test, with captured logs. */
export interface TestHost {
  host: Host;
  /** Every log line written so far, raw. */
  logs(): string;
  /** Stops the host, then drops its database and temp folder. */
  stop(): Promise<void>;
}

/** The folder of the test kit's fixtures (plugins, tenants, OneRoster CSV packages, a ClassLink page: test/fixtures/README.md). */
export const FIXTURES_DIR = path.resolve(__dirname, '../../fixtures');

/**
 * Starts a host on a fresh database (real PostgreSQL when DATABASE_URL is set, embedded otherwise)
 * with the given plugin and tenant folders.
 */
export async function startTestHost(options: {
  pluginDirs: string[];
  tenantsDir: string;
  tokens?: ApiToken[];
  activationTimeoutMs?: number;
  listen?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * Run the tenants' cron schedules (off by default, so that a test never meets a scheduled run it
   * did not ask for); the figures make the queue quick.
   */
  schedules?: { cronCheckSeconds?: number; pollSeconds?: number; retryDelaySeconds?: number; retryLimit?: number };
  /** Run on this state instead of a fresh one; stopping the host then leaves it for the next host. */
  state?: TestHostState;
}): Promise<TestHost> {
  const state = options.state ?? (await createTestHostState());
  const { database, dataDir } = state;
  const release = options.state ? async () => undefined : () => state.dispose();
  let captured = '';
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      captured += chunk.toString('utf8');
      cb();
    },
  });
  const config: HostConfig = loadHostConfig({
    env: options.env ?? {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      database: { url: database.url, poolSize: 4 },
      dataDir: database.url ? dataDir : path.join(dataDir, 'embedded'),
      plugins: { dirs: options.pluginDirs, activationTimeoutMs: options.activationTimeoutMs ?? 5000 },
      tenants: { dir: options.tenantsDir },
      api: { tokens: options.tokens ?? [] },
      log: { level: 'debug' },
      sync: {
        schedule: {
          enabled: options.schedules !== undefined,
          cronCheckSeconds: options.schedules?.cronCheckSeconds ?? 1,
          pollSeconds: options.schedules?.pollSeconds ?? 1,
        },
        retry: { delaySeconds: options.schedules?.retryDelaySeconds ?? 1, limit: options.schedules?.retryLimit ?? 2 },
      },
    },
  });
  let host: Host;
  try {
    host = await Host.start(config, { logDestination: destination, listen: options.listen ?? true });
  } catch (err) {
    await release();
    throw err;
  }
  return {
    host,
    logs: () => captured,
    async stop() {
      await host.stop();
      await release();
    },
  };
}
