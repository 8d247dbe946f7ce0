const FOLDED: Record<string, string> = { ø: 'o', Ø: 'o', æ: 'ae', Æ: 'ae', ß: 'ss', đ: 'd', Đ: 'd', ł: 'l', Ł: 'l', œ: 'oe', Œ: 'oe' };

/**
 * A name folded to lower-case ASCII letters and digits, for usernames and email addresses:
 * "Nguyễn" → "nguyen", "O'Brien" → "obrien", "Søndergaard" → "sondergaard".
 */
export function personNameAscii(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[øØæÆßđĐłŁœŒ]/g, (c) => FOLDED[c] ?? c)
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase();
}
