// describeCertificate (describe.ts) without @peculiar/x509: a small DER walk over the fields
// `pki show` prints, for the CLI's lean start-up path (src/cli/lean-read.ts). It returns null
// for anything it does not recognise exactly (an unusual string type, a name form, a malformed
// encoding), and the caller then uses describeCertificate, so the two never print differently
// (test/unit/describe-der.test.ts compares them).
import type { CertificateDetails } from "./describe.js";

interface Tlv {
  tag: number;
  /** The contents, without tag and length. */
  body: Uint8Array;
}

class NotUnderstood extends Error {}

function fail(): never {
  throw new NotUnderstood();
}

/** The TLVs one after the other in `data`. */
function items(data: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < data.length) {
    const tag = data[at++]!;
    if ((tag & 0x1f) === 0x1f || at >= data.length) fail();
    let length = data[at++]!;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n === 0 || n > 3 || at + n > data.length) fail();
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + data[at++]!;
    }
    if (at + length > data.length) fail();
    out.push({ tag, body: data.subarray(at, at + length) });
    at += length;
  }
  return out;
}

function one(data: Uint8Array, tag: number): Tlv {
  const all = items(data);
  if (all.length !== 1 || all[0]!.tag !== tag) fail();
  return all[0]!;
}

function expect(t: Tlv | undefined, tag: number): Tlv {
  if (!t || t.tag !== tag) fail();
  return t;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;

function oid(t: Tlv): string {
  const b = expect(t, OID).body;
  if (b.length === 0) fail();
  const arcs: number[] = [];
  let value = 0;
  for (const byte of b) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  if (b[b.length - 1]! & 0x80) fail();
  const first = arcs.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join(".");
}

function boolean(t: Tlv): boolean {
  const b = expect(t, BOOLEAN).body;
  if (b.length !== 1) fail();
  return b[0] !== 0;
}

function smallInteger(t: Tlv): number {
  const b = expect(t, INTEGER).body;
  if (b.length === 0 || b.length > 4 || b[0]! & 0x80) fail();
  return b.reduce((n, x) => n * 256 + x, 0);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** An IA5String or PrintableString body; only printable ASCII is taken as is. */
function ascii(body: Uint8Array): string {
  for (const c of body) if (c < 0x20 || c > 0x7e) fail();
  return Buffer.from(body).toString("latin1");
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The short names @peculiar/x509's Name.toString uses. */
const NAME_TYPES: Record<string, string> = {
  "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C",
  "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "E", "2.5.4.42": "G", "2.5.4.43": "I", "2.5.4.4": "SN", "2.5.4.12": "T",
};

/** A distinguished name as @peculiar/x509 prints it: "CN=alice, O=Example" (RFC 4514 escaping, in encoded order). */
function nameString(t: Tlv): string {
  return items(expect(t, SEQUENCE).body)
    .map((rdn) =>
      items(expect(rdn, SET).body)
        .map((atv) => {
          const [type, value, extra] = items(expect(atv, SEQUENCE).body);
          if (!value || extra) fail();
          const id = oid(type!);
          return `${NAME_TYPES[id] ?? id}=${escapeValue(directoryString(value))}`;
        })
        .join("+"),
    )
    .join(", ");
}

function directoryString(t: Tlv): string {
  let text: string;
  if (t.tag === 0x13 || t.tag === 0x16) text = ascii(t.body); // PrintableString, IA5String
  else if (t.tag === 0x0c) {
    try {
      text = utf8.decode(t.body);
    } catch {
      fail();
    }
  } else fail();
  // Control characters get the library's hex escapes: not worth copying.
  if (/[\x00-\x1f\x7f]/.test(text)) fail();
  return text;
}

function escapeValue(v: string): string {
  return v.replace(/([,+"\\<>;])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/([ ]$)/, "\\$1");
}

/** A GeneralName of the kinds pki issues, as @peculiar/x509's GeneralName.toJSON gives it. */
function generalName(t: Tlv): { type: string; value: string } {
  switch (t.tag) {
    case 0x81:
      return { type: "email", value: ascii(t.body) };
    case 0x82:
      return { type: "dns", value: ascii(t.body) };
    case 0x86:
      return { type: "url", value: ascii(t.body) };
    case 0x87:
      if (t.body.length !== 4) fail();
      return { type: "ip", value: Array.from(t.body).join(".") };
    default:
      fail();
  }
}

const KEY_USAGES = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"];
const EKU_NAMES: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth", "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.8": "timeStamping", "1.3.6.1.5.5.7.3.9": "OCSPSigning",
};
/** The extensions `pki show` names; the others are listed by OID. */
export const NAMED_EXTENSIONS = new Set(["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17", "2.5.29.14", "2.5.29.35", "1.3.6.1.5.5.7.1.1", "2.5.29.31"]);
const OCSP = "1.3.6.1.5.5.7.48.1";
const CA_ISSUERS = "1.3.6.1.5.5.7.48.2";

/** The same result as describeCertificate(der), or null when this walk does not fully understand the certificate. */
export function describeDer(der: Uint8Array): CertificateDetails | null {
  try {
    return describe(der);
  } catch {
    // NotUnderstood, or a malformed encoding: the full parser decides (and words any error).
    return null;
  }
}

function describe(der: Uint8Array): CertificateDetails {
  const [tbs] = items(one(der, SEQUENCE).body);
  const fields = items(expect(tbs, SEQUENCE).body);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0;
  i++; // serialNumber
  i++; // signature
  const issuer = nameString(fields[i++]!);
  i += 3; // validity, subject, subjectPublicKeyInfo
  const rest = fields.slice(i).filter((f) => f.tag !== 0x81 && f.tag !== 0x82);
  if (rest.length > 1 || (rest[0] && rest[0].tag !== 0xa3) || fields.length < i) fail();
  const exts = rest[0] ? items(one(rest[0].body, SEQUENCE).body) : [];

  const details: CertificateDetails = { issuer, subjectAltNames: [], extensions: { other: [] } };
  const found: Partial<Record<string, { critical: boolean; value: Uint8Array }>> = {};
  for (const ext of exts) {
    const parts = items(expect(ext, SEQUENCE).body);
    const id = oid(parts[0]!);
    const critical = parts.length === 3 ? boolean(parts[1]!) : false;
    if (parts.length !== 2 && parts.length !== 3) fail();
    const value = expect(parts[parts.length - 1], OCTET_STRING).body;
    if (id in found) fail();
    found[id] = { critical, value };
  }
  const e = details.extensions;
  const san = found["2.5.29.17"];
  if (san) details.subjectAltNames = items(one(san.value, SEQUENCE).body).map(generalName);
  const bc = found["2.5.29.19"];
  if (bc) {
    const [first, second, extra] = items(one(bc.value, SEQUENCE).body);
    if (extra) fail();
    const ca = first?.tag === BOOLEAN ? boolean(first) : false;
    const length = first?.tag === INTEGER ? first : second;
    if (first?.tag === INTEGER && second) fail();
    e.basicConstraints = { critical: bc.critical, ca, pathLength: length ? smallInteger(length) : null };
  }
  const ku = found["2.5.29.15"];
  if (ku) {
    const b = one(ku.value, BIT_STRING).body;
    if (b.length === 0 || b[0]! > 7) fail();
    const bits = (b.length - 1) * 8 - b[0]!;
    e.keyUsage = { critical: ku.critical, usages: KEY_USAGES.filter((_, bit) => bit < bits && (b[1 + (bit >> 3)]! & (0x80 >> (bit & 7))) !== 0) };
  }
  const eku = found["2.5.29.37"];
  if (eku) e.extendedKeyUsage = { critical: eku.critical, usages: items(one(eku.value, SEQUENCE).body).map((t) => EKU_NAMES[oid(t)] ?? oid(t)) };
  const ski = found["2.5.29.14"];
  if (ski) e.subjectKeyIdentifier = hex(one(ski.value, OCTET_STRING).body);
  const aki = found["2.5.29.35"];
  if (aki) {
    const parts = items(one(aki.value, SEQUENCE).body);
    if (parts.some((p) => p.tag !== 0x80)) fail();
    e.authorityKeyIdentifier = parts[0] ? hex(parts[0].body) : null;
  }
  const aia = found["1.3.6.1.5.5.7.1.1"];
  if (aia) {
    const access = { ocsp: [] as string[], caIssuers: [] as string[] };
    for (const d of items(one(aia.value, SEQUENCE).body)) {
      const [method, location, extra] = items(expect(d, SEQUENCE).body);
      if (extra || !location) fail();
      const m = oid(method!);
      const n = generalName(location);
      if (n.type !== "url") fail();
      if (m === OCSP) access.ocsp.push(n.value);
      else if (m === CA_ISSUERS) access.caIssuers.push(n.value);
      else fail();
    }
    e.authorityInfoAccess = access;
  }
  const cdp = found["2.5.29.31"];
  if (cdp) {
    const urls: string[] = [];
    for (const dp of items(one(cdp.value, SEQUENCE).body)) {
      const parts = items(expect(dp, SEQUENCE).body);
      // Only a distributionPoint of fullName URIs; reasons or a cRLIssuer: the full parser.
      if (parts.length !== 1 || parts[0]!.tag !== 0xa0) fail();
      const fullName = one(parts[0]!.body, 0xa0);
      for (const n of items(fullName.body)) urls.push(generalName(n).value);
      if (items(fullName.body).some((n) => n.tag !== 0x86)) fail();
    }
    e.crlDistributionPoints = urls;
  }
  e.other = exts
    .map((ext) => items(ext.body))
    .map((parts) => ({ oid: oid(parts[0]!), critical: parts.length === 3 ? boolean(parts[1]!) : false }))
    .filter((o) => !NAMED_EXTENSIONS.has(o.oid));
  // Key order as describeCertificate builds it: JSON output shows it.
  const ordered: CertificateDetails["extensions"] = {
    ...(e.basicConstraints ? { basicConstraints: e.basicConstraints } : {}),
    ...(e.keyUsage ? { keyUsage: e.keyUsage } : {}),
    ...(e.extendedKeyUsage ? { extendedKeyUsage: e.extendedKeyUsage } : {}),
    ...(e.subjectKeyIdentifier !== undefined ? { subjectKeyIdentifier: e.subjectKeyIdentifier } : {}),
    ...(e.authorityKeyIdentifier !== undefined ? { authorityKeyIdentifier: e.authorityKeyIdentifier } : {}),
    ...(e.authorityInfoAccess ? { authorityInfoAccess: e.authorityInfoAccess } : {}),
    ...(e.crlDistributionPoints ? { crlDistributionPoints: e.crlDistributionPoints } : {}),
    other: e.other,
  };
  return { issuer, subjectAltNames: details.subjectAltNames, extensions: ordered };
}
