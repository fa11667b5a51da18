import { type KeyType, SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from "./algorithms.js";
import { webcrypto } from "./provider.js";

export { isKeyType, KEY_TYPES, type KeyType } from "./algorithms.js";
export type { Pbes2Key } from "./pbe.js";
export { decryptPrivateKey, decryptWithKey, encryptedKeyPem, encryptPrivateKey, KEY_PBKDF2_ITERATIONS, privateKeyIterations, readEncryptedKey } from "./sealing.js";

/** WebCrypto algorithm used both to generate a key and to sign with it (from the one table in algorithms.ts). */
export function signingAlgorithm(type: KeyType): SignatureAlgorithm["webcrypto"] {
  return SIGNATURE_ALGORITHMS[type].webcrypto;
}

/** Generates an extractable key pair of `type` for signing. */
export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(signingAlgorithm(type), true, ["sign", "verify"])) as CryptoKeyPair;
}

/** The unencrypted PKCS#8 DER of a private key. */
export async function exportPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", key));
}
