import { createHash } from "node:crypto";
import type { x509 } from "../crypto/provider.js";
import type { CertificateKind, CertificateRecord, LedgerReader } from "../ledger/ledger.js";

/** A ledger row for a freshly signed certificate, plus its SHA-256 fingerprint for the event log. */
export function recordOf(
  cert: x509.X509Certificate,
  kind: CertificateKind,
  name: string,
  keyEncrypted: Uint8Array | null,
  csr: Uint8Array | null,
  now: Date,
  /** Serial of the signing root; default: the certificate itself (a root). */
  issuer?: string,
): CertificateRecord & { sha256: string } {
  const der = new Uint8Array(cert.rawData);
  const serial = cert.serialNumber.toLowerCase();
  return {
    serial,
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
    issuer: issuer ?? serial,
    sha256: fingerprint(der),
  };
}

export function fingerprint(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/**
 * The `current` check of a staged key file: the ledger still stores exactly these bytes for
 * the certificate. A key file is renamed into place after its transaction commits; a
 * `pki passphrase change` that commits in between re-encrypts the key and writes its own
 * file, which an older file must not overwrite (it would open with neither passphrase).
 */
export function storedKeyIs(serial: string, sealed: Uint8Array): (r: LedgerReader) => Promise<boolean> {
  return async (r) => {
    const stored = (await r.bySerial(serial))?.keyEncrypted;
    return stored != null && Buffer.compare(stored, sealed) === 0;
  };
}
