/**
 * `list[i]` for an index the generator computed and relies on: a RangeError naming the index when
 * it is outside the list, rather than an undefined that would surface later as a wrong record.
 */
export function at<T>(list: ArrayLike<T>, i: number): T {
  const value = list[i];
  if (value === undefined) throw new RangeError(`index ${i} is outside a list of ${list.length}`);
  return value;
}
