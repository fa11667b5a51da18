import { EXTENDED_KEY_USAGES, KEY_USAGES, type KeyUsageName } from "./extensions.js";
import { x509 } from "./provider.js";

/** What `pki show` prints of a certificate beyond the ledger's columns; `--json` documents it. */
export interface CertificateDetails {
  issuer: string;
  subjectAltNames: { type: string; value: string }[];
  extensions: {
    basicConstraints?: { critical: boolean; ca: boolean; pathLength: number | null };
    keyUsage?: { critical: boolean; usages: KeyUsageName[] };
    extendedKeyUsage?: { critical: boolean; usages: string[] };
    subjectKeyIdentifier?: string;
    authorityKeyIdentifier?: string | null;
    /** Extensions pki does not name, by OID. */
    other: { oid: string; critical: boolean }[];
  };
}

const EKU_NAMES = new Map(Object.entries(EXTENDED_KEY_USAGES).map(([name, oid]) => [oid, name]));
const NAMED = new Set(["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17", "2.5.29.14", "2.5.29.35"]);

export function describeCertificate(der: Uint8Array<ArrayBuffer>): CertificateDetails {
  const cert = new x509.X509Certificate(der);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  return {
    issuer: cert.issuer,
    subjectAltNames: san ? san.names.toJSON().map((n) => ({ type: n.type, value: n.value })) : [],
    extensions: {
      ...(bc ? { basicConstraints: { critical: bc.critical, ca: bc.ca, pathLength: bc.pathLength ?? null } } : {}),
      ...(ku ? { keyUsage: { critical: ku.critical, usages: (Object.keys(KEY_USAGES) as KeyUsageName[]).filter((u) => (ku.usages & KEY_USAGES[u]) !== 0) } } : {}),
      ...(eku ? { extendedKeyUsage: { critical: eku.critical, usages: eku.usages.map((u) => EKU_NAMES.get(String(u)) ?? String(u)) } } : {}),
      ...(ski ? { subjectKeyIdentifier: ski.keyId } : {}),
      ...(aki ? { authorityKeyIdentifier: aki.keyId ?? null } : {}),
      other: cert.extensions.filter((e) => !NAMED.has(e.type)).map((e) => ({ oid: e.type, critical: e.critical })),
    },
  };
}
