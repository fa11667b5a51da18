import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { Check, DoctorInput } from "../../doctor/doctor.js";
import type { Authority } from "../../ca/authority.js";
import { MAX_BUNDLE_BYTES, MAX_SMALL_FILE_BYTES, readBounded } from "../../ca/bounded-read.js";
import { PkiError, shown } from "../../ca/errors.js";
import { shellQuote } from "../../ca/shell-quote.js";
import { authorityOptions, commandContext, globals, homeOf } from "../context.js";
import { EXIT } from "../errors.js";
import { paint, print, printJson } from "../output.js";
import { readSecret } from "../secrets.js";

interface Flags {
  cert?: string;
  key?: string;
  ca?: string;
  resolve?: string;
}

const MARK: Record<Check["status"], [string, "green" | "red" | "yellow" | "dim"]> = {
  pass: ["ok  ", "green"],
  fail: ["FAIL", "red"],
  warn: ["warn", "yellow"],
  info: ["    ", "dim"],
};
const SECTIONS: Record<Check["section"], string> = {
  server: "1. The server",
  request: "2. Does it ask for a client certificate?",
  client: "3. The client certificate",
  http: "4. The real request",
  ca: "5. The CA's key",
};

export function register(program: Command): Command {
  return program
    .command("doctor")
    .description("diagnose a failing mutual-TLS connection and say how to fix it")
    .argument("<url>", "the https:// URL that fails (HOST:PORT alone is taken as https://HOST:PORT/)")
    .option("--cert <name|file>", "a certificate from this CA home (by name or serial), or a PEM file")
    .option("--key <file>", "its private key (PEM; encrypted keys use $PKI_KEY_PASSWORD); default: the key this home holds")
    .option("--ca <file>", "the CA the client certificate should chain to (default: this home's ca.pem)")
    .option("--resolve <host:port:addr>", "connect to ADDR for HOST:PORT, still presenting HOST (as curl --resolve)")
    .addHelpText(
      "after",
      `
Examples:
  $ pki doctor https://intranet.example.com/ --cert alice
  $ pki doctor https://api.internal:8443/health --cert bot.pem --key bot.key --ca ca.pem
  $ pki doctor intranet.example.com:8443 --resolve intranet.example.com:8443:192.0.2.10 --cert alice
  $ pki doctor https://intranet.example.com/ --json | jq '.checks[] | select(.status == "fail")'

Checks: the server and its TLS; whether it sends a CertificateRequest and which CA names it
accepts (TLS 1.2 and 1.3, through openssl s_client); the certificate locally (key, dates,
chain, clientAuth, depth, revocation in the ledger and CRL); then the request without and
with it, with 400/495/496 pages and TLS alerts explained.
Exit 0 when the connection works (with the certificate, if one is given), 8 when a problem is found.`,
    )
    .action(async (url: string, flags: Flags, cmd: Command) => {
      const opts = globals(cmd);
      const home = homeOf(opts);
      const [{ diagnose }, { doctorTarget, DoctorTargetError }] = await Promise.all([import("../../doctor/doctor.js"), import("../../doctor/target.js")]);
      let target;
      try {
        target = doctorTarget(url, flags.resolve);
      } catch (e) {
        if (!(e instanceof DoctorTargetError)) throw e;
        throw new PkiError("usage", e.message.replace(/"([^"]*)"/, (_, input: string) => `"${shown(input)}"`), e.hint, e.code);
      }
      let certificatePem: string | undefined;
      let keyPem: string | undefined;
      let revokedSerials: Set<string> | null = null;
      let revocationSource: string | undefined;
      let quotedName: string | undefined;
      let tokenKey: DoctorInput["tokenKey"];
      let rotation: DoctorInput["rotation"];
      const caFile = flags.ca ?? (home.exists() ? home.caCertificate : undefined);
      const caPem = caFile ? readText(caFile, "--ca") : undefined;
      if (flags.cert && existsSync(flags.cert)) certificatePem = readText(flags.cert, "--cert");
      if (flags.key) keyPem = await readKey(flags.key);
      if (home.exists()) {
        const { Authority } = await import("../../ca/authority.js");
        const authority = await Authority.open(authorityOptions(opts), "read");
        try {
          if (flags.cert && !certificatePem) {
            const { view, pem } = await authority.show(commandContext(), flags.cert);
            certificatePem = pem;
            quotedName = shellQuote(view.name);
            keyPem ??= (await authority.privateKeyPem(flags.cert)) ?? undefined;
          } else if (certificatePem) {
            quotedName = await nameInHome(authority, certificatePem);
          }
          revokedSerials = await authority.revokedSerials();
          tokenKey = await checkTokenKey(authority);
          rotation = rotationOf(await authority.roots(commandContext()));
          revocationSource = `ledger and CRL of ${home.dir}`;
        } finally {
          await authority.close();
        }
      } else if (flags.cert && !certificatePem) {
        throw new PkiError("not-found", `--cert ${flags.cert} is neither a file nor a name in a CA home (${home.dir} has none)`);
      }
      const report = await diagnose({
        target,
        ...(certificatePem ? { certificatePem } : {}),
        ...(keyPem ? { keyPem } : {}),
        ...(caPem ? { caPem } : {}),
        revokedSerials,
        ...(revocationSource ? { revocationSource } : {}),
        ...(quotedName ? { quotedName } : {}),
        ...(tokenKey ? { tokenKey } : {}),
        ...(rotation ? { rotation } : {}),
      });
      if (opts.json) printJson(report);
      else {
        let section = "";
        for (const c of report.checks) {
          if (c.section !== section) {
            section = c.section;
            print(paint("bold", SECTIONS[c.section]));
          }
          const [mark, colour] = MARK[c.status];
          print(`  ${paint(colour, mark)}  ${c.message}`);
          if (c.fix && c.status !== "pass") print(`        → ${c.fix}`);
        }
        print(report.ok ? "The connection works." : "Problems found: see FAIL above.");
      }
      if (!report.ok) process.exitCode = EXIT.problems;
    });
}

