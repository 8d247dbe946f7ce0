import t from 'tap';
import type { Kysely } from 'kysely';
import {
  type Org,
  type RosterChange,
  type RosterChangeEvent,
  type RosterChangeKind,
  type RosterEntity,
  type RosterRecord,
  type TargetEntityHooks,
  type User,
  RosterContracts,
  TargetSessionBase,
  changesOf,
  consecutiveRuns,
  foldChanges,
  isRosterWrite,
  parseRosterContract,
  rosterChange,
  unmetContracts,
  describeUnmetContracts,
} from '@rosterbridge/core';

let seq = 0;
/** A change of the log, as the engine builds it (version 1). */
function change<E extends RosterEntity>(entity: E, kind: RosterChangeKind, sourcedId: string, record: Partial<RosterRecord<E>> = {}): RosterChange<E> {
  seq++;
  return rosterChange({
    id: `t:${seq}`,
    tenantId: 't',
    runId: 'r',
    source: 'csv',
    occurredAt: '2026-01-01T00:00:00.000Z',
    seq,
    data: { entity, kind, sourcedId, record: { sourcedId, ...record } as RosterRecord<E> },
  });
}

t.test('a change names its entity, kind and version; narrowing on the entity types the record', async (t) => {
  const batch: RosterChange[] = [change('users', 'created', 'u1', { email: 'a@b.c' }), change('orgs', 'deleted', 'o1', { name: 'Lincoln' })];
  t.equal(batch[0]!.type, 'roster.users.changed@1');
  t.equal(batch[1]!.type, 'roster.orgs.deleted@1', 'a deletion is deleted@, with the last known record');
  const emails: (string | undefined)[] = [];
  const names: string[] = [];
  for (const c of batch) {
    // No casts: `c.data.record` is a User here, an Org there.
    if (c.data.entity === 'users') emails.push(c.data.record.email);
    else if (c.data.entity === 'orgs') names.push(c.data.record.name);
  }
  t.same(emails, ['a@b.c']);
  t.same(names, ['Lincoln']);
  const user: User | undefined = batch.map((c) => (c.data.entity === 'users' ? c.data.record : undefined)).find(Boolean);
  t.equal(user?.sourcedId, 'u1');
  // The old name still names the same thing, generic by entity.
  const old: RosterChangeEvent<'orgs'> = change('orgs', 'updated', 'o2');
  const org: Org = old.data.record;
  t.equal(org.sourcedId, 'o2');
  t.equal(rosterChange(old, 3).type, 'roster.orgs.changed@3');
  t.ok(isRosterWrite(old));
  t.notOk(isRosterWrite(batch[1]!));
});

t.test('foldChanges keeps the last change of each record, grouped by entity in apply order, and says whether all are new', async (t) => {
  const batch = [
    change('users', 'created', 'u1'),
    change('orgs', 'created', 'o1'),
    change('users', 'created', 'u2'),
    change('users', 'updated', 'u1', { email: 'later@x' }),
    change('enrollments', 'deleted', 'e1'),
  ];
  const folded = foldChanges(batch);
  t.same(folded.entities, ['orgs', 'users', 'enrollments'], 'referential order');
  t.same(
    folded.changes('users').map((c) => [c.data.sourcedId, c.data.kind]),
    [
      ['u2', 'created'],
      ['u1', 'updated'],
    ],
    "u1's last change comes after u2's: apply (seq) order of the last changes",
  );
  t.equal(folded.changes('users')[1]!.data.record.email, 'later@x');
  t.same(folded.changes('courses'), [], 'an entity without changes is an empty list');
  t.equal(folded.byEntity.courses, undefined);
  t.equal(folded.superseded, 1);
  t.equal(folded.allNew, false);
  const creations = foldChanges([change('users', 'created', 'a'), change('orgs', 'created', 'b')]);
  t.equal(creations.allNew, true, 'only creations: all new');
  t.equal(foldChanges([change('users', 'created', 'a'), change('users', 'deleted', 'a')]).allNew, false, 'a deletion folded away still counts');
  t.equal(foldChanges([]).allNew, true);
});

t.test('consecutiveRuns splits by entity and direction, in order, keeping the last change of each record', async (t) => {
  const runs = consecutiveRuns([
    change('orgs', 'created', 'o1'),
    change('orgs', 'updated', 'o1'),
    change('users', 'created', 'u1'),
    change('users', 'deleted', 'u2'),
    change('users', 'deleted', 'u3'),
    change('orgs', 'updated', 'o2'),
  ]);
  t.same(
    runs.map((r) => [r.entity, r.deleted, r.changes.map((c) => c.data.sourcedId), r.superseded]),
    [
      ['orgs', false, ['o1'], 1],
      ['users', false, ['u1'], 0],
      ['users', true, ['u2', 'u3'], 0],
      ['orgs', false, ['o2'], 0],
    ],
  );
  const first = runs[0]!;
  if (first.entity === 'orgs' && !first.deleted) t.equal(first.changes[0]!.data.kind, 'updated', 'the last change of o1');
});

t.test('changesOf picks the changes of one entity, in order, typed by it', async (t) => {
  const batch: RosterChange[] = [
    change('users', 'created', 'u1', { email: 'a@b.c' }),
    change('orgs', 'created', 'o1', { name: 'Lincoln' }),
    change('users', 'deleted', 'u2', { email: 'd@e.f' }),
  ];
  const users = changesOf(batch, 'users');
  // No narrowing needed: the record of each is a User.
  t.same(
    users.map((c) => [c.data.sourcedId, c.data.kind, c.data.record.email]),
    [
      ['u1', 'created', 'a@b.c'],
      ['u2', 'deleted', 'd@e.f'],
    ],
  );
  const orgs: RosterChange<'orgs'>[] = changesOf(batch, 'orgs');
  t.same(
    orgs.map((c) => c.data.record.name),
    ['Lincoln'],
  );
  t.same(changesOf(batch, 'enrollments'), [], 'an entity without changes: none');
});

