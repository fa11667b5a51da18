// What a key worker does for bulk issuance, with node:crypto alone (a worker loads nothing else).
import { createCipheriv, generateKeyPairSync, randomBytes } from "node:crypto";
import type { KeyType } from "./algorithms.js";
import { octets, seq } from "./der.js";

/**
 * How new keys are sealed: the PBKDF2 key derived once for the batch, and the PBES2
 * AlgorithmIdentifier (DER) that names its salt and iterations, ending with the 16-byte IV
 * that each key replaces with its own (see sealingAlgorithm in sealing.ts).
 */
export interface SealParameters {
  key: Uint8Array;
  algorithm: Uint8Array;
}

export interface SealedKey {
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** EncryptedPrivateKeyInfo DER, as encryptPrivateKey writes it. */
  sealed: Uint8Array;
}

/** A new key pair of `type`, its PKCS#8 encrypted with its own IV (AES-256-CBC) under `seal`. */
export function newSealedKey(type: KeyType, seal: SealParameters): SealedKey {
  const { publicKey, privateKey } = type.startsWith("rsa-")
    ? generateKeyPairSync("rsa", { modulusLength: Number(type.slice(4)), publicKeyEncoding: { type: "spki", format: "der" }, privateKeyEncoding: { type: "pkcs8", format: "der" } })
    : generateKeyPairSync("ec", { namedCurve: type === "ec-p384" ? "P-384" : "P-256", publicKeyEncoding: { type: "spki", format: "der" }, privateKeyEncoding: { type: "pkcs8", format: "der" } });
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", seal.key, iv);
  const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()]);
  privateKey.fill(0);
  const algorithm = new Uint8Array(seal.algorithm);
  algorithm.set(iv, algorithm.length - 16);
  return { spki: new Uint8Array(publicKey), sealed: seq(algorithm, octets(ciphertext)) };
}
