import { createHmac, hkdfSync, type KeyObject, createSecretKey, timingSafeEqual } from "node:crypto";

/** HKDF info of the history key: a new purpose (or a new construction) gets a new label. */
const HISTORY_KEY_INFO = "pki audit history v1";

/**
 * The key that authenticates the ledger's history: only the holder of the CA key has it, so
 * whoever can write the ledger file but lacks the passphrase cannot forge an event, an anchor or
 * a revocation digest. Only MACs ever leave it.
 *
 * A root key held in a file derives it with HKDF (below). A root held in an HSM cannot export
 * its private key; it keeps a separate HMAC-SHA256 secret key object on the token
 * (CKK_GENERIC_SECRET, non-extractable, created with the root by init-root --pkcs11) and
 * computes `mac`/`macAll` there with C_Sign/C_SignUpdate (CKM_SHA256_HMAC, see
 * pkcs11/hmac.ts): same interface, same outputs' shape, the secret never in process memory.
 */
export interface HistoryKey {
  /** HMAC-SHA256 of `data`, lowercase hex. */
  mac(data: string): string;
  /** HMAC-SHA256 over `parts` in order (equal to `mac(parts.join(""))`), streamed: for long lists. */
  macAll(parts: Iterable<string>): string;
  /** Whether `tag` is `mac(data)`, compared in constant time. */
  verify(data: string, tag: string): boolean;
}

/** The history key of a CA key held in memory: HKDF-SHA256 over its PKCS#8 DER (no salt: the input is already a uniformly secret key). */
export function historyKeyFromPkcs8(pkcs8: Uint8Array): HistoryKey {
  return new HmacHistoryKey(createSecretKey(Buffer.from(hkdfSync("sha256", pkcs8, new Uint8Array(0), HISTORY_KEY_INFO, 32))));
}

class HmacHistoryKey implements HistoryKey {
  constructor(private readonly key: KeyObject) {}

  mac(data: string): string {
    return createHmac("sha256", this.key).update(data).digest("hex");
  }

  macAll(parts: Iterable<string>): string {
    const h = createHmac("sha256", this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  verify(data: string, tag: string): boolean {
    const expected = Buffer.from(this.mac(data), "hex");
    const given = Buffer.from(/^[0-9a-f]{64}$/.test(tag) ? tag : "", "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
