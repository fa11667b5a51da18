/**
 * `word` as one POSIX shell word, for commands pki suggests: as it is when every character is
 * safe unquoted, else in single quotes (`pki export-p12 'a b'`), the only quoting in which
 * nothing is special but the quote itself.
 */
export function shellQuote(word: string): string {
  if (/^[\p{L}\p{N}_@%+=:,./-]+$/u.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
