import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { LedgerError } from "../../src/ledger/errors.js";
import { type NewCertificate, openLedger } from "../../src/ledger/ledger.js";
import { tempDir } from "../helpers.js";

function cert(serial: string): NewCertificate {
  const der = new Uint8Array(3000).fill(0x41); // big enough for the copy to take several pages
  return { serial, name: `n${serial}`, kind: "client", subject: `CN=n${serial}`, notBefore: "2026-01-01T00:00:00.000Z", notAfter: "2030-01-01T00:00:00.000Z", der, keyEncrypted: null, csr: null, createdAt: "2026-01-01T00:00:00.000Z" };
}

test("a read-only ledger reads, refuses every write with a typed error, and backs up with progress that reaches the end", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "l.db");
    const writer = openLedger(path, { create: true });
    writer.transaction(() => {
      for (let i = 0; i < 300; i++) writer.insertCertificate(cert(i.toString(16).padStart(4, "0")));
    });
    writer.close();

    const reader = openLedger(path, { readOnly: true });
    assert.equal(reader.summaries({}).length, 300);
    assert.throws(() => reader.transaction(() => reader.insertCertificate(cert("ffff"))), (e: unknown) => e instanceof LedgerError && e.code === "read-only");
    const steps: [number, number][] = [];
    await reader.backupTo(join(dir, "copy.db"), (done, total) => steps.push([done, total]));
    reader.close();
    const total = steps[0]![1];
    assert.ok(steps.length > 2, `several steps: ${JSON.stringify(steps)}`);
    assert.deepEqual(steps.at(-1), [total, total], "the last report is the whole database");
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i]![0] >= steps[i - 1]![0], "never backwards");
    const copy = openLedger(join(dir, "copy.db"), { readOnly: true });
    assert.equal(copy.summaries({}).length, 300);
    copy.close();
  } finally {
    cleanup();
  }
});

test("a write waiting for another connection's lock: told once after the first second, a typed 'busy' error at the timeout", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "l.db");
    openLedger(path, { create: true }).close();
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE");
    let told = 0;
    const waiter = openLedger(path, { busyTimeoutMs: 2000, onLockWait: () => told++ });
    assert.throws(() => waiter.transaction(() => waiter.insertCertificate(cert("0001"))), (e: unknown) => e instanceof LedgerError && e.code === "busy" && e.message.includes(path));
    assert.equal(told, 1);
    holder.exec("COMMIT");
    holder.close();
    waiter.transaction(() => waiter.insertCertificate(cert("0001")));
    assert.equal(waiter.summaries({}).length, 1, "works once the lock is free");
    assert.equal(told, 1, "no message when there is no wait");
    waiter.close();
  } finally {
    cleanup();
  }
});
