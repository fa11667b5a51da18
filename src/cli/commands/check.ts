import type { Command } from "commander";
import type { Finding } from "../../ca/check.js";
import { EXIT } from "../errors.js";
import { paint, plural, print, printJson } from "../output.js";
import { readSecret } from "../secrets.js";
import { withAuthority } from "./shared.js";

const MARK: Record<Finding["level"], string> = { ok: "ok  ", warning: "warn", error: "FAIL" };
const COLOUR = { ok: "green", warning: "yellow", error: "red" } as const;

export function register(program: Command): Command {
  return program
    .command("check")
    .description("verify the home: ledger integrity, chain, files vs ledger, CRL freshness, permissions, event log")
    .option("--repair", "rewrite output files from the ledger, remove leftovers and tighten modes")
    .addHelpText(
      "after",
      `
Examples:
  $ pki check
  $ pki check --repair
  $ pki check --json | jq '.findings[] | select(.level != "ok")'
  $ pki --passphrase-file /etc/pki-clients/passphrase check   # also opens every stored key

Exit 0 when nothing is wrong (warnings allowed), 8 when a problem remains.`,
    )
    .action(async (flags: { repair?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        // Only a passphrase given by file or environment: check runs from cron and never prompts.
        const given = opts.passphraseFile !== undefined || Boolean(process.env.PKI_PASSPHRASE);
        const passphrase = given ? await readSecret({ what: "CA passphrase", file: opts.passphraseFile, flag: "--passphrase-file", envVar: "PKI_PASSPHRASE", confirm: false }) : undefined;
        const findings = await authority.check(flags.repair ?? false, passphrase);
        const failed = findings.some((f) => f.level === "error" && !f.repaired);
        if (opts.json) printJson({ ok: !failed, findings });
        else {
          for (const f of findings) {
            const mark = f.repaired ? paint("green", "fixd") : paint(COLOUR[f.level], MARK[f.level]);
            print(`${mark}  ${f.check.padEnd(11)} ${f.message}${!f.repaired && f.fix && f.level !== "ok" ? ` → ${f.fix}` : ""}`);
          }
          const repaired = findings.filter((f) => f.repaired).length;
          if (repaired > 0) print(`Repaired ${plural(repaired, "problem")}.`);
          print(failed ? "Problems found." : "The home is sound.");
        }
        if (failed) process.exitCode = EXIT.problems;
      }, flags.repair ? "write" : "read");
    });
}
