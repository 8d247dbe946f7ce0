import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { RosterbridgeError } from '@rosterbridge/core';
import { describeHostConfig, loadHostConfig } from '@rosterbridge/host';

t.test('defaults: embedded database, loopback, every key has an env var', async (t) => {
  const c = loadHostConfig({ env: {}, cwd: '/srv/rb' });
  t.equal(c.database.url, '');
  t.equal(c.http.host, '127.0.0.1');
  t.equal(c.dataDir, '/srv/rb/.data');
  t.same(c.plugins.dirs, ['/srv/rb/plugins']);
  t.equal(c.secrets.dir, '/srv/rb/tenants/secrets', "secret files: in the tenants dir's secrets folder");
  t.same(c.secrets.envPrefixes, ['ROSTERBRIDGE_SECRET_'], 'secret env vars: a prefix no host setting has');
  for (const d of describeHostConfig()) t.match(d.env, /^RB_[A-Z_]+$/, `${d.key} has env ${d.env}`);
  t.same(
    describeHostConfig()
      .map((d) => d.key)
      .sort(),
    [
      'api.tokens',
      'dataDir',
      'database.poolSize',
      'database.url',
      'deadlines.checkMs',
      'deadlines.disposeMs',
      'deadlines.fingerprintMs',
      'deadlines.readMs',
      'deadlines.resetMs',
      'http.host',
      'http.port',
      'log.level',
      'plugins.activationTimeoutMs',
      'plugins.dirs',
      'plugins.inProcess',
      'plugins.worker.callTimeoutMs',
      'plugins.worker.maxOldGenerationSizeMb',
      'plugins.workers',
      'secrets.dir',
      'secrets.envPrefixes',
      'shutdownTimeoutMs',
      'sources.maxFieldBytes',
      'sources.maxFileBytes',
      'sources.maxLineBytes',
      'sources.maxPackageBytes',
      'sync.applyTimeoutMs',
      'sync.batchSize',
      'sync.leaseMs',
      'sync.maxConcurrentRuns',
      'sync.maxIssuesPerCode',
      'sync.retentionDays',
      'sync.retry.delaySeconds',
      'sync.retry.limit',
      'sync.schedule.cronCheckSeconds',
      'sync.schedule.enabled',
      'sync.schedule.maxRunHours',
      'sync.schedule.pollSeconds',
      'sync.sweepMs',
      'tenants.dir',
      'tenants.maxFileBytes',
    ],
  );
});

t.test('schedule settings outside what the queue allows are refused naming key and env var', async (t) => {
  t.throws(() => loadHostConfig({ env: { RB_SCHEDULE_CRON_CHECK_SECONDS: '60' } }), {
    code: 'CONFIG_INVALID',
    message: /sync\.schedule\.cronCheckSeconds \(env RB_SCHEDULE_CRON_CHECK_SECONDS\): must be a whole number from 1 to 45, got 60$/,
  });
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
  t.same(
    [c.sync.maxIssuesPerCode, c.sources.maxPackageBytes, c.sources.maxFileBytes, c.sources.maxLineBytes, c.sources.maxFieldBytes, c.tenants.maxFileBytes],
    [5, 1000, 900, 80, 20, 4096],
  );
  t.throws(() => loadHostConfig({ env: { RB_SYNC_MAX_ISSUES_PER_CODE: '0' } }), {
    code: 'CONFIG_INVALID',
    message: /sync\.maxIssuesPerCode \(env RB_SYNC_MAX_ISSUES_PER_CODE\): must be a whole number from 1 to 1,000,000, got 0$/,
  });
  t.throws(() => loadHostConfig({ env: { RB_TENANTS_MAX_FILE_BYTES: '0' } }), {
    code: 'CONFIG_INVALID',
    message: /tenants\.maxFileBytes.*RB_TENANTS_MAX_FILE_BYTES/,
  });
  t.throws(() => loadHostConfig({ env: { RB_SOURCE_MAX_LINE_BYTES: 'lots' } }), {
    code: 'CONFIG_INVALID',
    message: /sources\.maxLineBytes.*RB_SOURCE_MAX_LINE_BYTES/,
  });
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
  t.throws(() => loadHostConfig({ env: { RB_HTTP_PORT: '99999' } }), {
    code: 'CONFIG_INVALID',
    message: 'host config is invalid: http.port (env RB_HTTP_PORT): must be a whole number from 0 to 65,535, got 99999',
  });
  t.throws(() => loadHostConfig({ env: { RB_LOG_LEVEL: 'loud' } }), {
    code: 'CONFIG_INVALID',
    message: /^host config is invalid: log\.level \(env RB_LOG_LEVEL\): must be one of the possible values: .*"silent"\], got "loud"$/,
  });
});

