import type { Command } from "commander";
import { userPath } from "../io.js";
import { print, printJson } from "../output.js";
import { readPkcs12Password } from "../secrets.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { exportPreflight, withAuthority } from "./shared.js";

interface Flags extends AccessFlags {
  out?: string;
  passwordFile?: string;
  legacy?: boolean;
  force?: boolean;
}

export function register(program: Command): Command {
  return accessOptions(program
    .command("export-p12"))
    .description("write a PKCS#12 (.p12) with the key, the certificate and the root, for browsers, phones, curl and Java")
    .argument("<name>", "certificate name or serial")
    .option("--out <file>", "where to write it (default HOME/private/NAME.p12)")
    .option("--password-file <file>", "read the .p12 password from the first line of FILE (else $PKI_P12_PASSWORD, else a prompt)")
    .option("--legacy", "3DES + SHA-1 MAC for macOS/iOS before 2023, Android 12-13 and Windows Server 2016")
    .option("--force", "export a revoked or expired certificate too (servers refuse it)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki export-p12 alice                                   # asks for a password
  $ PKI_P12_PASSWORD=… pki export-p12 alice --out alice.p12
  $ pki export-p12 alice --legacy --password-file pw.txt   # for an older iPhone
  $ pki export-p12 svc --out /srv/app/svc.p12 --group app --mode 0640

Default encryption is what OpenSSL 3 writes (AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC).
Then: curl --cert-type P12 --cert alice.p12:PASSWORD https://site/`,
    )
    .action(async (name: string, flags: Flags, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const access = fileAccess(flags);
        await exportPreflight(authority, ctx, name, "pkcs12", flags.force);
        const password = await readPkcs12Password(flags.passwordFile);
        const r = await authority.exportPkcs12(ctx, {
          target: name,
          password,
          legacy: flags.legacy ?? false,
          force: flags.force ?? false,
          access,
          ...(flags.out !== undefined ? { out: userPath(flags.out) } : {}),
        });
        if (opts.json) printJson({ file: r.file, name: r.view.name, serial: r.view.serial, legacy: flags.legacy ?? false });
        else print(`Wrote ${r.file} (${flags.legacy ? "legacy 3DES" : "AES-256"}) for "${r.view.subject}", serial ${r.view.serial}.`);
      });
    });
}
