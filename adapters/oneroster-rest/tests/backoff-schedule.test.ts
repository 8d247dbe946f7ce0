import t from 'tap';
import { backoffDelay, parseRetryAfter } from '../src/index';

t.test('exponential with equal jitter, capped', async (t) => {
  const low = { baseMs: 500, maxMs: 30_000, random: () => 0 };
  const high = { baseMs: 500, maxMs: 30_000, random: () => 0.999999 };
  const expected = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
  expected.forEach((step, i) => {
    t.equal(backoffDelay(i + 1, low), step / 2, `retry ${i + 1} waits at least half its step`);
    t.equal(backoffDelay(i + 1, high), step, `retry ${i + 1} waits at most its step`);
  });
  const samples = new Set(Array.from({ length: 50 }, () => backoffDelay(3, { baseMs: 500 })));
  t.ok(samples.size > 10, 'jitter spreads the waits');
  for (const sample of samples) t.ok(sample >= 1000 && sample <= 2000);
});

t.test('reads Retry-After as seconds or as an HTTP date', async (t) => {
  const now = Date.parse('2024-09-01T00:00:00Z');
  t.equal(parseRetryAfter('2', now), 2000);
  t.equal(parseRetryAfter(' 0 ', now), 0);
  t.equal(parseRetryAfter('1.5', now), 1500);
  t.equal(parseRetryAfter(['3', '9'], now), 3000);
  t.equal(parseRetryAfter('Sun, 01 Sep 2024 00:00:30 GMT', now), 30_000);
  t.equal(parseRetryAfter('Sat, 31 Aug 2024 23:00:00 GMT', now), 0, 'a past date means now');
  t.equal(parseRetryAfter(undefined, now), undefined);
  t.equal(parseRetryAfter('soon', now), undefined);
  t.equal(parseRetryAfter('-5', now), undefined);
});
