import { type Command, Option } from "commander";
import type { CrlFormat } from "../../ca/revocation.js";
import { plural, print, printJson, when } from "../output.js";
import { type AccessFlags, accessOptions, fileAccess } from "../file-access.js";
import { CRL_FORMAT_CHOICES, crlCopy, parseDays, withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { runCrlHook } from "../hooks.js";

export function register(program: Command): Command {
  return accessOptions(program
    .command("crl"))
    .description("regenerate the CRL (crl.pem) with a new number and nextUpdate")
    .option("--days <n>", "days until nextUpdate (default 30)", parseDays)
    .option("--out <file>", "also write the CRL here, for a server that cannot read the home (mode 0644)")
    .addOption(new Option("--format <format>", "format of the --out copy (default pem)").choices(CRL_FORMAT_CHOICES))
    .addHelpText(
      "after",
      `
Examples:
  $ pki crl
  $ pki crl --days 7 --out /etc/nginx/client-crl.pem && nginx -s reload
  $ pki crl --out /etc/mosquitto/certs/crl.pem --group mosquitto --mode 0640
  $ pki crl --out /srv/www/pki/root.crl --format der     # what a CRL distribution point serves

Why it matters: nginx rejects EVERY client certificate once the CRL's nextUpdate has
passed ("CRL has expired"). Regenerate well before then, e.g. weekly from a timer.`,
    )
    .action(async (flags: AccessFlags & { days?: number; out?: string; format?: CrlFormat }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const copy = crlCopy(flags.out, flags.format, "--out", "--format", fileAccess(flags));
        const r = await authority.generateCrl(ctx, {
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(copy ? { copy } : {}),
        });
        if (opts.json) {
          printJson({ crl: r.path, number: r.number, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate, revoked: r.revoked, ...(copy ? { out: copy.path, format: copy.format } : {}) });
        } else {
          print(`CRL #${r.number} with ${plural(r.revoked, "revoked certificate")}: ${r.path}${copy ? ` and ${copy.path}${copy.format === "der" ? " (DER)" : ""}` : ""}`);
          print(`It expires ${when(r.nextUpdate)}; after that nginx refuses every client. Run "pki crl" again before then.`);
        }
        await runCrlHook(r, homeOf(opts).dir, "crl");
      });
    });
}
