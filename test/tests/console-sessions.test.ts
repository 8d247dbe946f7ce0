import t from 'tap';
import type { ConsoleSessions as Sessions } from '../../host/src/console/console-sessions';

// The console's session store is bounded: at most so many sessions (the least recently used goes
// first), each ending after a while unused or a longer while in all, and on sign-out.

// The built module, as the host runs it (host/dist, which `npm run build` makes before the tests).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ConsoleSessions } = require('@rosterbridge/host/dist/console/console-sessions') as { ConsoleSessions: typeof Sessions };

const principal = (name: string) => ({ name, role: 'admin' as const });

t.test('a session ends after its idle time, or its age, whichever comes first; sign-out ends it at once', async (t) => {
  let now = 1_000_000;
  const sessions = new ConsoleSessions({ maxSessions: 10, idleMs: 1000, maxAgeMs: 5000 }, () => now);
  const a = sessions.open(principal('a'), 'token-a');
  t.match(a.id, /^[A-Za-z0-9_-]{43}$/, 'a 256-bit random id');
  t.not(a.id, sessions.open(principal('b'), 'token-b').id, 'ids differ');
  now += 999;
  t.equal(sessions.get(a.id)?.principal.name, 'a', 'used within its idle time');
  now += 999;
  t.ok(sessions.get(a.id), 'each use restarts the idle time');
  now += 1001;
  t.equal(sessions.get(a.id), undefined, 'unused for longer: gone');

  const c = sessions.open(principal('c'), 'token-c');
  for (let i = 0; i < 6; i++) {
    now += 900;
    if (i < 5) t.ok(sessions.get(c.id), `in use at ${(i + 1) * 900} ms`);
  }
  t.equal(sessions.get(c.id), undefined, 'past its age, even in use');

  const d = sessions.open(principal('d'), 'token-d');
  sessions.close(d.id);
  t.equal(sessions.get(d.id), undefined, 'signed out');
  t.equal(sessions.get(undefined), undefined);
  t.equal(sessions.get('x'.repeat(101)), undefined, 'an overlong id is no session');
});

t.test('at most maxSessions: the least recently used is dropped to make room', async (t) => {
  const now = 0;
  const sessions = new ConsoleSessions({ maxSessions: 3, idleMs: 60_000, maxAgeMs: 60_000 }, () => now);
  const [s1, s2, s3] = [1, 2, 3].map((i) => sessions.open(principal(`s${i}`), `token-${i}`));
  sessions.get(s1!.id); // s1 used: s2 is now the least recently used
  const s4 = sessions.open(principal('s4'), 'token-4');
  t.equal(sessions.size, 3, 'never more than 3');
  t.equal(sessions.get(s2!.id), undefined, 's2 dropped');
  for (const s of [s1!, s3!, s4]) t.ok(sessions.get(s.id), `${s.principal.name} kept`);
  for (let i = 0; i < 100; i++) sessions.open(principal(`x${i}`), `token-x${i}`);
  t.equal(sessions.size, 3, 'still 3 after 100 more');
});
