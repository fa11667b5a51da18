import { resolve } from "node:path";
import type { Command } from "commander";
import { print, printJson } from "../output.js";
import { readSecret, warnNonAsciiPassword } from "../secrets.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("export-mobileconfig")
    .description("write an Apple configuration profile (.mobileconfig) with the identity and the root, for iPhone, iPad and Mac")
    .argument("<name>", "client certificate name or serial")
    .option("--out <file>", "where to write it (default HOME/private/NAME.mobileconfig)")
    .option("--password-file <file>", "password of the identity inside (else $PKI_P12_PASSWORD, else a prompt); the phone asks for it")
    .option("--modern", "AES-256 PKCS#12 inside, for iOS 17+/macOS 14+ only (default: 3DES, which every version reads)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki export-mobileconfig alice                  # mail private/alice.mobileconfig to alice
  $ PKI_P12_PASSWORD=… pki export-mobileconfig alice --out alice.mobileconfig

On the phone: open the file, Settings → Profile Downloaded → Install, enter the password.
Then Settings → General → About → Certificate Trust Settings → enable the root.`,
    )
    .action(async (name: string, flags: { out?: string; passwordFile?: string; modern?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const password = await readSecret({ what: "password for the identity", ...(flags.passwordFile !== undefined ? { file: flags.passwordFile } : {}), flag: "--password-file", envVar: "PKI_P12_PASSWORD", confirm: true });
        warnNonAsciiPassword(password);
        const r = await authority.exportMobileconfig(ctx, { target: name, password, modern: flags.modern ?? false, ...(flags.out !== undefined ? { out: resolve(flags.out) } : {}) });
        if (opts.json) printJson({ file: r.file, name: r.view.name, serial: r.view.serial });
        else print(`Wrote ${r.file} for "${r.view.subject}": the identity and the root in one profile.`);
      });
    });
}
