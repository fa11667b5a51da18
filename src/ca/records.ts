import { createHash } from "node:crypto";
import type { x509 } from "../crypto/provider.js";
import type { CertificateKind, CertificateRecord } from "../ledger/ledger.js";

/** A ledger row for a freshly signed certificate, plus its SHA-256 fingerprint for the event log. */
export function recordOf(
  cert: x509.X509Certificate,
  kind: CertificateKind,
  name: string,
  keyEncrypted: Uint8Array | null,
  csr: Uint8Array | null,
  now: Date,
): CertificateRecord & { sha256: string } {
  const der = new Uint8Array(cert.rawData);
  return {
    serial: cert.serialNumber.toLowerCase(),
    name,
    kind,
    subject: cert.subject,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    der,
    keyEncrypted: keyEncrypted && new Uint8Array(keyEncrypted),
    csr: csr && new Uint8Array(csr),
    createdAt: now.toISOString(),
    state: "active",
    revokedAt: null,
    revocationReason: null,
    supersededBy: null,
    sha256: fingerprint(der),
  };
}

export function fingerprint(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