t.test('a bad token list names the key and never echoes a token', async (t) => {
  const secret = 'tiny-secret-1';
  try {
    loadHostConfig({
      env: {
        RB_API_TOKENS: JSON.stringify([
          { name: 'ops', token: 'x'.repeat(20), role: 'admin' },
          { name: 'bad', token: secret, role: 'admin' },
        ]),
      },
    });
    t.fail('should throw');
  } catch (err) {
    const message = (err as Error).message;
    t.match(message, /api\.tokens \(env RB_API_TOKENS\): \[1\]\.token must be a string of at least 16 characters/);
    t.notMatch(message, secret);
  }
});

t.test('an unknown key in a config file is refused naming it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-cfg-'));
  const file = path.join(dir, 'host.json');
  writeFileSync(file, JSON.stringify({ http: { port: 8081, hots: 'x' } }));
  t.throws(() => loadHostConfig({ file, env: {} }), {
    code: 'CONFIG_INVALID',
    message: `host config is invalid: http.hots (in ${file}): is not a setting of the host; http takes host, port`,
    details: { keys: ['http.hots'] },
  });
  writeFileSync(file, JSON.stringify({ sync: { shedule: { enabled: false } }, tls: { cert: 'x' } }));
  const err = t.throws(() => loadHostConfig({ file, env: {} })) as RosterbridgeError;
  t.match(
    err.message,
    `sync.shedule.enabled (in ${file}): is not a setting of the host; sync takes batchSize, applyTimeoutMs, leaseMs, sweepMs, maxConcurrentRuns, maxIssuesPerCode, retentionDays, schedule, retry`,
  );
  t.match(
    err.message,
    `tls.cert (in ${file}): is not a setting of the host; the settings are http, database, dataDir, plugins, tenants, sources, secrets, api, log, sync, deadlines, shutdownTimeoutMs`,
  );
  t.same([...(err.details.keys as string[])].sort(), ['sync.shedule.enabled', 'tls.cert']);
  writeFileSync(file, '{"http": {"port": 8081,}}');
  t.throws(() => loadHostConfig({ file, env: {} }), { code: 'CONFIG_INVALID', message: new RegExp(`^host config file ${file} cannot be read as JSON: `) });
  writeFileSync(file, '[]');
  t.throws(() => loadHostConfig({ file, env: {} }), { code: 'CONFIG_INVALID', message: /must hold a JSON object/ });
});

