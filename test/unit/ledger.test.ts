import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { LedgerError } from "../../src/ledger/errors.js";
import { eventHash, type NewCertificate, openLedger } from "../../src/ledger/ledger.js";
import { tempDir } from "../helpers.js";

function cert(serial: string, name: string, notAfter = "2030-01-01T00:00:00.000Z"): NewCertificate {
  return { serial, name, kind: "client", subject: `CN=${name}`, notBefore: "2026-01-01T00:00:00.000Z", notAfter, der: new Uint8Array([0x30, 0]), keyEncrypted: null, csr: null, createdAt: new Date().toISOString() };
}

test("a new ledger migrates, stores and finds certificates", () => {
  const { dir, cleanup } = tempDir();
  try {
    const l = openLedger(join(dir, "l.db"), { create: true });
    l.transaction(() => l.insertCertificate(cert("0a", "alice")));
    assert.equal(l.activeByName("alice", "client")?.serial, "0a");
    assert.equal(l.bySerial("0a")?.state, "active");
    assert.ok(l.serialExists("0a"));
    assert.ok(!l.serialExists("0b"));
    l.close();
    const again = openLedger(join(dir, "l.db"));
    assert.equal(again.bySerial("0a")?.name, "alice", "data survives reopening");
    again.close();
  } finally {
    cleanup();
  }
});

test("one active certificate per name, and a serial is never reused", () => {
  const { dir, cleanup } = tempDir();
  try {
    const l = openLedger(join(dir, "l.db"), { create: true });
    l.transaction(() => l.insertCertificate(cert("01", "alice")));
    assert.throws(() => l.transaction(() => l.insertCertificate(cert("02", "alice"))), (e: unknown) => e instanceof LedgerError && e.code === "conflict");
    assert.throws(() => l.transaction(() => l.insertCertificate(cert("01", "bob"))), (e: unknown) => e instanceof LedgerError && e.code === "conflict");
    l.close();
  } finally {
    cleanup();
  }
});

test("a failed transaction leaves nothing behind", () => {
  const { dir, cleanup } = tempDir();
  try {
    const l = openLedger(join(dir, "l.db"), { create: true });
    assert.throws(() =>
      l.transaction(() => {
        l.insertCertificate(cert("01", "alice"));
        l.appendEvent({ at: "t", actor: "a", action: "issued", serial: "01", details: {} });
        throw new Error("boom");
      }),
    );
    assert.equal(l.bySerial("01"), undefined);
    assert.equal(l.events().length, 0);
    l.close();
  } finally {
    cleanup();
  }
});

test("revocations, supersession, CRL numbers and expiry queries", () => {
  const { dir, cleanup } = tempDir();
  try {
    const l = openLedger(join(dir, "l.db"), { create: true });
    l.transaction(() => {
      l.insertCertificate(cert("01", "a", "2027-01-01T00:00:00.000Z"));
      l.insertCertificate(cert("02", "b", "2028-01-01T00:00:00.000Z"));
      l.markRevoked("01", "2026-06-01T00:00:00.000Z", 1);
      l.markSuperseded("02", "03");
      l.insertCertificate(cert("03", "b", "2029-01-01T00:00:00.000Z"));
    });
    assert.deepEqual(l.revokedEntries(), [{ serial: "01", revokedAt: "2026-06-01T00:00:00.000Z", reason: 1 }]);
    assert.equal(l.bySerial("02")?.state, "superseded");
    assert.equal(l.bySerial("02")?.supersededBy, "03");
    assert.deepEqual(l.query({ state: "active", notAfterBefore: "2029-06-01T00:00:00.000Z" }).map((c) => c.serial), ["03"]);
    assert.equal(l.nextCrlNumber(), 1);
    l.transaction(() => l.insertCrl({ number: 1, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([1]) }));
    assert.equal(l.nextCrlNumber(), 2);
    assert.throws(() => l.transaction(() => l.insertCrl({ number: 1, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([1]) })), LedgerError);
    l.close();
  } finally {
    cleanup();
  }
});

test("events form a hash chain", () => {
  const { dir, cleanup } = tempDir();
  try {
    const l = openLedger(join(dir, "l.db"), { create: true });
    l.transaction(() => {
      l.appendEvent({ at: "1", actor: "root", action: "ca-created", serial: "01", details: { a: 1 } });
      l.appendEvent({ at: "2", actor: "root", action: "issued", serial: "02", details: { name: "x" } });
    });
    const [a, b] = l.events();
    assert.equal(a!.prevHash, "0".repeat(64));
    assert.equal(b!.prevHash, a!.hash);
    assert.equal(b!.hash, eventHash(a!.hash, "2", "root", "issued", "02", JSON.stringify({ name: "x" })));
    l.close();
  } finally {
    cleanup();
  }
});

test("a file that is not a database, a missing ledger and a newer schema are typed errors", () => {
  const { dir, cleanup } = tempDir();
  try {
    const junk = join(dir, "junk.db");
    writeFileSync(junk, "this is not sqlite".repeat(100));
    assert.throws(() => openLedger(junk), (e: unknown) => e instanceof LedgerError && e.code === "not-a-database");
    assert.throws(() => openLedger(join(dir, "missing.db")), (e: unknown) => e instanceof LedgerError && e.code === "cant-open" && /no ledger at .*missing\.db/.test(e.message));
    const newer = join(dir, "newer.db");
    const db = new Database(newer);
    db.pragma("user_version = 99");
    db.close();
    assert.throws(() => openLedger(newer), (e: unknown) => e instanceof LedgerError && e.code === "newer-schema");
  } finally {
    cleanup();
  }
});

test("one active certificate per folded name across kinds; old pairs survive, new ones are refused", () => {
  const { dir, cleanup } = tempDir();
  try {
    const l = openLedger(join(dir, "l.db"), { create: true });
    l.transaction(() => l.insertCertificate(cert("01", "bob")));
    for (const [serial, name, kind] of [["02", "BOB", "client"], ["03", "bob", "server"]] as const) {
      assert.throws(() => l.transaction(() => l.insertCertificate({ ...cert(serial, name), kind })), (e: unknown) => e instanceof LedgerError && e.code === "conflict");
    }
    assert.deepEqual(l.activeSharingName("Bob").map((c) => c.serial), ["01"]);
    l.transaction(() => {
      l.insertCertificate({ ...cert("04", "BOBBY"), createdAt: "2026-01-01T00:00:00.000Z" });
      l.markSuperseded("01", "04");
    });
    assert.deepEqual(l.activeNameClashes(), []);
    assert.deepEqual(l.nameKeys(3, 5).sort(), ["bob", "bobby"]);
    assert.equal(l.nameWithKey("bobby"), "BOBBY");
    l.close();
  } finally {
    cleanup();
  }
});
