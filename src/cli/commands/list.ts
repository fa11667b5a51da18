import { type Command, InvalidArgumentError, Option } from "commander";
import type { CertificateStatus } from "../../ca/views.js";
import { printList } from "../certificate-output.js";
import { withAuthority } from "./shared.js";

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
        printList(views, opts.json);
      }, "read");
    });
}
