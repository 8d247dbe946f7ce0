/**
 * Percent-encodes text as RFC 3986 (and RFC 5849 §3.6) require: every byte except the unreserved
 * characters `A-Z a-z 0-9 - . _ ~` becomes `%XX` with upper-case hex digits. Unlike
 * `encodeURIComponent`, it also encodes `! ' ( ) *`, without which an OAuth 1.0a signature over a
 * filter such as `role='student'` does not match the server's.
 *
 * ```ts
 * percentEncode("role='student'"); // 'role%3D%27student%27'
 * ```
 */
export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
