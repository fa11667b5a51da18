import { x509 } from "./provider.js";

/** keyUsage bit names as RFC 5280 section 4.2.1.3 and OpenSSL's x509v3_config spell them. */
export const KEY_USAGES = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
  encipherOnly: x509.KeyUsageFlags.encipherOnly,
  decipherOnly: x509.KeyUsageFlags.decipherOnly,
} as const;
export type KeyUsageName = keyof typeof KEY_USAGES;

/** extendedKeyUsage short names OpenSSL accepts, with their OIDs (RFC 5280 section 4.2.1.12). */
export const EXTENDED_KEY_USAGES: Record<string, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  OCSPSigning: "1.3.6.1.5.5.7.3.9",
};

export type GeneralNameType = "dns" | "ip" | "email" | "url";
export interface GeneralNameSpec {
  type: GeneralNameType;
  value: string;
}

/** The extensions a profile controls. SKI and AKI are always added by the signer. */
export interface ExtensionsSpec {
  basicConstraints?: { critical: boolean; ca: boolean; pathLength?: number };
  keyUsage?: { critical: boolean; usages: KeyUsageName[] };
  extendedKeyUsage?: { critical: boolean; purposes: string[] };
  subjectAltName?: { critical: boolean; names: GeneralNameSpec[] };
  /** Where relying parties ask about revocation and fetch the issuer (RFC 5280 4.2.2.1); never critical. */
  authorityInfoAccess?: { ocsp: string[]; caIssuers: string[] };
  /** Where the CRL is published (RFC 5280 4.2.1.13); never critical. */
  crlDistributionPoints?: string[];
  /** id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): relying parties need not check a delegated responder's own status. */
  ocspNoCheck?: boolean;
}

/** id-pkix-ocsp-nocheck; its value is NULL. */
export const OCSP_NOCHECK_OID = "1.3.6.1.5.5.7.48.1.5";

/** Builds @peculiar/x509 extension objects, in the order OpenSSL prints them. */
export function buildExtensions(spec: ExtensionsSpec): x509.Extension[] {
  const out: x509.Extension[] = [];
  const bc = spec.basicConstraints;
  if (bc) out.push(new x509.BasicConstraintsExtension(bc.ca, bc.ca ? bc.pathLength : undefined, bc.critical));
  const ku = spec.keyUsage;
  if (ku) {
    const flags = ku.usages.reduce((acc, u) => acc | KEY_USAGES[u], 0);
    out.push(new x509.KeyUsagesExtension(flags, ku.critical));
  }
  const eku = spec.extendedKeyUsage;
  if (eku) out.push(new x509.ExtendedKeyUsageExtension(eku.purposes, eku.critical));
  const san = spec.subjectAltName;
  if (san && san.names.length > 0) {
    out.push(new x509.SubjectAlternativeNameExtension(san.names.map((n) => ({ type: n.type, value: n.value })), san.critical));
  }
  const aia = spec.authorityInfoAccess;
  if (aia && (aia.ocsp.length || aia.caIssuers.length)) out.push(new x509.AuthorityInfoAccessExtension({ ocsp: aia.ocsp, caIssuers: aia.caIssuers }, false));
  if (spec.crlDistributionPoints?.length) out.push(new x509.CRLDistributionPointsExtension(spec.crlDistributionPoints, false));
  if (spec.ocspNoCheck) out.push(new x509.Extension(OCSP_NOCHECK_OID, false, new Uint8Array([0x05, 0x00])));
  return out;
}

/** Reads back the profile-controlled extensions of a certificate or CSR, to compare and to apply policy. */
export function readExtensions(extensions: readonly x509.Extension[]): ExtensionsSpec {
  const spec: ExtensionsSpec = {};
  for (const ext of extensions) {
    if (ext instanceof x509.BasicConstraintsExtension) {
      spec.basicConstraints = { critical: ext.critical, ca: ext.ca, ...(ext.pathLength !== undefined ? { pathLength: ext.pathLength } : {}) };
    } else if (ext instanceof x509.KeyUsagesExtension) {
      const usages = (Object.keys(KEY_USAGES) as KeyUsageName[]).filter((u) => (ext.usages & KEY_USAGES[u]) !== 0);
      spec.keyUsage = { critical: ext.critical, usages };
    } else if (ext instanceof x509.ExtendedKeyUsageExtension) {
      spec.extendedKeyUsage = { critical: ext.critical, purposes: ext.usages.map(String) };
    } else if (ext instanceof x509.SubjectAlternativeNameExtension) {
      const names = ext.names.items
        .filter((n) => n.type === "dns" || n.type === "ip" || n.type === "email" || n.type === "url")
        .map((n) => ({ type: n.type as GeneralNameType, value: n.value }));
      spec.subjectAltName = { critical: ext.critical, names };
    }
  }
  return spec;
}