t.test("the secrets folder follows the tenants dir unless set; env prefixes never reach the host's own variables", async (t) => {
  t.equal(loadHostConfig({ env: { RB_TENANTS_DIR: '/etc/rb/tenants' } }).secrets.dir, '/etc/rb/tenants/secrets');
  t.equal(loadHostConfig({ env: { RB_SECRETS_DIR: 'vault' }, cwd: '/w' }).secrets.dir, '/w/vault');
  t.same(loadHostConfig({ env: { RB_SECRETS_ENV_PREFIXES: 'LINCOLN_SECRET_, JEFFERSON_' } }).secrets.envPrefixes, ['LINCOLN_SECRET_', 'JEFFERSON_']);
  for (const prefix of ['RB_', 'RB', 'R', 'RB_API', 'RB_SECRET_']) {
    t.throws(
      () => loadHostConfig({ env: { RB_SECRETS_ENV_PREFIXES: prefix } }),
      { code: 'CONFIG_INVALID', message: /secrets\.envPrefixes \(env RB_SECRETS_ENV_PREFIXES\): .* would let tenants name the host's own env vars/ },
      prefix,
    );
  }
  t.throws(() => loadHostConfig({ env: { RB_SECRETS_ENV_PREFIXES: 'NOT-A-NAME' } }), {
    code: 'CONFIG_INVALID',
    message: /secrets\.envPrefixes.*is not the start of an env var name/,
  });
});

t.test('booleans: true, false, 1 or 0, from the env or the file; anything else is refused naming key, env var and value', async (t) => {
  const enabled = (value: string) => loadHostConfig({ env: { RB_SCHEDULE_ENABLED: value } }).sync.schedule.enabled;
  t.same(['true', 'false', '1', '0', 'TRUE', ' False '].map(enabled), [true, false, true, false, true, false]);
  for (const value of ['nope', 'yes', 'off', '', '2', 'truthy'])
    t.throws(
      () => enabled(value),
      {
        code: 'CONFIG_INVALID',
        message: `host config is invalid: sync.schedule.enabled (env RB_SCHEDULE_ENABLED): must be true or false (or 1 or 0), got ${JSON.stringify(value)}`,
      },
      JSON.stringify(value),
    );
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-cfg-'));
  const file = path.join(dir, 'host.json');
  writeFileSync(file, JSON.stringify({ sync: { schedule: { enabled: false } } }));
  t.equal(loadHostConfig({ file, env: {} }).sync.schedule.enabled, false);
  writeFileSync(file, JSON.stringify({ sync: { schedule: { enabled: 'nope' } } }));
  t.throws(() => loadHostConfig({ file, env: {} }), {
    message: `host config is invalid: sync.schedule.enabled (in ${file}; env RB_SCHEDULE_ENABLED): must be true or false (or 1 or 0), got "nope"`,
  });
  t.equal(loadHostConfig({ file, env: { RB_SCHEDULE_ENABLED: 'true' } }).sync.schedule.enabled, true, 'the env var wins over the file');
});

t.test('whole numbers: digits only, in range; "12abc", "1e3", "2.5", "-1" are refused, not read as 12, 1, 2, -1', async (t) => {
  t.throws(() => loadHostConfig({ env: { RB_SYNC_MAX_RUNS: '0' } }), {
    code: 'CONFIG_INVALID',
    message: 'host config is invalid: sync.maxConcurrentRuns (env RB_SYNC_MAX_RUNS): must be a whole number from 1 to 1,000, got 0',
  });
  for (const value of ['12abc', '1e3', '2.5', '-1', '', ' ', '0x10', '4 4'])
    t.throws(
      () => loadHostConfig({ env: { RB_SYNC_MAX_RUNS: value } }),
      { message: `sync.maxConcurrentRuns (env RB_SYNC_MAX_RUNS): must be a whole number from 1 to 1,000, got ${JSON.stringify(value)}` },
      JSON.stringify(value),
    );
  t.equal(loadHostConfig({ env: { RB_SYNC_MAX_RUNS: ' 7 ' } }).sync.maxConcurrentRuns, 7);
  t.throws(() => loadHostConfig({ env: { RB_SOURCE_MAX_PACKAGE_BYTES: '9007199254740993' } }), {
    message: /sources\.maxPackageBytes \(env RB_SOURCE_MAX_PACKAGE_BYTES\): must be a whole number of at least 1, got 9007199254740992/,
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-cfg-'));
  const file = path.join(dir, 'host.json');
  writeFileSync(file, JSON.stringify({ sync: { batchSize: 2.5, retentionDays: '30' }, http: { port: true } }));
  t.throws(() => loadHostConfig({ file, env: {} }), {
    message: `host config is invalid: http.port (in ${file}; env RB_HTTP_PORT): must be a whole number from 0 to 65,535, got true; sync.batchSize (in ${file}; env RB_SYNC_BATCH_SIZE): must be a whole number from 1 to 100,000, got 2.5`,
    details: { keys: ['http.port', 'sync.batchSize'] },
  });
  writeFileSync(file, JSON.stringify({ sync: { retentionDays: '30' } }));
  t.equal(loadHostConfig({ file, env: {} }).sync.retentionDays, 30, 'a number written as a string in the file is read as the env var would be');
});

t.test('every numeric key has a range holding its default; one below and one above it are refused', async (t) => {
  const numeric = describeHostConfig().filter((d) => typeof d.default === 'number');
  t.equal(numeric.length, 28, 'the numeric keys');
  for (const d of numeric) {
    const range = /^(?:([\d,]+)–([\d,]+)|≥ ([\d,]+))$/.exec(d.values ?? '');
    t.ok(range, `${d.key} has a range (${d.values})`);
    const min = Number((range?.[1] ?? range?.[3] ?? '').replace(/,/g, ''));
    const max = range?.[2] ? Number(range[2].replace(/,/g, '')) : Number.MAX_SAFE_INTEGER;
    t.ok(min <= (d.default as number) && (d.default as number) <= max, `${d.key}: default ${d.default} within ${d.values}`);
    const taken = d.key.split('.').reduce<any>((node, part) => node[part], loadHostConfig({ env: { [d.env]: String(min) } }));
    t.equal(taken, min, `${d.key}: ${min} taken`);
    if (min > 0)
      t.throws(
        () => loadHostConfig({ env: { [d.env]: String(min - 1) } }),
        { code: 'CONFIG_INVALID', details: { keys: [d.key] } },
        `${d.key}: ${min - 1} refused`,
      );
    t.throws(
      () => loadHostConfig({ env: { [d.env]: (BigInt(max) + 1n).toString() } }),
      { code: 'CONFIG_INVALID', details: { keys: [d.key] } },
      `${d.key}: ${max} + 1 refused`,
    );
  }
  const booleans = describeHostConfig().filter((d) => typeof d.default === 'boolean');
  t.same(
    booleans.map((d) => [d.key, d.values]),
    [['sync.schedule.enabled', 'true, false, 1, 0']],
    'the one boolean key takes the strict spellings',
  );
});

t.test("the README's host configuration table lists every key with its env var, default and values", async (t) => {
  const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Host'), readme.indexOf('### A tenant'));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').trim()));
  const keys = describeHostConfig();
  t.same(rows.map((r) => r[0]).sort(), keys.map((d) => `\`${d.key}\``).sort(), 'one row per key');
  for (const d of keys) {
    const row = rows.find((r) => r[0] === `\`${d.key}\``);
    t.equal(row?.[1], `\`${d.env}\``, `${d.key}: env`);
    t.equal(
      row?.[3],
      d.values
        ? `${d.values
            .split(', ')
            .map((v) => `\`${v}\``)
            .join(', ')}`
        : '',
      `${d.key}: values`,
    );
    if (typeof d.default === 'number' || typeof d.default === 'boolean') t.match(row?.[2], new RegExp(`^\`${d.default}\``), `${d.key}: default`);
  }
});
