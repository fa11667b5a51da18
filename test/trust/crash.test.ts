import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { initHome, openssl, PASSIN, PASSPHRASE, PKI_BIN, pki, pkiJson } from "../helpers.js";

type Finding = { check: string; level: string; message: string };

/** What must hold after any crash, before any repair: crl.pem and ca.pem whole and signed, no certificate file the ledger does not know. */
function assertConsistent(home: string, label: string): void {
  const crl = openssl(["crl", "-in", join(home, "crl.pem"), "-CAfile", join(home, "ca.pem"), "-noout"]);
  assert.match(crl.stderr + crl.stdout, /verify OK/, `${label}: crl.pem is truncated or unsigned`);
  const known = new Set(pkiJson<{ serial: string }[]>(home, ["list"]).map((c) => c.serial));
  for (const f of readdirSync(join(home, "certs")).filter((f) => f.endsWith(".pem"))) {
    const serial = openssl(["x509", "-in", join(home, "certs", f), "-noout", "-serial"]).stdout.trim().replace("serial=", "").toLowerCase();
    assert.ok(known.has(serial), `${label}: certs/${f} (serial ${serial}) is not in the ledger`);
  }
}

/** After repair the home is sound, the audit chain intact, and every revocation in crl.pem. */
function assertRepaired(home: string, label: string): void {
  const repaired = pkiJson<{ ok: boolean; findings: Finding[] }>(home, ["check", "--repair"]);
  assert.equal(repaired.ok, true, `${label}: ${JSON.stringify(repaired.findings.filter((f) => f.level !== "ok"))}`);
  const after = pkiJson<{ ok: boolean; findings: Finding[] }>(home, ["check"]);
  assert.deepEqual(after.findings.filter((f) => f.level !== "ok"), [], label);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0, label);
  const listed = openssl(["crl", "-noout", "-text"], readFileSync(join(home, "crl.pem"), "utf8")).stdout;
  for (const r of pkiJson<{ serial: string }[]>(home, ["list", "--status", "revoked"])) assert.match(listed, new RegExp(r.serial.toUpperCase()), label);
}

// Each change is killed at each point where a write can be interrupted (see src/ca/crash-point.ts):
// deterministic, where killing after a random delay only sometimes hit the windows that matter.
const POINTS = ["before-commit", "after-commit", "mid-rename"] as const;
const crls = (h: string) => pkiJson<{ action: string }[]>(h, ["audit"]).filter((e) => e.action === "crl-generated").length;
const OPERATIONS: { label: string; args: (i: number) => string[]; committed: (home: string, i: number, crlsBefore: number) => boolean }[] = [
  { label: "issue-client", args: (i) => ["issue-client", `new${i}`], committed: (h, i) => pkiJson<{ name: string }[]>(h, ["list"]).some((c) => c.name === `new${i}`) },
  { label: "renew", args: (i) => ["renew", `c${i}`], committed: (h, i) => pkiJson<{ name: string }[]>(h, ["list", "--status", "superseded"]).some((c) => c.name === `c${i}`) },
  { label: "revoke", args: (i) => ["revoke", `b${i}`], committed: (h, i) => pkiJson<{ name: string }[]>(h, ["list", "--status", "revoked"]).some((c) => c.name === `b${i}`) },
  { label: "crl", args: () => ["crl"], committed: (h, _i, before) => crls(h) === before + 1 },
];

for (const op of OPERATIONS) {
  test(`SIGKILL during ${op.label} at each crash point leaves the home consistent and repairable`, (t) => {
    const { home, cleanup } = initHome();
    t.after(cleanup);
    const names = join(home, "..", "names.txt");
    writeFileSync(names, POINTS.flatMap((_, i) => [`b${i}`, `c${i}`]).join("\n"));
    assert.equal(pki(home, ["issue-client", "--from", names]).status, 0);
    POINTS.forEach((point, i) => {
      const crlsBefore = crls(home);
      const label = `${op.label} killed ${point}`;
      const r = pki(home, op.args(i), { PKI_CRASH_AT: point });
      assert.equal(r.status, -1, `${label}: pki was not killed (exit ${r.status}: ${r.stderr})`);
      assertConsistent(home, label);
      // Before the commit nothing happened; after it the change is in the ledger, whatever the files say.
      assert.equal(op.committed(home, i, crlsBefore), point !== "before-commit", `${label}: ledger state`);
      assertRepaired(home, label);
    });
  });
}

