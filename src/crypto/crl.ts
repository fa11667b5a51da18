import { AsnConvert } from "@peculiar/asn1-schema";
import { CRLNumber, id_ce_cRLNumber } from "@peculiar/asn1-x509";
import { type KeyType, signingAlgorithm } from "./keys.js";
import { toPem } from "./pem.js";
import { x509 } from "./provider.js";

export { CrlReason } from "./crl-reason.js";
import { CrlReason } from "./crl-reason.js";

export interface CrlEntry {
  serial: string;
  revokedAt: Date;
  reason: CrlReason;
}

export interface CrlParams {
  issuer: x509.X509Certificate;
  issuerKey: CryptoKey;
  issuerKeyType: KeyType;
  /** Monotonically increasing CRL number (RFC 5280 5.2.3). */
  number: number;
  /** Default: now. */
  thisUpdate?: Date;
  /** Mandatory for us (RFC 5280 5.1.2.5): relying parties such as nginx stop accepting clients after it. */
  nextUpdate: Date;
  entries: readonly CrlEntry[];
}

/** A v2 CRL with AKI and CRL number; entries carry a reason code unless it is `unspecified` (RFC 5280 5.3.1). */
export async function createCrl(params: CrlParams): Promise<Uint8Array> {
  const ski = params.issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(params.number))),
  ];
  if (ski) extensions.unshift(new x509.AuthorityKeyIdentifierExtension(ski.keyId));
  const crl = await x509.X509CrlGenerator.create({
    issuer: params.issuer.subjectName,
    thisUpdate: params.thisUpdate ?? new Date(),
    nextUpdate: params.nextUpdate,
    signingKey: params.issuerKey,
    signingAlgorithm: signingAlgorithm(params.issuerKeyType),
    extensions,
    entries: params.entries.map((e) => ({
      serialNumber: e.serial,
      revocationDate: e.revokedAt,
      ...(e.reason !== CrlReason.unspecified ? { reason: e.reason as number as x509.X509CrlReason } : {}),
    })),
  });
  return new Uint8Array(crl.rawData);
}

/** PEM with the "X509 CRL" label that OpenSSL and nginx read; @peculiar/x509 would write "CRL". */
export function crlPem(der: Uint8Array): string {
  return toPem(der, "X509 CRL");
}

/** Parses a CRL and checks its signature against `issuer`; null when it does not parse or verify. */
export async function readVerifiedCrl(der: Uint8Array, issuer: x509.X509Certificate): Promise<{ nextUpdate: Date | null; thisUpdate: Date; entries: number } | null> {
  try {
    const crl = new x509.X509Crl(new Uint8Array(der));
    if (!(await crl.verify({ publicKey: issuer.publicKey }))) return null;
    return { nextUpdate: crl.nextUpdate ?? null, thisUpdate: crl.thisUpdate, entries: crl.entries.length };
  } catch {
    return null;
  }
}

/** Serials (lowercase hex) listed in a CRL, or null when `der` is not a CRL. */
export function crlSerials(der: Uint8Array): Set<string> | null {
  try {
    const crl = new x509.X509Crl(new Uint8Array(der));
    return new Set(crl.entries.map((e) => e.serialNumber.toLowerCase()));
  } catch {
    return null;
  }
}
