import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, PASSPHRASE, PKI_BIN, pki, pkiJson } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);

/** Starts pki and SIGKILLs it after `delayMs` (or lets it finish first). */
function killAfter(args: string[], delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PKI_BIN, ...args], { env: { PATH: process.env.PATH, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE }, stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    child.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Deterministic "random" delays spread over a command's life (about 0.3-1.2 s here). */
function delays(n: number, maxMs: number): number[] {
  let x = 12345;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 150 + (x % maxMs);
  });
}

test("SIGKILL at random moments of issue, renew, revoke and crl never leaves the home inconsistent", async () => {
  const plan = delays(25, 1200);
  for (let i = 0; i < plan.length; i++) {
    const ops = [["issue-client", `k${i}`], ["renew", `k${i - 1}`], ["revoke", `k${i - 2}`], ["crl"]];
    await Promise.all(ops.map((args, j) => killAfter(args, plan[(i + j) % plan.length]!)));

    // Invariants that must hold after every round, before any repair:
    // crl.pem and ca.pem are whole and signed; every certificate file is one the ledger knows.
    const crl = openssl(["crl", "-in", join(home, "crl.pem"), "-CAfile", join(home, "ca.pem"), "-noout"]);
    assert.match(crl.stderr + crl.stdout, /verify OK/, `round ${i}: crl.pem is truncated or unsigned`);
    const known = new Set(pkiJson<{ serial: string }[]>(home, ["list"]).map((c) => c.serial));
    for (const f of readdirSync(join(home, "certs")).filter((f) => f.endsWith(".pem"))) {
      const serial = openssl(["x509", "-in", join(home, "certs", f), "-noout", "-serial"]).stdout.trim().replace("serial=", "").toLowerCase();
      assert.ok(known.has(serial), `round ${i}: certs/${f} (serial ${serial}) is not in the ledger`);
    }
  }
  // A killed process may leave outputs behind the ledger (never ahead of it); check names them, --repair fixes them.
  const repaired = pkiJson<{ ok: boolean; findings: { check: string; level: string; message: string }[] }>(home, ["check", "--repair"]);
  assert.equal(repaired.ok, true, JSON.stringify(repaired.findings.filter((f) => f.level !== "ok")));
  const after = pkiJson<{ ok: boolean; findings: { level: string; message: string }[] }>(home, ["check"]);
  assert.equal(after.ok, true, JSON.stringify(after.findings.filter((f) => f.level !== "ok")));
  assert.ok(!after.findings.some((f) => f.level !== "ok" && !/expires in/.test(f.message)), JSON.stringify(after.findings));
  const audit = pki(home, ["audit", "--verify"]);
  assert.equal(audit.status, 0, audit.stdout);
  // Every revoked certificate in the ledger is in crl.pem after repair.
  const text = readFileSync(join(home, "crl.pem"), "utf8");
  const listed = openssl(["crl", "-noout", "-text"], text).stdout;
  for (const r of pkiJson<{ serial: string }[]>(home, ["list", "--status", "revoked"])) {
    assert.match(listed, new RegExp(r.serial.toUpperCase()));
  }
  assert.ok(existsSync(join(home, "ca.pem")));
});

test("check --repair restores outputs from the ledger even when whole folders are gone", () => {
  // Under load every issuance of the SIGKILL test may have been killed: have one valid client for certain.
  pkiJson(home, ["issue-client", "after-the-crashes"]);
  rmSync(join(home, "certs"), { recursive: true, force: true });
  rmSync(join(home, "ca.pem"));
  const broken = pki(home, ["check"]);
  assert.equal(broken.status, 8);
  assert.match(broken.stdout, /ca\.pem is missing/);
  const repaired = pki(home, ["check", "--repair"]);
  assert.equal(repaired.status, 0, repaired.stdout + repaired.stderr);
  assert.equal(pki(home, ["check"]).status, 0);
  const active = pkiJson<{ name: string; kind: string }[]>(home, ["list", "--status", "valid"]).filter((c) => c.kind === "client");
  assert.ok(active.length > 0);
  for (const c of active) assert.match(openssl(["x509", "-in", join(home, "certs", `${c.name}.pem`), "-noout", "-subject"]).stdout, new RegExp(`CN = ${c.name}\n`));
});
