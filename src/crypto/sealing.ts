// Encrypted PKCS#8 (PBES2), kept apart from keys.ts so that opening a key never loads
// @peculiar/x509: the keyring starts the slow PBKDF2 while the signing code is still loading.
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { EncryptedPrivateKeyInfo, PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { CryptoError } from "./errors.js";
import { pbes2DecryptWithKey, pbes2Encrypt, pbes2Iterations, type Pbes2Key, pbes2KeyFor, type Pbes2Parameters, pbes2Parameters } from "./pbe.js";
import { readDerOrPem, toPem } from "./pem.js";

/**
 * PBKDF2-HMAC-SHA256 iterations for keys stored by `pki`: OWASP's 2023 password-storage
 * figure (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html),
 * about 0.2 s per key here, and readable by `openssl pkey -passin` (OpenSSL's own default is 2048).
 */
export const KEY_PBKDF2_ITERATIONS = 600_000;

/**
 * Encrypts PKCS#8 DER as an EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC),
 * the format of `openssl pkcs8 -topk8 -v2 aes-256-cbc`, so `openssl pkey -passin` reads it.
 */
export async function encryptPrivateKey(pkcs8: Uint8Array, passphrase: string | Pbes2Key, iterations = KEY_PBKDF2_ITERATIONS): Promise<Uint8Array> {
  const { algorithm, ciphertext } = await pbes2Encrypt(pkcs8, passphrase, { iterations });
  const info = new EncryptedPrivateKeyInfo({ encryptionAlgorithm: algorithm, encryptedData: new OctetString(ciphertext) });
  return new Uint8Array(AsnConvert.serialize(info));
}

/**
 * The PBES2 AlgorithmIdentifier (DER) that encryptPrivateKey writes for keys sealed under `key`:
 * the same salt and iterations for every key, and a 16-byte IV at the very end (the AES-CBC
 * parameters are the last element) that each key must replace with its own.
 */
export async function sealingAlgorithm(key: Pbes2Key): Promise<Uint8Array> {
  const { algorithm } = await pbes2Encrypt(new Uint8Array(16), key, { iterations: key.iterations });
  const der = new Uint8Array(AsnConvert.serialize(algorithm));
  if (der[der.length - 18] !== 0x04 || der[der.length - 17] !== 0x10) throw new CryptoError("malformed", "PBES2 parameters do not end with the IV");
  return der;
}

/** An EncryptedPrivateKeyInfo (DER or PEM), parsed: its PBES2 parameters and ciphertext. */
export function readEncryptedKey(encrypted: Uint8Array): { parameters: Pbes2Parameters; ciphertext: Uint8Array } {
  const der = readDerOrPem(encrypted, ["ENCRYPTED PRIVATE KEY"], "encrypted private key");
  let info: EncryptedPrivateKeyInfo;
  try {
    info = AsnConvert.parse(der, EncryptedPrivateKeyInfo);
  } catch {
    throw new CryptoError("malformed", "not an encrypted PKCS#8 private key");
  }
  return { parameters: pbes2Parameters(info.encryptionAlgorithm), ciphertext: new Uint8Array(info.encryptedData.buffer) };
}

/** Decrypts a key read by readEncryptedKey with an already derived key; "bad-passphrase" when it is the wrong one. */
export function decryptWithKey(k: { parameters: Pbes2Parameters; ciphertext: Uint8Array }, key: Uint8Array): Uint8Array {
  const plain = pbes2DecryptWithKey(k.parameters, key, k.ciphertext);
  try {
    // CBC padding passes by chance 1 time in 256 with a wrong key; the DER parse catches the rest.
    AsnConvert.parse(plain, PrivateKeyInfo);
  } catch {
    throw new CryptoError("bad-passphrase", "decryption failed");
  }
  return plain;
}

/** Decrypts an EncryptedPrivateKeyInfo (DER or PEM) to PKCS#8 DER; "bad-passphrase" when the passphrase is wrong. */
export async function decryptPrivateKey(encrypted: Uint8Array, passphrase: string): Promise<Uint8Array> {
  const k = readEncryptedKey(encrypted);
  return decryptWithKey(k, await pbes2KeyFor(passphrase, k.parameters));
}

/** The PBKDF2 iteration count protecting an encrypted key, or null when it is not PBES2/PBKDF2. */
export function privateKeyIterations(encrypted: Uint8Array): number | null {
  const info = AsnConvert.parse(readDerOrPem(encrypted, ["ENCRYPTED PRIVATE KEY"], "encrypted private key"), EncryptedPrivateKeyInfo);
  return pbes2Iterations(info.encryptionAlgorithm);
}

export function encryptedKeyPem(der: Uint8Array): string {
  return toPem(der, "ENCRYPTED PRIVATE KEY");
}
