import { createCipheriv, createDecipheriv, createHash, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { DER_NULL, OID, Pbes2Params, Pbkdf2Params, Pkcs12PbeParams } from "./asn1.js";
import { CryptoError } from "./errors.js";

const pbkdf2Async = promisify(pbkdf2);

export interface Pbes2Options {
  /** PBKDF2 iteration count. Required: callers choose it for their threat model. */
  iterations: number;
  /** Salt length in bytes. Default 16 (RFC 8018 section 4.1 asks for at least 8). */
  saltLength?: number;
}

export interface Encrypted {
  algorithm: AlgorithmIdentifier;
  ciphertext: Uint8Array;
}

const PRF_DIGEST: Record<string, string> = {
  [OID.hmacWithSHA1]: "sha1",
  [OID.hmacWithSHA256]: "sha256",
  [OID.hmacWithSHA384]: "sha384",
  [OID.hmacWithSHA512]: "sha512",
};
const AES_CBC: Record<string, { cipher: string; keyLength: number }> = {
  [OID.aes128cbc]: { cipher: "aes-128-cbc", keyLength: 16 },
  [OID.aes192cbc]: { cipher: "aes-192-cbc", keyLength: 24 },
  [OID.aes256cbc]: { cipher: "aes-256-cbc", keyLength: 32 },
};

/** A PBKDF2 result ready to encrypt with: derive once, encrypt many (a batch of keys under one passphrase). */
export interface Pbes2Key {
  salt: Uint8Array;
  iterations: number;
  key: Uint8Array;
}

/** Runs PBKDF2-HMAC-SHA256 for AES-256 (on Node's thread pool, so several can run at once). */
export async function pbes2Derive(password: string, options: Pbes2Options): Promise<Pbes2Key> {
  const salt = randomBytes(options.saltLength ?? 16);
  const key = await pbkdf2Async(Buffer.from(password, "utf8"), salt, options.iterations, 32, "sha256");
  return { salt: new Uint8Array(salt), iterations: options.iterations, key: new Uint8Array(key) };
}

/**
 * PBES2 (RFC 8018 section 6.2) with PBKDF2-HMAC-SHA256 and AES-256-CBC: the scheme
 * `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256` writes and OpenSSL 3
 * uses by default inside PKCS#12. The password is used as its UTF-8 bytes, as OpenSSL does.
 */
export async function pbes2Encrypt(plain: Uint8Array, password: string | Pbes2Key, options: Pbes2Options): Promise<Encrypted> {
  const k = typeof password === "string" ? await pbes2Derive(password, options) : password;
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", k.key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const kdf = new AlgorithmIdentifier({
    algorithm: OID.pbkdf2,
    parameters: AsnConvert.serialize(
      new Pbkdf2Params({
        salt: toArrayBuffer(k.salt),
        iterationCount: k.iterations,
        prf: new AlgorithmIdentifier({ algorithm: OID.hmacWithSHA256, parameters: DER_NULL }),
      }),
    ),
  });
  const scheme = new AlgorithmIdentifier({
    algorithm: OID.aes256cbc,
    parameters: AsnConvert.serialize(new OctetString(iv)),
  });
  const algorithm = new AlgorithmIdentifier({
    algorithm: OID.pbes2,
    parameters: AsnConvert.serialize(new Pbes2Params({ keyDerivationFunc: kdf, encryptionScheme: scheme })),
  });
  return { algorithm, ciphertext: new Uint8Array(ciphertext) };
}

/** Iteration count of a PBES2 AlgorithmIdentifier, for reporting key-protection strength. */
export function pbes2Iterations(algorithm: AlgorithmIdentifier): number | null {
  if (algorithm.algorithm !== OID.pbes2 || !algorithm.parameters) return null;
  const params = AsnConvert.parse(algorithm.parameters, Pbes2Params);
  if (params.keyDerivationFunc.algorithm !== OID.pbkdf2 || !params.keyDerivationFunc.parameters) return null;
  return AsnConvert.parse(params.keyDerivationFunc.parameters, Pbkdf2Params).iterationCount;
}

/**
 * PBKDF2 results by salt and parameters, for one password: keys encrypted together (a batch,
 * a passphrase change) share a salt, so decrypting them all costs one derivation. Holds
 * derived keys: keep it for one operation, never longer.
 */
export type KdfCache = Map<string, Promise<Buffer>>;

