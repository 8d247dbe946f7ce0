import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { describeHostConfig, loadHostConfig } from '@rosterbridge/host';

t.test('defaults: embedded database, loopback, every key has an env var', async (t) => {
  const c = loadHostConfig({ env: {}, cwd: '/srv/rb' });
  t.equal(c.database.url, '');
  t.equal(c.http.host, '127.0.0.1');
  t.equal(c.dataDir, '/srv/rb/.data');
  t.same(c.plugins.dirs, ['/srv/rb/plugins']);
  t.equal(c.secrets.dir, '/srv/rb/tenants/secrets', 'secret files: in the tenants dir\'s secrets folder');
  t.same(c.secrets.envPrefixes, ['ROSTERBRIDGE_SECRET_'], 'secret env vars: a prefix no host setting has');
  for (const d of describeHostConfig()) t.match(d.env, /^RB_[A-Z_]+$/, `${d.key} has env ${d.env}`);
  t.same(
    describeHostConfig().map((d) => d.key).sort(),
    ['api.tokens', 'dataDir', 'database.poolSize', 'database.url', 'http.host', 'http.port', 'log.level', 'plugins.activationTimeoutMs', 'plugins.dirs', 'secrets.dir', 'secrets.envPrefixes', 'shutdownTimeoutMs', 'sources.maxFieldBytes', 'sources.maxFileBytes', 'sources.maxLineBytes', 'sources.maxPackageBytes', 'sync.applyTimeoutMs', 'sync.batchSize', 'sync.leaseMs', 'sync.maxConcurrentRuns', 'sync.maxIssuesPerCode', 'sync.retentionDays', 'sync.retry.delaySeconds', 'sync.retry.limit', 'sync.schedule.cronCheckSeconds', 'sync.schedule.enabled', 'sync.schedule.maxRunHours', 'sync.schedule.pollSeconds', 'sync.sweepMs', 'tenants.dir', 'tenants.maxFileBytes'],
  );
});

t.test('schedule settings outside what the queue allows are refused naming key and env var', async (t) => {
  t.throws(() => loadHostConfig({ env: { RB_SCHEDULE_CRON_CHECK_SECONDS: '60' } }), { code: 'CONFIG_INVALID', message: /sync\.schedule\.cronCheckSeconds must be between 1 and 45: value was 60 \(env RB_SCHEDULE_CRON_CHECK_SECONDS\)/ });
  t.throws(() => loadHostConfig({ env: { RB_SCHEDULE_MAX_RUN_HOURS: '30' } }), { code: 'CONFIG_INVALID', message: /sync\.schedule\.maxRunHours/ });
  const c = loadHostConfig({ env: { RB_SCHEDULE_ENABLED: 'false', RB_RETRY_LIMIT: '5', RB_SYNC_RETENTION_DAYS: '30' } });
  t.same([c.sync.schedule.enabled, c.sync.retry.limit, c.sync.retentionDays], [false, 5, 30]);
});

t.test('the caps on issues, packages, rows and tenant files: defaults, env vars, and a zero refused', async (t) => {
  const d = loadHostConfig({ env: {} });
  t.same(
    [d.sync.maxIssuesPerCode, d.sources.maxPackageBytes, d.sources.maxFileBytes, d.sources.maxLineBytes, d.sources.maxFieldBytes, d.tenants.maxFileBytes],
    [1000, 8 * 1024 ** 3, 2 * 1024 ** 3, 1_000_000, 100_000, 1024 * 1024],
  );
  const c = loadHostConfig({
    env: {
      RB_SYNC_MAX_ISSUES_PER_CODE: '5',
      RB_SOURCE_MAX_PACKAGE_BYTES: '1000',
      RB_SOURCE_MAX_FILE_BYTES: '900',
      RB_SOURCE_MAX_LINE_BYTES: '80',
      RB_SOURCE_MAX_FIELD_BYTES: '20',
      RB_TENANTS_MAX_FILE_BYTES: '4096',
    },
  });
  t.same([c.sync.maxIssuesPerCode, c.sources.maxPackageBytes, c.sources.maxFileBytes, c.sources.maxLineBytes, c.sources.maxFieldBytes, c.tenants.maxFileBytes], [5, 1000, 900, 80, 20, 4096]);
  t.throws(() => loadHostConfig({ env: { RB_SYNC_MAX_ISSUES_PER_CODE: '0' } }), { code: 'CONFIG_INVALID', message: /sync\.maxIssuesPerCode must be between 1 and 1000000: value was 0 \(env RB_SYNC_MAX_ISSUES_PER_CODE\)/ });
  t.throws(() => loadHostConfig({ env: { RB_TENANTS_MAX_FILE_BYTES: '0' } }), { code: 'CONFIG_INVALID', message: /tenants\.maxFileBytes.*RB_TENANTS_MAX_FILE_BYTES/ });
  t.throws(() => loadHostConfig({ env: { RB_SOURCE_MAX_LINE_BYTES: 'lots' } }), { code: 'CONFIG_INVALID', message: /sources\.maxLineBytes.*RB_SOURCE_MAX_LINE_BYTES/ });
});

