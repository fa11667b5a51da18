import { createRequire } from "node:module";
import { TokenError } from "./token-error.js";

/** The part of pkcs11js (PeculiarVentures) pki calls; declared here because the package is optional. */
export interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}
export interface Cryptoki {
  load(path: string): void;
  C_Initialize(): void;
  C_GetSlotList(tokenPresent: boolean): Buffer[];
  C_GetTokenInfo(slot: Buffer): { label: string };
  C_OpenSession(slot: Buffer, flags: number): Buffer;
  C_CloseSession(session: Buffer): void;
  C_Login(session: Buffer, userType: number, pin: string): void;
  C_FindObjectsInit(session: Buffer, template: Attribute[]): void;
  C_FindObjects(session: Buffer, max: number): Buffer[];
  C_FindObjectsFinal(session: Buffer): void;
  C_GetAttributeValue(session: Buffer, object: Buffer, template: Attribute[]): Attribute[];
  C_GenerateKeyPair(session: Buffer, mechanism: { mechanism: number }, publicTemplate: Attribute[], privateTemplate: Attribute[]): { publicKey: Buffer; privateKey: Buffer };
  C_DestroyObject(session: Buffer, object: Buffer): void;
  C_GenerateKey(session: Buffer, mechanism: { mechanism: number }, template: Attribute[]): Buffer;
  C_SignInit(session: Buffer, mechanism: { mechanism: number }, key: Buffer): void;
  C_Sign(session: Buffer, data: Buffer, out: Buffer): Buffer;
  C_SignUpdate(session: Buffer, data: Buffer): void;
  C_SignFinal(session: Buffer, out: Buffer): Buffer;
}

// PKCS#11 v2.40 constants (pkcs11t.h).
export const CKF_RW_SESSION = 0x2;
export const CKF_SERIAL_SESSION = 0x4;
export const CKU_USER = 1;
export const CKO_PRIVATE_KEY = 3;
export const CKO_SECRET_KEY = 4;
export const CKK_GENERIC_SECRET = 0x10;
export const CKA_CLASS = 0x0;
export const CKA_TOKEN = 0x1;
export const CKA_PRIVATE = 0x2;
export const CKA_LABEL = 0x3;
export const CKA_KEY_TYPE = 0x100;
export const CKA_ID = 0x102;
export const CKA_SENSITIVE = 0x103;
export const CKA_ENCRYPT = 0x104;
export const CKA_DECRYPT = 0x105;
export const CKA_WRAP = 0x106;
export const CKA_UNWRAP = 0x107;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_DERIVE = 0x10c;
export const CKA_MODULUS = 0x120;
export const CKA_MODULUS_BITS = 0x121;
export const CKA_PUBLIC_EXPONENT = 0x122;
export const CKA_VALUE_LEN = 0x161;
export const CKA_EXTRACTABLE = 0x162;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKM_RSA_PKCS_KEY_PAIR_GEN = 0x0;
export const CKM_RSA_PKCS = 0x1;
export const CKM_SHA256_HMAC = 0x251;
export const CKM_GENERIC_SECRET_KEY_GEN = 0x350;
export const CKM_EC_KEY_PAIR_GEN = 0x1040;
export const CKM_ECDSA = 0x1041;

const modules = new Map<string, Cryptoki>();

/**
 * The module at `path`, loaded and initialised once per process (C_Initialize twice in one
 * process is an error). pkcs11js is an optional dependency, loaded only here.
 */
export function cryptoki(path: string): Cryptoki {
  const loaded = modules.get(path);
  if (loaded) return loaded;
  let binding: { PKCS11: new () => Cryptoki };
  try {
    const packageName = "pkcs11js";
    binding = createRequire(import.meta.url)(packageName) as typeof binding;
  } catch (e) {
    throw new TokenError("storage", `the PKCS#11 binding pkcs11js cannot load (${(e as Error).message.split("\n")[0]})`, "install it next to pki: npm install pkcs11js (it compiles with node-gyp: apt-get install build-essential python3)", "PKCS11_BINDING_MISSING");
  }
  const module = new binding.PKCS11();
  try {
    module.load(path);
    module.C_Initialize();
  } catch (e) {
    throw new TokenError("not-found", `the PKCS#11 module ${path} cannot be loaded: ${(e as Error).message}`, "set PKI_PKCS11_MODULE to the token's library, e.g. /usr/lib/softhsm/libsofthsm2.so (apt-get install softhsm2)", "PKCS11_MODULE_BROKEN");
  }
  modules.set(path, module);
  return module;
}
