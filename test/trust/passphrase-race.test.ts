import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, PASSPHRASE, PKI_BIN, pki, pkiJson, run, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const NEW = "the passphrase after the change";

function pkiAsync(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [PKI_BIN, ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE, ...env } });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d));
    c.stderr.on("data", (d: Buffer) => (stderr += d));
    c.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

test("issue-client processes during a passphrase change: every stored key opens with the new passphrase, check is green", async () => {
  writeFileSync(join(work.dir, "staff.txt"), Array.from({ length: 20 }, (_, i) => `staff${i}`).join("\n"));
  pkiJson(home, ["issue-client", "--from", join(work.dir, "staff.txt")]);
  const change = pkiAsync(["--json", "passphrase", "change"], { PKI_NEW_PASSPHRASE: NEW });
  const issuers = Array.from({ length: 4 }, (_, i) => pkiAsync(["issue-client", `during${i}`], {}));
  const changed = await change;
  assert.equal(changed.status, 0, changed.stderr);
  const issued = await Promise.all(issuers);
  for (const r of issued) {
    // Committed before the change (re-encrypted by it), refused at commit (PASSPHRASE_CHANGED), or started after it (old passphrase).
    assert.ok([0, 4, 5].includes(r.status), r.stderr);
    if (r.status === 4) assert.match(r.stderr, /the CA passphrase was changed by another pki process while this command ran; nothing was changed; run the command again with the new passphrase/);
    if (r.status === 5) assert.match(r.stderr, /wrong passphrase for the CA key; check PKI_PASSPHRASE/);
  }
  const keys = JSON.parse(changed.stdout) as { keys: number; addedMeanwhile: number };

  process.env.PKI_RACE_NEW = NEW;
  const names = pkiJson<{ name: string; kind: string; status: string }[]>(home, ["list"]).filter((c) => c.kind !== "root" && c.status === "valid").map((c) => c.name);
  assert.equal(names.length, 20 + issued.filter((r) => r.status === 0).length);
  for (const name of names) {
    const opened = openssl(["pkey", "-in", join(home, "private", `${name}.key`), "-passin", "env:PKI_RACE_NEW", "-noout"]);
    assert.equal(opened.status, 0, `${name}: ${opened.stderr}`);
  }
  const check = pkiJson<{ ok: boolean; findings: { check: string; level: string; message: string }[] }>(home, ["check"], { PKI_PASSPHRASE: NEW });
  assert.equal(check.ok, true, JSON.stringify(check.findings.filter((f) => f.level !== "ok")));
  assert.ok(check.findings.some((f) => f.check === "keys" && /the CA key and the \d+ stored keys of current certificates open with the CA passphrase/.test(f.message)));
  assert.ok(keys.keys >= 21, JSON.stringify(keys));
});

test("check and every command that opens a key name a key stored under another passphrase", () => {
  pkiJson(home, ["issue-client", "zed"], { PKI_PASSPHRASE: NEW });
  // What a passphrase change before this fix left behind: a key under the old passphrase.
  const keyFile = join(home, "private", "zed.key");
  process.env.PKI_RACE_OLD = "an older passphrase";
  const plain = openssl(["pkey", "-in", keyFile, "-passin", "env:PKI_RACE_NEW"]);
  const stranded = openssl(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-passout", "env:PKI_RACE_OLD"], plain.stdout);
  assert.equal(stranded.status, 0, stranded.stderr);
  const hex = Buffer.from(stranded.stdout.replace(/-----[^-]+-----|\s/g, ""), "base64").toString("hex");
  const sql = run("python3", ["-c", `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE certificates SET key_encrypted = x'${hex}' WHERE name = 'zed'"); c.commit()`, join(home, "ledger.db")]);
  assert.equal(sql.status, 0, sql.stderr);

  const check = pki(home, ["check"], { PKI_PASSPHRASE: NEW });
  assert.equal(check.status, 8, check.stdout);
  assert.match(check.stdout, /FAIL {2}keys {8}zed's key \(serial [0-9a-f]+\) does not open with the CA passphrase: it was stored under another one → give it a new key: pki renew zed/);
  const exported = pki(home, ["export-p12", "zed"], { PKI_PASSPHRASE: NEW, PKI_P12_PASSWORD: "pw" });
  assert.equal(exported.status, 5);
  assert.match(exported.stderr, /^pki: export-p12 zed: zed's key \(serial [0-9a-f]+\) does not open with the CA passphrase: it was stored under another one; pki check lists such keys; give it a new key with: pki renew zed\n$/);
  const unchecked = JSON.parse(pki(home, ["--json", "check"], { PKI_PASSPHRASE: undefined }).stdout) as { findings: { check: string; message: string }[] };
  assert.ok(unchecked.findings.some((f) => f.check === "keys" && /stored keys not opened: no passphrase given/.test(f.message)));
  const renewed = pkiJson<{ previous: { serial: string } }>(home, ["renew", "zed"], { PKI_PASSPHRASE: NEW });
  assert.equal(pki(home, ["check"], { PKI_PASSPHRASE: NEW }).status, 0);
  // The superseded key still does not open: a later change leaves it as it is and says so, instead of failing.
  const third = "a third passphrase";
  const changed = pki(home, ["--json", "passphrase", "change"], { PKI_PASSPHRASE: NEW, PKI_NEW_PASSPHRASE: third });
  assert.equal(changed.status, 0, changed.stderr);
  assert.deepEqual((JSON.parse(changed.stdout) as { unreadable: unknown }).unreadable, [{ name: "zed", serial: renewed.previous.serial }]);
  assert.match(changed.stderr, new RegExp(`pki: warning: zed's key \\(serial ${renewed.previous.serial}\\) did not open with the old passphrase either \\(stored under another one\\); left as it was`));
  assert.equal(pki(home, ["check"], { PKI_PASSPHRASE: third }).status, 0);
});
