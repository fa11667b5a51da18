import { normalizeSerial } from "../crypto/serial.js";
import { PkiError, shown } from "./errors.js";
import { spoofingProblem } from "./spoofing.js";

/** Longest certificate name we accept; also a safe file-name length everywhere. */
export const MAX_NAME_LENGTH = 64;

// Letters and digits of any script (a real "Zoë" works), plus the punctuation that shows up
// in user and host names. No path separators, no control or invisible characters, no shell
// metacharacters: the name becomes a file name under the CA home.
const NAME = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} ._@+-]*$/u;

/**
 * Hex digits from which a name reads as a serial number: commands take a name or a serial, so
 * such a name would act on the certificate with that serial. pki's serials have 32; a name like
 * "cafe" or "1234" stays usable.
 */
const SERIAL_LIKE_DIGITS = 16;

/**
 * Validates a certificate name and returns its canonical (NFC) form, so that "Zoë" typed
 * with a combining diaeresis and with a precomposed ë are the same name and the same file.
 */
export function validateName(input: string): string {
  const name = input.normalize("NFC");
  if (name.length === 0) throw new PkiError("usage", "the name is empty");
  if (name.length > MAX_NAME_LENGTH) {
    throw new PkiError("usage", `the name is ${name.length} characters long; at most ${MAX_NAME_LENGTH} are allowed`);
  }
  if (/\p{Cc}|\p{Cf}/u.test(name)) throw new PkiError("usage", "the name contains a control or invisible character");
  if (/[/\\]/.test(name)) throw new PkiError("usage", `the name "${name}" contains a path separator`);
  if (name.endsWith(".") || name.endsWith(" ")) throw new PkiError("usage", `the name "${name}" ends with "${name.at(-1)}"`);
  if (!NAME.test(name)) {
    throw new PkiError("usage", `the name "${name}" has characters other than letters, digits, space and . _ @ + -, or does not start with a letter or digit`);
  }
  const spoofing = spoofingProblem(name);
  if (spoofing) throw new PkiError("usage", `the name "${shown(name)}" ${spoofing}`, undefined, "CONFUSABLE_NAME");
  const serial = normalizeSerial(name);
  if (serial !== null && serial.length >= SERIAL_LIKE_DIGITS) {
    throw new PkiError("usage", `the name "${name}" reads as a serial number, so commands would act on the certificate with that serial`, "choose a name with a letter other than a-f, e.g. a person's or host's name", "NAME_LOOKS_LIKE_SERIAL");
  }
  return name;
}

export { nameKey } from "../ledger/name-key.js";
