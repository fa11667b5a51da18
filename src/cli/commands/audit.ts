import type { Command } from "commander";
import { EXIT } from "../errors.js";
import { plural, print, printJson, printTable, when } from "../output.js";
import { canPrompt } from "../prompts.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("audit")
    .description("list who did what when (the authenticated, hash-chained event log); --verify detects edits, deletions and reordering")
    .option("--verify", "check the chain, its MACs and anchor (with the CA passphrase), and that it agrees with the certificates, CRLs and settings")
    .addHelpText(
      "after",
      `
Examples:
  $ pki audit
  $ pki audit --verify          # exit 8 when the log was tampered with
  $ PKI_PASSPHRASE= pki audit --verify   # no passphrase, no terminal: consistency only
  $ pki audit --json | jq '.[] | select(.action == "revoked")'

With the CA passphrase (--passphrase-file, PKI_PASSPHRASE, or asked on a terminal) every
event's MAC and the anchor (ledger.anchor) are checked: only the CA holder can make them.
Without it, the chain is checked for consistency only ("authenticated": false in --json).`,
    )
    .action(async (flags: { verify?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        if (flags.verify) {
          const authenticate = opts.passphraseFile !== undefined || Boolean(process.env.PKI_PASSPHRASE) || canPrompt();
          const r = await authority.verifyAudit(authenticate);
          if (opts.json) printJson(r);
          else {
            for (const p of r.problems) print(`FAIL  ${p}`);
            if (r.legacyEvents > 0) print(`note  the first ${plural(r.legacyEvents, "event")} predate authenticated history: checked for consistency only`);
            const how = r.authenticated ? "authenticated with the CA key" : "consistent, but not authenticated: without the CA passphrase anyone who can write the ledger could have recomputed it";
            print(r.ok ? `The event log is intact and ${how}: ${plural(r.events, "event")}, head ${r.head}` : `The event log was tampered with (${plural(r.problems.length, "problem")}).`);
          }
          if (!r.ok) process.exitCode = EXIT.problems;
          return;
        }
        const events = await authority.events();
        if (opts.json) {
          printJson(events);
          return;
        }
        printTable(
          ["#", "WHEN", "WHO", "WHAT", "SERIAL", "DETAILS"],
          events.map((e) => [String(e.id), when(e.at), e.actor, e.action, e.serial ?? "", summary(e.details)]),
        );
      }, "read");
    });
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function summary(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([k]) => k !== "sha256" && k !== "subject")
    .map(([k, v]) => `${k}=${typeof v !== "string" ? JSON.stringify(v) : ISO_TIME.test(v) ? when(v) : v}`)
    .join(" ");
}
