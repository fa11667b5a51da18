import { type Command, Option } from "commander";
import type { IssueResult } from "../../ca/authority.js";
import type { KeyType } from "../../crypto/keys.js";
import { day, print, printJson } from "../output.js";
import { KEY_CHOICES, parseDays, readCsr, withAuthority } from "./shared.js";

interface Flags {
  profile?: string;
  days?: number;
  email?: string;
  key: KeyType;
  csr?: string;
}

export function register(program: Command): Command {
  return program
    .command("issue-client")
    .description("issue a client certificate (new key + CSR from a profile, or sign a CSR made elsewhere)")
    .argument("<name>", "who the certificate is for: a user or service name; becomes the CN and the file name")
    .option("--profile <file.ini>", "OpenSSL-style profile (default templates/profiles/client.ini)")
    .option("--days <n>", "validity in days (default 365)", parseDays)
    .option("--email <address>", "add an email subjectAltName")
    .addOption(new Option("--key <type>", "key type").choices(KEY_CHOICES).default("ec-p256"))
    .option("--csr <file>", "sign this PKCS#10 request instead of generating a key (the CA never sees the key)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki issue-client alice
  $ pki issue-client alice --email alice@example.com --days 90
  $ pki issue-client build-bot --csr build-bot.csr      # key stays on the bot
  $ pki issue-client bob --profile ./profiles/staff.ini

Writes certs/NAME.pem and private/NAME.key (encrypted with the CA passphrase) in the home.
Hand the holder a .p12 made with: pki export-p12 NAME`,
    )
    .action(async (name: string, flags: Flags, cmd: Command) => {
      const csr = flags.csr === undefined ? undefined : readCsr(flags.csr);
      await withAuthority(cmd, async (authority, opts) => {
        const result = await authority.issue({
          name,
          kind: "client",
          keyType: flags.key,
          ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(flags.email !== undefined ? { email: flags.email } : {}),
          ...(csr ? { csr } : {}),
        });
        if (opts.json) printJson(issuedJson(result));
        else printIssued(result, "Issued");
      });
    });
}

/** The documented JSON of issue-client and renew. */
export function issuedJson(r: IssueResult) {
  return {
    name: r.view.name,
    serial: r.view.serial,
    subject: r.view.subject,
    notBefore: r.view.notBefore,
    notAfter: r.view.notAfter,
    certificate: r.certificatePath,
    key: r.keyPath,
  };
}

export function printIssued(r: IssueResult, verb: string): void {
  print(`${verb} "${r.view.subject}" (serial ${r.view.serial}), valid until ${day(r.view.notAfter)}.`);
  print(`  certificate: ${r.certificatePath}`);
  if (r.keyPath) print(`  key:         ${r.keyPath} (encrypted with the CA passphrase)`);
  else print(`  key:         kept by the requester (signed from a CSR)`);
  if (r.keyPath && r.view.kind === "client") print(`Give it to its holder as a PKCS#12: pki export-p12 ${r.view.name}`);
  if (r.keyPath && r.view.kind === "server") print(`For the server: pki export-key ${r.view.name} --unencrypted --out /etc/ssl/private/${r.view.name}.key`);
}
