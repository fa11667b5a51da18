import type { Command } from "commander";
import type { CertificateDetails } from "../../ca/authority.js";
import { io } from "../io.js";
import { print, printJson, when } from "../output.js";
import { withAuthority } from "./shared.js";

export function register(program: Command): Command {
  return program
    .command("show")
    .description("show one certificate: status, dates, issuer, subjectAltNames, extensions; --pem prints the certificate itself")
    .argument("<name|serial>", "certificate name or serial in hex")
    .option("--pem", "print only the PEM certificate")
    .addHelpText(
      "after",
      `
Examples:
  $ pki show alice
  $ pki show alice --pem | openssl x509 -noout -text
  $ pki show 5f3a9c… --json | jq .extensions.extendedKeyUsage`,
    )
    .action(async (target: string, flags: { pem?: boolean }, cmd: Command) => {
      await withAuthority(cmd, async (authority, opts, ctx) => {
        // Parsing loads @peculiar/x509: --pem stays fast without it.
        const { view, pem, details } = await authority.show(ctx, target, !flags.pem);
        if (flags.pem) {
          io().stdout.write(pem);
          return;
        }
        if (opts.json) {
          printJson({ ...view, ...details!, pem });
          return;
        }
        const rows: [string, string | null][] = [
          ["name", view.name],
          ["kind", view.kind],
          ["status", view.status],
          ["subject", view.subject],
          ["issuer", details!.issuer],
          ["root", view.root ?? null],
          ["serial", view.serial],
          ["not before", when(view.notBefore)],
          ["not after", when(view.notAfter)],
          ["revoked at", view.revokedAt && when(view.revokedAt)],
          ["reason", view.revocationReason],
          ["superseded by", view.supersededBy],
          ["key held by CA", view.hasKey ? "yes" : "no (signed from a CSR)"],
          ...extensionRows(details!),
        ];
        for (const [k, v] of rows) if (v !== null) print(`${(k + ":").padEnd(24)}${v}`);
      }, "read");
    });
}

/** The extensions as `openssl x509 -text` words them (CA:FALSE, Digital Signature → digitalSignature names). */
function extensionRows(d: CertificateDetails): [string, string | null][] {
  const e = d.extensions;
  const critical = (c: boolean) => (c ? " (critical)" : "");
  const bc = e.basicConstraints;
  return [
    ["subjectAltName", d.subjectAltNames.length ? d.subjectAltNames.map((n) => `${SAN_LABEL[n.type] ?? n.type}:${n.value}`).join(", ") : null],
    ["basicConstraints", bc ? `CA:${bc.ca ? "TRUE" : "FALSE"}${bc.pathLength !== null ? `, pathlen:${bc.pathLength}` : ""}${critical(bc.critical)}` : null],
    ["keyUsage", e.keyUsage ? e.keyUsage.usages.join(", ") + critical(e.keyUsage.critical) : null],
    ["extendedKeyUsage", e.extendedKeyUsage ? e.extendedKeyUsage.usages.join(", ") + critical(e.extendedKeyUsage.critical) : null],
    ["subjectKeyIdentifier", e.subjectKeyIdentifier ?? null],
    ["authorityKeyIdentifier", e.authorityKeyIdentifier ?? null],
    ["authorityInfoAccess", e.authorityInfoAccess ? [...e.authorityInfoAccess.ocsp.map((u) => `OCSP:${u}`), ...e.authorityInfoAccess.caIssuers.map((u) => `caIssuers:${u}`)].join(", ") : null],
    ["crlDistributionPoints", e.crlDistributionPoints?.join(", ") ?? null],
    ...e.other.map((o): [string, string] => ["extension", o.oid + critical(o.critical)]),
  ];
}

const SAN_LABEL: Record<string, string> = { dns: "DNS", ip: "IP", email: "email", url: "URI" };