/** Decrypts PBES2 with PBKDF2 (HMAC-SHA1/256/384/512) and AES-CBC; throws "bad-passphrase" on a wrong password. */
export async function pbes2Decrypt(algorithm: AlgorithmIdentifier, ciphertext: Uint8Array, password: string, cache?: KdfCache): Promise<Uint8Array> {
  if (algorithm.algorithm !== OID.pbes2 || !algorithm.parameters) {
    throw new CryptoError("unsupported", `encryption algorithm ${algorithm.algorithm} is not PBES2`);
  }
  const params = AsnConvert.parse(algorithm.parameters, Pbes2Params);
  const kdf = params.keyDerivationFunc;
  if (kdf.algorithm !== OID.pbkdf2 || !kdf.parameters) {
    throw new CryptoError("unsupported", `key derivation ${kdf.algorithm} is not PBKDF2`);
  }
  const kdfParams = AsnConvert.parse(kdf.parameters, Pbkdf2Params);
  const digest = PRF_DIGEST[kdfParams.prf?.algorithm ?? OID.hmacWithSHA1];
  const aes = AES_CBC[params.encryptionScheme.algorithm];
  if (!digest || !aes || !params.encryptionScheme.parameters) {
    throw new CryptoError("unsupported", "PBES2 with an unsupported PRF or cipher");
  }
  const iv = new Uint8Array(AsnConvert.parse(params.encryptionScheme.parameters, OctetString).buffer);
  const salt = new Uint8Array(kdfParams.salt);
  const derive = () => pbkdf2Async(Buffer.from(password, "utf8"), salt, kdfParams.iterationCount, aes.keyLength, digest);
  let key: Buffer;
  if (cache) {
    const id = `${digest}:${kdfParams.iterationCount}:${aes.keyLength}:${Buffer.from(salt).toString("hex")}`;
    let pending = cache.get(id);
    if (!pending) cache.set(id, (pending = derive()));
    key = await pending;
  } else key = await derive();
  try {
    const decipher = createDecipheriv(aes.cipher, key, iv);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    throw new CryptoError("bad-passphrase", "decryption failed");
  }
}

/** A password as PKCS#12 wants it for its own KDF: big-endian UTF-16 with a two-byte terminator (RFC 7292 B.1). */
export function bmpPassword(password: string): Uint8Array {
  const out = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    out[i * 2] = c >> 8;
    out[i * 2 + 1] = c & 0xff;
  }
  return out;
}

/** The PKCS#12 key-derivation function of RFC 7292 appendix B.2 (ID 1 = key, 2 = IV, 3 = MAC key). */
export function pkcs12Kdf(digest: "sha1" | "sha256", password: Uint8Array, salt: Uint8Array, id: 1 | 2 | 3, iterations: number, size: number): Uint8Array {
  const u = digest === "sha1" ? 20 : 32;
  const v = 64;
  const fill = (src: Uint8Array) => {
    const out = new Uint8Array(src.length === 0 ? 0 : v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = new Uint8Array(v).fill(id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const result = new Uint8Array(Math.ceil(size / u) * u);
  for (let block = 0; block * u < size; block++) {
    let A: Buffer = createHash(digest).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(digest).update(A).digest();
    result.set(A, block * u);
    if ((block + 1) * u >= size) break;
    const B = new Uint8Array(v);
    for (let i = 0; i < v; i++) B[i] = A[i % u]!;
    for (let j = 0; j < I.length; j += v) {
      // Ij = (Ij + B + 1) mod 2^(v*8), big-endian.
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return result.subarray(0, size);
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C), the only cipher old Apple and Android parsers share. */
export function pkcs12TripleDesEncrypt(plain: Uint8Array, password: string, iterations: number, saltLength = 8): Encrypted {
  const salt = randomBytes(saltLength);
  const pass = bmpPassword(password);
  const key = pkcs12Kdf("sha1", pass, salt, 1, iterations, 24);
  const iv = pkcs12Kdf("sha1", pass, salt, 2, iterations, 8);
  const cipher = createCipheriv("des-ede3-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = new AlgorithmIdentifier({
    algorithm: OID.pbeWithSHAAnd3KeyTripleDESCBC,
    parameters: AsnConvert.serialize(new Pkcs12PbeParams({ salt: toArrayBuffer(salt), iterations })),
  });
  return { algorithm, ciphertext: new Uint8Array(ciphertext) };
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return new Uint8Array(b).buffer;
}
