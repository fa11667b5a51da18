import { type Command, Option } from "commander";
import { type CertificateView, CrlReason, REVOCATION_REASONS } from "../../ca/views.js";
import { PkiError } from "../../ca/errors.js";
import { plural, print, printJson, when } from "../output.js";
import { askConfirm, canPrompt } from "../prompts.js";
import type { CrlFormat } from "../../ca/revocation.js";
import { CRL_FORMAT_CHOICES, crlCopy, withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { runCrlHook } from "../hooks.js";

interface Flags extends AccessFlags {
  reason: (typeof REVOCATION_REASONS)[number];
  serial?: string;
  yes?: boolean;
  crlOut?: string;
  crlFormat?: CrlFormat;
}

export function register(program: Command): Command {
  return accessOptions(program
    .command("revoke"))
    .description("revoke every working certificate of a name (or one serial) and regenerate crl.pem")
    .argument("[name|serial]", "certificate name (all its unexpired, unrevoked certificates) or one serial in hex")
    .option("--serial <serial>", "revoke only the certificate with this serial")
    .addOption(new Option("--reason <reason>", "RFC 5280 reason code").choices(REVOCATION_REASONS.filter((r) => r !== "removeFromCRL")).default("unspecified"))
    .option("-y, --yes", "do not ask for confirmation on a terminal")
    .option("--crl-out <file>", "also write the new CRL here, for a server that cannot read the home (mode 0644; --owner, --group, --mode)")
    .addOption(new Option("--crl-format <format>", "format of the --crl-out copy (default pem)").choices(CRL_FORMAT_CHOICES))
    .addHelpText(
      "after",
      `
Examples:
  $ pki revoke alice --reason keyCompromise    # alice's current certificate and any older one still valid
  $ pki revoke --serial 5f3a9c…                # just this one (a serial from pki list)
  $ pki revoke alice --reason certificateHold  # a suspension: pki unrevoke alice lifts it
  $ pki revoke alice --yes && sudo nginx -s reload  # nginx reads ssl_crl only at start and reload
  $ pki revoke bob --crl-out /etc/mosquitto/pki/crl.pem   # a copy where the broker can read it

On a terminal pki lists what it will revoke and asks first; --yes (or no terminal) skips the question.`,
    )
    .action(async (target: string | undefined, flags: Flags, cmd: Command) => {
      if ((target === undefined) === (flags.serial === undefined)) {
        throw new PkiError("usage", target === undefined ? "name a certificate or give --serial" : "give a name or --serial, not both", "see pki revoke --help");
      }
      const what = (target ?? flags.serial)!;
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const copy = crlCopy(flags.crlOut, flags.crlFormat, "--crl-out", "--crl-format", fileAccess(flags));
        const confirm = flags.yes || !canPrompt() ? undefined : (planned: CertificateView[]) => confirmRevocation(planned, flags.reason);
        const r = await authority.revoke(ctx, what, CrlReason[flags.reason], { serialOnly: flags.serial !== undefined, ...(confirm ? { confirm } : {}), ...(copy ? { crlCopy: copy } : {}) });
        if (opts.json) {
          printJson({
            serial: r.view.serial, name: r.view.name, reason: flags.reason, crl: r.crl.path, crlNumber: r.crl.number, crlNextUpdate: r.crl.nextUpdate, ...(copy ? { crlOut: copy.path } : {}),
            revoked: r.revoked.map((c) => ({ serial: c.view.serial, name: c.view.name, kind: c.view.kind, subject: c.view.subject, notAfter: c.view.notAfter, previousStatus: c.previousStatus })),
          });
        } else {
          if (r.revoked.length === 1) print(`Revoked "${r.view.subject}" (serial ${r.view.serial}, reason ${flags.reason}).`);
          else {
            print(`Revoked ${r.revoked.length} certificates of "${r.view.name}" (reason ${flags.reason}):`);
            for (const c of r.revoked) print(`  ${describe(c.view, c.previousStatus)}`);
          }
          print(`  CRL #${r.crl.number}: ${r.crl.path}${copy ? ` and ${copy.path}` : ""}, ${plural(r.crl.revoked, "certificate")} revoked, expires ${when(r.crl.nextUpdate)}`);
          print(r.crl.hook ? `Running the CRL hook: ${r.crl.hook}` : `Reload the servers that use it (nginx -s reload): they read the CRL only at start.`);
        }
        runCrlHook(r.crl, homeOf(opts).dir, `revoke ${what}`);
      });
    });
}

function describe(c: CertificateView, status: string): string {
  return `serial ${c.serial}  ${c.kind}  "${c.subject}"  ${status}, until ${when(c.notAfter)}`;
}

async function confirmRevocation(planned: CertificateView[], reason: string): Promise<boolean> {
  const n = planned.length;
  process.stderr.write(`This revokes ${plural(n, "certificate")} (reason ${reason}); servers refuse ${n === 1 ? "it" : "them"} after their next CRL reload:\n`);
  for (const c of planned) process.stderr.write(`  ${describe(c, c.status)}\n`);
  return askConfirm(n === 1 ? "Revoke it?" : `Revoke all ${n}?`);
}
