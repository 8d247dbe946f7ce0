import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { startTestHost } from '@rosterbridge/test-kit';

// Finding 2 of issue 15: `{"file": "../../../../etc/hostname"}`, `{"file": "/etc/passwd"}` and
// `{"env": "RB_API_TOKENS"}` passed `config check` and the host sent what they named to the
// tenant's server as credentials. A reference is confined to the secrets folder (symbolic links
// followed) and to env vars with the allowed prefix, never the host's own; a secret under 8
// characters is refused. Each refusal names the key.

const CLI = path.resolve(__dirname, '../../host/dist/cli/main.js');
const PLUGINS = path.resolve(__dirname, '../../plugins');
const ADMIN = 'adm-Wq4Zx8Pn2Lc6Vb1Tr9';
const CONSUMER_SECRET = 'cs-Jm5Hk9Rw2Qx7Nd3';
const OUTSIDE = 'os-Yb6Pv1Lz8Kc4Mf0';
const SMTP_PASSWORD = 'smtp-Gx2Tn7Wq5Ld9';

function setup() {
  const root = mkdtempSync(path.join(tmpdir(), 'rb-secret-refs-'));
  const tenants = path.join(root, 'tenants');
  const secrets = path.join(tenants, 'secrets');
  mkdirSync(secrets, { recursive: true });
  writeFileSync(path.join(secrets, 'consumer.secret'), `${CONSUMER_SECRET}\n`);
  writeFileSync(path.join(secrets, 'short.secret'), 'abc1234\n');
  writeFileSync(path.join(root, 'outside.secret'), OUTSIDE);
  symlinkSync(path.join(root, 'outside.secret'), path.join(secrets, 'link.secret'));
  symlinkSync(path.join(secrets, 'consumer.secret'), path.join(secrets, 'inner-link.secret'));
  const tenant = (id: string, consumerSecret: unknown, targets: unknown[] = []) =>
    writeFileSync(
      path.join(tenants, `${id}.json`),
      JSON.stringify({
        displayName: id,
        timezone: 'America/Chicago',
        source: {
          id: 'classlink',
          settings: { baseUrl: 'http://127.0.0.1:9/ims/oneroster/v1p1', auth: { mode: 'oauth1', consumerKey: 'the-key', consumerSecret } },
        },
        targets,
      }),
    );
  tenant('good', { file: 'consumer.secret' });
  tenant('good-absolute', { file: path.join(secrets, 'consumer.secret') });
  tenant('good-env', { env: 'ROSTERBRIDGE_SECRET_REFS_CONSUMER' });
  tenant('good-inner-link', { file: 'inner-link.secret' });
  tenant('up-and-out', { file: '../../../../etc/hostname' });
  tenant('absolute-out', { file: '/etc/passwd' });
  tenant('through-link', { file: 'link.secret' });
  tenant('host-tokens', { env: 'RB_API_TOKENS' });
  tenant('other-env', { env: 'HOME' });
  tenant('short-file', { file: 'short.secret' });
  tenant('short-env', { env: 'ROSTERBRIDGE_SECRET_REFS_SHORT' });
  tenant('not-there-yet', { env: 'ROSTERBRIDGE_SECRET_REFS_LATER' });
  tenant('target-key', { file: 'consumer.secret' }, [
    { id: 'kybergate', settings: { notifications: { from: 'rb@example.org', smtp: { host: '127.0.0.1', user: 'rb', password: { env: 'SMTP_PASSWORD' } } } } },
  ]);
  const env = {
    ROSTERBRIDGE_SECRET_REFS_CONSUMER: CONSUMER_SECRET,
    ROSTERBRIDGE_SECRET_REFS_SHORT: 'xyz9876',
    SMTP_PASSWORD,
    RB_API_TOKENS: JSON.stringify([{ name: 'ops', token: ADMIN, role: 'admin' }]),
  };
  return { root, tenants, secrets, env };
}

/** What each refused tenant must be told: the key, and why. */
const REFUSED: Record<string, RegExp> = {
  'up-and-out':
    /source\.settings\.auth\.consumerSecret: secret file \.\.\/\.\.\/\.\.\/\.\.\/etc\/hostname is outside the secrets folder .*\(host config secrets\.dir\)/,
  'absolute-out': /source\.settings\.auth\.consumerSecret: secret file \/etc\/passwd is outside the secrets folder/,
  'through-link': /source\.settings\.auth\.consumerSecret: secret file link\.secret leads outside the secrets folder .* through a symbolic link/,
  'host-tokens':
    /source\.settings\.auth\.consumerSecret: environment variable RB_API_TOKENS is the host's own configuration, which no tenant may read; name one that starts with ROSTERBRIDGE_SECRET_/,
  'other-env':
    /source\.settings\.auth\.consumerSecret: environment variable HOME may not hold a tenant secret: its name must start with ROSTERBRIDGE_SECRET_ \(host config secrets\.envPrefixes\)/,
  'short-file': /source\.settings\.auth\.consumerSecret: the secret from file short\.secret has 7 characters; secrets must have at least 8/,
  'short-env': /source\.settings\.auth\.consumerSecret: the secret from env ROSTERBRIDGE_SECRET_REFS_SHORT has 7 characters; secrets must have at least 8/,
  'target-key': /targets\[0\]\.settings\.notifications\.smtp\.password: environment variable SMTP_PASSWORD may not hold a tenant secret/,
};
const ACCEPTED = ['good', 'good-absolute', 'good-env', 'good-inner-link', 'not-there-yet'];

