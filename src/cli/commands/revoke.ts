import { type Command, Option } from "commander";
import { REVOCATION_REASONS } from "../../ca/views.js";
import { plural, print, printJson, when } from "../output.js";
import { withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { runCrlHook } from "../hooks.js";

export function register(program: Command): Command {
  return program
    .command("revoke")
    .description("revoke a certificate and regenerate crl.pem")
    .argument("<name|serial>", "certificate name (its current certificate) or serial in hex")
    .addOption(new Option("--reason <reason>", "RFC 5280 reason code").choices(REVOCATION_REASONS.filter((r) => r !== "removeFromCRL")).default("unspecified"))
    .addHelpText(
      "after",
      `
Examples:
  $ pki revoke alice --reason keyCompromise
  $ pki revoke 5f3a9c…                       # a serial from pki list
  $ pki revoke alice && sudo nginx -s reload  # nginx reads ssl_crl only at start and reload`,
    )
    .action(async (target: string, flags: { reason: (typeof REVOCATION_REASONS)[number] }, cmd: Command) => {
      const { CrlReason } = await import("../../crypto/crl.js");
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const r = await authority.revoke(ctx, target, CrlReason[flags.reason]);
        if (opts.json) {
          printJson({ serial: r.view.serial, name: r.view.name, reason: flags.reason, crl: r.crl.path, crlNumber: r.crl.number, crlNextUpdate: r.crl.nextUpdate });
        } else {
          print(`Revoked "${r.view.subject}" (serial ${r.view.serial}, reason ${flags.reason}).`);
          print(`  CRL #${r.crl.number}: ${r.crl.path}, ${plural(r.crl.revoked, "certificate")} revoked, expires ${when(r.crl.nextUpdate)}`);
          print(r.crl.hook ? `Running the CRL hook: ${r.crl.hook}` : `Reload the servers that use it (nginx -s reload): they read the CRL only at start.`);
        }
        runCrlHook(r.crl, homeOf(opts).dir, `revoke ${target}`);
      });
    });
}
