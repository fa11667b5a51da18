import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { EncryptedPrivateKeyInfo, PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { OID } from "./asn1.js";
import { CryptoError } from "./errors.js";
import { type KdfCache, pbes2Decrypt, pbes2Derive, pbes2Encrypt, pbes2Iterations, type Pbes2Key } from "./pbe.js";

export type { KdfCache, Pbes2Key } from "./pbe.js";
import { bytes, readDerOrPem, toPem } from "./pem.js";
import { webcrypto } from "./provider.js";

/** The key types `pki` generates. EC P-256 is the default: small, fast, and read by every TLS stack we target. */
export const KEY_TYPES = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value);
}

/**
 * PBKDF2-HMAC-SHA256 iterations for keys stored by `pki`: OWASP's 2023 password-storage
 * figure (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html),
 * about 0.2 s per key here, and readable by `openssl pkey -passin` (OpenSSL's own default is 2048).
 */
export const KEY_PBKDF2_ITERATIONS = 600_000;

/** WebCrypto algorithm used both to generate a key and to sign with it. */
export function signingAlgorithm(type: KeyType): RsaHashedKeyGenParams | EcKeyGenParams & { hash: string } {
  switch (type) {
    case "ec-p256":
      return { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    case "ec-p384":
      return { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
    default:
      return {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: Number(type.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      };
  }
}

/** Generates an extractable key pair of `type` for signing. */
export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(signingAlgorithm(type), true, ["sign", "verify"])) as CryptoKeyPair;
}

/** The unencrypted PKCS#8 DER of a private key. */
export async function exportPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", key));
}

/** Which of our key types a PKCS#8 or SPKI algorithm identifier is, or null. */
export function keyTypeOf(algorithm: string, parameters: ArrayBuffer | null | undefined, rsaBits?: number): KeyType | null {
  if (algorithm === OID.ecPublicKey && parameters) {
    const oid = decodeOid(new Uint8Array(parameters));
    if (oid === OID.secp256r1) return "ec-p256";
    if (oid === OID.secp384r1) return "ec-p384";
    return null;
  }
  if (algorithm === OID.rsaEncryption) {
    const t = `rsa-${rsaBits}`;
    return isKeyType(t) ? t : null;
  }
  return null;
}

/** Imports a PKCS#8 private key for signing; the key type comes from the key itself. */
export async function importPkcs8(input: Uint8Array): Promise<{ key: CryptoKey; type: KeyType }> {
  const der = bytes(input);
  let info: PrivateKeyInfo;
  try {
    info = AsnConvert.parse(der, PrivateKeyInfo);
  } catch {
    throw new CryptoError("malformed", "not a PKCS#8 private key");
  }
  const alg = info.privateKeyAlgorithm;
  let type: KeyType | null;
  if (alg.algorithm === OID.rsaEncryption) {
    const key = await webcrypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
    type = keyTypeOf(alg.algorithm, null, (key.algorithm as RsaHashedKeyAlgorithm).modulusLength);
    if (!type) throw new CryptoError("unsupported", "RSA key size must be 2048, 3072 or 4096 bits");
    return { key, type };
  }
  type = keyTypeOf(alg.algorithm, alg.parameters ?? null);
  if (!type) throw new CryptoError("unsupported", "only EC P-256, EC P-384 and RSA keys are supported");
  const params = signingAlgorithm(type) as EcKeyGenParams;
  const key = await webcrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: params.namedCurve }, true, ["sign"]);
  return { key, type };
}

/** Decodes a DER OBJECT IDENTIFIER (tag 0x06) into dotted form. */
function decodeOid(der: Uint8Array): string | null {
  if (der[0] !== 0x06 || der[1] === undefined || der[1] > 127) return null;
  const body = der.subarray(2, 2 + der[1]);
  const parts: number[] = [Math.floor(body[0]! / 40), body[0]! % 40];
  let value = 0;
  for (let i = 1; i < body.length; i++) {
    value = value * 128 + (body[i]! & 0x7f);
    if ((body[i]! & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/**
 * Encrypts PKCS#8 DER as an EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC),
 * the format of `openssl pkcs8 -topk8 -v2 aes-256-cbc`, so `openssl pkey -passin` reads it.
 */
export async function encryptPrivateKey(pkcs8: Uint8Array, passphrase: string | Pbes2Key, iterations = KEY_PBKDF2_ITERATIONS): Promise<Uint8Array> {
  const { algorithm, ciphertext } = await pbes2Encrypt(pkcs8, passphrase, { iterations });
  const info = new EncryptedPrivateKeyInfo({ encryptionAlgorithm: algorithm, encryptedData: new OctetString(ciphertext) });
  return new Uint8Array(AsnConvert.serialize(info));
}

/** Decrypts an EncryptedPrivateKeyInfo (DER or PEM) to PKCS#8 DER; "bad-passphrase" when the passphrase is wrong. */
export async function decryptPrivateKey(encrypted: Uint8Array, passphrase: string, cache?: KdfCache): Promise<Uint8Array> {
  const der = readDerOrPem(encrypted, ["ENCRYPTED PRIVATE KEY"], "encrypted private key");
  let info: EncryptedPrivateKeyInfo;
  try {
    info = AsnConvert.parse(der, EncryptedPrivateKeyInfo);
  } catch {
    throw new CryptoError("malformed", "not an encrypted PKCS#8 private key");
  }
  const plain = await pbes2Decrypt(info.encryptionAlgorithm, new Uint8Array(info.encryptedData.buffer), passphrase, cache);
  try {
    // CBC padding passes by chance 1 time in 256 with a wrong key; the DER parse catches the rest.
    AsnConvert.parse(plain, PrivateKeyInfo);
  } catch {
    throw new CryptoError("bad-passphrase", "decryption failed");
  }
  return plain;
}

/** The PBKDF2 iteration count protecting an encrypted key, or null when it is not PBES2/PBKDF2. */
export function privateKeyIterations(encrypted: Uint8Array): number | null {
  const info = AsnConvert.parse(readDerOrPem(encrypted, ["ENCRYPTED PRIVATE KEY"], "encrypted private key"), EncryptedPrivateKeyInfo);
  return pbes2Iterations(info.encryptionAlgorithm);
}

export function encryptedKeyPem(der: Uint8Array): string {
  return toPem(der, "ENCRYPTED PRIVATE KEY");
}

/**
 * Derives the passphrase key once for a batch: every key of the batch is then encrypted
 * with it (same salt, its own IV). Each file is still standard encrypted PKCS#8 that
 * `openssl pkey` opens; what is shared is one PBKDF2 run, not the protection, since all of
 * them are under the same passphrase anyway.
 */
export function deriveKeyEncryptionKey(passphrase: string, iterations = KEY_PBKDF2_ITERATIONS): Promise<Pbes2Key> {
  return pbes2Derive(passphrase, { iterations });
}
