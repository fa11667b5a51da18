/**
 * The form in which two certificate names are compared: NFC, then full case folding
 * (upper-casing first folds "ß" to "ss" and "ſ" to "s", which lower-casing alone misses).
 * "bob", "BOB" and "Bob" are one name: they would be one file on a case-insensitive
 * file system (macOS, Windows), and to a person they are one name anyway.
 */
export function nameKey(name: string): string {
  return name.normalize("NFC").toUpperCase().toLowerCase().normalize("NFC");
}
