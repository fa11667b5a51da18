import { resolve } from "node:path";
import type { Command } from "commander";
import { plural, print, printJson, when } from "../output.js";
import { parseDays, withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { runCrlHook } from "../hooks.js";

export function register(program: Command): Command {
  return program
    .command("crl")
    .description("regenerate the CRL (crl.pem) with a new number and nextUpdate")
    .option("--days <n>", "days until nextUpdate (default 30)", parseDays)
    .option("--out <file>", "also write the CRL here")
    .addHelpText(
      "after",
      `
Examples:
  $ pki crl
  $ pki crl --days 7 --out /etc/nginx/client-crl.pem && nginx -s reload

Why it matters: nginx rejects EVERY client certificate once the CRL's nextUpdate has
passed ("CRL has expired"). Regenerate well before then, e.g. weekly from a timer.`,
    )
    .action(async (flags: { days?: number; out?: string }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const r = await authority.generateCrl(ctx, {
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(flags.out !== undefined ? { out: resolve(flags.out) } : {}),
        });
        if (opts.json) {
          printJson({ crl: r.path, number: r.number, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate, revoked: r.revoked, ...(flags.out ? { out: resolve(flags.out) } : {}) });
        } else {
          print(`CRL #${r.number} with ${plural(r.revoked, "revoked certificate")}: ${r.path}${flags.out ? ` and ${resolve(flags.out)}` : ""}`);
          print(`It expires ${when(r.nextUpdate)}; after that nginx refuses every client. Run "pki crl" again before then.`);
        }
        runCrlHook(r, homeOf(opts).dir, "crl");
      });
    });
}
