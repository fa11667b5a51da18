import { userInfo } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { AuthorityOptions, Context } from "../ca/authority.js";
import { PkiError } from "../ca/errors.js";
import { Home } from "../ca/home.js";
import { hasPassword } from "../ca/ledger-location.js";
import { shellQuote } from "../ca/shell-quote.js";
import { runCrlHook } from "./hooks.js";
import { io, userPath } from "./io.js";
import { plural } from "./output.js";
import { readSecret, readSecretWithOrigin, type SecretOrigin } from "./secrets.js";

/** Wrong CA passphrases a terminal user may type before the command gives up. */
export const PASSPHRASE_TRIES = 3;

export interface GlobalOptions {
  home?: string;
  database?: string;
  json?: boolean;
  passphraseFile?: string;
}

/** The package root (templates/ ships beside package.json), found upwards from this file: it runs from dist/src/cli or from the dist/bundle build. */
const PACKAGE_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const TEMPLATES_DIR = join(PACKAGE_ROOT, "templates");
/** How timers and cron jobs should invoke this very pki, independent of PATH. */
export const PKI_COMMAND = [process.execPath, join(PACKAGE_ROOT, "bin", "pki")];

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** --home, else $PKI_HOME, else ./pki. */
export function homeOf(opts: GlobalOptions): Home {
  return new Home(userPath(opts.home ?? io().env.PKI_HOME ?? "pki"));
}

/** --database, else $PKI_DATABASE_URL; a password belongs in the environment or ~/.pgpass, never in argv (ps shows it). */
export function databaseOf(opts: GlobalOptions): string | undefined {
  if (opts.database !== undefined && hasPassword(opts.database)) {
    throw new PkiError("usage", "--database must not contain a password: other users see the command line", "put the whole URL in PKI_DATABASE_URL, or the password in PGPASSWORD or ~/.pgpass", "SECRET_IN_ARGUMENTS");
  }
  return opts.database ?? (io().env.PKI_DATABASE_URL || undefined);
}

function actor(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? "?"}`;
  }
}

/** One command's context: the OS user acts, now. */
export function commandContext(): Context {
  return { actor: actor(), now: new Date() };
}

/** Everything the authority needs from the outside world, gathered in one place. */
export function authorityOptions(opts: GlobalOptions, newPassphrase = false): AuthorityOptions {
  let cached: Promise<{ value: string; origin: SecretOrigin }> | undefined;
  let pin: Promise<string> | undefined;
  let origin: SecretOrigin | undefined;
  let tries = 0;
  const read = async () => {
    const problem = newPassphrase ? await newPassphraseProblem() : undefined;
    const secret = await readSecretWithOrigin({
      what: newPassphrase ? "new CA passphrase" : "CA passphrase",
      file: opts.passphraseFile,
      flag: "--passphrase-file",
      envVar: "PKI_PASSPHRASE",
      confirm: newPassphrase,
      ...(problem ? { problem } : {}),
    });
    origin = secret.origin;
    return secret;
  };
  const database = databaseOf(opts);
  const home = homeOf(opts);
  return {
    home,
    ...(database !== undefined ? { database } : {}),
    templatesDir: TEMPLATES_DIR,
    unlockEarly: opts.passphraseFile !== undefined || Boolean(io().env.PKI_PASSPHRASE),
    onLockWait: () => io().stderr.write("pki: waiting for another pki command on this home...\n"),
    onCrlRepaired: (crl) => void runCrlHook(crl, home.dir, `reinstalled crl.pem (CRL #${crl.number}) from the ledger`),
    passphrase: async () => (await (cached ??= read())).value,
    tokenPin: async () => (pin ??= readSecret({ what: "PKCS#11 token PIN", file: io().env.PKI_PKCS11_PIN_FILE, flag: "PKI_PKCS11_PIN_FILE", envVar: "PKI_PKCS11_PIN", confirm: false })),
    wrongPassphrase: () => {
      tries++;
      if (origin === "prompt" && tries < PASSPHRASE_TRIES) {
        const left = PASSPHRASE_TRIES - tries;
        io().stderr.write(`Wrong passphrase for the CA key; try again (${plural(left, "try", "tries")} left).\n`);
        cached = undefined;
        return { retry: true, hint: "" };
      }
      return { retry: false, hint: wrongPassphraseHint(origin, opts.passphraseFile) };
    },
  };
}

/** Where to look after a wrong CA passphrase: the place it actually came from. */
function wrongPassphraseHint(origin: SecretOrigin | undefined, file: string | undefined): string {
  if (origin === "file") return `check --passphrase-file ${shellQuote(file ?? "")} (its first line is the passphrase)`;
  if (origin === "env") return "check PKI_PASSPHRASE";
  return `${PASSPHRASE_TRIES} wrong tries; it is the passphrase set by pki init-root or by the last pki passphrase change`;
}

async function newPassphraseProblem(): Promise<(candidate: string) => string | null> {
  const { passphraseProblem } = await import("../ca/secret-strength.js");
  return passphraseProblem;
}
