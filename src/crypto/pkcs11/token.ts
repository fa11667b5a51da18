import { randomBytes } from "node:crypto";
import type { KeyType } from "../algorithms.js";
import { concat, oid, seq, tlv, uintBytes } from "../der.js";
import * as P from "./binding.js";
import { TokenError } from "./token-error.js";
import type { Pkcs11Uri } from "./uri.js";
import { TokenHmac } from "./hmac.js";

const CURVES: Partial<Record<KeyType, { oid: string; size: number }>> = {
  "ec-p256": { oid: "1.2.840.10045.3.1.7", size: 32 },
  "ec-p384": { oid: "1.3.132.0.34", size: 48 },
};
const RSA_BITS: Partial<Record<KeyType, number>> = { "rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096 };

/** A CA key signs and does nothing else (tokens default decrypt and unwrap to true). */
const SIGN_ONLY = [P.CKA_DECRYPT, P.CKA_UNWRAP, P.CKA_DERIVE].map((type) => ({ type, value: false }));

/** DigestInfo prefixes (RFC 8017 9.2 note 1): CKM_RSA_PKCS signs DigestInfo, which every token supports. */
const DIGEST_INFO: Record<string, Buffer> = {
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
};

/** A private key inside a PKCS#11 token, in a logged-in session held for the life of the process. */
export class TokenKey {
  private constructor(
    private readonly module: P.Cryptoki,
    private readonly session: Buffer,
    private readonly key: Buffer,
    readonly ec: boolean,
    private readonly label: string,
    private readonly created: Buffer[] = [],
  ) {}

  /** Opens the session and finds the private key the URI names (`ec`: an ECDSA key, else RSA). */
  static open(modulePath: string, uri: Pkcs11Uri, pin: string, ec: boolean): TokenKey {
    const { module, session } = login(modulePath, uri, pin);
    const [key, another] = find(module, session, [{ type: P.CKA_CLASS, value: P.CKO_PRIVATE_KEY }, { type: P.CKA_LABEL, value: uri.object }]);
    if (another) throw new TokenError("conflict", `the token "${uri.token}" has several private keys labelled "${uri.object}"`, "pki signs only with a key it can name unambiguously: relabel or remove the others", "PKCS11_KEY_AMBIGUOUS");
    if (!key) throw new TokenError("not-found", `the token "${uri.token}" has no private key labelled "${uri.object}"`, "check the URI the CA was created with (pki doctor shows it)", "PKCS11_KEY_NOT_FOUND");
    return new TokenKey(module, session, key, ec, uri.object);
  }

  /**
   * Generates a signing key pair in the token, private key sensitive and never extractable, and
   * beside it an HMAC-SHA256 secret key (the CA's history key, see `history`), all stored on the
   * token under the URI's label. Refuses a label already taken (pki never overwrites a key).
   * Returns the key and its public key as SubjectPublicKeyInfo DER.
   */
  static generate(modulePath: string, uri: Pkcs11Uri, pin: string, keyType: KeyType): { key: TokenKey; spki: Uint8Array } {
    const { module, session } = login(modulePath, uri, pin);
    if (find(module, session, [{ type: P.CKA_LABEL, value: uri.object }]).length > 0) {
      throw new TokenError("conflict", `the token "${uri.token}" already has an object labelled "${uri.object}"`, "pki never reuses or overwrites a key: choose another object= label", "PKCS11_KEY_EXISTS");
    }
    const id = randomBytes(16);
    const common = [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_LABEL, value: uri.object }, { type: P.CKA_ID, value: id }];
    const privateTemplate = [...common, { type: P.CKA_PRIVATE, value: true }, { type: P.CKA_SENSITIVE, value: true }, { type: P.CKA_EXTRACTABLE, value: false }, { type: P.CKA_SIGN, value: true }, ...SIGN_ONLY];
    const curve = CURVES[keyType];
    const bits = RSA_BITS[keyType];
    if (!curve && !bits) throw new TokenError("usage", `a ${keyType} key cannot be made in a token`, undefined, "USAGE");
    const history = module.C_GenerateKey(session, { mechanism: P.CKM_GENERIC_SECRET_KEY_GEN }, [
      ...common,
      { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
      { type: P.CKA_KEY_TYPE, value: P.CKK_GENERIC_SECRET },
      { type: P.CKA_VALUE_LEN, value: 32 },
      { type: P.CKA_PRIVATE, value: true },
      { type: P.CKA_SENSITIVE, value: true },
      { type: P.CKA_EXTRACTABLE, value: false },
      { type: P.CKA_SIGN, value: true },
      { type: P.CKA_VERIFY, value: true },
      ...SIGN_ONLY,
      ...[P.CKA_ENCRYPT, P.CKA_WRAP].map((type) => ({ type, value: false })),
    ]);
    if (curve) {
      const pair = module.C_GenerateKeyPair(session, { mechanism: P.CKM_EC_KEY_PAIR_GEN }, [...common, { type: P.CKA_VERIFY, value: true }, { type: P.CKA_EC_PARAMS, value: Buffer.from(oid(curve.oid)) }], privateTemplate);
      const point = ecPoint(module.C_GetAttributeValue(session, pair.publicKey, [{ type: P.CKA_EC_POINT }])[0]!.value as Buffer, curve.size);
      const spki = seq(seq(oid("1.2.840.10045.2.1"), oid(curve.oid)), tlv(0x03, concat([new Uint8Array([0]), point])));
      return { key: new TokenKey(module, session, pair.privateKey, true, uri.object, [pair.privateKey, pair.publicKey, history]), spki };
    }
    const pair = module.C_GenerateKeyPair(session, { mechanism: P.CKM_RSA_PKCS_KEY_PAIR_GEN }, [...common, { type: P.CKA_VERIFY, value: true }, { type: P.CKA_MODULUS_BITS, value: bits }, { type: P.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }], privateTemplate);
    const [modulus, exponent] = module.C_GetAttributeValue(session, pair.publicKey, [{ type: P.CKA_MODULUS }, { type: P.CKA_PUBLIC_EXPONENT }]).map((a) => a.value as Buffer);
    const rsaKey = seq(uintBytes(modulus!), uintBytes(exponent!));
    const spki = seq(seq(oid("1.2.840.113549.1.1.1"), new Uint8Array([0x05, 0x00])), tlv(0x03, concat([new Uint8Array([0]), rsaKey])));
    return { key: new TokenKey(module, session, pair.privateKey, false, uri.object, [pair.privateKey, pair.publicKey, history]), spki };
  }

  /** The HMAC-SHA256 key stored beside this key under its label: MACs are computed in the token. */
  history(): TokenHmac {
    const [key] = find(this.module, this.session, [{ type: P.CKA_CLASS, value: P.CKO_SECRET_KEY }, { type: P.CKA_LABEL, value: this.label }]);
    if (!key) throw new TokenError("not-found", `the token has no history (HMAC) key labelled "${this.label}"`, "a CA whose root key is in a token needs the secret key init-root --pkcs11 created beside it", "PKCS11_KEY_NOT_FOUND");
    return new TokenHmac(this.module, this.session, key);
  }

  /** Destroys the keys `generate` made, when the CA it was for could not be created. */
  discard(): void {
    for (const handle of this.created) this.module.C_DestroyObject(this.session, handle);
  }

  /** Signs the digest `hash` (of `hashName`): ECDSA as r||s, RSA as PKCS#1 v1.5. */
  signDigest(hashName: "sha256" | "sha384", hash: Uint8Array): Uint8Array {
    const input = this.ec ? Buffer.from(hash) : Buffer.concat([DIGEST_INFO[hashName]!, hash]);
    try {
      this.module.C_SignInit(this.session, { mechanism: this.ec ? P.CKM_ECDSA : P.CKM_RSA_PKCS }, this.key);
      return new Uint8Array(this.module.C_Sign(this.session, input, Buffer.alloc(1024)));
    } catch (e) {
      throw new TokenError("storage", `the PKCS#11 token did not sign: ${(e as Error).message}`, "is the token still connected? pki check tries it", "PKCS11_FAILED");
    }
  }
}

function login(modulePath: string, uri: Pkcs11Uri, pin: string): { module: P.Cryptoki; session: Buffer } {
  const module = P.cryptoki(modulePath);
  const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trimEnd() === uri.token);
  if (!slot) throw new TokenError("not-found", `no token labelled "${uri.token}" in ${modulePath}`, "is the token plugged in and initialised? softhsm2-util --show-slots / pkcs11-tool -L list the tokens", "PKCS11_TOKEN_NOT_FOUND");
  const session = module.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  try {
    module.C_Login(session, P.CKU_USER, pin);
  } catch (e) {
    const name = (e as Error).message;
    // Another session of this process logged in already: the login is per token, not per session.
    if (name.includes("CKR_USER_ALREADY_LOGGED_IN")) return { module, session };
    module.C_CloseSession(session);
    if (/CKR_PIN_(INCORRECT|LEN_RANGE|INVALID)/.test(name)) throw new TokenError("secret", `wrong PIN for the token "${uri.token}"`, "check PKI_PKCS11_PIN or PKI_PKCS11_PIN_FILE", "BAD_PIN");
    if (name.includes("CKR_PIN_LOCKED")) throw new TokenError("secret", `the token "${uri.token}" has locked its user PIN`, "unlock it with the security officer PIN (softhsm2-util / pkcs11-tool --init-pin)", "PIN_LOCKED");
    throw new TokenError("storage", `logging in to the token "${uri.token}" failed: ${name}`, undefined, "PKCS11_FAILED");
  }
  return { module, session };
}

function find(module: P.Cryptoki, session: Buffer, template: P.Attribute[]): Buffer[] {
  module.C_FindObjectsInit(session, template);
  try {
    return module.C_FindObjects(session, 2);
  } finally {
    module.C_FindObjectsFinal(session);
  }
}

/** CKA_EC_POINT is a DER OCTET STRING holding the point (PKCS#11 2.40); some tokens give the bare point. */
function ecPoint(value: Buffer, size: number): Uint8Array {
  const bare = 2 * size + 1;
  if (value.length === bare && value[0] === 0x04) return new Uint8Array(value);
  const inner = value.subarray(value.length - bare);
  if (value[0] !== 0x04 || inner[0] !== 0x04) throw new TokenError("storage", "the token returned an EC public key pki cannot read", undefined, "PKCS11_FAILED");
  return new Uint8Array(inner);
}

/** An ECDSA signature from r||s to the DER SEQUENCE X.509, CRLs and OCSP carry. */
export function ecdsaDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(uintBytes(raw.subarray(0, half)), uintBytes(raw.subarray(half)));
}
