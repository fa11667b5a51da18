import type { Command } from "commander";
import { print, printJson, printTable } from "../output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  const config = program
    .command("config")
    .description("settings kept in the ledger: the CA's public URL, CRL and OCSP lifetimes")
    .addHelpText(
      "after",
      `
Examples:
  $ pki config list
  $ pki config set url http://ca.example.com:8080     # AIA/CDP in new certificates, pki serve --http
  $ pki config set crl-lifetime 7d                    # nextUpdate of every new CRL
  $ pki config set ocsp-lifetime 15m
  $ pki config unset crl-lifetime                     # back to the default

Durations: 90s, 15m, 12h, 7d. Every change is recorded in the audit log.`,
    );
  config
    .command("list")
    .description("every setting with its value (or default)")
    .action(async (_flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        const settings = await authority.settings();
        if (opts.json) return printJson(settings.map(({ key, value, isDefault }) => ({ key, value, isDefault })));
        printTable(["SETTING", "VALUE", "ABOUT"], settings.map((s) => [s.key, s.value === null ? "(not set)" : s.isDefault ? `${s.value} (default)` : s.value, s.description]));
      }, "read");
    });
  config
    .command("get")
    .description("one setting's value")
    .argument("<key>", "setting name, see pki config list")
    .action(async (key: string, _flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts) => {
        const { settingKey } = await import("../../ca/settings.js");
        const k = settingKey(key);
        const s = (await authority.settings()).find((v) => v.key === k)!;
        if (opts.json) printJson({ key: s.key, value: s.value, isDefault: s.isDefault });
        else print(s.value ?? "");
      }, "read");
    });
  config
    .command("set")
    .description("change a setting")
    .argument("<key>", "setting name, see pki config list")
    .argument("<value>", "the new value")
    .action(async (key: string, value: string, _flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const s = await authority.setSetting(ctx, key, value);
        if (opts.json) printJson({ key: s.key, value: s.value, isDefault: s.isDefault });
        else print(`${s.key} = ${s.value}`);
      });
    });
  config
    .command("unset")
    .description("reset a setting to its default")
    .argument("<key>", "setting name, see pki config list")
    .action(async (key: string, _flags: unknown, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const s = await authority.setSetting(ctx, key, null);
        if (opts.json) printJson({ key: s.key, value: s.value, isDefault: s.isDefault });
        else print(s.value === null ? `${s.key} is not set` : `${s.key} = ${s.value} (default)`);
      });
    });
  return config;
}
