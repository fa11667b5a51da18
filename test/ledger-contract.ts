// The ledger contract: one suite every engine runs (SQLite in test/unit/ledger-sqlite.test.ts;
// the PostgreSQL engine runs the same function). It speaks only the Ledger interface.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { LedgerError } from "../src/ledger/errors.js";
import { collect, type EventAuthenticator, eventHash, GENESIS_HASH, type Ledger, type NewCertificate, PAGE_SIZE } from "../src/ledger/ledger.js";
import { tempDir } from "./helpers.js";

export interface EngineUnderTest {
  /** A new, empty, migrated ledger. */
  ledger: Ledger;
  /** Closes nothing; opens the same store again (a second connection, as another process would). */
  reopen(): Promise<Ledger>;
  /** Closes what it opened and removes the store. */
  cleanup(): Promise<void>;
}

export function cert(serial: string, name: string, notAfter = "2030-01-01T00:00:00.000Z", kind: NewCertificate["kind"] = "client"): NewCertificate {
  return { serial, name, kind, subject: `CN=${name}`, notBefore: "2026-01-01T00:00:00.000Z", notAfter, der: new Uint8Array([0x30, 0]), keyEncrypted: null, csr: null, createdAt: "2026-01-01T00:00:00.000Z" };
}

/** Stands in for the history key: the engine stores whatever MAC it is given, over the hash it computed. */
const KEY: EventAuthenticator = { eventMac: (hash) => `mac(${hash})` };

const isLedgerError = (code: string) => (e: unknown) => e instanceof LedgerError && e.code === code;

