import type { Command } from "commander";
import { printShow } from "../certificate-output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("show")
    .description("show one certificate: status, dates, issuer, subjectAltNames, extensions; --pem prints the certificate itself")
    .argument("<name|serial>", "certificate name or serial in hex")
    .option("--pem", "print only the PEM certificate")
    .addHelpText(
      "after",
      `
Examples:
  $ pki show alice
  $ pki show alice --pem | openssl x509 -noout -text
  $ pki show 5f3a9c… --json | jq .extensions.extendedKeyUsage`,
    )
    .action(async (target: string, flags: { pem?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        // Parsing loads @peculiar/x509: --pem stays fast without it.
        const { view, pem, details } = await authority.show(ctx, target, !flags.pem);
        printShow(view, pem, details, opts.json);
      }, "read");
    });
}
