import { statSync } from "node:fs";
import { MAX_SECRET_FILE_BYTES, readBounded } from "../ca/bounded-read.js";
import { PkiError, shown } from "../ca/errors.js";
import { exportPasswordProblem } from "../ca/secret-strength.js";
import { inputPath, io } from "./io.js";
import { askSecret, canPrompt } from "./prompts.js";

export interface SecretSource {
  /** What the secret is, for messages: "CA passphrase". */
  what: string;
  /** File named by a flag; wins over the environment because it was asked for explicitly. */
  file?: string | undefined;
  flag: string;
  envVar: string;
  /** Ask twice on a terminal (new secrets). */
  confirm: boolean;
  /** Why a typed secret is refused, or null: the prompt says so and asks again at once. Files and variables are checked by their consumer. */
  problem?: (candidate: string) => string | null;
}

/** Where a secret came from, so that an error about it points at the right place. */
export type SecretOrigin = "file" | "env" | "prompt";

/**
 * Reads a secret from a file, then the environment, then a terminal prompt. Secrets are
 * never accepted as command-line arguments: argv is visible to every user through ps.
 */
export async function readSecret(src: SecretSource): Promise<string> {
  return (await readSecretWithOrigin(src)).value;
}

export async function readSecretWithOrigin(src: SecretSource): Promise<{ value: string; origin: SecretOrigin }> {
  if (src.file) {
    let text: string;
    try {
      const file = inputPath(src.file);
      text = readBounded(file, MAX_SECRET_FILE_BYTES, src.flag).toString("utf8");
      if ((statSync(file).mode & 0o004) !== 0) {
        io().stderr.write(`pki: warning: ${src.file} is readable by every user; chmod 600 it\n`);
      }
    } catch (e) {
      if (e instanceof PkiError) throw e;
      throw new PkiError("secret", `cannot read ${src.flag} ${shown(src.file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, undefined, "SECRET_UNREADABLE");
    }
    // Like OpenSSL's -passin file:, the first line is the secret.
    const value = text.split(/\r?\n/)[0]!;
    if (value === "") throw new PkiError("secret", `${src.flag} ${shown(src.file)} is empty`, `its first line must be the ${src.what}`, "EMPTY_SECRET");
    return { value, origin: "file" };
  }
  const fromEnv = io().env[src.envVar];
  if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, origin: "env" };
  if (canPrompt()) return { value: await askSecret(src.what, src.confirm, src.problem), origin: "prompt" };
  throw new PkiError("secret", `no ${src.what} given`, `set ${src.envVar}, use ${src.flag} FILE, or run on a terminal to be asked`, "NO_SECRET");
}

/** The password of a PKCS#12 (or of the one inside a .mobileconfig): never empty, a warning when Java cannot read it. */
export async function readPkcs12Password(file: string | undefined, what = "password for the .p12"): Promise<string> {
  const password = await readSecret({
    what,
    file,
    flag: "--password-file",
    envVar: "PKI_P12_PASSWORD",
    confirm: true,
    problem: (v) => (v === "" ? "must not be empty: macOS, iOS and Firefox cannot import such files" : exportPasswordProblem(v)),
  });
  warnNonAsciiPassword(password);
  return password;
}

/** Java's PKCS#12 code refuses non-ASCII passwords ("Password is not ASCII"); say so before someone mails the file. */
export function warnNonAsciiPassword(password: string): void {
  if (/[^\x20-\x7e]/.test(password)) {
    io().stderr.write("pki: warning: the password has non-ASCII characters; Java (keytool, JDK clients) cannot open such files, OpenSSL, NSS and GnuTLS can\n");
  }
}
