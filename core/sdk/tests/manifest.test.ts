import t from 'tap';
import { commandRefusal, readManifest } from '@rosterbridge/core';

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

t.test('a plugin runs in-process unless its manifest asks for a worker, with the memory limits it gives', async (t) => {
  const plain = readManifest(good);
  t.ok(plain.ok && plain.manifest.isolation === 'in-process', 'in-process by default');
  t.ok(plain.ok && plain.manifest.resourceLimits === undefined, 'no limits of its own');
  const worker = readManifest({ ...good, rosterbridge: { ...good.rosterbridge, isolation: 'worker', resourceLimits: { maxOldGenerationSizeMb: 64 } } });
  t.ok(worker.ok);
  if (!worker.ok) return;
  t.equal(worker.manifest.isolation, 'worker');
  t.same(worker.manifest.resourceLimits, { maxOldGenerationSizeMb: 64 });
});

const cases: [string, (m: any) => void, string, RegExp][] = [
  ['an unknown isolation', (m) => (m.rosterbridge.isolation = 'sandbox'), 'rosterbridge.isolation', /"sandbox" is not an isolation \(in-process, worker\)/],
  ['resource limits that are not an object', (m) => (m.rosterbridge.resourceLimits = 64), 'rosterbridge.resourceLimits', /must be an object/],
  [
    'an unknown resource limit',
    (m) => (m.rosterbridge.resourceLimits = { maxHeap: 64 }),
    'rosterbridge.resourceLimits.maxHeap',
    /is not a limit \(maxOldGenerationSizeMb, maxYoungGenerationSizeMb\)/,
  ],
  [
    'a memory limit that is not a whole number of MB',
    (m) => (m.rosterbridge.resourceLimits = { maxOldGenerationSizeMb: 0.5 }),
    'rosterbridge.resourceLimits.maxOldGenerationSizeMb',
    /must be a whole number of MB from 1 to 65536, got 0.5/,
  ],
  ['no rosterbridge field', (m) => delete m.rosterbridge, 'rosterbridge', /not a Rosterbridge plugin/],
  ['an id that is not kebab-case', (m) => (m.rosterbridge.id = 'KyberGate'), 'rosterbridge.id', /kebab-case/],
  ['no engine range', (m) => delete m.engines, 'engines.rosterbridge', /semver range/],
  [
    'an unknown activation event',
    (m) => (m.rosterbridge.activationEvents = ['onTarget:kybergate', 'onFullMoon']),
    'rosterbridge.activationEvents[1]',
    /not an activation event/,
  ],
  ['a self dependency', (m) => (m.rosterbridge.dependencies = ['target-kybergate']), 'rosterbridge.dependencies[0]', /itself/],
  ['an unknown contribution point', (m) => (m.rosterbridge.contributes.views = []), 'rosterbridge.contributes.views', /not a contribution point/],
  [
    'a target without versions',
    (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users']),
    'rosterbridge.contributes.targets[0].consumes[0]',
    /with version/,
  ],
  [
    'a configuration that is not an object schema',
    (m) => (m.rosterbridge.contributes.configuration = { type: 'string' }),
    'rosterbridge.contributes.configuration',
    /"type": "object"/,
  ],
  ['a bad cron', (m) => (m.rosterbridge.contributes.schedules.default = 'nightly'), 'rosterbridge.contributes.schedules.default', /cron/],
  [
    'a bad cron in a schedule object',
    (m) => (m.rosterbridge.contributes.schedules.default = { cron: 'nightly' }),
    'rosterbridge.contributes.schedules.default.cron',
    /cron/,
  ],
  [
    'an unknown schedule key',
    (m) => (m.rosterbridge.contributes.schedules.default = { cron: '0 2 * * *', zone: 'UTC' }),
    'rosterbridge.contributes.schedules.default.zone',
    /not a schedule key/,
  ],
  [
    'a time zone that is not a string',
    (m) => (m.rosterbridge.contributes.schedules.default = { cron: '0 2 * * *', timezone: 5 }),
    'rosterbridge.contributes.schedules.default.timezone',
    /IANA/,
  ],
  [
    'time zones by region that are not names',
    (m) => (m.rosterbridge.contributes.schedules.evenings = { cron: '0 18 * * 2', timezoneByRegion: { US: 1 } }),
    'rosterbridge.contributes.schedules.evenings.timezoneByRegion',
    /region codes/,
  ],
  ['a bad version', (m) => (m.version = '1.0'), 'version', /semver/],
  ['a command that is not a list', (m) => (m.rosterbridge.contributes.commands = {}), 'rosterbridge.contributes.commands', /must be an array/],
  [
    'a command id without a prefix',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'startYear', title: 'Start' }]),
    'rosterbridge.contributes.commands[0].id',
    /command id/,
  ],
  [
    'a command id with a space',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.start year', title: 'Start' }]),
    'rosterbridge.contributes.commands[0].id',
    /command id/,
  ],
  [
    'a command id given twice',
    (m) =>
      (m.rosterbridge.contributes.commands = [
        { id: 'kybergate.sync', title: 'A' },
        { id: 'kybergate.sync', title: 'B' },
      ]),
    'rosterbridge.contributes.commands[1].id',
    /contributed twice/,
  ],
  [
    'a command without a title',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.sync' }]),
    'rosterbridge.contributes.commands[0].title',
    /non-empty string/,
  ],
  [
    'a command title too long',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.sync', title: 'x'.repeat(101) }]),
    'rosterbridge.contributes.commands[0].title',
    /at most 100/,
  ],
  [
    'command arguments that are not an object schema',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.sync', title: 'Sync', arguments: { type: 'string' } }]),
    'rosterbridge.contributes.commands[0].arguments',
    /"type": "object"/,
  ],
  [
    'an argument schema too large',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.sync', title: 'Sync', arguments: { type: 'object', description: 'x'.repeat(17000) } }]),
    'rosterbridge.contributes.commands[0].arguments',
    /at most 16384/,
  ],
  [
    'an unknown command key',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.sync', title: 'Sync', when: 'always' }]),
    'rosterbridge.contributes.commands[0].when',
    /not a command key/,
  ],
  [
    'a readOnly that is not a boolean',
    (m) => (m.rosterbridge.contributes.commands = [{ id: 'kybergate.sync', title: 'Sync', readOnly: 'yes' }]),
    'rosterbridge.contributes.commands[0].readOnly',
    /boolean/,
  ],
  [
    'too many commands',
    (m) => (m.rosterbridge.contributes.commands = Array.from({ length: 51 }, (_, i) => ({ id: `kybergate.c${i}`, title: 'C' }))),
    'rosterbridge.contributes.commands',
    /at most 50/,
  ],
  [
    'an onCommand event without a command id',
    (m) => (m.rosterbridge.activationEvents = ['onCommand:sync']),
    'rosterbridge.activationEvents[0]',
    /not an activation event/,
  ],
];

