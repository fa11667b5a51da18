import { resolve } from "node:path";
import type { Command } from "commander";
import { exportPasswordProblem } from "../../ca/secret-strength.js";
import { print, printJson } from "../output.js";
import { readSecret } from "../secrets.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { exportPreflight, withAuthority } from "./shared.js";

interface Flags extends AccessFlags {
  out: string;
  unencrypted?: boolean;
  passwordFile?: string;
  withCertificate?: boolean;
  force?: boolean;
}

export function register(program: Command): Command {
  return accessOptions(program
    .command("export-key"))
    .description("write a certificate's private key for a server (encrypted under its own password, or --unencrypted)")
    .argument("<name>", "certificate name or serial")
    .requiredOption("--out <file>", "where to write the key (mode 0600)")
    .option("--unencrypted", "write the key in the clear, as nginx and HAProxy read it without ssl_password_file")
    .option("--password-file <file>", "encrypt under the password in FILE (else $PKI_KEY_PASSWORD, else a prompt)")
    .option("--with-certificate", "put the certificate first in the same file (HAProxy crt)")
    .option("--force", "export the key of a revoked or expired certificate too")
    .addHelpText(
      "after",
      `
Examples:
  $ pki export-key intranet.example.com --unencrypted --out /etc/ssl/private/intranet.key
  $ pki export-key intranet.example.com --password-file pw --out /etc/nginx/intranet.key   # ssl_password_file pw
  $ pki export-key intranet.example.com --unencrypted --with-certificate --out /etc/haproxy/intranet.pem
  $ pki export-key db.internal --unencrypted --out /etc/postgresql/server.key --owner root --group postgres --mode 0640

Over an existing file, its owner, group and mode are kept unless --owner, --group or --mode say
otherwise (a key never becomes readable by every user).`,
    )
    .action(async (name: string, flags: Flags, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const access = fileAccess(flags);
        await exportPreflight(authority, ctx, name, "key", flags.force);
        const password = flags.unencrypted
          ? null
          : await readSecret({ what: "password for the exported key", file: flags.passwordFile, flag: "--password-file", envVar: "PKI_KEY_PASSWORD", confirm: true, problem: (v) => (v === "" ? "must not be empty (--unencrypted writes the key in the clear)" : exportPasswordProblem(v)) });
        const r = await authority.exportKey(ctx, { target: name, out: resolve(flags.out), password, withCertificate: flags.withCertificate ?? false, force: flags.force ?? false, access });
        if (opts.json) printJson({ file: r.file, name: r.view.name, serial: r.view.serial, encrypted: r.encrypted });
        else print(`Wrote the ${r.encrypted ? "encrypted" : "UNENCRYPTED"} key of "${r.view.subject}" to ${r.file}.`);
      });
    });
}
