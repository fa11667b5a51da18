import { type Command, Option } from "commander";
import { shown } from "../../ca/errors.js";
import type { CrlFormat } from "../../ca/revocation.js";
import { plural, print, printJson, when } from "../output.js";
import { CRL_FORMAT_CHOICES, crlCopy, withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { runCrlHook } from "../hooks.js";

interface Flags extends AccessFlags {
  crlOut?: string;
  crlFormat?: CrlFormat;
}

export function register(program: Command): Command {
  return accessOptions(program
    .command("unrevoke"))
    .description("release a certificateHold: the certificate works again once servers load the new CRL")
    .argument("<name|serial>", "certificate name (every held certificate of it) or one serial in hex")
    .option("--crl-out <file>", "also write the new CRL here, for a server that cannot read the home (mode 0644; --owner, --group, --mode)")
    .addOption(new Option("--crl-format <format>", "format of the --crl-out copy (default pem)").choices(CRL_FORMAT_CHOICES))
    .addHelpText(
      "after",
      `
Examples:
  $ pki revoke alice --reason certificateHold    # laptop missing: suspend her access
  $ pki unrevoke alice && sudo nginx -s reload   # found it: the next CRL no longer lists her
  $ pki unrevoke 5f3a9c…                         # one serial

Only certificateHold can be released (RFC 5280 5.3.1); any other revocation is final
(exit 6, code NOT_ON_HOLD): issue a new certificate instead.`,
    )
    .action(async (target: string, flags: Flags, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const copy = crlCopy(flags.crlOut, flags.crlFormat, "--crl-out", "--crl-format", fileAccess(flags));
        const r = await authority.unrevoke(ctx, target, copy ? { crlCopy: copy } : {});
        if (opts.json) {
          printJson({
            released: r.released.map((c) => ({ serial: c.view.serial, name: c.view.name, kind: c.view.kind, status: c.view.status, heldSince: c.heldSince })),
            crl: r.crl.path, crlNumber: r.crl.number, crlNextUpdate: r.crl.nextUpdate, ...(copy ? { crlOut: copy.path } : {}),
          });
        } else {
          for (const c of r.released) print(`Released the hold on "${c.view.subject}" (serial ${c.view.serial}, held since ${when(c.heldSince)}): ${c.view.status}.`);
          print(`  CRL #${r.crl.number}: ${r.crl.path}${copy ? ` and ${copy.path}` : ""}, ${plural(r.crl.revoked, "certificate")} revoked, expires ${when(r.crl.nextUpdate)}`);
          print(r.crl.hook ? `Running the CRL hook: ${r.crl.hook}` : `Reload the servers that use it (nginx -s reload): until then they still refuse it.`);
        }
        await runCrlHook(r.crl, homeOf(opts).dir, `unrevoke ${shown(target)}`);
      });
    });
}
