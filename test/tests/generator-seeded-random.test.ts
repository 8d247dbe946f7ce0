import t from 'tap';
import { deriveSeed, mix32, normalizeSeed, SeededRandom, unitFromSeed } from '@rosterbridge/test-kit';

t.test('SeededRandom is a fixed sequence per seed, uniform, within bounds', async (t) => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const first = Array.from({ length: 5 }, () => a.nextUint32());
  t.same(
    first,
    Array.from({ length: 5 }, () => b.nextUint32()),
    'same seed, same sequence',
  );
  t.notSame(
    first,
    Array.from({ length: 5 }, () => new SeededRandom(43).nextUint32()),
    'another seed, another sequence',
  );
  // mulberry32's published first output for seed 0.
  t.equal(new SeededRandom(0).next(), 0.26642920868471265);
  const random = new SeededRandom(7);
  const buckets = new Array(10).fill(0);
  let outOfRange = 0;
  for (let i = 0; i < 100_000; i++) {
    const n = random.int(10);
    if (!(Number.isInteger(n) && n >= 0 && n < 10)) outOfRange++;
    else buckets[n]++;
  }
  t.equal(outOfRange, 0, 'int(10) stays in 0…9');
  const chiSquare = buckets.reduce((sum, count) => sum + (count - 10_000) ** 2 / 10_000, 0);
  t.ok(chiSquare < 30, `uniform enough (chi-square ${chiSquare.toFixed(1)} with 9 degrees of freedom)`);
  const between = Array.from({ length: 1000 }, () => random.between(3, 5));
  t.same([...new Set(between)].sort(), [3, 4, 5]);
  t.equal(random.pick(['only']), 'only');
});

t.test('deriveSeed separates streams; normalizeSeed keeps integers and hashes text', async (t) => {
  t.equal(deriveSeed(42, 1, 2), deriveSeed(42, 1, 2));
  const seen = new Set<number>();
  for (let stream = 0; stream < 10; stream++) for (let index = 0; index < 1000; index++) seen.add(deriveSeed(42, stream, index));
  t.ok(seen.size > 9990, 'derived seeds barely collide');
  t.not(deriveSeed(42, 1, 2), deriveSeed(42, 2, 1), 'order matters');
  t.not(deriveSeed(42, 5), deriveSeed(42, 5 + 2 ** 32), 'keys above 2^32 count');
  t.ok(unitFromSeed(0xffffffff) < 1 && unitFromSeed(0) === 0);
  t.equal(mix32(0), 0);
  t.equal(normalizeSeed(42), 42);
  t.equal(normalizeSeed('42'), 42);
  t.equal(normalizeSeed('district'), normalizeSeed('district'));
  t.not(normalizeSeed('district'), normalizeSeed('District'));
  t.ok(normalizeSeed(-1) >= 0 && normalizeSeed(2 ** 40) >= 0);
  t.throws(() => normalizeSeed(1.5), RangeError);
});
