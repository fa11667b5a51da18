import { join } from "node:path";
import { type Command, Option } from "commander";
import type { IssueResult } from "../../ca/authority.js";
import type { BatchParams } from "../../ca/batch.js";
import { MAX_NAME_LIST_BYTES, readBounded } from "../../ca/bounded-read.js";
import { PkiError, shown } from "../../ca/errors.js";
import type { KeyType } from "../../ca/authority.js";
import { globals, homeOf } from "../context.js";
import { inputPath, io, userPath } from "../io.js";
import { plural, print, printJson, when } from "../output.js";
import { readPkcs12Password } from "../secrets.js";
import { shellQuote } from "../../ca/shell-quote.js";
import { KEY_CHOICES, parseDays, profileArg, readCsr, withAuthority } from "./shared.js";

interface Flags {
  profile?: string;
  days?: number;
  email?: string;
  key: KeyType;
  csr?: string;
  p12?: string | boolean;
  passwordFile?: string;
  legacy?: boolean;
  from?: string;
}

export function register(program: Command): Command {
  return program
    .command("issue-client")
    .description("issue a client certificate (new key + CSR from a profile, or sign a CSR made elsewhere)")
    .argument("[name]", "who the certificate is for: a user or service name; becomes the CN and the file name")
    .option("--profile <file.ini|name>", "OpenSSL-style profile, or a shipped one by name: client (default), smime")
    .option("--days <n>", "validity in days (default 365)", parseDays)
    .option("--email <address>", "add an email subjectAltName")
    .addOption(new Option("--key <type>", "key type (with --csr: checked against the CSR's key)").choices(KEY_CHOICES).default("ec-p256"))
    .option("--csr <file>", "sign this PKCS#10 request instead of generating a key (the CA never sees the key)")
    .option("--p12 [file]", "also write the PKCS#12 (default HOME/private/NAME.p12), password as for export-p12")
    .option("--password-file <file>", "with --p12: read the .p12 password from FILE (else $PKI_P12_PASSWORD, else a prompt)")
    .option("--legacy", "with --p12: 3DES + SHA-1 MAC, for older Apple, Android 12-13 and Windows Server 2016")
    .option("--from <file>", "issue one certificate per name in FILE (one per line, # comments), in one process")
    .addHelpText(
      "after",
      `
Examples:
  $ pki issue-client alice
  $ pki issue-client alice --email alice@example.com --days 90
  $ pki issue-client build-bot --csr build-bot.csr      # key stays on the bot
  $ pki issue-client bob --profile ./profiles/staff.ini
  $ pki issue-client carol --profile smime --email carol@example.com   # S/MIME mail
  $ pki issue-client carol --p12 carol.p12                # certificate and .p12 in one step
  $ pki issue-client --from staff.txt                     # thousands, one transaction per 500

Writes certs/NAME.pem and private/NAME.key (encrypted with the CA passphrase) in the home.
Hand the holder a .p12 made with: pki export-p12 NAME`,
    )
    .action(async (name: string | undefined, flags: Flags, cmd: Command) => {
      if (flags.from !== undefined) {
        if (name !== undefined || flags.csr || flags.p12 || flags.email) throw new PkiError("usage", "--from takes the names from the file: give no NAME, --csr, --p12 or --email with it");
        await issueFromFile(flags.from, flags, cmd);
        return;
      }
      if (name === undefined) throw new PkiError("usage", "missing NAME (or --from FILE)", "for example: pki issue-client alice");
      const csr = flags.csr === undefined ? undefined : readCsr(flags.csr);
      await withAuthority(cmd, async (authority, opts, ctx) => {
        const pkcs12 =
          flags.p12 === undefined
            ? undefined
            : { password: () => readPkcs12Password(flags.passwordFile), legacy: flags.legacy ?? false, ...(typeof flags.p12 === "string" ? { out: userPath(flags.p12) } : {}) };
        const result = await authority.issue(ctx, {
          name,
          kind: "client",
          // With --csr the key is the requester's: a --key given there is a claim about it, checked.
          ...(csr === undefined || cmd.getOptionValueSource("key") === "cli" ? { keyType: flags.key } : {}),
          ...(flags.profile !== undefined ? { profile: profileArg(flags.profile) } : {}),
          ...(flags.days !== undefined ? { days: flags.days } : {}),
          ...(flags.email !== undefined ? { email: flags.email } : {}),
          ...(csr ? { csr } : {}),
          ...(pkcs12 ? { pkcs12 } : {}),
        });
        if (opts.json) printJson({ ...issuedJson(result), ...(result.pkcs12Path ? { pkcs12: result.pkcs12Path } : {}) });
        else {
          printIssued(result, "Issued");
          if (result.pkcs12Path) print(`  pkcs12:      ${result.pkcs12Path}`);
        }
      });
    });
}

