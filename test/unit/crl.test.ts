import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createCrl, type CrlEntry, CrlReason, crlPem } from "../../src/crypto/crl.js";
import { crlNumberOf } from "../../src/crypto/crl-number.js";
import { DerWriter, headerLength, octets, oid, seq, time, timeLength, tlv, uintBytes, uintHex } from "../../src/crypto/der.js";
import { readDerOrPem } from "../../src/crypto/pem.js";
import { x509 } from "../../src/crypto/provider.js";
import { keySigner } from "../../src/crypto/signer.js";
import { openLedger } from "../../src/ledger/open.js";
import { openssl, run, tempDir } from "../helpers.js";

test("DerWriter encodes lengths, integers and times exactly as the one-element encoders", () => {
  for (const n of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 24]) {
    const w = new DerWriter(16);
    w.header(0x30, n);
    assert.deepEqual(w.toBytes(), tlv(0x30, new Uint8Array(n)).subarray(0, headerLength(n)), `length ${n}`);
  }
  for (const hex of ["0", "00", "7f", "80", "0080", "000001", "ff", "1234567890abcdef1234567890abcdef", "ABCDEF"]) {
    const w = new DerWriter(16);
    w.uintHex(uintHex(hex));
    assert.deepEqual(w.toBytes(), uintBytes(new Uint8Array(Buffer.from(hex.length % 2 ? "0" + hex : hex, "hex"))), `serial ${hex}`);
  }
  for (const d of [new Date("2026-02-03T04:05:06Z"), new Date("2049-12-31T23:59:59Z"), new Date("2050-01-01T00:00:00Z"), new Date("2999-11-30T10:20:30Z")]) {
    const w = new DerWriter(16);
    w.time(d);
    assert.deepEqual(w.toBytes(), time(d), d.toISOString());
  }
  assert.throws(() => uintHex("12zz"), RangeError, "a serial that is not hex is refused, not truncated");
  for (const iso of ["2026-02-03T04:05:06.789Z", "2049-12-31T23:59:59.999Z", "2050-01-01T00:00:00.000Z", "2999-11-30T10:20:30Z", "2026-02-03T04:05:06+02:00"]) {
    const w = new DerWriter(16);
    w.timeIso(iso);
    assert.deepEqual(w.toBytes(), time(new Date(iso)), iso);
    assert.equal(timeLength(iso), time(new Date(iso)).length);
  }
});

