import { type Command, Option } from "commander";
import type { KeyType } from "../../ca/authority.js";
import { io } from "../io.js";
import { print, printJson } from "../output.js";
import { PkiError } from "../../ca/errors.js";
import { issuedJson, issueList, printIssued, readNameList } from "./issue-client.js";
import { KEY_CHOICES, parseDays, profileArg, readCsr, withAuthority } from "./shared.js";

interface Flags {
  days?: number;
  key: KeyType;
  profile?: string;
  csr?: string;
  from?: string;
}

export function register(program: Command): Command {
  return program
    .command("issue-server")
    .description("issue a TLS server certificate from the same root (DNS and IP subjectAltNames from the hosts)")
    .argument("[host...]", "DNS names and IP addresses the server answers to; the first is the CN and the name")
    .option("--days <n>", "validity in days (default 365)", parseDays)
    .addOption(new Option("--key <type>", "key type (with --csr: checked against the CSR's key)").choices(KEY_CHOICES).default("ec-p256"))
    .option("--profile <file.ini>", "profile (default templates/profiles/server.ini)")
    .option("--csr <file>", "sign this PKCS#10 request (the key stays on the server)")
    .option("--from <file>", "issue one certificate per line of FILE, each line a server's hosts as above (# comments), in one process")
    .addHelpText(
      "after",
      `
Examples:
  $ pki issue-server intranet.example.com 10.0.0.5
  $ pki issue-server localhost 127.0.0.1 ::1 --days 90
  $ pki issue-server '*.apps.internal'                      # name: wildcard.apps.internal
  $ pki issue-server 2001:db8::1                             # name: 2001-db8--1, CN and SAN 2001:db8::1
  $ pki issue-server bücher.example                          # SAN xn--bcher-kva.example
  $ pki issue-server --from servers.txt                      # one server a line: web1.internal 10.0.0.11

Then: pki export-key NAME --unencrypted --out /etc/ssl/private/NAME.key
      pki server-config nginx --server NAME`,
    )
    .action(async (hosts: string[], flags: Flags, cmd: Command) => {
      if (flags.from !== undefined) {
        if (hosts.length > 0 || flags.csr) throw new PkiError("usage", "--from takes the hosts from the file: give no HOST or --csr with it");
        await issueServersFromFile(flags.from, flags, cmd);
        return;
      }
      if (hosts.length === 0) throw new PkiError("usage", "missing HOST (or --from FILE)", "for example: pki issue-server intranet.example.com 10.0.0.5");
      const csr = flags.csr === undefined ? undefined : readCsr(flags.csr);
      const { classifyHosts, hostWarnings, serverName } = await import("../../ca/hosts.js");
      const classified = classifyHosts(hosts);
      for (const w of hostWarnings(classified)) io().stderr.write(`pki: warning: ${w}\n`);
      const altNames = classified.map(({ type, value }) => ({ type, value }));
      const name = serverName(altNames[0]!);
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const result = await authority.issue(ctx, {
          name,
          // An IPv6 address is the CN as it is; only the file name spells its colons as dashes.
          ...(name !== altNames[0]!.value && altNames[0]!.type === "ip" ? { profileName: altNames[0]!.value } : {}),
          kind: "server",
          altNames,
          ...(csr === undefined || cmd.getOptionValueSource("key") === "cli" ? { keyType: flags.key } : {}),
          ...(flags.profile !== undefined ? { profile: profileArg(flags.profile) } : {}),
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(csr ? { csr } : {}),
        });
        const international = classified.filter((h) => h.unicode);
        if (opts.json) printJson({ ...issuedJson(result), hosts: altNames.map((h) => h.value), ...(international.length ? { unicode: Object.fromEntries(international.map((h) => [h.value, h.unicode])) } : {}) });
        else {
          printIssued(result, "Issued server certificate");
          for (const h of international) print(`  ${h.unicode} is written ${h.value} in the certificate (IDNA A-label)`);
        }
      });
    });
}

async function issueServersFromFile(file: string, flags: Flags, cmd: Command): Promise<void> {
  const { classifyHosts, hostWarnings, serverName } = await import("../../ca/hosts.js");
  const names = readNameList(file).map(({ line, text }) => {
    let classified;
    try {
      classified = classifyHosts(text.split(/\s+/));
    } catch (e) {
      if (e instanceof PkiError) throw new PkiError(e.kind, `line ${line}: ${e.message}`, e.hint, e.code);
      throw e;
    }
    for (const w of hostWarnings(classified)) io().stderr.write(`pki: warning: line ${line}: ${w}\n`);
    const altNames = classified.map(({ type, value }) => ({ type, value }));
    const name = serverName(altNames[0]!);
    return { name, altNames, ...(name !== altNames[0]!.value && altNames[0]!.type === "ip" ? { profileName: altNames[0]!.value } : {}) };
  });
  await issueList(cmd, { names, kind: "server", keyType: flags.key, ...(flags.days !== undefined ? { days: flags.days } : {}), ...(flags.profile !== undefined ? { profile: flags.profile } : {}) });
}
