import { oid, seq } from "./der.js";

/** The key types `pki` generates. EC P-256 is the default: small, fast, and read by every TLS stack we target. */
export const KEY_TYPES = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value);
}

/** How a key of one type is generated and signs, in WebCrypto and in X.509. */
export interface SignatureAlgorithm {
  /** WebCrypto parameters, both to generate a key and to sign with it. */
  webcrypto: RsaHashedKeyGenParams | (EcKeyGenParams & { hash: string });
  /** The signature AlgorithmIdentifier, DER: RSA carries NULL parameters, ECDSA none (RFC 5758 3.2). */
  identifier: Uint8Array;
  /** WebCrypto returns ECDSA signatures as r||s; X.509, CRLs and OCSP carry them DER-encoded. */
  ecdsa: boolean;
}

const rsa = (bits: number): SignatureAlgorithm => ({
  webcrypto: { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  identifier: seq(oid("1.2.840.113549.1.1.11"), new Uint8Array([0x05, 0x00])), // sha256WithRSAEncryption
  ecdsa: false,
});

/** The one signature-algorithm table: certificates, CRLs and (next) OCSP responses all sign through it. */
export const SIGNATURE_ALGORITHMS: Record<KeyType, SignatureAlgorithm> = {
  "ec-p256": { webcrypto: { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" }, identifier: seq(oid("1.2.840.10045.4.3.2")), ecdsa: true },
  "ec-p384": { webcrypto: { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" }, identifier: seq(oid("1.2.840.10045.4.3.3")), ecdsa: true },
  "rsa-2048": rsa(2048),
  "rsa-3072": rsa(3072),
  "rsa-4096": rsa(4096),
};