/**
 * A root key in a PKCS#11 token is tried only with a PIN at hand (PKI_PKCS11_PIN or _FILE):
 * doctor diagnoses a connection and never prompts for the token.
 */
/** During a root rotation: the overlap, as doctor reports it (a server missing the new ca.pem refuses the new root's certificates). */
function rotationOf({ roots }: Awaited<ReturnType<Authority["roots"]>>): DoctorInput["rotation"] {
  const current = roots.find((r) => r.status === "current");
  const older = roots.filter((r) => r.status === "overlap");
  if (!current || older.length === 0) return undefined;
  const left = older.map((r) => `G${r.generation} "${r.name}" (${r.dependents} valid certificate${r.dependents === 1 ? "" : "s"} left)`).join(", ");
  return {
    message: `root rotation under way: G${current.generation} "${current.name}" signs new certificates, ${left} still trusted`,
    fix: "servers must trust both roots until pki rotate-root --finish: install the home's ca.pem and crl.pem (both roots, both CRLs) and reload",
  };
}

async function checkTokenKey(authority: Authority): Promise<DoctorInput["tokenKey"]> {
  const uri = await authority.rootKeyUri();
  if (!uri) return undefined;
  if (!process.env.PKI_PKCS11_PIN && !process.env.PKI_PKCS11_PIN_FILE) {
    return { usable: null, message: `the CA key is in the PKCS#11 token ${uri}; not tried: no PIN in PKI_PKCS11_PIN or PKI_PKCS11_PIN_FILE`, fix: "set one of them to check that the token is reachable and the key signs" };
  }
  return (await authority.tokenKeyStatus()) ?? undefined;
}

/** The name under which this home issued the certificate in a --cert file, shell-quoted; undefined when it did not. */
async function nameInHome(authority: Authority, pem: string): Promise<string | undefined> {
  let given: X509Certificate;
  try {
    given = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  try {
    const { view, pem: issued } = await authority.show(commandContext(), given.serialNumber);
    return new X509Certificate(issued).raw.equals(given.raw) ? shellQuote(view.name) : undefined;
  } catch (e) {
    if (e instanceof PkiError && e.kind === "not-found") return undefined;
    throw e;
  }
}

function readText(file: string, flag: string): string {
  try {
    // A --ca bundle may be the system's (about 200 KB); a certificate or key is a few KB.
    return readBounded(file, flag === "--ca" ? MAX_BUNDLE_BYTES : MAX_SMALL_FILE_BYTES, flag).toString("utf8");
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError("not-found", `cannot read ${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function readKey(file: string): Promise<string> {
  const pem = readText(file, "--key");
  if (!/ENCRYPTED/.test(pem)) return pem;
  const passphrase = await readSecret({ what: "password of the --key file", flag: "--key-password-file", envVar: "PKI_KEY_PASSWORD", confirm: false });
  return createPrivateKey({ key: pem, passphrase }).export({ type: "pkcs8", format: "pem" }).toString();
}
