import { CryptoError } from "./errors.js";
import { buildExtensions, type ExtensionsSpec } from "./extensions.js";
import { isKeyType, type KeyType, signingAlgorithm } from "./keys.js";
import { readDerOrPem } from "./pem.js";
import { webcrypto, x509 } from "./provider.js";
import type { Signer } from "./signer.js";

/** One relative distinguished name attribute, e.g. { type: "CN", value: "alice" }. */
export interface NameAttribute {
  type: string;
  value: string;
}

/** Distinguished-name attribute short names we accept, with their OIDs (RFC 5280 appendix A, PKCS#9). */
export const NAME_ATTRIBUTES: Record<string, string> = {
  C: "2.5.4.6",
  ST: "2.5.4.8",
  L: "2.5.4.7",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  CN: "2.5.4.3",
  emailAddress: "1.2.840.113549.1.9.1",
  serialNumber: "2.5.4.5",
  UID: "0.9.2342.19200300.100.1.1",
  DC: "0.9.2342.19200300.100.1.25",
};

/** Builds an X.500 name, keeping attribute order; emailAddress and DC are IA5String as RFC 5280 requires. */
export function buildName(attributes: readonly NameAttribute[]): x509.Name {
  return new x509.Name(
    attributes.map((a) => {
      const oid = NAME_ATTRIBUTES[a.type];
      if (!oid) throw new CryptoError("unsupported", `unknown name attribute "${a.type}"`);
      if (a.type === "emailAddress" || a.type === "DC") return { [oid]: [{ ia5String: a.value }] };
      return { [oid]: [a.value] };
    }),
  );
}

interface ValidityParams {
  /** Lowercase hex serial from `randomSerial()`. */
  serial: string;
  /** Default: now. */
  notBefore?: Date;
  notAfter: Date;
}

export interface RootCertificateParams extends ValidityParams {
  subject: readonly NameAttribute[];
  /** A key pair in memory, or a public key with the signing half of a Signer (a key in a token). */
  keys: CryptoKeyPair | { publicKey: x509.PublicKey; signing: Pick<Signer, "crypto" | "key"> };
  keyType: KeyType;
  extensions: ExtensionsSpec;
}

/** A self-signed root: the profile's extensions plus a subject key identifier (RFC 5280 4.2.1.2). */
export async function createRootCertificate(params: RootCertificateParams): Promise<x509.X509Certificate> {
  const name = buildName(params.subject);
  const ski = await x509.SubjectKeyIdentifierExtension.create(params.keys.publicKey);
  const signing = "signing" in params.keys ? params.keys.signing : undefined;
  return x509.X509CertificateGenerator.create({
    serialNumber: params.serial,
    subject: name,
    issuer: name,
    notBefore: params.notBefore ?? new Date(),
    notAfter: params.notAfter,
    publicKey: params.keys.publicKey,
    signingKey: signing ? signing.key : (params.keys as CryptoKeyPair).privateKey,
    signingAlgorithm: signingAlgorithm(params.keyType),
    extensions: [...buildExtensions(params.extensions), ski],
  }, signing?.crypto);
}

export interface LeafCertificateParams extends ValidityParams {
  /** Attributes to encode, or an existing name to copy byte for byte (renewals). */
  subject: readonly NameAttribute[] | x509.Name;
  /** The subject's public key: from a key we generated or from a verified CSR. */
  publicKey: x509.PublicKey;
  /** The issuing CA. */
  signer: Signer;
  extensions: ExtensionsSpec;
}

/** A certificate signed by `issuer`, with SKI and an AKI that carries the issuer's SKI (RFC 5280 4.2.1.1). */
export async function createLeafCertificate(params: LeafCertificateParams): Promise<x509.X509Certificate> {
  const { signer } = params;
  const issuerSki = signer.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!issuerSki) throw new CryptoError("malformed", "issuer certificate has no subject key identifier");
  const ski = await x509.SubjectKeyIdentifierExtension.create(params.publicKey, false, signer.crypto);
  return x509.X509CertificateGenerator.create({
    serialNumber: params.serial,
    subject: params.subject instanceof x509.Name ? params.subject : buildName(params.subject),
    // The issuer field must match the CA's subject byte for byte, so reuse its encoding.
    issuer: signer.certificate.subjectName,
    notBefore: params.notBefore ?? new Date(),
    notAfter: params.notAfter,
    publicKey: params.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.webcryptoAlgorithm,
    extensions: [...buildExtensions(params.extensions), ski, new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId)],
  }, signer.crypto);
}

/** Parses a CSR (PEM or DER) and verifies its self-signature: proof the requester holds the key. */
export async function readVerifiedCsr(data: Uint8Array): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(readDerOrPem(data, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], "certificate request"));
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    throw new CryptoError("malformed", "not a PKCS#10 certificate request");
  }
  let ok = false;
  try {
    ok = await csr.verify(webcrypto as unknown as globalThis.Crypto);
  } catch {
    ok = false;
  }
  if (!ok) throw new CryptoError("bad-signature", "the request's signature does not verify");
  const hash = (csr.signatureAlgorithm as Algorithm & { hash?: Algorithm }).hash?.name;
  // SHA-1 signatures can be forged by chosen-prefix collisions (SHAmbles, 2020).
  // (EdDSA has no separate hash; such keys are refused by type where the CSR is used.)
  if (hash !== undefined && !STRONG_HASHES.has(hash)) throw new CryptoError("unsupported", `the request is signed with ${hash}; sign it with SHA-256 or stronger (openssl req -sha256)`);
  const exponent = (csr.publicKey.algorithm as Algorithm & { publicExponent?: Uint8Array }).publicExponent;
  // e=3 invites Bleichenbacher-style forgeries against lax verifiers; every toolkit defaults to 65537.
  if (exponent && Buffer.from(exponent).toString("hex").replace(/^0+/, "") !== "10001") {
    throw new CryptoError("unsupported", `the request's RSA key has public exponent ${BigInt("0x" + (Buffer.from(exponent).toString("hex") || "0"))}; pki signs RSA keys with exponent 65537 only`);
  }
  return csr;
}

const STRONG_HASHES = new Set(["SHA-256", "SHA-384", "SHA-512"]);

/** Whether `der` parses as a certificate whose signature verifies with `issuer`'s public key. */
export async function isSignedBy(der: Uint8Array, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    const cert = new x509.X509Certificate(new Uint8Array(der));
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }, webcrypto as unknown as globalThis.Crypto);
  } catch {
    return false;
  }
}

/** Which of our key types a public key is, or null (Ed25519, RSA-1024, P-521, …). */
export function publicKeyType(publicKey: x509.PublicKey): KeyType | null {
  const alg = publicKey.algorithm as Algorithm & { namedCurve?: string; modulusLength?: number };
  if (alg.name === "ECDSA" || alg.name === "ECDH") {
    return alg.namedCurve === "P-256" ? "ec-p256" : alg.namedCurve === "P-384" ? "ec-p384" : null;
  }
  if (alg.name === "RSASSA-PKCS1-v1_5" || alg.name === "RSA-PSS") {
    const t = `rsa-${alg.modulusLength}`;
    return isKeyType(t) ? t : null;
  }
  return null;
}
