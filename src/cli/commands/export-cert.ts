import { type Command, Option } from "commander";
import { PkiError } from "../../ca/errors.js";
import { CERTIFICATE_FORMATS, type CertificateFormat } from "../../ca/export-cert.js";
import { io, userPath } from "../io.js";
import { print, printJson } from "../output.js";
import { withAuthority } from "./shared.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";

interface Flags extends AccessFlags {
  format: CertificateFormat;
  out?: string;
}

const BINARY: readonly CertificateFormat[] = ["der", "p7b"];

export function register(program: Command): Command {
  return accessOptions(program
    .command("export-cert"))
    .description("write a certificate (no key) as PEM, DER, the CA chain, leaf + CA, or a PKCS#7 .p7b")
    .argument("<name>", "certificate name or serial")
    .addOption(new Option("--format <format>", "pem | der | chain (the CA only) | fullchain (certificate, then CA) | p7b (PKCS#7 certs-only, DER)").choices(CERTIFICATE_FORMATS).default("pem"))
    .option("--out <file>", "write it here (mode 0644, or --owner, --group, --mode); else to stdout")
    .addHelpText(
      "after",
      `
Examples:
  $ pki export-cert intranet.example.com --format fullchain --out /etc/ssl/intranet-fullchain.pem
  $ pki export-cert alice --format der --out alice.cer
  $ pki export-cert alice --format p7b --out alice.p7b     # Windows certmgr, keytool -importcert
  $ pki export-cert alice --format chain | openssl x509 -noout -subject

Certificates are public: nothing is asked for and nothing is recorded.`,
    )
    .action(async (name: string, flags: Flags, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const access = fileAccess(flags);
        if (flags.out === undefined && Object.keys(access).length > 0) throw new PkiError("usage", "--owner, --group and --mode apply to the --out file", "add --out FILE", "USAGE");
        if (flags.out === undefined && opts.json) throw new PkiError("usage", "--json prints the result, not the certificate: give --out FILE");
        if (flags.out === undefined && BINARY.includes(flags.format) && io().stdout.isTTY) {
          throw new PkiError("usage", `--format ${flags.format} is binary: give --out FILE or redirect stdout`);
        }
        const r = await authority.exportCertificate(ctx, { target: name, format: flags.format, ...(flags.out !== undefined ? { out: userPath(flags.out), access } : {}) });
        for (const w of r.warnings) io().stderr.write(`pki: warning: ${w}\n`);
        if (r.file === null) io().stdout.write(r.data);
        else if (opts.json) printJson({ file: r.file, name: r.view.name, serial: r.view.serial, format: r.format });
        else print(`Wrote ${r.file} (${r.format}) for "${r.view.subject}", serial ${r.view.serial}.`);
      }, "read");
    });
}
