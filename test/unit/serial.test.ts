import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { normalizeSerial, randomSerial, serialHex } from "../../src/crypto/serial.js";

test("random serials are positive 128-bit values in canonical hex", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = randomSerial();
    assert.match(s, /^[0-9a-f]+$/);
    assert.equal(s.length % 2, 0);
    assert.ok(s.length <= 32, `at most 16 octets: ${s}`);
    assert.ok(!s.startsWith("00"), "no leading zero octet");
    seen.add(s);
  }
  assert.equal(seen.size, 2000, "no repeats in 2000 draws");
});

test("a serial drawn as all zeros is drawn again (zero is not a valid serial)", () => {
  let calls = 0;
  const s = randomSerial((n) => (calls++ === 0 ? new Uint8Array(n) : new Uint8Array(n).fill(0x11)));
  assert.equal(calls, 2);
  assert.equal(s, "11".repeat(16));
});

test("serialHex drops leading zero octets but keeps the value", () => {
  assert.equal(serialHex(new Uint8Array([0, 0, 0x7f, 1])), "7f01");
  assert.equal(serialHex(new Uint8Array([0x80, 0])), "8000");
  assert.equal(serialHex(new Uint8Array([0])), "00");
});

test("property: serialHex round-trips the numeric value of any byte string", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }), (bytes) => {
      const hex = serialHex(bytes);
      assert.equal(BigInt("0x" + hex), BigInt("0x" + (Buffer.from(bytes).toString("hex") || "0")));
      assert.ok(hex.length === 2 || !hex.startsWith("00"));
    }),
  );
});

test("property: normalizeSerial accepts openssl's colon and 0x forms", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }).filter((b) => b[0] !== 0), (bytes) => {
      const hex = Buffer.from(bytes).toString("hex");
      const colons = hex.toUpperCase().match(/../g)!.join(":");
      assert.equal(normalizeSerial(colons), hex);
      assert.equal(normalizeSerial("0x" + hex), hex);
    }),
  );
  assert.equal(normalizeSerial("not-hex"), null);
  assert.equal(normalizeSerial("a".repeat(41)), null);
});
