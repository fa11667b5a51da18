// Bulk issuance signs thousands of leaves whose TBSCertificates differ only in serial, subject,
// validity, public key, SKI and (for servers) subjectAltName. Building each one as
// @peculiar/x509 objects cost about 2 ms of ASN.1 serializing and re-parsing here; this writes
// the same DER directly. Every constant part (issuer, AKI, signature algorithm, each
// extension) is encoded once by the same @peculiar/x509 calls createLeafCertificate makes, so
// both paths produce identical bytes (test/unit/leaf-template.test.ts compares them).
import { createHash } from "node:crypto";
import { buildName, NAME_ATTRIBUTES, type NameAttribute } from "./certificates.js";
import { concat, oid, seq, time, tlv, uintBytes } from "./der.js";
import { CryptoError } from "./errors.js";
import { buildExtensions, type ExtensionsSpec } from "./extensions.js";
import { x509 } from "./provider.js";
import type { Signer } from "./signer.js";

/** A subject as it goes into a certificate (DER) and into the ledger (the text @peculiar/x509 gives it). */
export interface EncodedName {
  der: Uint8Array;
  text: string;
}

export interface TemplateLeaf {
  /** Lowercase hex, as randomSerial() makes it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  subject: EncodedName;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  extensions: ExtensionsSpec;
}

const VERSION_3 = new Uint8Array([0xa0, 0x03, 0x02, 0x01, 0x02]);
const EXTENSION_KEYS = ["basicConstraints", "keyUsage", "extendedKeyUsage", "subjectAltName", "authorityInfoAccess", "crlDistributionPoints"] as const;
const CACHE_LIMIT = 1024;

/** The issuer's constant parts of every certificate it signs, encoded once. */
export class LeafTemplate {
  private readonly issuer: Uint8Array;
  private readonly aki: Uint8Array;
  private readonly skiPrefix: Uint8Array;
  private readonly extensionDer = new Map<string, Uint8Array[]>();

  constructor(private readonly signer: Signer) {
    const issuerSki = signer.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
    if (!issuerSki) throw new CryptoError("malformed", "issuer certificate has no subject key identifier");
    this.issuer = new Uint8Array(signer.certificate.subjectName.toArrayBuffer());
    this.aki = new Uint8Array(new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId).rawData);
    // The SKI extension is a fixed prefix and the 20-byte SHA-1 key identifier (RFC 5280 4.2.1.2 method 1).
    const sample = new Uint8Array(new x509.SubjectKeyIdentifierExtension("00".repeat(20)).rawData);
    this.skiPrefix = sample.subarray(0, sample.length - 20);
  }

  /** The certificate's DER, signed by the template's signer. */
  async sign(leaf: TemplateLeaf): Promise<Uint8Array> {
    const alg = this.signer.algorithm;
    const tbs = seq(
      VERSION_3,
      uintBytes(Buffer.from(leaf.serial, "hex")),
      alg,
      this.issuer,
      seq(time(leaf.notBefore), time(leaf.notAfter)),
      leaf.subject.der,
      leaf.spki,
      tlv(0xa3, seq(...this.extensions(leaf.extensions), concat([this.skiPrefix, keyIdentifier(leaf.spki)]), this.aki)),
    );
    const signature = await this.signer.sign(tbs);
    return seq(tbs, alg, tlv(0x03, concat([new Uint8Array([0]), signature])));
  }

  /** buildExtensions' output for `spec`, one extension at a time from a cache (profiles repeat them). */
  private extensions(spec: ExtensionsSpec): Uint8Array[] {
    // An extension this template does not know would otherwise be left out of the certificate silently.
    for (const key of Object.keys(spec)) {
      if (spec[key as keyof ExtensionsSpec] !== undefined && !(EXTENSION_KEYS as readonly string[]).includes(key)) {
        throw new CryptoError("unsupported", `bulk issuance cannot write the ${key} extension yet`);
      }
    }
    const out: Uint8Array[] = [];
    for (const key of EXTENSION_KEYS) {
      const value = spec[key];
      if (value === undefined) continue;
      const id = key + JSON.stringify(value);
      let der = this.extensionDer.get(id);
      if (!der) {
        der = buildExtensions({ [key]: value }).map((e) => new Uint8Array(e.rawData));
        if (this.extensionDer.size >= CACHE_LIMIT) this.extensionDer.clear();
        this.extensionDer.set(id, der);
      }
      out.push(...der);
    }
    return out;
  }
}

/** SHA-1 of the subjectPublicKey BIT STRING's bits (without its unused-bits octet), as @peculiar/x509 computes it. */
function keyIdentifier(spki: Uint8Array): Uint8Array {
  let at = headerEnd(spki, 0); // inside the outer SEQUENCE
  at = elementEnd(spki, at); // past the AlgorithmIdentifier
  if (spki[at] !== 0x03) throw new CryptoError("malformed", "SubjectPublicKeyInfo without a BIT STRING");
  const bits = spki.subarray(headerEnd(spki, at) + 1, elementEnd(spki, at));
  return new Uint8Array(createHash("sha1").update(bits).digest());
}

function headerEnd(der: Uint8Array, at: number): number {
  const first = der[at + 1]!;
  return at + 2 + (first < 0x80 ? 0 : first & 0x7f);
}

function elementEnd(der: Uint8Array, at: number): number {
  const first = der[at + 1]!;
  let length = first;
  if (first >= 0x80) {
    length = 0;
    for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + der[at + 2 + i]!;
  }
  return headerEnd(der, at) + length;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/** The attributes whose short name @peculiar/x509 prints as pki writes it. */
const TEXT_TYPES = new Set(["CN", "L", "ST", "O", "OU", "C"]);

/**
 * A subject as buildName encodes it and @peculiar/x509 prints it. Plain values (no quotes,
 * backslashes, leading "#" or control characters, which its string syntax would interpret) are
 * encoded here (PrintableString when they fit, else UTF8String, as it chooses); anything else
 * goes through buildName itself.
 */
export function encodeName(attributes: readonly NameAttribute[]): EncodedName {
  if (attributes.every(plain)) {
    const der = seq(...attributes.map((a) => tlv(0x31, seq(oidDer(a.type), PRINTABLE.test(a.value) ? tlv(0x13, Buffer.from(a.value, "latin1")) : tlv(0x0c, Buffer.from(a.value, "utf8"))))));
    return { der, text: attributes.map((a) => `${a.type}=${escape(a.value)}`).join(", ") };
  }
  const name = buildName(attributes);
  return { der: new Uint8Array(name.toArrayBuffer()), text: name.toString() };
}

function plain(a: NameAttribute): boolean {
  return TEXT_TYPES.has(a.type) && a.value.length > 0 && !/["\\\p{Cc}\uD800-\uDFFF]/u.test(a.value) && !a.value.startsWith("#");
}

const OID_DER = new Map<string, Uint8Array>();
function oidDer(type: string): Uint8Array {
  let der = OID_DER.get(type);
  if (!der) OID_DER.set(type, (der = oid(NAME_ATTRIBUTES[type]!)));
  return der;
}

/** @peculiar/x509's escaping of a value in a name's text form (RFC 4514 style). */
function escape(value: string): string {
  return value.replace(/([,+"\\<>;])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/([ ]$)/, "\\$1");
}
