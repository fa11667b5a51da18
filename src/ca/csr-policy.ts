import { isIP } from "node:net";
import { EXTENDED_KEY_USAGES, type ExtensionsSpec, type GeneralNameSpec, readExtensions } from "../crypto/extensions.js";
import { x509 } from "../crypto/provider.js";
import { PkiError, shown } from "./errors.js";
import { classifyHosts } from "./hosts.js";
import type { Profile } from "./profiles.js";

/** The rule --email follows (issuance.ts): RFC 5322 dot-atom local part, ASCII domain. */
const EMAIL = /^[A-Za-z0-9!%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!%&*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
const SAN_LABEL: Record<string, string> = { dns: "DNS", ip: "IP", email: "email", url: "URI" };
const EKU_NAME = Object.fromEntries(Object.entries(EXTENDED_KEY_USAGES).map(([name, oid]) => [oid, name]));

/** What a signed CSR got beyond the profile, for the operator to see. */
export interface CsrGrant {
  /** subjectAltNames copied from the CSR. */
  altNames: GeneralNameSpec[];
  /** The CSR's extendedKeyUsage, when it asked for fewer purposes than the profile grants. */
  purposes: string[] | null;
}

/**
 * Applies the profile's policy to what a CSR asks for (after checkCsrAgainstProfile refused
 * anything beyond the profile). With `copy_extensions = copy` (the default) subjectAltNames
 * that pass pki's name checks are copied, and a CSR asking for fewer key usages or extended
 * key usages than the profile grants gets just those; with `none` a CSR asking for any of
 * them is refused, naming them. Nothing requested is dropped without a word.
 */
export function csrExtensions(csr: x509.Pkcs10CertificateRequest, profile: Profile, granted: ExtensionsSpec): { extensions: ExtensionsSpec; grant: CsrGrant } {
  const asked = readExtensions(csr.extensions);
  const altNames = requestedAltNames(csr);
  if (profile.copyExtensions === "none") {
    const wanted = [
      altNames.length ? `subjectAltName (${altNames.map(label).join(", ")})` : "",
      asked.extendedKeyUsage ? `extendedKeyUsage (${asked.extendedKeyUsage.purposes.map(purposeName).join(", ")})` : "",
      asked.keyUsage ? `keyUsage (${asked.keyUsage.usages.join(", ")})` : "",
    ].filter(Boolean);
    if (wanted.length) {
      throw new PkiError("invalid", `the CSR asks for ${wanted.join(" and ")}, and ${profile.file} copies no CSR extensions (copy_extensions = none)`, "make the request without them, or use a profile with copy_extensions = copy", "CSR_EXTENSIONS_REFUSED");
    }
    return { extensions: granted, grant: { altNames: [], purposes: null } };
  }
  let extensions = granted;
  const known = granted.subjectAltName?.names ?? [];
  const copied = altNames.filter((n) => !known.some((k) => k.type === n.type && k.value === n.value));
  if (copied.length) extensions = { ...extensions, subjectAltName: { critical: granted.subjectAltName?.critical ?? false, names: [...known, ...copied] } };
  let purposes: string[] | null = null;
  const profilePurposes = granted.extendedKeyUsage?.purposes ?? [];
  if (asked.extendedKeyUsage && granted.extendedKeyUsage && asked.extendedKeyUsage.purposes.length < profilePurposes.length) {
    purposes = profilePurposes.filter((p) => asked.extendedKeyUsage!.purposes.includes(p));
    extensions = { ...extensions, extendedKeyUsage: { ...granted.extendedKeyUsage, purposes } };
  }
  const usages = granted.keyUsage?.usages.filter((u) => asked.keyUsage?.usages.includes(u)) ?? [];
  if (asked.keyUsage && granted.keyUsage && usages.length > 0) extensions = { ...extensions, keyUsage: { ...granted.keyUsage, usages } };
  return { extensions, grant: { altNames: copied, purposes: purposes?.map(purposeName) ?? null } };
}

/** The CSR's subjectAltNames, each checked as pki checks names it is given; any other kind of name is refused. */
function requestedAltNames(csr: x509.Pkcs10CertificateRequest): GeneralNameSpec[] {
  const ext = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  return ext.names.items.map((n) => {
    const value = String(n.value);
    const bad = (what: string) => new PkiError("invalid", `the CSR asks for subjectAltName ${SAN_LABEL[n.type] ?? n.type}:${shown(value)}, which is not ${what}`, "make the request again without it", "CSR_NAME_REFUSED");
    switch (n.type) {
      case "dns": {
        let host: { type: string; value: string } | undefined;
        try {
          [host] = classifyHosts([value]);
        } catch {
          /* reported below */
        }
        if (host?.type !== "dns" || host.value !== value.toLowerCase()) throw bad("a DNS name (letters, digits and hyphens; \"*.\" only as the first label)");
        return { type: "dns", value: host.value };
      }
      case "ip":
        if (!isIP(value)) throw bad("an IP address");
        return { type: "ip", value };
      case "email":
        if (!EMAIL.test(value)) throw bad("an address like alice@example.com");
        return { type: "email", value };
      case "url":
        if (!/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/.test(value) || value.length > 2048) throw bad("an absolute URI");
        return { type: "url", value };
      default:
        throw new PkiError("invalid", `the CSR asks for a subjectAltName of type ${n.type}; pki issues DNS, IP, email and URI names only`, "make the request again without it", "CSR_NAME_REFUSED");
    }
  });
}

function label(n: GeneralNameSpec): string {
  return `${SAN_LABEL[n.type]}:${n.value}`;
}

function purposeName(oid: string): string {
  return EKU_NAME[oid] ?? oid;
}
