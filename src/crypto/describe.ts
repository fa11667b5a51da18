// Parsing needs no WebCrypto provider: importing @peculiar/x509 without provider.ts spares
// `pki show --json` loading @peculiar/webcrypto (about half of the crypto stack's start-up).
// tsyringe inside @peculiar/x509 still needs the Reflect polyfill first.
import "reflect-metadata/lite";
import * as x509 from "@peculiar/x509";
import { NAMED_EXTENSIONS } from "./describe-der.js";

/** What `pki show` prints of a certificate beyond the ledger's columns; `--json` documents it. */
export interface CertificateDetails {
  issuer: string;
  subjectAltNames: { type: string; value: string }[];
  extensions: {
    basicConstraints?: { critical: boolean; ca: boolean; pathLength: number | null };
    keyUsage?: { critical: boolean; usages: string[] };
    extendedKeyUsage?: { critical: boolean; usages: string[] };
    subjectKeyIdentifier?: string;
    authorityKeyIdentifier?: string | null;
    authorityInfoAccess?: { ocsp: string[]; caIssuers: string[] };
    crlDistributionPoints?: string[];
    /** Extensions pki does not name, by OID. */
    other: { oid: string; critical: boolean }[];
  };
}

/** The library's enums already use RFC 5280's names; only OCSPSigning is spelled as OpenSSL and profiles do. */
const KEY_USAGE_BITS = Object.entries(x509.KeyUsageFlags).filter((e): e is [string, number] => typeof e[1] === "number");
const EKU_NAMES = new Map<string, string>(Object.entries(x509.ExtendedKeyUsage).map(([name, oid]) => [oid, name === "ocspSigning" ? "OCSPSigning" : name]));

export function describeCertificate(der: Uint8Array<ArrayBuffer>): CertificateDetails {
  const cert = new x509.X509Certificate(der);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
  const cdp = cert.getExtension(x509.CRLDistributionPointsExtension);
  return {
    issuer: cert.issuer,
    subjectAltNames: san ? san.names.toJSON().map((n) => ({ type: n.type, value: n.value })) : [],
    extensions: {
      ...(bc ? { basicConstraints: { critical: bc.critical, ca: bc.ca, pathLength: bc.pathLength ?? null } } : {}),
      ...(ku ? { keyUsage: { critical: ku.critical, usages: KEY_USAGE_BITS.filter(([, bit]) => (ku.usages & bit) !== 0).map(([name]) => name) } } : {}),
      ...(eku ? { extendedKeyUsage: { critical: eku.critical, usages: eku.usages.map((u) => EKU_NAMES.get(String(u)) ?? String(u)) } } : {}),
      ...(ski ? { subjectKeyIdentifier: ski.keyId } : {}),
      ...(aki ? { authorityKeyIdentifier: aki.keyId ?? null } : {}),
      ...(aia ? { authorityInfoAccess: { ocsp: aia.ocsp.map((n) => n.value), caIssuers: aia.caIssuers.map((n) => n.value) } } : {}),
      ...(cdp ? { crlDistributionPoints: cdp.distributionPoints.flatMap((dp) => (dp.distributionPoint?.fullName ?? []).flatMap((n) => n.uniformResourceIdentifier ?? [])) } : {}),
      other: cert.extensions.filter((e) => !NAMED_EXTENSIONS.has(e.type)).map((e) => ({ oid: e.type, critical: e.critical })),
    },
  };
}
