import type { Command } from "commander";
import { shown } from "../../ca/errors.js";
import { authorityOptions, commandContext, globals } from "../context.js";
import { print, printJson } from "../output.js";

export function register(program: Command): Command {
  return program
    .command("join")
    .description("make this home another node of a CA whose ledger is in PostgreSQL (nothing is created in the database)")
    .option("--accept-hooks", "run the CRL hook stored in the shared ledger (a shell command) on this node too; without it, the node gets HOME/hooks.off and does not")
    .addHelpText(
      "after",
      `
Examples:
  $ PKI_DATABASE_URL='postgres://pki@db.internal/pki?sslmode=verify-full&sslrootcert=/etc/pki/db-ca.pem' \\
      pki --home /etc/pki-node-b --passphrase-file /etc/pki/passphrase join
  $ pki --home /etc/pki-node-b serve --http 0.0.0.0:8080

Writes the home's database file (the URL without its password), ca.pem, crl.pem and
ledger.anchor, after verifying the whole event history with the CA key (so it needs the
CA passphrase, or the token's PIN). Records a node-joined event. The CRL hook set on another
node is shown and not run here (HOME/hooks.off) unless --accept-hooks.`,
    )
    .action(async (flags: { acceptHooks?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const { Authority } = await import("../../ca/authority.js");
      const options = authorityOptions(opts);
      const r = await Authority.join(options, commandContext(), flags.acceptHooks ?? false);
      if (opts.json) return printJson({ home: options.home.dir, ...r });
      print(`${options.home.dir} is now a node of the CA "${r.root.subject}" in ${r.database} (${r.certificates} certificates, CRL #${r.crlNumber ?? "none"}).`);
      print(`  ${options.home.caCertificate}, ${options.home.crl} written; next: pki serve`);
      if (r.hook.command !== null && r.hook.kept) print(`Runs the shared CRL hook here too (--accept-hooks): "${shown(r.hook.command, 1000)}"`);
      if (r.hook.command !== null && !r.hook.kept) print(`Does not run the shared CRL hook "${shown(r.hook.command, 1000)}" here (${options.home.hooksOff}); to run it, remove that file or set this node's own with pki hook set crl CMD.`);
    });
}
