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
  $ pki --passphrase-file old.txt passphrase change --new-passphrase-file new.txt

Other pki commands may run meanwhile: keys they store before the change commits are
re-encrypted too; a command that opened the CA key with the old passphrase and commits
after the change is refused (exit 4, PASSPHRASE_CHANGED) and can be run again.`,
    )
    .action(async (flags: { newPassphraseFile?: string }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        const progress = reencryptionProgress(!opts.json);
        const r = await authority.changePassphrase(
          (problem) =>
            readSecret({
              what: "new CA passphrase",
              file: flags.newPassphraseFile,
              flag: "--new-passphrase-file",
              envVar: "PKI_NEW_PASSPHRASE",
              confirm: true,
              problem,
            }),
          progress,
        );
        for (const u of r.unreadable) {
          process.stderr.write(`pki: warning: ${u.name}'s key (serial ${u.serial}) did not open with the old passphrase either (stored under another one); left as it was\n`);
        }
        if (opts.json) printJson(r);
        else {
          const meanwhile = r.addedMeanwhile > 0 ? `, ${r.addedMeanwhile} of them stored by other pki commands while it ran` : "";
          print(`Re-encrypted ${plural(r.keys, "key")} under the new passphrase${meanwhile}.`);
        }
      });
    });
  return passphrase;
}

/** Says up front how many keys will be re-encrypted; on a terminal, a running count with the time left. */
function reencryptionProgress(announce: boolean): (done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let started = 0;
  return (done, total) => {
    if (done === 0) {
      started = performance.now();
      if (announce) process.stderr.write(`Re-encrypting ${plural(total, "key")} under the new passphrase...\n`);
      return;
    }
    if (!tty) return;
    const perKey = (performance.now() - started) / done;
    const left = Math.round((perKey * (total - done)) / 1000);
    const eta = left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s` : `${left} s`;
    process.stderr.write(`\r\x1b[K${done}/${total} keys, about ${eta} left`);
    if (done === total) process.stderr.write("\n");
  };
}
