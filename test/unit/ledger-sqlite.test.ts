import assert from "node:assert/strict";
import { chmodSync, existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { LedgerError } from "../../src/ledger/errors.js";
import { openLedger } from "../../src/ledger/open.js";
import { MIGRATIONS } from "../../src/ledger/sqlite/migrations.js";
import { tempDir } from "../helpers.js";
import { cert, ledgerContract } from "../ledger-contract.js";

ledgerContract("sqlite", async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, "ledger.db");
  const ledger = await openLedger(path, { create: true });
  return {
    ledger,
    reopen: () => openLedger(path),
    cleanup: async () => {
      await ledger.close();
      cleanup();
    },
  };
});

const isLedgerError = (code: string) => (e: unknown) => e instanceof LedgerError && e.code === code;

test("ledger.db and its -wal and -shm files are created 0600 under umask 022", async () => {
  const { dir, cleanup } = tempDir();
  const umask = process.umask(0o022);
  try {
    const path = join(dir, "ledger.db");
    const l = await openLedger(path, { create: true });
    await l.write((tx) => tx.insertCertificate(cert("01", "a")));
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      assert.ok(existsSync(f), f);
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    }
    await l.close();
  } finally {
    process.umask(umask);
    cleanup();
  }
});

test("open errors say what happened: no ledger, not a database, newer schema, busy, permission denied", async (t) => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(openLedger(join(dir, "missing.db")), (e: unknown) => e instanceof LedgerError && e.code === "cant-open" && /no ledger at .*missing\.db/.test(e.message));
    const junk = join(dir, "junk.db");
    writeFileSync(junk, "this is not sqlite".repeat(100));
    await assert.rejects(openLedger(junk), isLedgerError("not-a-database"));
    const newer = join(dir, "newer.db");
    const db = new Database(newer);
    db.pragma("user_version = 99");
    db.close();
    await assert.rejects(openLedger(newer), isLedgerError("newer-schema"));

    const path = join(dir, "ledger.db");
    const l = await openLedger(path, { create: true, busyTimeoutMs: 100 });
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE");
    await assert.rejects(l.write((tx) => tx.setSetting("k", "v")), isLedgerError("busy"));
    holder.exec("ROLLBACK");
    holder.close();
    await l.write((tx) => tx.setSetting("k", "v"));
    await l.close();

    if (process.getuid?.() === 0) return t.skip("root reads any file: permission denied cannot be shown");
    chmodSync(path, 0o000);
    await assert.rejects(openLedger(path), isLedgerError("permission"));
    chmodSync(path, 0o600);
  } finally {
    cleanup();
  }
});

test("a writer waits for another process's write lock without blocking the event loop, then commits", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "ledger.db");
    const l = await openLedger(path, { create: true, busyTimeoutMs: 60_000 });
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE");
    let ticks = 0;
    const writing = l.write(async (tx) => {
      await tx.setSetting("k", "v");
      return ticks;
    });
    // The event loop keeps turning while the write waits; the holder lets go after a few turns.
    await new Promise<void>((resolve) => {
      const turn = () => (++ticks < 5 ? setTimeout(turn, 5) : resolve());
      turn();
    });
    holder.exec("COMMIT");
    holder.close();
    assert.ok((await writing) >= 5, "the write committed only after the other process released the lock");
    assert.equal(await l.read((r) => r.setting("k")), "v");
    await l.close();
  } finally {
    cleanup();
  }
});

test("a SQLite read during a write settles without a turn of the event loop the write holds", async () => {
  const { dir, cleanup } = tempDir();
  const l = await openLedger(join(dir, "ledger.db"), { create: true });
  try {
    await l.write((tx) => tx.setSetting("k", "before"));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const writing = new Promise<void>((resolve) => (inside = resolve));
    const write = l.write(async (tx) => {
      await tx.setSetting("k", "after");
      inside();
      await gate;
    });
    await writing;
    const read = l.read((r) => r.setting("k"));
    const first = await Promise.race([read.then((v) => `read ${v}`), new Promise((resolve) => setImmediate(() => resolve("read still waiting")))]);
    release();
    await write;
    assert.equal(first, "read before");
  } finally {
    await l.close();
    cleanup();
  }
});

test("schema step 7 on a ledger from before root rotation: its one root signed every certificate and CRL, generation 1", async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, "ledger.db");
  try {
    const db = new Database(path);
    db.function("pki_name_key", { deterministic: true }, (name: unknown) => String(name).toLowerCase());
    for (const step of MIGRATIONS.slice(0, 6)) db.exec(step);
    db.pragma("user_version = 6");
    const insert = db.prepare("INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, created_at) VALUES (?, ?, ?, ?, ?, 'a', 'b', x'3000', ?)");
    insert.run("r1", "Root", "root", "root", "CN=Root", "2026-01-01");
    insert.run("01", "alice", "alice", "client", "CN=alice", "2026-01-02");
    db.prepare("INSERT INTO crls (number, this_update, next_update, der) VALUES (1, 't', 'n', x'3000')").run();
    db.close();
    const l = await openLedger(path);
    try {
      await l.read(async (r) => {
        assert.deepEqual((await r.roots()).map((x) => [x.record.serial, x.generation, x.retiredAt]), [["r1", 1, null]]);
        assert.equal((await r.bySerial("01"))?.issuer, "r1");
        assert.equal((await r.bySerial("r1"))?.issuer, "r1");
        assert.equal((await r.latestCrl("r1"))?.number, 1);
      });
    } finally {
      await l.close();
    }
  } finally {
    cleanup();
  }
});
