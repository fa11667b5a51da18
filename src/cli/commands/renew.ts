import { type Command, Option } from "commander";
import type { KeyType } from "../../ca/authority.js";
import { print, printJson, when } from "../output.js";
import { issuedJson, printIssued } from "./issue-client.js";
import { KEY_CHOICES, parseDays, profileArg, withAuthority } from "./shared.js";
import { homeOf } from "../context.js";
import { runCrlHook } from "../hooks.js";

interface Flags {
  days?: number;
  profile?: string;
  key?: KeyType;
  reuseKey?: boolean;
  revokeOld?: boolean;
}

export function register(program: Command): Command {
  return program
    .command("renew")
    .description("issue a new certificate (and by default a new key) for the same subject; the old one is superseded")
    .argument("<name>", "certificate name")
    .option("--days <n>", "validity in days (default 365)", parseDays)
    .option("--profile <file.ini>", "re-apply this profile instead of copying the old subject and extensions")
    .addOption(new Option("--key <type>", "key type for the new key (default: same as before)").choices(KEY_CHOICES))
    .option("--reuse-key", "keep the old key pair")
    .option("--revoke-old", "also revoke the old certificate (reason superseded) and regenerate the CRL")
    .addHelpText(
      "after",
      `
Examples:
  $ pki renew alice
  $ pki renew alice --days 90 --revoke-old
  $ pki list --expiring 30 --json | jq -r '.[].name' | xargs -n1 pki renew

Without --revoke-old the old certificate keeps working until it expires.`,
    )
    .action(async (name: string, flags: Flags, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const r = await authority.renew(ctx, {
          name,
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(flags.profile !== undefined ? { profile: profileArg(flags.profile) } : {}),
          ...(flags.key !== undefined ? { keyType: flags.key } : {}),
          reuseKey: flags.reuseKey ?? false,
          revokeOld: flags.revokeOld ?? false,
        });
        if (opts.json) {
          printJson({ ...issuedJson(r), previous: { serial: r.previous.serial, status: r.previous.status }, crl: r.crl?.path ?? null });
        } else {
          printIssued(r, "Renewed");
          print(`  replaces serial ${r.previous.serial} (now ${r.previous.status})`);
          if (r.crl) print(`  CRL regenerated: ${r.crl.path}, expires ${when(r.crl.nextUpdate)}${r.crl.hook ? "" : "; reload your servers"}`);
        }
        if (r.crl) await runCrlHook(r.crl, homeOf(opts).dir, `renew ${name}`);
      });
    });
}
