import type { Command } from "commander";
import { print, printJson } from "../output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  const hook = program
    .command("hook")
    .description("the command pki runs after every CRL change (revoke, crl, renew --revoke-old)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki hook set crl "nginx -s reload"
  $ pki hook set crl "systemctl reload nginx haproxy"
  $ pki hook show
  $ pki hook clear crl

The command runs through /bin/sh with PKI_CRL (the CRL's path) and PKI_HOME set.
If it fails, the change stands and pki exits 9.`,
    );
  hook
    .command("set")
    .description("set the after-CRL command")
    .argument("<event>", "crl")
    .argument("<command>", "shell command, quoted")
    .action(async (event: string, command: string, _flags: unknown, cmd: Command) => {
      await checkEvent(event);
      await withAuthority(cmd, async (authority, opts, ctx) => {
        await authority.setCrlHook(ctx, command);
        if (opts.json) printJson({ crl: command });
        else print(`After every CRL change pki will run: ${command}`);
      });
    });
  hook
    .command("clear")
    .description("remove the after-CRL command")
    .argument("<event>", "crl")
    .action(async (event: string, _flags: unknown, cmd: Command) => {
      await checkEvent(event);
      await withAuthority(cmd, async (authority, opts, ctx) => {
        await authority.setCrlHook(ctx, null);
        if (opts.json) printJson({ crl: null });
        else print("No command runs after CRL changes now; reload your servers by hand.");
      });
    });
  hook
    .command("show")
    .description("show the configured commands")
    .action(async (_flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        const crl = await authority.crlHook();
        if (opts.json) printJson({ crl });
        else print(crl ? `crl: ${crl}` : "crl: (none)");
      }, "read");
    });
  return hook;
}

async function checkEvent(event: string): Promise<void> {
  if (event === "crl") return;
  const { PkiError } = await import("../../ca/errors.js");
  throw new PkiError("usage", `unknown hook "${event}"; the only one is "crl"`);
}
