import { createPrivateKey, sign as nodeSign } from "node:crypto";
import { type KeyType, SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from "./algorithms.js";
import { publicKeyType } from "./certificates.js";
import { CryptoError } from "./errors.js";
import type { x509 } from "./provider.js";

/**
 * What signs for a CA: its certificate and a private key behind a WebCrypto provider.
 * Certificates (through @peculiar/x509, which takes `crypto` and `key`), CRLs and OCSP
 * responses (through `sign`) all use it. A key in a file is one implementation; a PKCS#11
 * handle behind a PKCS#11 WebCrypto provider is another, with the same shape.
 */
export interface Signer {
  readonly certificate: x509.X509Certificate;
  readonly keyType: KeyType;
  /** DER AlgorithmIdentifier of the signatures it makes (what CRLs and OCSP responses carry). */
  readonly algorithm: Uint8Array;
  /** The same algorithm as WebCrypto parameters, for @peculiar/x509's generators. */
  readonly webcryptoAlgorithm: SignatureAlgorithm["webcrypto"];
  readonly crypto: globalThis.Crypto;
  readonly key: CryptoKey;
  /** Signs `data`; ECDSA signatures come back DER-encoded, as X.509 carries them. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/**
 * Node's built-in crypto keeps an imported key parsed in native code, where
 * @peculiar/webcrypto re-imports it on every signature (0.8 ms each, measured): CA keys held
 * in memory sign here, through WebCrypto for @peculiar/x509 and through a KeyObject for CRLs
 * and OCSP responses (synchronous, no thread-pool round trip: what a responder wants).
 */
const native = globalThis.crypto;

/** A signer for `certificate` from its unencrypted PKCS#8 key. */
export async function keySigner(certificate: x509.X509Certificate, pkcs8: Uint8Array): Promise<Signer> {
  const keyType = publicKeyType(certificate.publicKey);
  if (!keyType) throw new CryptoError("unsupported", "the CA key is not EC P-256/P-384 or RSA 2048-4096");
  const alg = SIGNATURE_ALGORITHMS[keyType];
  const importAs = "namedCurve" in alg.webcrypto ? { name: alg.webcrypto.name, namedCurve: alg.webcrypto.namedCurve } : { name: alg.webcrypto.name, hash: alg.webcrypto.hash };
  const key = await native.subtle.importKey("pkcs8", new Uint8Array(pkcs8), importAs, false, ["sign"]);
  const keyObject = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  const hash = String(alg.webcrypto.hash).replace("-", "").toLowerCase();
  return {
    certificate,
    keyType,
    algorithm: alg.identifier,
    webcryptoAlgorithm: alg.webcrypto,
    crypto: native,
    key,
    // Node signs ECDSA as DER already (dsaEncoding defaults to "der").
    sign: async (data) => new Uint8Array(nodeSign(hash, data, keyObject)),
  };
}
