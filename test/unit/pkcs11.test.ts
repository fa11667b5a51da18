import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePkcs11Uri } from "../../src/crypto/pkcs11/uri.js";
import { ecdsaDer } from "../../src/crypto/pkcs11/token.js";
import { TokenError } from "../../src/crypto/pkcs11/token-error.js";
import { reportOf } from "../../src/cli/errors.js";

test("PKCS#11 URIs (RFC 7512): token and object, %-escapes decoded, query attributes read, a PIN refused", () => {
  assert.deepEqual(parsePkcs11Uri("pkcs11:token=pki;object=root"), { text: "pkcs11:token=pki;object=root", token: "pki", object: "root" });
  const spaced = parsePkcs11Uri("pkcs11:manufacturer=SoftHSM%20project;token=My%20Token;object=CA%3Broot;type=private?module-name=softhsm2");
  assert.equal(spaced.token, "My Token");
  assert.equal(spaced.object, "CA;root");
  for (const [uri, why] of [
    ["pkcs11:token=pki;object=root?pin-value=1234", /must not carry the PIN/],
    ["pkcs11:token=pki;object=root;pin-source=file:/pin", /must not carry the PIN/],
    ["pkcs11:token=pki", /must name the token and the key object/],
    ["pkcs11:token=pki;object=%zz", /bad %-escape/],
    ["pkcs11:token=pki;object", /not NAME=VALUE/],
    ["token=pki;object=root", /not a PKCS#11 URI/],
  ] as const) {
    assert.throws(() => parsePkcs11Uri(uri), (e: Error & { code?: string }) => why.test(e.message) && e.code === "BAD_PKCS11_URI", uri);
  }
});

test("ECDSA r||s from a token becomes DER with minimal, non-negative INTEGERs", () => {
  const r = Buffer.alloc(32, 0);
  r[31] = 1;
  const s = Buffer.alloc(32, 0xff);
  // r = 1 (leading zeros dropped); s has its high bit set, so it gets a 0x00 prefix.
  assert.equal(Buffer.from(ecdsaDer(new Uint8Array(Buffer.concat([r, s])))).toString("hex"), `3026020101022100${"ff".repeat(32)}`);
});

test("a TokenError reaching the CLI (a token failing mid-signature) is reported with its code and its kind's exit code", () => {
  const report = reportOf(new TokenError("storage", "the PKCS#11 token did not sign: CKR_DEVICE_REMOVED", "is the token still connected? pki check tries it", "PKCS11_FAILED"));
  assert.deepEqual(report, { code: "PKCS11_FAILED", message: "the PKCS#11 token did not sign: CKR_DEVICE_REMOVED", hint: "is the token still connected? pki check tries it", exitCode: 7 });
});
