import assert from "node:assert/strict";
import { chmodSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { LedgerError } from "../../src/ledger/errors.js";
import { collect, type NewCertificate } from "../../src/ledger/ledger.js";
import { openLedger } from "../../src/ledger/open.js";
import { tempDir } from "../helpers.js";

function cert(serial: string): NewCertificate {
  const der = new Uint8Array(3000).fill(0x41); // big enough for the copy to take several pages
  return { serial, name: `n${serial}`, kind: "client", subject: `CN=n${serial}`, notBefore: "2026-01-01T00:00:00.000Z", notAfter: "2030-01-01T00:00:00.000Z", der, keyEncrypted: null, csr: null, createdAt: "2026-01-01T00:00:00.000Z" };
}

test("a read-only ledger reads, refuses every write with a typed error, and backs up with progress that reaches the end", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "l.db");
    const writer = await openLedger(path, { create: true });
    await writer.write(async (tx) => {
      for (let i = 0; i < 300; i++) await tx.insertCertificate(cert(i.toString(16).padStart(4, "0")));
    });
    await writer.close();

    const reader = await openLedger(path, { readOnly: true });
    assert.equal((await reader.read((r) => collect((p) => r.summaries({}, p)))).length, 300);
    await assert.rejects(reader.write((tx) => tx.insertCertificate(cert("ffff"))), (e: unknown) => e instanceof LedgerError && e.code === "read-only");
    const steps: [number, number][] = [];
    const { certificates } = await reader.backupTo(join(dir, "copy.db"), (done, total) => steps.push([done, total]));
    await reader.close();
    assert.equal(certificates, 300);
    const total = steps[0]![1];
    assert.ok(steps.length > 2, `several steps: ${JSON.stringify(steps)}`);
    assert.deepEqual(steps.at(-1), [total, total], "the last report is the whole database");
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i]![0] >= steps[i - 1]![0], "never backwards");
    const copy = await openLedger(join(dir, "copy.db"), { readOnly: true });
    assert.equal((await copy.read((r) => collect((p) => r.summaries({}, p)))).length, 300);
    await copy.close();
  } finally {
    cleanup();
  }
});

test("a write waiting for another connection's lock: told once after the first second, a typed 'busy' error at the timeout", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "l.db");
    await (await openLedger(path, { create: true })).close();
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE");
    let told = 0;
    const waiter = await openLedger(path, { busyTimeoutMs: 2000, onLockWait: () => told++ });
    await assert.rejects(waiter.write((tx) => tx.insertCertificate(cert("0001"))), (e: unknown) => e instanceof LedgerError && e.code === "busy" && e.message.includes(path));
    assert.equal(told, 1);
    holder.exec("COMMIT");
    holder.close();
    await waiter.write((tx) => tx.insertCertificate(cert("0001")));
    assert.equal(await waiter.read((r) => r.count({})), 1, "works once the lock is free");
    assert.equal(told, 1, "no message when there is no wait");
    await waiter.close();
  } finally {
    cleanup();
  }
});

test("a ledger from an older pki is upgraded by a reading command where the home can be written, and refused with a typed error where it cannot", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "l.db");
    const writer = await openLedger(path, { create: true });
    await writer.write((tx) => tx.insertCertificate(cert("0001")));
    await writer.close();
    const db = new Database(path);
    const current = db.pragma("user_version", { simple: true }) as number;
    db.exec(`DROP INDEX certificates_roots; PRAGMA user_version = ${current - 1}`);
    db.close();
    const readOnlyCopy = join(dir, "copy.db");
    copyFileSync(path, readOnlyCopy);

    const reader = await openLedger(path, { readOnly: true });
    assert.equal(await reader.read((r) => r.count({})), 1);
    await reader.close();
    const after = new Database(path, { readonly: true });
    assert.equal(after.pragma("user_version", { simple: true }), current);
    const plan = after.prepare("EXPLAIN QUERY PLAN SELECT * FROM certificates WHERE kind = 'root' ORDER BY created_at, rowid").all() as { detail: string }[];
    assert.match(plan.map((p) => p.detail).join("; "), /certificates_roots/, "the roots are found through their index, not a scan");
    after.close();

    if (process.getuid?.() === 0) return; // root writes whatever the modes say
    chmodSync(readOnlyCopy, 0o400);
    chmodSync(dir, 0o500);
    try {
      await assert.rejects(openLedger(readOnlyCopy, { readOnly: true }), (e: unknown) => e instanceof LedgerError && e.code === "read-only" && /schema upgrade/.test(e.message));
    } finally {
      chmodSync(dir, 0o700);
    }
    const untouched = new Database(readOnlyCopy, { readonly: true });
    assert.equal(untouched.pragma("user_version", { simple: true }), current - 1, "the unwritable copy is left as it was");
    untouched.close();
  } finally {
    cleanup();
  }
});
