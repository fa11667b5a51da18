import type { Command } from "commander";
import { plural, print, printJson } from "../output.js";
import { readSecret } from "../secrets.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  const passphrase = program.command("passphrase").description("manage the CA passphrase");
  passphrase
    .command("change")
    .description("re-encrypt the CA key and every stored key under a new passphrase, in one transaction")
    .option("--new-passphrase-file <file>", "read the new passphrase from FILE (else $PKI_NEW_PASSPHRASE, else a prompt)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki passphrase change                                  # asks for the old and the new one
  $ pki --passphrase-file old.txt passphrase change --new-passphrase-file new.txt`,
    )
    .action(async (flags: { newPassphraseFile?: string }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        const progress = process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rre-encrypting keys: ${done}/${total}`) : undefined;
        const r = await authority.changePassphrase(
          () =>
            readSecret({
              what: "new CA passphrase",
              ...(flags.newPassphraseFile !== undefined ? { file: flags.newPassphraseFile } : {}),
              flag: "--new-passphrase-file",
              envVar: "PKI_NEW_PASSPHRASE",
              confirm: true,
            }),
          progress,
        );
        if (progress) process.stderr.write("\n");
        if (opts.json) printJson(r);
        else print(`Re-encrypted ${plural(r.keys, "key")} under the new passphrase.`);
      });
    });
  return passphrase;
}