t.test('config check refuses references outside the secrets folder and the allowed env vars, and short secrets, naming the key', async (t) => {
  const { root, tenants, env } = setup();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [CLI, 'config', 'check'], {
    env: { PATH: process.env.PATH, RB_PLUGIN_DIRS: PLUGINS, RB_TENANTS_DIR: tenants, ...env },
    encoding: 'utf8',
  });
  t.equal(r.status, 1, r.stderr);
  for (const [id, problem] of Object.entries(REFUSED)) t.match(r.stdout, new RegExp(`^tenant ${id}: \\S+ ${problem.source}`, 'm'), id);
  for (const id of ACCEPTED) t.match(r.stdout, new RegExp(`^tenant ${id}: ok$`, 'm'), `${id} is fine`);
  t.match(r.stdout, `config check found ${Object.keys(REFUSED).length} problem(s)`);
  const printed = r.stdout + r.stderr;
  for (const value of [CONSUMER_SECRET, OUTSIDE, SMTP_PASSWORD, ADMIN, 'abc1234', 'xyz9876', readFileSync('/etc/passwd', 'utf8').split('\n')[0]!])
    t.notMatch(printed, value, 'no value is printed');
});

t.test("a secrets folder and prefixes of the operator's choosing", async (t) => {
  const { root, tenants, secrets, env } = setup();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const run = (extra: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [CLI, 'config', 'check'], {
      env: { PATH: process.env.PATH, RB_PLUGIN_DIRS: PLUGINS, RB_TENANTS_DIR: tenants, ...env, ...extra },
      encoding: 'utf8',
    });
  const moved = run({ RB_SECRETS_DIR: root, RB_SECRETS_ENV_PREFIXES: 'SMTP_,ROSTERBRIDGE_SECRET_' });
  t.match(moved.stdout, /^tenant through-link: ok$/m, 'the file behind the link is inside the secrets folder now');
  t.match(moved.stdout, /^tenant target-key: ok$/m, 'SMTP_ is an allowed prefix now');
  t.match(moved.stdout, /^tenant good: \S+ source\.settings\.auth\.consumerSecret: secret file consumer\.secret cannot be read|^tenant good: ok$/m);
  t.match(
    moved.stdout,
    /^tenant host-tokens: \S+ source\.settings\.auth\.consumerSecret: environment variable RB_API_TOKENS is the host's own configuration/m,
    'whatever the prefixes',
  );
  t.match(moved.stdout, new RegExp(`^tenant good-absolute: ok$`, 'm'), `${secrets} lies inside ${root}`);
  const bad = run({ RB_SECRETS_ENV_PREFIXES: 'RB_' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /CONFIG_INVALID: .*secrets\.envPrefixes.*would let tenants name the host's own env vars/);
});

t.test('a running host refuses the same tenants, and checks again when the secret is used', async (t) => {
  const { root, tenants, secrets, env } = setup();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const th = await startTestHost({ pluginDirs: [PLUGINS], tenantsDir: tenants, tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] });
  t.teardown(async () => {
    await th.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(root, { recursive: true, force: true });
  });
  const call = async (method: string, url: string) => {
    const res = await fetch(th.host.url + url, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) };
  };
  const listed = await call('GET', '/tenants');
  const byId = Object.fromEntries(
    (listed.body.tenants as { id: string; status: string; problems?: { key: string; message: string }[] }[]).map((x) => [x.id, x]),
  );
  for (const [id, problem] of Object.entries(REFUSED)) {
    t.equal(byId[id]?.status, 'invalid', `${id} is invalid`);
    t.match(byId[id]?.problems?.map((p) => `${p.key}: ${p.message}`).join('\n'), problem, `${id}: naming the key`);
    const check = await call('POST', `/tenants/${id}/source/check`);
    t.equal(check.status, 422, `${id}: its check is refused`);
    t.equal(check.body.error.code, 'TENANT_CONFIG_INVALID');
  }
  for (const id of ACCEPTED) t.equal(byId[id]?.status, 'valid', `${id} is valid`);
  t.notMatch(listed.text, CONSUMER_SECRET);
  t.notMatch(listed.text, OUTSIDE);

  await t.test('at use: a secret not there yet, a file swapped for a link out, a value cut short', async (t) => {
    const later = await call('POST', '/tenants/not-there-yet/source/check');
    t.equal(later.status, 422);
    t.match(later.body.error, {
      code: 'SECRET_UNRESOLVED',
      message: /source\.settings\.auth\.consumerSecret: environment variable ROSTERBRIDGE_SECRET_REFS_LATER is not set/,
    });
    unlinkSync(path.join(secrets, 'consumer.secret'));
    symlinkSync(path.join(root, 'outside.secret'), path.join(secrets, 'consumer.secret'));
    const swapped = await call('POST', '/tenants/good/source/check');
    t.equal(swapped.status, 422);
    t.match(swapped.body.error, {
      code: 'SECRET_NOT_ALLOWED',
      message: /source\.settings\.auth\.consumerSecret: secret file consumer\.secret leads outside the secrets folder/,
    });
    const run = await th.host.syncs.settled((await th.host.syncs.trigger('good', { trigger: 'test' })).id);
    t.match(run, { status: 'failed', errorCode: 'SECRET_NOT_ALLOWED' }, 'a run with the swapped file fails, coded');
    unlinkSync(path.join(secrets, 'consumer.secret'));
    writeFileSync(path.join(secrets, 'consumer.secret'), 'tiny');
    const short = await call('POST', '/tenants/good/source/check');
    t.match(short.body.error, {
      code: 'SECRET_TOO_SHORT',
      message: /source\.settings\.auth\.consumerSecret: the secret from file consumer\.secret has 4 characters/,
    });
    t.notMatch(th.logs(), OUTSIDE, 'the file out of bounds was never read');
  });
});
