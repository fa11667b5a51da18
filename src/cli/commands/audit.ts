import type { Command } from "commander";
import { EXIT } from "../errors.js";
import { plural, print, printJson, printTable, when } from "../output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("audit")
    .description("list who did what when (the hash-chained event log); --verify detects edits, deletions and reordering")
    .option("--verify", "check the hash chain and that it agrees with the certificates and CRLs")
    .addHelpText(
      "after",
      `
Examples:
  $ pki audit
  $ pki audit --verify          # exit 8 when the log was tampered with
  $ pki audit --json | jq '.[] | select(.action == "revoked")'

Keep the printed head hash somewhere else (a ticket, a mail): a later --verify that
shows a different history before it proves the log was rewritten.`,
    )
    .action(async (flags: { verify?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        if (flags.verify) {
          const r = await authority.verifyAudit();
          if (opts.json) printJson(r);
          else {
            for (const p of r.problems) print(`FAIL  ${p}`);
            print(r.ok ? `The event log is intact: ${plural(r.events, "event")}, head ${r.head}` : `The event log was tampered with (${plural(r.problems.length, "problem")}).`);
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
