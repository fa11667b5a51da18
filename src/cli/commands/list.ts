import { type Command, InvalidArgumentError, Option } from "commander";
import type { CertificateStatus, CertificateView } from "../../ca/views.js";
import { paint, print, printJson, printTable, when } from "../output.js";
import { withAuthority } from "./shared.js";

const STATUS_COLOUR: Record<CertificateStatus, "green" | "red" | "yellow" | "dim"> = { valid: "green", revoked: "red", expired: "yellow", superseded: "dim" };

export function register(program: Command): Command {
  return program
    .command("list")
    .description("list certificates in the ledger")
    .addOption(new Option("--status <status>", "only this status").choices(["valid", "revoked", "expired", "superseded"]))
    .option("--expiring <days>", "only valid certificates expiring within DAYS", (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError("expected a whole number of days");
      return Number(v);
    })
    .addHelpText(
      "after",
      `
Examples:
  $ pki list
  $ pki list --status revoked
  $ pki list --expiring 30 --json | jq -r '.[].name'`,
    )
    .action(async (flags: { status?: CertificateStatus; expiring?: number }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const views = await authority.list(ctx, {
          ...(flags.status ? { status: flags.status } : {}),
          ...(flags.expiring !== undefined ? { expiringDays: flags.expiring } : {}),
        });
        if (opts.json) {
          printJson(views);
          return;
        }
        if (views.length === 0) {
          print("No certificates match.");
          return;
        }
        // A ROOT column once the CA has rotated its root: which root each certificate chains to.
        const rotated = views.some((v) => v.root !== undefined && v.root !== "G1");
        printTable(
          ["NAME", "KIND", "STATUS", "EXPIRES", "SERIAL", ...(rotated ? ["ROOT"] : []), "SUBJECT"],
          views.map((v: CertificateView) => [v.name, v.kind, v.status, when(v.notAfter), v.serial, ...(rotated ? [v.root ?? ""] : []), v.subject]),
          (row, col, text) => (col === 2 ? paint(STATUS_COLOUR[row[2] as CertificateStatus], text) : text),
        );
      }, "read");
    });
}
