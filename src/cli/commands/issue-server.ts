import { type Command, Option } from "commander";
import type { KeyType } from "../../ca/authority.js";
import { printJson } from "../output.js";
import { issuedJson, printIssued } from "./issue-client.js";
import { KEY_CHOICES, parseDays, readCsr, withAuthority } from "./shared.js";

interface Flags {
  days?: number;
  key: KeyType;
  profile?: string;
  csr?: string;
}

export function register(program: Command): Command {
  return program
    .command("issue-server")
    .description("issue a TLS server certificate from the same root (DNS and IP subjectAltNames from the hosts)")
    .argument("<host...>", "DNS names and IP addresses the server answers to; the first is the CN and the name")
    .option("--days <n>", "validity in days (default 365)", parseDays)
    .addOption(new Option("--key <type>", "key type").choices(KEY_CHOICES).default("ec-p256"))
    .option("--profile <file.ini>", "profile (default templates/profiles/server.ini)")
    .option("--csr <file>", "sign this PKCS#10 request (the key stays on the server)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki issue-server intranet.example.com 10.0.0.5
  $ pki issue-server localhost 127.0.0.1 ::1 --days 90
  $ pki issue-server '*.apps.internal'                      # name: wildcard.apps.internal

Then: pki export-key NAME --unencrypted --out /etc/ssl/private/NAME.key
      pki server-config nginx --server NAME`,
    )
    .action(async (hosts: string[], flags: Flags, cmd: Command) => {
      const csr = flags.csr === undefined ? undefined : readCsr(flags.csr);
      const { classifyHosts, serverName } = await import("../../ca/hosts.js");
      const altNames = classifyHosts(hosts);
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const result = await authority.issue(ctx, {
          name: serverName(altNames[0]!),
          kind: "server",
          altNames,
          keyType: flags.key,
          ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(csr ? { csr } : {}),
        });
        if (opts.json) printJson({ ...issuedJson(result), hosts: altNames.map((h) => h.value) });
        else printIssued(result, "Issued server certificate");
      });
    });
}