t.test('TargetSessionBase calls typed hooks: writes in referential order, deletions in reverse, in the batch transaction', async (t) => {
  const calls: string[] = [];
  const trx = { marker: 'trx' } as unknown as Kysely<any>;
  class Session extends TargetSessionBase {
    protected readonly db = {} as Kysely<any>;
    resets = 0;
    protected readonly hooks: TargetEntityHooks = {
      users: {
        write: async (changes, context) => {
          t.equal(context.trx, trx, "the engine's transaction");
          calls.push(`write users ${changes.map((c) => `${c.data.sourcedId}:${c.data.record.email ?? '-'}`).join(',')} allNew=${context.batch.allNew}`);
          return {
            counts: { created: changes.filter((c) => c.data.kind === 'created').length, updated: changes.filter((c) => c.data.kind === 'updated').length },
          };
        },
        delete: async (changes) => {
          calls.push(`delete users ${changes.map((c) => c.data.record.sourcedId).join(',')}`);
          return { counts: { deleted: changes.length }, issues: [{ severity: 'warning', code: 'USERS_GONE', message: 'gone', entity: 'users' }] };
        },
      },
      orgs: {
        write: async (changes) => void calls.push(`write orgs ${changes.map((c) => c.data.record.sourcedId).join(',')}`),
        delete: async (changes) => void calls.push(`delete orgs ${changes.length}`),
      },
      enrollments: { delete: async (changes) => void calls.push(`delete enrollments ${changes.length}`) },
    };
    async reset(): Promise<void> {
      this.resets++;
    }
  }
  const session = new Session();
  const result = await session.apply(
    [
      change('users', 'created', 'u1', { email: 'a@x' }),
      change('enrollments', 'deleted', 'e1'),
      change('orgs', 'deleted', 'o9'),
      change('orgs', 'created', 'o1'),
      change('users', 'deleted', 'u2'),
      change('users', 'updated', 'u1', { email: 'b@x' }),
      change('courses', 'created', 'c1'),
    ],
    new AbortController().signal,
    { transaction: (work) => work(trx) },
  );
  t.same(calls, ['write orgs o1', 'write users u1:b@x allNew=false', 'delete enrollments 1', 'delete users u2', 'delete orgs 1']);
  t.same(result.counts, { users: { created: 0, updated: 1, deleted: 1 } }, 'entities without counts (or without hooks) report none');
  t.equal(result.issues.length, 1);
  t.equal(await session.dispose(), undefined);
  t.notOk('pausedReason' in session || 'finish' in session, 'no pause and no finish unless a product adds them');
});

t.test('the contract registry: version 1 always, others only through an adapter, refused when nothing derives them', async (t) => {
  t.same(parseRosterContract('roster.users@2'), { ok: true, contract: { entity: 'users', version: 2 } });
  t.match(parseRosterContract('roster.widgets@7'), { ok: false, code: 'CONTRACT_UNKNOWN_ENTITY' });
  const contracts = new RosterContracts();
  t.same(contracts.versions('users'), [1]);
  const unmet = unmetContracts('fixture-v2', ['roster.users@2', 'roster.orgs@1'], ['roster.users@1', 'roster.orgs@1'], contracts);
  t.same(unmet, [{ target: 'fixture-v2', contract: 'roster.users@2', produced: ['roster.users@1'] }]);
  t.equal(describeUnmetContracts(unmet), 'target fixture-v2 consumes roster.users@2, which no installed source produces (sources produce roster.users@1)');
  t.same(unmetContracts('t', ['roster.demographics@1'], ['roster.users@1'], contracts), [], 'an entity no source produces is no version conflict');
  t.throws(() => contracts.deliver(change('users', 'created', 'u1'), 2), /no adapter derives roster\.users@2/);

  const registration = contracts.register('users', 2, (c) => ({ ...c.data.record, fullName: `${c.data.record.givenName} ${c.data.record.familyName}` }));
  t.same(contracts.versions('users'), [1, 2]);
  t.same(contracts.versions('orgs'), [1]);
  t.same(unmetContracts('fixture-v2', ['roster.users@2'], ['roster.users@1'], contracts), [], 'derived from version 1');
  t.same(unmetContracts('fixture-v2', ['roster.users@2'], ['roster.orgs@1', 'roster.users@3'], contracts).length, 1, 'no version 1 to derive from');
  t.throws(() => contracts.register('users', 2, (c) => c.data.record), /registered already/);
  t.throws(() => contracts.register('users', 1, (c) => c.data.record), /from 2 on/);
  const v1 = change('users', 'deleted', 'u1', { givenName: 'Ada', familyName: 'Lovelace' });
  const v2 = contracts.deliver(v1, 2);
  t.equal(v2.type, 'roster.users.deleted@2');
  t.match(v2.data, { entity: 'users', kind: 'deleted', sourcedId: 'u1', record: { fullName: 'Ada Lovelace' } });
  t.equal(v2.id, v1.id, 'the envelope stays');
  t.equal(contracts.deliver(v1, 1), v1, 'version 1 is delivered as it is');
  registration.dispose();
  t.same(contracts.versions('users'), [1]);
  t.equal(unmetContracts('fixture-v2', ['roster.users@2'], ['roster.users@1'], contracts).length, 1, 'taken back');
});
