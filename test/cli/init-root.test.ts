import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, PASSPHRASE, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);

test("the root has CA:TRUE pathlen:0 and keyCertSign+cRLSign, both critical, and an SKI", () => {
  const text = openssl(["x509", "-in", join(home, "ca.pem"), "-noout", "-text"]).stdout;
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text, /X509v3 Subject Key Identifier/);
  assert.match(text, /Subject: C = NL, O = Test Org, CN = Test Root CA/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  const verify = openssl(["verify", "-x509_strict", "-CAfile", join(home, "ca.pem"), join(home, "ca.pem")]);
  assert.equal(verify.status, 0, verify.stderr);
});

test("the initial CRL is empty, signed by the root, PEM-labelled X509 CRL, with a nextUpdate", () => {
  const crl = join(home, "crl.pem");
  assert.match(readFileSync(crl, "utf8"), /^-----BEGIN X509 CRL-----\n/);
  const r = openssl(["crl", "-in", crl, "-CAfile", join(home, "ca.pem"), "-noout", "-text"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  assert.match(r.stdout, /Next Update: /);
  assert.match(r.stdout, /X509v3 CRL Number: \s+1\b/);
  assert.match(r.stdout, /No Revoked Certificates/);
});

test("directories are 0700, the ledger is private, certificates are world-readable", () => {
  assert.equal(mode(home), 0o700);
  assert.equal(mode(join(home, "private")), 0o700);
  assert.equal(mode(join(home, "certs")), 0o700);
  assert.equal(mode(join(home, "ledger.db")), 0o600);
  assert.equal(mode(join(home, "ca.pem")), 0o644);
});

test("an existing CA is never overwritten, and nothing changes", () => {
  const before = snapshot(home);
  const r = pki(home, ["init-root", "--cn", "Another"]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /^pki: init-root: a CA already exists in .*; pki never overwrites a CA/);
  assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  assert.deepEqual(snapshot(home), before);
});

test("--json gives absolute paths, subject and serial; RSA and P-384 keys work", () => {
  const { dir, cleanup: c } = tempDir();
  try {
    for (const key of ["rsa-2048", "ec-p384"]) {
      const h = join(dir, key);
      const j = pkiJson(h, ["init-root", "--cn", `Root ${key}`, "--key", key, "--days", "30"]);
      assert.equal(j.certificate, join(h, "ca.pem"));
      assert.equal(j.crl, join(h, "crl.pem"));
      assert.equal(j.subject, `CN=Root ${key}`);
      assert.match(j.serial as string, /^[0-9a-f]+$/);
      const serial = openssl(["x509", "-in", join(h, "ca.pem"), "-noout", "-serial"]).stdout.trim();
      assert.equal(serial, `serial=${(j.serial as string).toUpperCase()}`);
      const text = openssl(["x509", "-in", join(h, "ca.pem"), "-noout", "-text"]).stdout;
      assert.match(text, key === "rsa-2048" ? /Public-Key: \(2048 bit\)/ : /NIST CURVE: P-384/);
      const days = (Date.parse(j.notAfter as string) - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days < 30.1, `30 days, got ${days}`);
    }
  } finally {
    c();
  }
});

test("bad input is refused before anything is written", () => {
  const { dir, cleanup: c } = tempDir();
  try {
    const cases: [string[], Record<string, string | undefined>, number, RegExp][] = [
      [["init-root"], {}, 2, /--cn is required/],
      [["init-root", "--cn", "R", "--country", "Netherlands"], {}, 2, /--country "Netherlands" must be a two-letter/],
      [["init-root", "--cn", "R", "--days", "0"], {}, 2, /--days must be a whole number of days from 1/],
      [["init-root", "--cn", "R", "--days", "ten"], {}, 2, /expected a whole number of days/],
      [["init-root", "--cn", "R", "--key", "dsa"], {}, 2, /Allowed choices are ec-p256/],
      [["init-root", "--cn", "R"], { PKI_PASSPHRASE: undefined }, 5, /no new CA passphrase given; set PKI_PASSPHRASE, use --passphrase-file FILE/],
      [["init-root", "--cn", "R"], { PKI_PASSPHRASE: "short" }, 5, /at least 8 characters/],
      [["init-root", "--cn", "R", "--profile", "/nope.ini"], {}, 3, /cannot read profile \/nope\.ini: ENOENT/],
    ];
    for (const [args, env, code, why] of cases) {
      const h = join(dir, "h");
      const r = pki(h, args, env);
      assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /^pki: /);
      assert.ok(!existsSync(h), `${args.join(" ")} left ${h} behind`);
    }
  } finally {
    c();
  }
});

test("--passphrase-file is read (first line only) and the key decrypts with openssl", () => {
  const { dir, cleanup: c } = tempDir();
  try {
    const pass = join(dir, "pass.txt");
    writeFileSync(pass, "from a file, 123\nsecond line ignored\n", { mode: 0o600 });
    const h = join(dir, "h");
    const r = pki(h, ["--passphrase-file", pass, "init-root", "--cn", "File Root"], { PKI_PASSPHRASE: undefined });
    assert.equal(r.status, 0, r.stderr);
    const wrong = pki(h, ["crl"], { PKI_PASSPHRASE: PASSPHRASE });
    assert.equal(wrong.status, 5);
    assert.match(wrong.stderr, /wrong passphrase for the CA key/);
    const right = pki(h, ["--passphrase-file", pass, "crl"], { PKI_PASSPHRASE: undefined });
    assert.equal(right.status, 0, right.stderr);
  } finally {
    c();
  }
});
