/**
 * Splits a whole number `total` into integer parts proportional to `weights` (largest-remainder
 * method, ties broken by position, so the split is deterministic), honouring a per-part minimum and
 * an optional per-part maximum. Throws a RangeError when the bounds cannot be met.
 *
 * ```ts
 * apportion(10, [1, 1, 1]);               // [4, 3, 3]
 * apportion(5, [3, 1, 1], { minimum: 1 }); // [3, 1, 1]
 * ```
 */
export function apportion(
  total: number,
  weights: readonly number[],
  bounds: { minimum?: number | readonly number[]; maximum?: readonly number[] } = {},
): number[] {
  const n = weights.length;
  const min = weights.map((_, i) => (typeof bounds.minimum === 'number' ? bounds.minimum : (bounds.minimum?.[i] ?? 0)));
  const max = weights.map((_, i) => bounds.maximum?.[i] ?? Number.POSITIVE_INFINITY);
  if (min.reduce((a, b) => a + b, 0) > total) throw new RangeError(`cannot split ${total} into ${n} parts of at least their minimum`);
  if (max.reduce((a, b) => a + b, 0) < total) throw new RangeError(`cannot split ${total} into ${n} parts within their maximum`);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  // One slot per part, in order: its bounds, its exact share and the whole number it gets.
  const slots = weights.map((w, i) => {
    const quota = weightSum > 0 ? (total * w) / weightSum : total / n;
    const [low, high] = [min[i] ?? 0, max[i] ?? Number.POSITIVE_INFINITY];
    return { index: i, min: low, max: high, quota, part: Math.min(high, Math.max(low, Math.floor(quota))) };
  });
  let difference = total - slots.reduce((a, s) => a + s.part, 0);
  while (difference !== 0) {
    const up = difference > 0;
    const candidates = slots
      .filter((s) => (up ? s.part < s.max : s.part > s.min))
      .sort((a, b) => (up ? b.quota - b.part - (a.quota - a.part) : b.part - b.quota - (a.part - a.quota)) || a.index - b.index);
    const moves = Math.min(Math.abs(difference), candidates.length);
    for (const s of candidates.slice(0, moves)) s.part += up ? 1 : -1;
    difference += up ? -moves : moves;
  }
  return slots.map((s) => s.part);
}
