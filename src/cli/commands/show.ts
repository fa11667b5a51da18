import type { Command } from "commander";
import { print, printJson } from "../output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("show")
    .description("show one certificate: status, dates, extensions; --pem prints the certificate itself")
    .argument("<name|serial>", "certificate name or serial in hex")
    .option("--pem", "print only the PEM certificate")
    .addHelpText(
      "after",
      `
Examples:
  $ pki show alice
  $ pki show alice --pem | openssl x509 -noout -text
  $ pki show 5f3a9c… --json`,
    )
    .action(async (target: string, flags: { pem?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        // Parsing (and loading @peculiar/x509) only for the human view: --pem and --json stay fast.
        const { view, pem, certificate } = await authority.show(ctx, target, !flags.pem && !opts.json);
        if (flags.pem) {
          process.stdout.write(pem);
          return;
        }
        if (opts.json) {
          printJson({ ...view, pem });
          return;
        }
        const rows: [string, string | null][] = [
          ["name", view.name],
          ["kind", view.kind],
          ["status", view.status],
          ["subject", view.subject],
          ["issuer", certificate!.issuer],
          ["serial", view.serial],
          ["not before", view.notBefore],
          ["not after", view.notAfter],
          ["revoked at", view.revokedAt],
          ["reason", view.revocationReason],
          ["superseded by", view.supersededBy],
          ["key held by CA", view.hasKey ? "yes" : "no (signed from a CSR)"],
        ];
        for (const [k, v] of rows) if (v !== null) print(`${(k + ":").padEnd(16)}${v}`);
        for (const ext of certificate!.extensions) {
          print(`${"extension:".padEnd(16)}${ext.toString("text").split("\n").join(" ").replace(/\s+/g, " ")}`);
        }
      });
    });
}
