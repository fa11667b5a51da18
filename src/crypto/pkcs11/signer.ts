import { createHash } from "node:crypto";
import { type KeyType, SIGNATURE_ALGORITHMS } from "../algorithms.js";
import { publicKeyType } from "../certificates.js";
import { CryptoError } from "../errors.js";
import type { x509 } from "../provider.js";
import type { Signer } from "../signer.js";
import { ecdsaDer, type TokenKey } from "./token.js";

const native = globalThis.crypto;

/**
 * A Signer whose key stays in a PKCS#11 token. @peculiar/x509 signs through `crypto.subtle.sign`
 * with `key`: both are stand-ins that route the signature to the token (everything else, such
 * as the digests for key identifiers, stays with Node's WebCrypto). The data is hashed here
 * and the token signs the digest (CKM_ECDSA, CKM_RSA_PKCS), which every token supports.
 */
export function tokenSigner(certificate: x509.X509Certificate, token: TokenKey): Signer {
  const keyType = publicKeyType(certificate.publicKey);
  if (!keyType) throw new CryptoError("unsupported", "the CA key is not EC P-256/P-384 or RSA 2048-4096");
  return { certificate, ...tokenSigning(token, keyType) };
}

/** The Signer without its certificate: what signs the root's own certificate. */
export function tokenSigning(token: TokenKey, keyType: KeyType): Omit<Signer, "certificate"> {
  const alg = SIGNATURE_ALGORITHMS[keyType];
  const hashName = alg.webcrypto.hash === "SHA-384" ? "sha384" : "sha256";
  const signRaw = (data: Uint8Array) => token.signDigest(hashName, createHash(hashName).update(data).digest());
  const subtle = new Proxy(native.subtle, {
    get(target, property) {
      if (property === "sign") return async (_algorithm: unknown, _key: unknown, data: BufferSource) => signRaw(new Uint8Array(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data)).buffer;
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const crypto = { subtle, getRandomValues: native.getRandomValues.bind(native), randomUUID: native.randomUUID.bind(native) } as Crypto;
  const key = { type: "private", extractable: false, algorithm: alg.webcrypto, usages: ["sign"] } as unknown as CryptoKey;
  return {
    keyType,
    algorithm: alg.identifier,
    webcryptoAlgorithm: alg.webcrypto,
    crypto,
    key,
    sign: async (data) => (alg.ecdsa ? ecdsaDer(signRaw(data)) : signRaw(data)),
  };
}
