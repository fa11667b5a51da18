/**
 * One word for a POSIX shell: as is when it holds only safe characters (letters and digits of
 * any script are safe: sh gives no byte above 0x7f a meaning), else in single quotes, the only
 * quoting in which nothing is special but the quote itself.
 */
export function shellQuote(word: string): string {
  if (/^[\p{L}\p{N}_@%+=:,./-]+$/u.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