async function issueFromFile(file: string, flags: Flags, cmd: Command): Promise<void> {
  const names = readNameList(file).map((l) => l.text);
  await issueList(cmd, { names, kind: "client", keyType: flags.key, ...(flags.days !== undefined ? { days: flags.days } : {}), ...(flags.profile !== undefined ? { profile: flags.profile } : {}) });
}

/** The lines of a --from file that hold something (after # comments), with their line numbers. */
export function readNameList(file: string): { line: number; text: string }[] {
  let text: string;
  try {
    text = readBounded(inputPath(file), MAX_NAME_LIST_BYTES, "--from").toString("utf8");
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError("not-found", `cannot read --from ${shown(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((l, i) => ({ line: i + 1, text: l.replace(/#.*/, "").trim() })).filter((l) => l.text);
  if (lines.length === 0) throw new PkiError("usage", `--from ${file} holds no names`);
  return lines;
}

/** Bulk issuance with a progress bar on a terminal, then one line (or JSON) saying how fast. */
export async function issueList(cmd: Command, params: Omit<BatchParams, "onProgress">): Promise<void> {
  await withAuthority(cmd, async (authority, opts, ctx) => {
    const progress = io().stderr.isTTY ? progressBar(params.names.length) : undefined;
    const r = await authority.issueBatch(ctx, { ...params, ...(progress ? { onProgress: progress } : {}) });
    if (progress) io().stderr.write("\n");
    const rate = r.issued / Math.max(r.seconds, 1e-6);
    const certs = join(homeOf(globals(cmd)).dir, "certs");
    if (opts.json) printJson({ issued: r.issued, seconds: r.seconds, perSecond: Math.round(rate), certificates: certs });
    else print(`Issued ${plural(r.issued, "certificate")} in ${r.seconds.toFixed(1)} s (${Math.round(rate)}/s): ${certs}/NAME.pem, keys in ../private/.`);
  });
}

function progressBar(total: number): (done: number, total: number) => void {
  const started = Date.now();
  return (done) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
    io().stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} (${Math.round(rate)}/s)`);
  };
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
    ...(r.csrGrant ? { fromCsr: { subjectAltNames: r.csrGrant.altNames.map((n) => ({ type: n.type, value: n.value })), extendedKeyUsage: r.csrGrant.purposes } } : {}),
  };
}

export function printIssued(r: IssueResult, verb: string): void {
  print(`${verb} "${r.view.subject}" (serial ${r.view.serial}), valid until ${when(r.view.notAfter)}.`);
  if (r.csrGrant) {
    const names = r.csrGrant.altNames.map((n) => `${SAN_LABEL[n.type]}:${n.value}`);
    if (names.length) print(`  subjectAltName from the CSR: ${names.join(", ")}`);
    if (r.csrGrant.purposes) print(`  extendedKeyUsage as the CSR asks: ${r.csrGrant.purposes.join(", ")}`);
  }
  print(`  certificate: ${r.certificatePath}`);
  if (r.keyPath) print(`  key:         ${r.keyPath} (encrypted with the CA passphrase)`);
  else print(`  key:         kept by the requester (signed from a CSR)`);
  const name = shellQuote(r.view.name);
  if (r.keyPath && r.view.kind === "client" && !r.pkcs12Path) print(`Give it to its holder as a PKCS#12: pki export-p12 ${name}`);
  if (r.keyPath && r.view.kind === "server") print(`For the server: pki export-key ${name} --unencrypted --out ${shellQuote(`/etc/ssl/private/${r.view.name}.key`)}`);
}

const SAN_LABEL: Record<string, string> = { dns: "DNS", ip: "IP", email: "email", url: "URI" };
