import type { Command } from "commander";
import { print, printJson, printTable } from "../output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  const role = program
    .command("role")
    .description("who may do what through pki serve --api: admins issue, list, show and revoke; others only renew themselves")
    .addHelpText(
      "after",
      `
Examples:
  $ pki role set alice admin      # alice's client certificate may use the whole API
  $ pki role set alice none       # back to renewing only herself
  $ pki role list

A role belongs to the name, so it carries over when the certificate is renewed. Every change is
recorded in the audit log.`,
    );
  role
    .command("set")
    .description("give a name a role (admin), or take it away (none)")
    .argument("<name>", "certificate name")
    .argument("<role>", "admin or none")
    .action(async (name: string, value: string, _flags: unknown, cmd: Command) => {
      const { roleChoice } = await import("../../ca/roles.js");
      const choice = roleChoice(value);
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const change = await authority.setRole(ctx, name, choice);
        if (opts.json) return printJson(change);
        print(change.previous === change.role ? `${change.name} already has role ${change.role}` : `${change.name}: ${change.previous} → ${change.role}`);
      });
    });
  role
    .command("list")
    .description("every name that has a role")
    .action(async (_flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        const roles = await authority.roles();
        if (opts.json) return printJson(roles);
        if (roles.length === 0) return print("No name has a role; every client certificate may only renew itself.");
        printTable(["NAME", "ROLE"], roles.map((r) => [r.name, r.role]));
      }, "read");
    });
  return role;
}
