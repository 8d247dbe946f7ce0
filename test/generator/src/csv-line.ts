const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV line as RFC 4180 writes it: fields that hold a comma, a double quote or a line break are
 * quoted, with inner quotes doubled; the line ends with CRLF.
 *
 * ```ts
 * csvLine(['cls-1', '09,10', 'Room "A"']);   // 'cls-1,"09,10","Room ""A"""\r\n'
 * ```
 */
export function csvLine(fields: readonly string[]): string {
  return fields.map((field) => (NEEDS_QUOTES.test(field) ? `"${field.replace(/"/g, '""')}"` : field)).join(',') + '\r\n';
}
