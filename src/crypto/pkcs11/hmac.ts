import { timingSafeEqual } from "node:crypto";
import * as P from "./binding.js";
import { TokenError } from "./token-error.js";

/**
 * HMAC-SHA256 with a secret key that never leaves the token (CKM_SHA256_HMAC): the shape of the
 * CA's history key (mac, macAll, verify), for a root whose key is in a token and so cannot
 * derive one from its PKCS#8.
 */
export class TokenHmac {
  constructor(
    private readonly module: P.Cryptoki,
    private readonly session: Buffer,
    private readonly key: Buffer,
  ) {}

  /** HMAC-SHA256 of `data` (UTF-8), lowercase hex. */
  mac(data: string): string {
    return this.macAll([data]);
  }

  /** HMAC-SHA256 over `parts` in order, streamed into the token: equal to `mac(parts.join(""))`. */
  macAll(parts: Iterable<string>): string {
    try {
      this.module.C_SignInit(this.session, { mechanism: P.CKM_SHA256_HMAC }, this.key);
      for (const part of parts) if (part !== "") this.module.C_SignUpdate(this.session, Buffer.from(part, "utf8"));
      return this.module.C_SignFinal(this.session, Buffer.alloc(32)).toString("hex");
    } catch (e) {
      throw new TokenError("storage", `the PKCS#11 token did not compute the history MAC: ${(e as Error).message}`, "is the token still connected? pki check tries it", "PKCS11_FAILED");
    }
  }

  /** Whether `tag` is `mac(data)`, compared in constant time. */
  verify(data: string, tag: string): boolean {
    const expected = Buffer.from(this.mac(data), "hex");
    const given = Buffer.from(/^[0-9a-f]{64}$/.test(tag) ? tag : "", "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
