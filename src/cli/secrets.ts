import { readFileSync, statSync } from "node:fs";
import { PkiError } from "../ca/errors.js";
import { askSecret, canPrompt } from "./prompts.js";

export interface SecretSource {
  /** What the secret is, for messages: "CA passphrase". */
  what: string;
  /** File named by a flag; wins over the environment because it was asked for explicitly. */
  file?: string;
  flag: string;
  envVar: string;
  /** Ask twice on a terminal (new secrets). */
  confirm: boolean;
}

/**
 * Reads a secret from a file, then the environment, then a terminal prompt. Secrets are
 * never accepted as command-line arguments: argv is visible to every user through ps.
 */
export async function readSecret(src: SecretSource): Promise<string> {
  if (src.file) {
    let text: string;
    try {
      text = readFileSync(src.file, "utf8");
      if ((statSync(src.file).mode & 0o004) !== 0) {
        process.stderr.write(`pki: warning: ${src.file} is readable by every user; chmod 600 it\n`);
      }
    } catch (e) {
      throw new PkiError("secret", `cannot read ${src.flag} ${src.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // Like OpenSSL's -passin file:, the first line is the secret.
    return text.split(/\r?\n/)[0]!;
  }
  const fromEnv = process.env[src.envVar];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (canPrompt()) return askSecret(src.what, src.confirm);
  throw new PkiError("secret", `no ${src.what} given`, `set ${src.envVar}, use ${src.flag} FILE, or run on a terminal to be asked`);
}

/** Java's PKCS#12 code refuses non-ASCII passwords ("Password is not ASCII"); say so before someone mails the file. */
export function warnNonAsciiPassword(password: string): void {
  if (/[^\x20-\x7e]/.test(password)) {
    process.stderr.write("pki: warning: the password has non-ASCII characters; Java (keytool, JDK clients) cannot open such files, OpenSSL, NSS and GnuTLS can\n");
  }
}