t.test('env vars set every key', async (t) => {
  const c = loadHostConfig({
    env: {
      RB_HTTP_PORT: '9090',
      RB_PLUGIN_DIRS: 'a, b',
      RB_LOG_LEVEL: 'warn',
      RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: 'x'.repeat(20), role: 'admin' }]),
      RB_DATABASE_URL: 'postgres://u:p@db/rb',
    },
    cwd: '/w',
  });
  t.equal(c.http.port, 9090);
  t.same(c.plugins.dirs, ['/w/a', '/w/b']);
  t.equal(c.log.level, 'warn');
  t.equal(c.api.tokens[0]!.name, 'ops');
  t.equal(c.database.url, 'postgres://u:p@db/rb');
});

t.test('a bad value is refused naming the key and its env var', async (t) => {
  t.throws(() => loadHostConfig({ env: { RB_HTTP_PORT: '99999' } }), { code: 'CONFIG_INVALID', message: /http\.port.*\(env RB_HTTP_PORT\)/ });
  t.throws(() => loadHostConfig({ env: { RB_LOG_LEVEL: 'loud' } }), { code: 'CONFIG_INVALID', message: /log\.level.*RB_LOG_LEVEL/ });
});

t.test('a bad token list names the key and never echoes a token', async (t) => {
  const secret = 'tiny-secret-1';
  try {
    loadHostConfig({ env: { RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: 'x'.repeat(20), role: 'admin' }, { name: 'bad', token: secret, role: 'admin' }]) } });
    t.fail('should throw');
  } catch (err) {
    const message = (err as Error).message;
    t.match(message, /api\.tokens.*\[1\]\.token must be a string of at least 16 characters.*RB_API_TOKENS/);
    t.notMatch(message, secret);
  }
});

t.test('an unknown key in a config file is refused naming it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-cfg-'));
  const file = path.join(dir, 'host.json');
  writeFileSync(file, JSON.stringify({ http: { port: 8081, hots: 'x' } }));
  t.throws(() => loadHostConfig({ file, env: {} }), { code: 'CONFIG_INVALID', message: /http\.hots/ });
});

t.test('the secrets folder follows the tenants dir unless set; env prefixes never reach the host\'s own variables', async (t) => {
  t.equal(loadHostConfig({ env: { RB_TENANTS_DIR: '/etc/rb/tenants' } }).secrets.dir, '/etc/rb/tenants/secrets');
  t.equal(loadHostConfig({ env: { RB_SECRETS_DIR: 'vault' }, cwd: '/w' }).secrets.dir, '/w/vault');
  t.same(loadHostConfig({ env: { RB_SECRETS_ENV_PREFIXES: 'LINCOLN_SECRET_, JEFFERSON_' } }).secrets.envPrefixes, ['LINCOLN_SECRET_', 'JEFFERSON_']);
  for (const prefix of ['RB_', 'RB', 'R', 'RB_API', 'RB_SECRET_']) {
    t.throws(() => loadHostConfig({ env: { RB_SECRETS_ENV_PREFIXES: prefix } }), { code: 'CONFIG_INVALID', message: /secrets\.envPrefixes.*would let tenants name the host's own env vars.*\(env RB_SECRETS_ENV_PREFIXES\)/ }, prefix);
  }
  t.throws(() => loadHostConfig({ env: { RB_SECRETS_ENV_PREFIXES: 'NOT-A-NAME' } }), { code: 'CONFIG_INVALID', message: /secrets\.envPrefixes.*is not the start of an env var name/ });
});
