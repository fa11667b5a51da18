import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, hkdfSync } from "node:crypto";
import { test } from "node:test";
import { historyKeyFromPkcs8 } from "../../src/crypto/history-key.js";

const pkcs8 = (): Uint8Array => new Uint8Array(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "der" }));

test("the history key is HMAC-SHA256 under HKDF-SHA256(root PKCS#8, info 'pki audit history v1'): reproducible with Node's primitives", () => {
  const root = pkcs8();
  const key = historyKeyFromPkcs8(root);
  const expected = createHmac("sha256", Buffer.from(hkdfSync("sha256", root, new Uint8Array(0), "pki audit history v1", 32))).update("pki event abc").digest("hex");
  assert.equal(key.mac("pki event abc"), expected);
  assert.equal(historyKeyFromPkcs8(new Uint8Array(root)).mac("x"), key.mac("x"), "the same root key gives the same history key");
  assert.notEqual(historyKeyFromPkcs8(pkcs8()).mac("x"), key.mac("x"), "another root key gives another");
});

test("macAll streams parts as one message; verify accepts only the exact tag", () => {
  const key = historyKeyFromPkcs8(pkcs8());
  assert.equal(key.macAll(["pki ", "revoked\n", "01 t 1\n"]), key.mac("pki revoked\n01 t 1\n"));
  const tag = key.mac("data");
  assert.equal(key.verify("data", tag), true);
  assert.equal(key.verify("date", tag), false);
  assert.equal(key.verify("data", tag.replace(/^./, (c) => (c === "0" ? "1" : "0"))), false);
  for (const bad of ["", tag.toUpperCase(), tag.slice(2), `${tag}00`, "zz".repeat(32)]) assert.equal(key.verify("data", bad), false, JSON.stringify(bad));
});
