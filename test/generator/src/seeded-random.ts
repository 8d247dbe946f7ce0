/**
 * Mixes a 32-bit integer into a well-spread 32-bit unsigned integer (the MurmurHash3 finaliser).
 * Used to derive independent random streams from a seed and record indices, so any record can be
 * rebuilt on its own without replaying the records before it.
 */
export function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Derives a 32-bit seed from a base seed and a path of non-negative integer keys (a stream tag, a
 * record index, a field number…). Equal inputs give equal outputs; changing any key gives an
 * unrelated value.
 *
 * ```ts
 * const h = deriveSeed(42, STREAM_USER, 1234);   // the seed of user 1234 in district 42
 * ```
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  for (const key of keys) {
    // Keys may exceed 2^32 only in theory (indices are far below); fold the high part in anyway.
    const low = key >>> 0;
    const high = Math.floor(key / 4294967296) >>> 0;
    h = mix32(h ^ mix32(low + 0x6a09e667));
    if (high !== 0) h = mix32(h ^ mix32(high + 0xbb67ae85));
  }
  return h;
}

/** A uniform number in [0, 1) from a derived seed (see {@link deriveSeed}). */
export function unitFromSeed(seed: number): number {
  return (seed >>> 0) / 4294967296;
}

/**
 * Turns a user-facing seed (an integer or any string) into the 32-bit seed the generator uses.
 * Integers in the uint32 range map to themselves, so `--seed 42` is seed 42.
 */
export function normalizeSeed(seed: number | string): number {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    if (seed >= 0 && seed <= 0xffffffff) return seed;
    return deriveSeed(0, Math.abs(seed), seed < 0 ? 1 : 0);
  }
  if (/^\d+$/.test(seed) && Number(seed) <= 0xffffffff) return Number(seed);
  // FNV-1a over UTF-16 code units: any other string is a seed too.
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A small seeded pseudo-random generator (mulberry32). Deterministic: the same seed gives the same
 * sequence on every platform. Not for anything secret.
 *
 * ```ts
 * const random = new SeededRandom(deriveSeed(seed, 7, index));
 * const name = random.pick(GIVEN_NAMES);
 * ```
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, `bound`). */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** An integer in [`min`, `max`] inclusive. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    if (list.length === 0) throw new RangeError('pick from an empty list');
    return list[this.int(list.length)]!; // int(n) is below n
  }
}