t.test('change contracts name a roster entity and a positive version, each refused with a code and its field', async (t) => {
  const refused: [string, (m: any) => void, string, string, RegExp][] = [
    [
      'an unknown entity',
      (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users@1', 'roster.widgets@7']),
      'rosterbridge.contributes.targets[0].consumes[1]',
      'CONTRACT_UNKNOWN_ENTITY',
      /"roster\.widgets@7" names no roster entity \(orgs, academicSessions/,
    ],
    [
      'version 0',
      (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users@0']),
      'rosterbridge.contributes.targets[0].consumes[0]',
      'CONTRACT_BAD_VERSION',
      /positive integer/,
    ],
    [
      'a leading zero',
      (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users@01']),
      'rosterbridge.contributes.targets[0].consumes[0]',
      'CONTRACT_BAD_VERSION',
      /without leading zeros/,
    ],
    [
      'no version',
      (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users']),
      'rosterbridge.contributes.targets[0].consumes[0]',
      'CONTRACT_MALFORMED',
      /with version/,
    ],
    [
      'a contract twice',
      (m) => (m.rosterbridge.contributes.targets[0].consumes = ['roster.users@1', 'roster.users@1']),
      'rosterbridge.contributes.targets[0].consumes[1]',
      'CONTRACT_MALFORMED',
      /listed twice/,
    ],
    [
      'an empty consumes',
      (m) => (m.rosterbridge.contributes.targets[0].consumes = []),
      'rosterbridge.contributes.targets[0].consumes',
      'CONTRACT_MALFORMED',
      /must list/,
    ],
    [
      'a source without produces',
      (m) => (m.rosterbridge.contributes.sources = [{ id: 'csv' }]),
      'rosterbridge.contributes.sources[0].produces',
      'CONTRACT_MALFORMED',
      /must list the change contracts it produces/,
    ],
    [
      'a source producing an unknown entity',
      (m) => (m.rosterbridge.contributes.sources = [{ id: 'csv', produces: ['roster.Users@1'] }]),
      'rosterbridge.contributes.sources[0].produces[0]',
      'CONTRACT_UNKNOWN_ENTITY',
      /names no roster entity/,
    ],
  ];
  for (const [name, mutate, field, code, message] of refused) {
    const m = structuredClone(good) as any;
    mutate(m);
    const r = readManifest(m);
    t.equal(r.ok, false, name);
    if (r.ok) continue;
    t.same(
      r.problems.map((p) => p.field),
      [field],
      `${name}: names ${field}`,
    );
    t.equal(r.problems[0]!.code, code, `${name}: ${code}`);
    t.match(r.problems[0]!.message, message, name);
  }
  const m = structuredClone(good) as any;
  m.rosterbridge.contributes.sources = [{ id: 'csv', produces: ['roster.orgs@1', 'roster.users@1'] }];
  m.rosterbridge.contributes.targets[0].consumes = ['roster.users@2'];
  const r = readManifest(m);
  t.equal(r.ok, true, 'a later version is a valid name: whether anything delivers it is settled at activation');
  t.same(r.ok && r.manifest.contributes.sources[0]!.produces, ['roster.orgs@1', 'roster.users@1']);
});

t.test('commands are read with their argument schemas; one without arguments takes none', async (t) => {
  const m = structuredClone(good) as any;
  m.rosterbridge.activationEvents = ['onTarget:kybergate', 'onCommand:kybergate.resendInvites'];
  m.rosterbridge.contributes.commands = [
    {
      id: 'kybergate.resendInvites',
      title: 'Resend invites',
      description: 'To every staff member.',
      arguments: { type: 'object', properties: { school: { type: 'string' } } },
    },
    { id: 'kybergate.countUsers', title: 'Count users', readOnly: true },
  ];
  const r = readManifest(m);
  t.equal(r.ok, true, JSON.stringify(r.ok ? [] : r.problems));
  t.same(r.ok && r.manifest.contributes.commands, [
    {
      id: 'kybergate.resendInvites',
      title: 'Resend invites',
      description: 'To every staff member.',
      arguments: { type: 'object', properties: { school: { type: 'string' } } },
      readOnly: false,
    },
    { id: 'kybergate.countUsers', title: 'Count users', arguments: { type: 'object', additionalProperties: false, properties: {} }, readOnly: true },
  ]);
  t.same(r.ok && r.manifest.activationEvents, ['onTarget:kybergate', 'onCommand:kybergate.resendInvites']);
  const none = readManifest(good);
  t.same(none.ok && none.manifest.contributes.commands, [], 'a plugin without commands has an empty list');
});

t.test("a product's refusal of a command is COMMAND_REFUSED with its own code and argument", async (t) => {
  const refusal = commandRefusal('KYBERGATE_SCHOOL_UNKNOWN', 'no such school', { argument: 'school' });
  t.match(refusal, {
    code: 'COMMAND_REFUSED',
    status: 422,
    message: 'no such school',
    details: { productCode: 'KYBERGATE_SCHOOL_UNKNOWN', argument: 'school' },
  });
});

t.test('a schedule object is read with its time zones', async (t) => {
  const m = structuredClone(good);
  m.rosterbridge.contributes.schedules = {
    default: { cron: '0 18 * * 2,5', timezoneByRegion: { US: 'America/Chicago' } },
    nightly: { cron: '45 23 * * *', timezone: 'America/Chicago' },
  };
  const r = readManifest(m);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.manifest.contributes.schedules, {
    default: { cron: '0 18 * * 2,5', timezoneByRegion: { US: 'America/Chicago' } },
    nightly: { cron: '45 23 * * *', timezone: 'America/Chicago' },
  });
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
