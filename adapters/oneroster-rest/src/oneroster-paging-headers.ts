/** `X-Total-Count` as a number, or undefined when absent or not a whole number. */
export function parseTotalCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The `offset` of the `rel="next"` target of a `Link` header (RFC 8288; relative targets are
 * resolved against `base`), or undefined when there is none or it has no readable offset.
 *
 * ```ts
 * linkNextOffset('<https://x/users?limit=100&offset=200>; rel="next", <…>; rel="last"', base); // 200
 * ```
 */
export function linkNextOffset(header: string | undefined, base: URL): number | undefined {
  if (header === undefined) return undefined;
  for (const match of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))/i.exec(match[2] ?? '');
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (!relations.includes('next')) continue;
    try {
      const offset = new URL(match[1]!, base).searchParams.get('offset');
      return offset !== null && /^\d+$/.test(offset) ? Number(offset) : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
