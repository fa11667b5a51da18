// How `pki list` and `pki show` print certificates, shared by the commands and the lean
// start-up path (lean-read.ts), which must print exactly the same bytes without commander.
import type { CertificateDetails } from "../crypto/describe.js";
import type { CertificateStatus, CertificateView } from "../ca/views.js";
import { io } from "./io.js";
import { paint, print, printJson, printTable, when } from "./output.js";

const STATUS_COLOUR: Record<CertificateStatus, "green" | "red" | "yellow" | "dim"> = { valid: "green", revoked: "red", expired: "yellow", superseded: "dim" };

export function printList(views: CertificateView[], json: boolean | undefined): void {
  if (json) {
    printJson(views);
    return;
  }
  if (views.length === 0) {
    print("No certificates match.");
    return;
  }
  // A ROOT column once the CA has rotated its root: which root each certificate chains to.
  const rotated = views.some((v) => v.root !== undefined && v.root !== "G1");
  printTable(
    ["NAME", "KIND", "STATUS", "EXPIRES", "SERIAL", ...(rotated ? ["ROOT"] : []), "SUBJECT"],
    views.map((v: CertificateView) => [v.name, v.kind, v.status, when(v.notAfter), v.serial, ...(rotated ? [v.root ?? ""] : []), v.subject]),
    (row, col, text) => (col === 2 ? paint(STATUS_COLOUR[row[2] as CertificateStatus], text) : text),
  );
}

/** `pki show`: with `details` null only the PEM (--pem). */
export function printShow(view: CertificateView, pem: string, details: CertificateDetails | null, json: boolean | undefined): void {
  if (!details) {
    io().stdout.write(pem);
    return;
  }
  if (json) {
    printJson({ ...view, ...details, pem });
    return;
  }
  const rows: [string, string | null][] = [
    ["name", view.name],
    ["kind", view.kind],
    ["status", view.status],
    ["subject", view.subject],
    ["issuer", details.issuer],
    ["root", view.root ?? null],
    ["serial", view.serial],
    ["not before", when(view.notBefore)],
    ["not after", when(view.notAfter)],
    ["revoked at", view.revokedAt && when(view.revokedAt)],
    ["reason", view.revocationReason],
    ["superseded by", view.supersededBy],
    ["key held by CA", view.hasKey ? "yes" : "no (signed from a CSR)"],
    ...extensionRows(details),
  ];
  for (const [k, v] of rows) if (v !== null) print(`${(k + ":").padEnd(24)}${v}`);
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
