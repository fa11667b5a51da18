import { createHash } from "node:crypto";
import type { x509 } from "../crypto/provider.js";
import type { Blob, CertificateKind, CertificateRecord, LedgerReader } from "../ledger/ledger.js";

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

/**
 * The same row for a certificate signed from a LeafTemplate, from what went into it instead of
 * parsing it back: times as the certificate holds them, in whole seconds.
 */
export function leafRecordOf(
  der: Uint8Array,
  fields: { serial: string; subject: string; notBefore: Date; notAfter: Date },
  kind: CertificateKind,
  name: string,
  keyEncrypted: Uint8Array | null,
  csr: Uint8Array | null,
  now: Date,
  /** Serial of the signing root. */
  issuer: string,
): CertificateRecord & { sha256: string } {
  return {
    serial: fields.serial,
    name,
    kind,
    subject: fields.subject,
    notBefore: wholeSeconds(fields.notBefore),
    notAfter: wholeSeconds(fields.notAfter),
    // Each made by this process into an ArrayBuffer of its own.
    der: der as Blob,
    keyEncrypted: keyEncrypted as Blob | null,
    csr: csr as Blob | null,
    createdAt: now.toISOString(),
    state: "active",
    revokedAt: null,
    revocationReason: null,
    supersededBy: null,
    issuer,
    sha256: fingerprint(der),
  };
}

const wholeSeconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString();

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
