// What a key worker does for bulk issuance, with node:crypto alone (a worker loads nothing else).
import { createCipheriv, createECDH, type ECDH, generateKeyPairSync, randomBytes } from "node:crypto";
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
  const { publicKey, privateKey } = newKeyDer(type);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", seal.key, iv);
  const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()]);
  privateKey.fill(0);
  const algorithm = new Uint8Array(seal.algorithm);
  algorithm.set(iv, algorithm.length - 16);
  return { spki: new Uint8Array(publicKey), sealed: seq(algorithm, octets(ciphertext)) };
}

/** A new key pair of `type`: SubjectPublicKeyInfo and PKCS#8, DER. */
export function newKeyDer(type: KeyType): { publicKey: Buffer; privateKey: Buffer } {
  if (type === "ec-p256") return newP256Key();
  return type.startsWith("rsa-")
    ? generateKeyPairSync("rsa", { modulusLength: Number(type.slice(4)), publicKeyEncoding: { type: "spki", format: "der" }, privateKeyEncoding: { type: "pkcs8", format: "der" } })
    : generateKeyPairSync("ec", { namedCurve: type === "ec-p384" ? "P-384" : "P-256", publicKeyEncoding: { type: "spki", format: "der" }, privateKeyEncoding: { type: "pkcs8", format: "der" } });
}

// The DER around a P-256 key's bytes, as OpenSSL writes PKCS#8 (RFC 5208 with RFC 5915's
// ECPrivateKey: version 1, the 32-byte scalar, the public point) and SubjectPublicKeyInfo (RFC 5480).
const P256_PKCS8_HEAD = Buffer.from("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420", "hex");
const P256_PKCS8_POINT = Buffer.from("a144034200", "hex");
const P256_SPKI_HEAD = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");
let p256: ECDH | undefined;

/**
 * A P-256 key through ECDH: OpenSSL's same key generation, without its
 * key-object and encoder layers: 0.02 ms instead of generateKeyPairSync's 0.3 ms of CPU here,
 * most of a bulk-issued certificate's key work. The DER is written as OpenSSL writes it
 * (test/unit/leaf-template.test.ts compares).
 */
function newP256Key(): { publicKey: Buffer; privateKey: Buffer } {
  p256 ??= createECDH("prime256v1");
  p256.generateKeys();
  const point = p256.getPublicKey(); // uncompressed: 65 bytes
  const scalar = p256.getPrivateKey(); // big-endian, without its leading zero bytes
  const privateKey = Buffer.alloc(P256_PKCS8_HEAD.length + 32 + P256_PKCS8_POINT.length + point.length);
  P256_PKCS8_HEAD.copy(privateKey, 0);
  scalar.copy(privateKey, P256_PKCS8_HEAD.length + 32 - scalar.length);
  P256_PKCS8_POINT.copy(privateKey, P256_PKCS8_HEAD.length + 32);
  point.copy(privateKey, P256_PKCS8_HEAD.length + 32 + P256_PKCS8_POINT.length);
  scalar.fill(0);
  return { publicKey: Buffer.concat([P256_SPKI_HEAD, point]), privateKey };
}