test("a CRL of 20,000 entries (all reasons, odd serials, dates past 2049) verifies with openssl and lists every entry as given", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const keyPath = join(dir, "ca.key");
    const certPath = join(dir, "ca.pem");
    const made = openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", certPath, "-subj", "/CN=CRL Test Root", "-days", "2"]);
    assert.equal(made.status, 0, made.stderr);
    const pem = { key: readFileSync(keyPath), cert: readFileSync(certPath) };
    const issuer = new x509.X509Certificate(readDerOrPem(pem.cert, ["CERTIFICATE"], "certificate"));
    const signer = await keySigner(issuer, readDerOrPem(pem.key, ["PRIVATE KEY"], "key"));
    const reasons = [CrlReason.unspecified, CrlReason.keyCompromise, CrlReason.affiliationChanged, CrlReason.superseded, CrlReason.cessationOfOperation, CrlReason.certificateHold, CrlReason.privilegeWithdrawn];
    const entries: CrlEntry[] = Array.from({ length: 20_000 }, (_, i) => ({
      // High bit set (needs a 0x00), leading zero bytes (must be dropped), odd hex length.
      serial: i % 3 === 0 ? `ff${i.toString(16).padStart(30, "0")}` : i % 3 === 1 ? `0000${i.toString(16)}` : `${(i * 7919).toString(16)}abc`,
      revokedAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000 * (i % 2 ? 1 : 300)),
      reason: reasons[i % reasons.length]!,
    }));
    const thisUpdate = new Date();
    const nextUpdate = new Date(Date.now() + 86_400_000);
    const der = await createCrl({ signer, number: 42, thisUpdate, nextUpdate, entries });
    writeFileSync(join(dir, "crl.pem"), crlPem(der));
    const verified = openssl(["crl", "-in", join(dir, "crl.pem"), "-CAfile", certPath, "-noout", "-verify", "-crlnumber"]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stderr + verified.stdout, /verify OK/);
    assert.match(verified.stdout, /crlNumber=0x2A/);
    assert.equal(crlNumberOf(der), 42, "read past the 20,000 entries by their length");
    for (const n of [1, 127, 128, 65_536, 2 ** 40]) {
      assert.equal(crlNumberOf(await createCrl({ signer, number: n, nextUpdate: new Date(Date.now() + 86_400_000), entries: [] })), n);
    }
    assert.equal(crlNumberOf(issuer.rawData ? new Uint8Array(issuer.rawData) : new Uint8Array()), null, "a certificate is not a CRL");
    assert.equal(crlNumberOf(der.subarray(0, 100)), null, "a truncated CRL has no number");
    const text = run("openssl", ["crl", "-in", join(dir, "crl.pem"), "-noout", "-text"], { maxBuffer: 64 << 20 }).stdout;
    assert.equal(text.match(/Serial Number:/g)?.length, entries.length);

    // The entries, encoded one by one with the element encoders: the CRL must hold exactly this list.
    const expected = seq(
      ...entries.map((e) =>
        seq(
          uintBytes(new Uint8Array(Buffer.from(e.serial.length % 2 ? "0" + e.serial : e.serial, "hex"))),
          time(new Date(e.revokedAt)),
          ...(e.reason === CrlReason.unspecified ? [] : [seq(seq(oid("2.5.29.21"), octets(tlv(0x0a, new Uint8Array([e.reason])))))]),
        ),
      ),
    );
    assert.ok(Buffer.from(der).indexOf(Buffer.from(expected)) > 0, "the revoked list is the one-by-one encoding of the entries, in order");

    // The ledger hands over its ISO strings: the signed part is byte for byte what Dates give.
    const fromIso = await createCrl({ signer, number: 42, thisUpdate, nextUpdate, entries: entries.map((e) => ({ ...e, revokedAt: (e.revokedAt as Date).toISOString() })) });
    const tbs = (crl: Uint8Array) => crl.subarray(...tbsCertList(crl));
    assert.ok(Buffer.from(tbs(fromIso)).equals(Buffer.from(tbs(der))), "same TBSCertList");
  } finally {
    cleanup();
  }
});

test("the CRL reads its revocations from one covering index, in order, without a sort", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "l.db");
    await (await openLedger(path, { create: true })).close();
    const db = new Database(path, { readonly: true });
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT serial, revoked_at AS revokedAt, revocation_reason AS reason FROM certificates WHERE state = 'revoked' ORDER BY revoked_at, serial")
      .all()
      .map((r) => (r as { detail: string }).detail)
      .join("; ");
    db.close();
    assert.match(plan, /USING COVERING INDEX/);
    assert.doesNotMatch(plan, /TEMP B-TREE/);
  } finally {
    cleanup();
  }
});

/** Start and end of the first element inside a DER SEQUENCE: a CRL's TBSCertList (the outer length also counts the signature, whose length varies). */
function tbsCertList(der: Uint8Array): [number, number] {
  const headerEnd = (at: number) => (der[at + 1]! < 0x80 ? at + 2 : at + 2 + (der[at + 1]! & 0x7f));
  const lengthAt = (at: number) => (der[at + 1]! < 0x80 ? der[at + 1]! : [...der.subarray(at + 2, headerEnd(at))].reduce((n, b) => n * 256 + b, 0));
  const inner = headerEnd(0);
  return [inner, headerEnd(inner) + lengthAt(inner)];
}
