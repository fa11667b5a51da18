import { resolve } from "node:path";
import type { Command } from "commander";
import { print, printJson } from "../output.js";
import { readPkcs12Password } from "../secrets.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { exportPreflight, withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return accessOptions(program
    .command("export-mobileconfig"))
    .description("write an Apple configuration profile (.mobileconfig) with the identity and the root, for iPhone, iPad and Mac")
    .argument("<name>", "client certificate name or serial")
    .option("--out <file>", "where to write it (default HOME/private/NAME.mobileconfig)")
    .option("--password-file <file>", "password of the identity inside (else $PKI_P12_PASSWORD, else a prompt); the phone asks for it")
    .option("--modern", "AES-256 PKCS#12 inside, for iOS 17+/macOS 14+ only (default: 3DES, which every version reads)")
    .option("--force", "export a revoked or expired certificate too (servers refuse it)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki export-mobileconfig alice                  # mail private/alice.mobileconfig to alice
  $ PKI_P12_PASSWORD=… pki export-mobileconfig alice --out alice.mobileconfig

On the phone: open the file, Settings → Profile Downloaded → Install, enter the password.
Then Settings → General → About → Certificate Trust Settings → enable the root.`,
    )
    .action(async (name: string, flags: AccessFlags & { out?: string; passwordFile?: string; modern?: boolean; force?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const access = fileAccess(flags);
        await exportPreflight(authority, ctx, name, "mobileconfig", flags.force);
        const password = await readPkcs12Password(flags.passwordFile, "password for the identity");
        const r = await authority.exportMobileconfig(ctx, { target: name, password, modern: flags.modern ?? false, force: flags.force ?? false, access, ...(flags.out !== undefined ? { out: resolve(flags.out) } : {}) });
        if (opts.json) printJson({ file: r.file, name: r.view.name, serial: r.view.serial });
        else print(`Wrote ${r.file} for "${r.view.subject}": the identity and the root in one profile.`);
      });
    });
}
