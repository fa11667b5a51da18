import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { initHome, PASSPHRASE, PKI_BIN, pkiJson } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);

const WAITING = "pki: waiting for another pki command on this home...";

/** Starts pki; `onStderr` sees stderr as it grows. Resolves when the process ends. */
function start(args: string[], onStderr: (text: string, child: ChildProcess) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PKI_BIN, ...args], { env: { PATH: process.env.PATH, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      onStderr(stderr, child);
    });
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Another process's write transaction, held until released. */
function holdWriteLock(): { release: () => void } {
  const db = new Database(join(home, "ledger.db"));
  db.exec("BEGIN IMMEDIATE");
  return {
    release: () => {
      if (db.inTransaction) db.exec("COMMIT");
      db.close();
    },
  };
}

test("a change waiting for another command's write lock says so on stderr, then proceeds when the lock is released", async () => {
  const lock = holdWriteLock();
  let told = false;
  const r = await start(["--json", "issue-client", "patient"], (err) => {
    if (!told && err.includes(WAITING)) {
      told = true;
      lock.release();
    }
  }).finally(lock.release);
  assert.ok(told, `told about the wait: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `${WAITING}\n`, "said once");
  assert.equal(JSON.parse(r.stdout).name, "patient");
});

test("Ctrl-C while waiting for the lock stops pki at once (SIGINT, which a shell reports as 130) and changes nothing", async () => {
  const eventsBefore = pkiJson<unknown[]>(home, ["audit"]).length;
  const lock = holdWriteLock();
  const r = await start(["crl"], (err, child) => {
    if (err.includes(WAITING)) child.kill("SIGINT");
  }).finally(lock.release);
  assert.equal(r.signal, "SIGINT", `${r.code} ${r.stderr}`);
  assert.equal(pkiJson<unknown[]>(home, ["audit"]).length, eventsBefore, "no event: the CRL was not generated");
});
