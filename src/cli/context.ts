import { userInfo } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { AuthorityOptions } from "../ca/authority.js";
import { Home } from "../ca/home.js";
import { readSecret } from "./secrets.js";

export interface GlobalOptions {
  home?: string;
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
  return new Home(opts.home ?? process.env.PKI_HOME ?? "pki");
}

function actor(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? "?"}`;
  }
}

/** Everything the authority needs from the outside world, gathered in one place. */
export function authorityOptions(opts: GlobalOptions, newPassphrase = false): AuthorityOptions {
  let cached: Promise<string> | undefined;
  return {
    home: homeOf(opts),
    templatesDir: TEMPLATES_DIR,
    actor: actor(),
    onLockWait: () => process.stderr.write("pki: waiting for another pki command on this home...\n"),
    passphrase: () =>
      (cached ??= readSecret({
        what: newPassphrase ? "new CA passphrase" : "CA passphrase",
        file: opts.passphraseFile,
        flag: "--passphrase-file",
        envVar: "PKI_PASSPHRASE",
        confirm: newPassphrase,
      })),
  };
}
