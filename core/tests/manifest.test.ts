import t from 'tap';
import { readManifest } from '@rosterbridge/core';

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

t.test('a good manifest is read with its contributions', async (t) => {
  const r = readManifest(good);
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.manifest.id, 'target-kybergate');
  t.equal(r.manifest.engine, '^1.0.0');
  t.same(r.manifest.contributes.targets[0]!.consumes, ['roster.users@1', 'roster.orgs@1']);
  t.same(r.manifest.contributes.schedules.default, { cron: '0 */6 * * *' });
  t.same(r.manifest.contributes.sources, []);
});

const cases: [string, (m: any) => void, string, RegExp][] = [
  ['no rosterbridge field', (m) => delete m.rosterbridge, 'rosterbridge', /not a Rosterbridge plugin/],
  ['an id that is not kebab-case', (m) => (m.rosterbridge.id = 'KyberGate'), 'rosterbridge.id', /kebab-case/],
  ['no engine range', (m) => delete m.engines, 'engines.rosterbridge', /semver range/],
  ['an unknown activation event', (m) => (m.rosterbridge.activationEvents = ['onTarget:kybergate', 'onFullMoon']), 'rosterbridge.activationEvents[1]', /not an activation event/],
  ['a self dependency', (m) => (m.rosterbridge.dependencies = ['target-kybergate']), 'rosterbridge.dependencies[0]', /itself/],
  ['an unknown contribution point', (m) => (m.rosterbridge.contributes.views = []), 'rosterbridge.contributes.views', /not a contribution point/],
  ['a target without versions', (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users']), 'rosterbridge.contributes.targets[0].consumes[0]', /with version/],
  ['a configuration that is not an object schema', (m) => (m.rosterbridge.contributes.configuration = { type: 'string' }), 'rosterbridge.contributes.configuration', /"type": "object"/],
  ['a bad cron', (m) => (m.rosterbridge.contributes.schedules.default = 'nightly'), 'rosterbridge.contributes.schedules.default', /cron/],
  ['a bad cron in a schedule object', (m) => (m.rosterbridge.contributes.schedules.default = { cron: 'nightly' }), 'rosterbridge.contributes.schedules.default.cron', /cron/],
  ['an unknown schedule key', (m) => (m.rosterbridge.contributes.schedules.default = { cron: '0 2 * * *', zone: 'UTC' }), 'rosterbridge.contributes.schedules.default.zone', /not a schedule key/],
  ['a time zone that is not a string', (m) => (m.rosterbridge.contributes.schedules.default = { cron: '0 2 * * *', timezone: 5 }), 'rosterbridge.contributes.schedules.default.timezone', /IANA/],
  ['time zones by region that are not names', (m) => (m.rosterbridge.contributes.schedules.evenings = { cron: '0 18 * * 2', timezoneByRegion: { US: 1 } }), 'rosterbridge.contributes.schedules.evenings.timezoneByRegion', /region codes/],
  ['a bad version', (m) => (m.version = '1.0'), 'version', /semver/],
];

t.test('a schedule object is read with its time zones', async (t) => {
  const m = structuredClone(good);
  m.rosterbridge.contributes.schedules = { default: { cron: '0 18 * * 2,5', timezoneByRegion: { US: 'America/Chicago' } }, nightly: { cron: '45 23 * * *', timezone: 'America/Chicago' } };
  const r = readManifest(m);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.manifest.contributes.schedules, { default: { cron: '0 18 * * 2,5', timezoneByRegion: { US: 'America/Chicago' } }, nightly: { cron: '45 23 * * *', timezone: 'America/Chicago' } });
});
for (const [name, mutate, field, message] of cases) {
  t.test(`refused: ${name}, naming ${field}`, async (t) => {
    const m = structuredClone(good);
    mutate(m);
    const r = readManifest(m);
    t.notOk(r.ok);
    if (r.ok) return;
    const p = r.problems.find((x) => x.field === field);
    t.ok(p, `problems: ${JSON.stringify(r.problems)}`);
    t.match(p?.message, message);
  });
}
