// Minimal strength rules for secrets people choose. The CA passphrase protects every stored key
// against whoever copies the ledger or a backup, so it gets the stricter rule; an export password
// travels beside its file for a short while, but one character is no protection at all.

export const MIN_PASSPHRASE_LENGTH = 8;
export const MIN_EXPORT_PASSWORD_LENGTH = 2;

// The head of the lists crackers try first (SecLists' most common, RockYou), lower case. A list
// this short stops the obvious choices without pretending to measure entropy.
const COMMON = new Set([
  "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "passphrase", "secret", "secret123",
  "123456", "1234567", "12345678", "123456789", "1234567890", "0123456789", "987654321", "87654321", "11111111", "00000000",
  "qwerty", "qwertyui", "qwertyuiop", "qwerty123", "asdfghjk", "asdfghjkl", "zxcvbnm", "zxcvbnm1", "1q2w3e4r", "1qaz2wsx",
  "abc123", "abcd1234", "abcdefgh", "iloveyou", "letmein", "letmein1", "welcome", "welcome1", "admin", "admin123",
  "administrator", "changeme", "changeit", "default", "football", "baseball", "sunshine", "princess", "dragon", "monkey",
  "master", "trustno1", "superman", "starwars", "whatever", "computer", "internet", "test", "test1234", "testtest",
  "root", "toor", "pass", "pass1234", "login", "hello123", "freedom", "shadow", "michael", "jennifer", "12341234",
]);

/** Why `candidate` is too weak for the CA passphrase, or null. */
export function passphraseProblem(candidate: string): string | null {
  return problem(candidate, MIN_PASSPHRASE_LENGTH);
}

/** Why `candidate` is too weak for a .p12, .mobileconfig or exported key, or null (the empty one has its own message). */
export function exportPasswordProblem(candidate: string): string | null {
  return problem(candidate, MIN_EXPORT_PASSWORD_LENGTH);
}

function problem(candidate: string, minLength: number): string | null {
  const core = candidate.trim();
  if ([...core].length < minLength) return `must have at least ${minLength} characters, not counting spaces at either end`;
  if (COMMON.has(core.toLowerCase())) return "is one of the most common passwords, the first any attacker tries";
  if (minLength >= MIN_PASSPHRASE_LENGTH && /^(.{1,3})\1+$/su.test(core)) return "repeats one to three characters over and over";
  return null;
}