test("SIGKILL during issue-client --from at each crash point leaves the home consistent and repairable", (t) => {
  const { home, cleanup } = initHome();
  t.after(cleanup);
  POINTS.forEach((point, i) => {
    const names = join(home, "..", `batch${i}.txt`);
    const batch = [0, 1, 2].map((j) => `batch${i}-${j}`);
    writeFileSync(names, batch.join("\n"));
    const label = `issue-client --from killed ${point}`;
    const r = pki(home, ["issue-client", "--from", names], { PKI_CRASH_AT: point });
    assert.equal(r.status, -1, `${label}: pki was not killed (exit ${r.status}: ${r.stderr})`);
    assertConsistent(home, label);
    const listed = pkiJson<{ name: string }[]>(home, ["list"]).filter((c) => batch.includes(c.name)).length;
    assert.equal(listed, point === "before-commit" ? 0 : 3, `${label}: a chunk is committed whole or not at all`);
    assertRepaired(home, label);
    for (const n of point === "before-commit" ? [] : batch) assert.equal(openssl(["verify", "-CAfile", join(home, "ca.pem"), join(home, "certs", `${n}.pem`)]).status, 0, `${label}: ${n}`);
  });
});

test("SIGKILL at a random moment of a bulk issuance of several chunks: whole chunks in the ledger, check reports, --repair completes, every key opens", async (t) => {
  const { home, cleanup } = initHome();
  t.after(cleanup);
  const names = join(home, "..", "bulk.txt");
  writeFileSync(names, Array.from({ length: 1600 }, (_, i) => `k${i}`).join("\n"));
  const child = spawn(process.execPath, [PKI_BIN, "issue-client", "--from", names], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE }, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Killed as soon as a random number of the first chunk's files are in place (it committed; its
  // renames, or the second chunk's signing, are under way), however fast the machine: a later
  // chunk cannot finish between two looks at the folder, and the whole list is far off.
  const seen = 1 + Math.floor(Math.random() * 500);
  for (let waited = 0; waited < 300_000 && child.exitCode === null; waited += 5) {
    if (readdirSync(join(home, "certs")).filter((f) => f.endsWith(".pem")).length >= seen) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(child.kill("SIGKILL"), true);
  assert.equal(await exited, null, "pki finished before it could be killed");
  assertConsistent(home, "bulk killed");
  const issued = pkiJson<{ name: string }[]>(home, ["list"]).filter((c) => c.name.startsWith("k"));
  assert.ok(issued.length > 0 && issued.length < 1600 && issued.length % 500 === 0, `whole chunks of 500 are committed, not ${issued.length}`);
  const check = pki(home, ["check"]);
  assert.ok(check.status === 0 || check.status === 8, `check reports (exit ${check.status}): ${check.stderr}`);
  assertRepaired(home, "bulk killed");
  for (const c of [issued[0]!, issued[issued.length - 1]!]) {
    const key = openssl(["pkey", "-in", join(home, "private", `${c.name}.key`), "-passin", PASSIN, "-pubout"]);
    assert.equal(key.status, 0, `${c.name}: ${key.stderr}`);
    assert.equal(key.stdout, openssl(["x509", "-in", join(home, "certs", `${c.name}.pem`), "-noout", "-pubkey"]).stdout, c.name);
  }
});

test("check --repair restores outputs from the ledger even when whole folders are gone", () => {
  const { home, cleanup } = initHome();
  try {
    for (const name of ["dora", "emil"]) assert.equal(pki(home, ["issue-client", name]).status, 0);
    rmSync(join(home, "certs"), { recursive: true, force: true });
    rmSync(join(home, "ca.pem"));
    const broken = pki(home, ["check"]);
    assert.equal(broken.status, 8);
    assert.match(broken.stdout, /ca\.pem is missing/);
    const repaired = pki(home, ["check", "--repair"]);
    assert.equal(repaired.status, 0, repaired.stdout + repaired.stderr);
    assert.equal(pki(home, ["check"]).status, 0);
    for (const name of ["dora", "emil"]) assert.match(openssl(["x509", "-in", join(home, "certs", `${name}.pem`), "-noout", "-subject"]).stdout, new RegExp(`CN = ${name}\n`));
  } finally {
    cleanup();
  }
});
