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
  const min = weights.map((_, i) => (typeof bounds.minimum === 'number' ? bounds.minimum : bounds.minimum?.[i] ?? 0));
  const max = weights.map((_, i) => bounds.maximum?.[i] ?? Number.POSITIVE_INFINITY);
  if (min.reduce((a, b) => a + b, 0) > total) throw new RangeError(`cannot split ${total} into ${n} parts of at least their minimum`);
  if (max.reduce((a, b) => a + b, 0) < total) throw new RangeError(`cannot split ${total} into ${n} parts within their maximum`);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const quota = weights.map((w) => (weightSum > 0 ? (total * w) / weightSum : total / n));
  const parts = quota.map((q, i) => Math.min(max[i], Math.max(min[i], Math.floor(q))));
  let difference = total - parts.reduce((a, b) => a + b, 0);
  while (difference !== 0) {
    const up = difference > 0;
    const candidates = parts
      .map((_, i) => i)
      .filter((i) => (up ? parts[i] < max[i] : parts[i] > min[i]))
      .sort((a, b) => (up ? quota[b] - parts[b] - (quota[a] - parts[a]) : parts[b] - quota[b] - (parts[a] - quota[a])) || a - b);
    const moves = Math.min(Math.abs(difference), candidates.length);
    for (let k = 0; k < moves; k++) parts[candidates[k]] += up ? 1 : -1;
    difference += up ? -moves : moves;
  }
  return parts;
}