export function ledgerContract(engine: string, fresh: () => Promise<EngineUnderTest>): void {
  const withLedger = (name: string, body: (l: Ledger, e: EngineUnderTest) => Promise<void>) =>
    test(`${engine} ledger: ${name}`, async () => {
      const e = await fresh();
      try {
        await body(e.ledger, e);
      } finally {
        await e.cleanup();
      }
    });

  withLedger("stores and finds certificates; data survives reopening", async (l, e) => {
    await l.write(async (tx) => tx.insertCertificate({ ...cert("0a", "alice"), keyEncrypted: new Uint8Array([1, 2]) }));
    assert.equal((await l.read((r) => r.activeByName("alice", "client")))?.serial, "0a");
    const rec = await l.read((r) => r.bySerial("0a"));
    assert.equal(rec?.state, "active");
    assert.deepEqual([...rec!.keyEncrypted!], [1, 2]);
    assert.ok(rec!.der.buffer instanceof ArrayBuffer);
    assert.equal(await l.read((r) => r.serialExists("0a")), true);
    assert.equal(await l.read((r) => r.serialExists("0b")), false);
    const again = await e.reopen();
    try {
      assert.equal((await again.read((r) => r.bySerial("0a")))?.name, "alice");
    } finally {
      await again.close();
    }
  });

  withLedger("one active certificate per name, and a serial is never reused", async (l) => {
    await l.write((tx) => tx.insertCertificate(cert("01", "alice")));
    await assert.rejects(l.write((tx) => tx.insertCertificate(cert("02", "alice"))), isLedgerError("conflict"));
    await assert.rejects(l.write((tx) => tx.insertCertificate(cert("01", "bob"))), isLedgerError("conflict"));
  });

  withLedger("one active certificate per folded name across kinds; old pairs survive, new ones are refused", async (l) => {
    await l.write((tx) => tx.insertCertificate(cert("01", "bob")));
    for (const [serial, name, kind] of [["02", "BOB", "client"], ["03", "bob", "server"]] as const) {
      await assert.rejects(l.write((tx) => tx.insertCertificate(cert(serial, name, undefined, kind))), isLedgerError("conflict"));
    }
    assert.deepEqual((await l.read((r) => r.activeSharingName("Bob"))).map((c) => c.serial), ["01"]);
    await l.write(async (tx) => {
      await tx.insertCertificate(cert("04", "BOBBY"));
      await tx.markSuperseded("01", "04");
    });
    assert.deepEqual(await l.read((r) => r.activeNameClashes()), []);
    assert.deepEqual((await l.read((r) => r.nameKeys(3, 5))).sort(), ["bob", "bobby"]);
    assert.equal(await l.read((r) => r.nameWithKey("bobby")), "BOBBY");
    assert.deepEqual((await l.read((r) => r.unrevokedByName("bob"))).map((c) => c.serial), ["01"]);
  });

  withLedger("a failed write leaves nothing behind", async (l) => {
    await assert.rejects(
      l.write(async (tx) => {
        await tx.insertCertificate(cert("01", "alice"));
        await tx.appendEvent({ at: "t", actor: "a", action: "issued", serial: "01", details: {} }, KEY);
        await tx.setSetting("k", "v");
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await l.read((r) => r.bySerial("01")), undefined);
    assert.equal((await l.read((r) => r.events())).items.length, 0);
    assert.equal(await l.read((r) => r.setting("k")), undefined);
  });

  withLedger("an error thrown by a callback reaches the caller as it was thrown, whatever its code", async (l) => {
    // The authority's own errors carry stable codes (USAGE, NAME_TAKEN): an engine must not take them for its own.
    for (const code of ["USAGE", "23505", "ECONNREFUSED"]) {
      const thrown = Object.assign(new Error(`refused (${code})`), { code });
      await assert.rejects(l.write(async (tx) => {
        await tx.setSetting("k", code);
        throw thrown;
      }), (e) => e === thrown);
      await assert.rejects(l.read(async () => {
        throw thrown;
      }), (e) => e === thrown);
    }
    assert.equal(await l.read((r) => r.setting("k")), undefined);
  });

  withLedger("revokedLines lists what revokedEntries does, in the same (CRL) order", async (l) => {
    await l.write(async (tx) => {
      for (const [serial, name] of [["0b", "a"], ["0a", "b"], ["ff01", "c"], ["0c", "d"]] as const) await tx.insertCertificate(cert(serial, name));
      await tx.markRevoked("0b", "2026-06-02T00:00:00.000Z", 0);
      await tx.markRevoked("0a", "2026-06-02T00:00:00.000Z", 4);
      await tx.markRevoked("ff01", "2026-06-01T00:00:00.000Z", 1);
      // No reason (a row pki never writes): still one line, as the anchor's digest has always written it.
      await tx.markRevoked("0c", "2026-06-03T00:00:00.000Z", null as unknown as number);
    });
    await l.read(async (r) => {
      const lines = (await r.revokedEntries()).map((e) => `${e.serial} ${e.revokedAt} ${e.reason}\n`).join("");
      assert.equal(lines, "ff01 2026-06-01T00:00:00.000Z 1\n0a 2026-06-02T00:00:00.000Z 4\n0b 2026-06-02T00:00:00.000Z 0\n0c 2026-06-03T00:00:00.000Z null\n");
      assert.equal(await r.revokedLines(), lines);
    });
  });

  withLedger("revocations, supersession, CRL numbers and expiry queries", async (l) => {
    await l.write(async (tx) => {
      await tx.insertCertificate(cert("01", "a", "2027-01-01T00:00:00.000Z"));
      await tx.insertCertificate(cert("02", "b", "2028-01-01T00:00:00.000Z"));
      await tx.markRevoked("01", "2026-06-01T00:00:00.000Z", 1);
      await tx.markSuperseded("02", "03");
      await tx.insertCertificate(cert("03", "b", "2029-01-01T00:00:00.000Z"));
    });
    await l.read(async (r) => {
      assert.deepEqual(await r.revokedEntries(), [{ serial: "01", revokedAt: "2026-06-01T00:00:00.000Z", reason: 1 }]);
      assert.equal(await r.revokedLines(), "01 2026-06-01T00:00:00.000Z 1\n");
      assert.equal((await r.bySerial("02"))?.state, "superseded");
      assert.equal((await r.bySerial("02"))?.supersededBy, "03");
      assert.equal((await r.latestByName("b"))?.serial, "03");
      const expiring = await r.certificates({ state: "active", notAfterBefore: "2029-06-01T00:00:00.000Z" });
      assert.deepEqual(expiring.items.map((c) => c.serial), ["03"]);
      assert.equal(await r.count({ state: "revoked" }), 1);
      assert.equal(await r.nextCrlNumber(), 1);
      assert.equal(await r.latestCrl(), undefined);
    });
    await l.write((tx) => tx.insertCrl({ number: 1, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([1]) }));
    assert.equal(await l.read((r) => r.nextCrlNumber()), 2);
    assert.equal((await l.read((r) => r.latestCrl()))?.number, 1);
    await assert.rejects(l.write((tx) => tx.insertCrl({ number: 1, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([1]) })), isLedgerError("conflict"));
  });

  withLedger("roots across a rotation: generations in order, each certificate's and CRL's issuer, revocations and CRLs per issuer, retirement", async (l) => {
    await l.write(async (tx) => {
      await tx.insertCertificate({ ...cert("r1", "Root", "2036-01-01T00:00:00.000Z", "root"), createdAt: "2026-01-01T00:00:00.000Z" });
      await tx.insertCertificate(cert("01", "old"));
      await tx.insertCrl({ number: 1, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([1]) });
      await tx.markSuperseded("r1", "r2");
      await tx.insertCertificate({ ...cert("r2", "Root G2", "2037-01-01T00:00:00.000Z", "root"), createdAt: "2026-02-01T00:00:00.000Z" });
      await tx.insertCertificate({ ...cert("02", "new"), issuer: "r2" });
      await tx.markRevoked("01", "2026-03-01T00:00:00.000Z", 0);
      await tx.insertCrl({ number: 2, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([2]), issuer: "r1" });
      await tx.insertCrl({ number: 3, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([3]), issuer: "r2" });
    });
    await l.read(async (r) => {
      const roots = await r.roots();
      assert.deepEqual(roots.map((x) => [x.record.serial, x.generation, x.record.state, x.retiredAt, x.record.issuer]), [["r1", 1, "superseded", null, "r1"], ["r2", 2, "active", null, "r2"]]);
      assert.equal((await r.activeRoot())?.serial, "r2");
      assert.equal((await r.bySerial("01"))?.issuer, "r1", "defaults to the active root");
      assert.equal((await r.bySerial("02"))?.issuer, "r2");
      assert.deepEqual((await r.summaries({ issuer: "r2", kind: "client" })).items.map((c) => c.serial), ["02"]);
      assert.deepEqual((await r.revokedEntries("r1")).map((e) => e.serial), ["01"]);
      assert.deepEqual(await r.revokedEntries("r2"), []);
      assert.deepEqual([(await r.latestCrl("r1"))?.number, (await r.latestCrl("r2"))?.number, (await r.latestCrl())?.number], [2, 3, 3]);
      assert.equal((await r.latestCrl("r1"))?.issuer, "r1");
      assert.equal(await r.nextCrlNumber(), 4);
    });
    await l.write((tx) => tx.retireRoot("r1", "2026-04-01T00:00:00.000Z"));
    assert.deepEqual((await l.read((r) => r.roots())).map((x) => x.retiredAt), ["2026-04-01T00:00:00.000Z", null]);
  });

  withLedger("revoking a superseded certificate keeps it revoked; superseding a revoked one keeps it revoked", async (l) => {
    await l.write(async (tx) => {
      await tx.insertCertificate(cert("01", "a"));
      await tx.markRevoked("01", "2026-06-01T00:00:00.000Z", 4);
      await tx.markSuperseded("01", "02");
      await tx.insertCertificate(cert("02", "a"));
    });
    const old = await l.read((r) => r.bySerial("01"));
    assert.equal(old?.state, "revoked");
    assert.equal(old?.supersededBy, "02");
  });

  withLedger("unrevoking: back to active, or to superseded when a successor exists; its CRL entry is gone", async (l) => {
    await l.write(async (tx) => {
      await tx.insertCertificate(cert("01", "a"));
      await tx.insertCertificate(cert("02", "b"));
      await tx.markRevoked("01", "2026-06-01T00:00:00.000Z", 6);
      await tx.markRevoked("02", "2026-06-01T00:00:00.000Z", 6);
      await tx.markSuperseded("02", "03");
      await tx.insertCertificate(cert("03", "b"));
    });
    await l.write(async (tx) => {
      await tx.markUnrevoked("01");
      await tx.markUnrevoked("02");
    });
    await l.read(async (r) => {
      const a = await r.bySerial("01");
      assert.deepEqual([a?.state, a?.revokedAt, a?.revocationReason], ["active", null, null]);
      assert.equal((await r.bySerial("02"))?.state, "superseded");
      assert.deepEqual(await r.revokedEntries(), []);
      assert.equal(await r.revokedLines(), "");
    });
  });

  withLedger("events form one hash chain from the genesis hash", async (l) => {
    await l.write(async (tx) => {
      await tx.appendEvent({ at: "1", actor: "root", action: "ca-created", serial: "01", details: { a: 1 } }, KEY);
      await tx.appendEvent({ at: "2", actor: "root", action: "issued", serial: "02", details: { name: "x" } }, KEY);
    });
    const [a, b] = (await l.read((r) => r.events())).items;
    assert.equal(a!.prevHash, GENESIS_HASH);
    assert.equal(b!.prevHash, a!.hash);
    assert.equal(b!.hash, eventHash(a!.hash, "2", "root", "issued", "02", JSON.stringify({ name: "x" })));
    assert.deepEqual(b!.details, { name: "x" });
  });

  withLedger("each event stores the MAC its writer made over the hash; one event is read by id", async (l) => {
    const written = await l.write((tx) => tx.appendEvent({ at: "1", actor: "root", action: "issued", serial: "01", details: {} }, KEY));
    assert.equal(written.mac, `mac(${written.hash})`);
    assert.deepEqual(await l.read((r) => r.event(written.id)), written);
    assert.equal((await l.read((r) => r.events())).items[0]!.mac, written.mac);
    assert.equal(await l.read((r) => r.event(written.id + 1)), undefined);
  });

  withLedger("every setting is listed at once, in key order (the history anchor holds them all)", async (l) => {
    assert.deepEqual(await l.read((r) => r.settings()), []);
    await l.write(async (tx) => {
      await tx.setSetting("hooks.crl", "nginx -s reload");
      await tx.setSetting("config.url", "http://ca");
    });
    assert.deepEqual(await l.read((r) => r.settings()), [["config.url", "http://ca"], ["hooks.crl", "nginx -s reload"]]);
  });

  withLedger("listings come in pages, in the order recorded, and summaries carry no blobs", async (l) => {
    const n = PAGE_SIZE * 2 + 7;
    await l.write(async (tx) => {
      for (let i = 0; i < n; i++) await tx.insertCertificate({ ...cert(i.toString(16).padStart(4, "0"), `n${n - i}`), keyEncrypted: i % 2 ? new Uint8Array([i & 0xff]) : null });
    });
    const first = await l.read((r) => r.summaries({}, { limit: PAGE_SIZE }));
    assert.equal(first.items.length, PAGE_SIZE);
    assert.notEqual(first.next, null);
    assert.ok(!("der" in first.items[0]!) && !("keyEncrypted" in first.items[0]!));
    const all = await l.read((r) => collect((page) => r.summaries({}, { ...page, limit: PAGE_SIZE })));
    assert.deepEqual(all.map((s) => s.name), Array.from({ length: n }, (_, i) => `n${n - i}`));
    const whole = await l.read((r) => r.summaries({}));
    assert.deepEqual(whole.items, all);
    assert.equal(whole.next, null);
    const certificatePage = await l.read((r) => r.certificates({}));
    assert.equal(certificatePage.items.length, PAGE_SIZE, "pages with blobs are bounded by default");
    assert.deepEqual(all.slice(0, 2).map((s) => s.hasKey), [false, true]);
    const withKey = await l.read((r) => collect((page) => r.certificates({ withKey: true }, page)));
    assert.equal(withKey.length, Math.floor(n / 2));
    assert.equal(await l.read((r) => r.count({})), n);
    const small = await l.read((r) => r.summaries({}, { limit: 3 }));
    assert.equal(small.items.length, 3);
    const next = await l.read((r) => r.summaries({}, { after: small.next, limit: 3 }));
    assert.equal(next.items[0]!.name, all[3]!.name);
  });

  withLedger("settings are set, replaced and removed", async (l) => {
    await l.write((tx) => tx.setSetting("hooks.crl", "a"));
    await l.write((tx) => tx.setSetting("hooks.crl", "b"));
    assert.equal(await l.read((r) => r.setting("hooks.crl")), "b");
    await l.write((tx) => tx.setSetting("hooks.crl", null));
    assert.equal(await l.read((r) => r.setting("hooks.crl")), undefined);
    for (const key of ["url", "Zeta", "crl-lifetime", "_x"]) await l.write((tx) => tx.setSetting(key, "v"));
    // In byte order, whatever the database's locale would say.
    assert.deepEqual((await l.read((r) => r.settings())).map(([key]) => key), ["Zeta", "_x", "crl-lifetime", "url"]);
  });

  withLedger("roles are kept per folded name, replaced and removed", async (l) => {
    await l.write((tx) => tx.setRole("Alice", "admin"));
    assert.equal(await l.read((r) => r.role("alice")), "admin");
    assert.equal(await l.read((r) => r.role("ALICE")), "admin");
    await l.write((tx) => tx.setRole("alice", "admin"));
    assert.deepEqual(await l.read((r) => r.roles()), [{ name: "alice", role: "admin" }]);
    await l.write((tx) => tx.setRole("ALICE", null));
    assert.equal(await l.read((r) => r.role("alice")), undefined);
    assert.deepEqual(await l.read((r) => r.roles()), []);
  });

  withLedger("replaceKey swaps a key only while it is the one expected", async (l) => {
    await l.write((tx) => tx.insertCertificate({ ...cert("01", "a"), keyEncrypted: new Uint8Array([1]) }));
    assert.equal(await l.write((tx) => tx.replaceKey("01", new Uint8Array([9]), new Uint8Array([2]))), false);
    assert.equal(await l.write((tx) => tx.replaceKey("01", new Uint8Array([1]), new Uint8Array([2]))), true);
    assert.deepEqual([...(await l.read((r) => r.bySerial("01")))!.keyEncrypted!], [2]);
  });

  withLedger("concurrent writers in one process queue: gap-free CRL numbers and one linear chain", async (l) => {
    const writers = 50;
    const numbers = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        l.write(async (tx) => {
          const number = await tx.nextCrlNumber();
          await Promise.resolve(); // yield inside the transaction, as signing does
          await tx.insertCrl({ number, thisUpdate: "t", nextUpdate: "n", der: new Uint8Array([i]) });
          await tx.appendEvent({ at: String(i), actor: "t", action: "crl-generated", serial: null, details: { number } }, KEY);
          return number;
        }),
      ),
    );
    assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: writers }, (_, i) => i + 1));
    const events = await l.read((r) => collect((page) => r.events(page)));
    let prev = GENESIS_HASH;
    for (const e of events) {
      assert.equal(e.prevHash, prev);
      prev = e.hash;
    }
    assert.equal(events.length, writers);
  });

  withLedger("reads and writes from a second connection see committed state and queue as writers", async (l, e) => {
    const other = await e.reopen();
    try {
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => l.write((tx) => tx.insertCertificate(cert(`a${i}`, `a${i}`)))),
        ...Array.from({ length: 10 }, (_, i) => other.write((tx) => tx.insertCertificate(cert(`b${i}`, `b${i}`)))),
      ]);
      assert.equal(await other.read((r) => r.count({})), 20);
    } finally {
      await other.close();
    }
  });

  withLedger("a backup is a consistent copy that says how many certificates it holds", async (l) => {
    await l.write(async (tx) => {
      for (const n of ["a", "b", "c"]) await tx.insertCertificate(cert(n, n));
    });
    const scratch = tempDir();
    try {
      assert.deepEqual(await l.backupTo(join(scratch.dir, "copy")), { certificates: 3 });
    } finally {
      scratch.cleanup();
    }
  });

  withLedger("a read is not held up by a write in progress, and sees the state before it", async (l) => {
    await l.write((tx) => tx.setSetting("k", "before"));
    let inside!: () => void;
    const writing = new Promise<void>((resolve) => (inside = resolve));
    let readSettled!: () => void;
    const settled = new Promise<void>((resolve) => (readSettled = resolve));
    // The write ends only after the read has settled: a read that waited for the write would deadlock here.
    const write = l.write(async (tx) => {
      await tx.setSetting("k", "after");
      inside();
      await settled;
    });
    await writing;
    const read = l.read((r) => r.setting("k")).finally(readSettled);
    assert.equal(await read, "before");
    await write;
    assert.equal(await l.read((r) => r.setting("k")), "after");
  });

  withLedger("calling read or write inside a callback is refused, not a deadlock", async (l) => {
    await assert.rejects(l.write(() => l.read((r) => r.count({}))), isLedgerError("nested"));
    await assert.rejects(l.read(() => l.write((tx) => tx.setSetting("k", "v"))), isLedgerError("nested"));
    assert.equal(await l.read((r) => r.count({})), 0, "the ledger still works afterwards");
  });
}
