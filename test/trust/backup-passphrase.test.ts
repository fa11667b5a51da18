import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, PASSPHRASE, PKI_BIN, pki, pkiJson, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

test("backup while 6 processes issue; restore elsewhere gives a working CA with the same certificates", async () => {
  for (let i = 0; i < 4; i++) pkiJson(home, ["issue-client", `before${i}`]);
  const issuing = Array.from(
    { length: 6 },
    (_, i) =>
      new Promise<number>((resolve) => {
        const c = spawn(process.execPath, [PKI_BIN, "issue-client", `during${i}`], { env: { PATH: process.env.PATH, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE }, stdio: "ignore" });
        c.on("close", (code) => resolve(code ?? -1));
      }),
  );
  const file = join(work.dir, "pki.db");
  const b = pkiJson<{ file: string; certificates: number }>(home, ["backup", file]);
  assert.deepEqual(await Promise.all(issuing), [0, 0, 0, 0, 0, 0]);
  assert.equal(b.file, file);
  assert.equal(mode(file), 0o600);
  assert.ok(b.certificates >= 5, "the root and at least the four issued before");

  const restored = join(work.dir, "restored");
  const r = pkiJson<{ ok: boolean; certificates: number }>(restored, ["restore", file]);
  assert.equal(r.ok, true);
  assert.equal(r.certificates, b.certificates);
  const check = pkiJson<{ ok: boolean }>(restored, ["check"]);
  assert.equal(check.ok, true);
  // The restored CA signs: the same root, new certificates verify against the original ca.pem.
  const carol = pkiJson<{ certificate: string }>(restored, ["issue-client", "carol"]);
  assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", join(home, "ca.pem"), carol.certificate]).status, 0);
  assert.equal(openssl(["verify", "-CAfile", join(restored, "ca.pem"), join(restored, "certs", "before0.pem")]).status, 0);
});

test("restore refuses a home that has a CA, a missing file and a file that is not a ledger", () => {
  const junk = join(work.dir, "junk.db");
  writeFileSync(junk, "not a database at all".repeat(50));
  const cases: [string, string[], number, RegExp][] = [
    [home, ["restore", join(work.dir, "pki.db")], 4, /a CA already exists/],
    [join(work.dir, "r2"), ["restore", join(work.dir, "nope.db")], 3, /no such file/],
    [join(work.dir, "r3"), ["restore", junk], 7, /not a pki ledger/],
    [home, ["backup", join(work.dir, "pki.db")], 4, /already exists; pki never overwrites a backup/],
  ];
  for (const [h, args, code, why] of cases) {
    const r = pki(h, args);
    assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
});

test("passphrase change re-encrypts every key: the old passphrase stops working, openssl opens keys with the new one", () => {
  const next = "a brand new passphrase";
  const r = pkiJson<{ keys: number }>(home, ["passphrase", "change"], { PKI_NEW_PASSPHRASE: next });
  assert.ok(r.keys >= 11, String(r.keys));
  const old = pki(home, ["crl"]);
  assert.equal(old.status, 5);
  assert.equal(pki(home, ["crl"], { PKI_PASSPHRASE: next }).status, 0);
  process.env.NEWPASS = next;
  assert.equal(openssl(["pkey", "-in", join(home, "private", "before0.key"), "-passin", "env:NEWPASS", "-noout"]).status, 0);
  assert.notEqual(openssl(["pkey", "-in", join(home, "private", "before0.key"), "-passin", "env:PKI_PASSPHRASE", "-noout"]).status, 0);
  const p12 = pki(home, ["export-p12", "before1"], { PKI_PASSPHRASE: next, PKI_P12_PASSWORD: "pw" });
  assert.equal(p12.status, 0, p12.stderr);
  const same = pki(home, ["passphrase", "change"], { PKI_PASSPHRASE: next, PKI_NEW_PASSPHRASE: next });
  assert.equal(same.status, 2);
  assert.match(same.stderr, /the same as the old one/);
});
