import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const P12_PASSWORD = "p12 pässword";
pkiJson(home, ["issue-client", "alice"]);

/** Reads a .p12 with openssl, handing it the password through the environment. */
function p12info(file: string, extra: string[] = []) {
  return openssl(["pkcs12", "-in", file, "-info", "-nodes", "-passin", "env:P12PASS", ...extra].concat([]), undefined);
}
process.env.P12PASS = P12_PASSWORD;

test("default export: PBES2/AES-256-CBC/PBKDF2-SHA256 bags, SHA-256 MAC, 2048 iterations, key + cert + root", () => {
  const j = pkiJson(home, ["export-p12", "alice"], { PKI_P12_PASSWORD: P12_PASSWORD });
  const file = j.file as string;
  assert.equal(file, join(home, "private", "alice.p12"));
  assert.equal(mode(file), 0o600);
  const r = p12info(file);
  assert.equal(r.status, 0, r.stderr);
  const info = r.stderr + r.stdout;
  assert.match(info, /MAC: sha256, Iteration 2048/);
  assert.match(info, /MAC length: 32, salt length: 8/);
  assert.match(info, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
  assert.match(info, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
  assert.match(info, /friendlyName: alice/);
  assert.match(info, /localKeyID: /);
  assert.match(info, /subject=CN = alice/);
  assert.match(info, /subject=C = NL, O = Test Org, CN = Test Root CA/);
  assert.match(info, /-----BEGIN PRIVATE KEY-----/);
});

test("the key inside the .p12 belongs to alice's certificate", () => {
  const file = join(home, "private", "alice.p12");
  const key = openssl(["pkcs12", "-in", file, "-nocerts", "-nodes", "-passin", "env:P12PASS"]).stdout;
  const keyPub = openssl(["pkey", "-pubout"], key).stdout;
  const certPub = openssl(["x509", "-in", join(home, "certs", "alice.pem"), "-noout", "-pubkey"]).stdout;
  assert.equal(keyPub, certPub);
});

test("--legacy: 3DES for both bags and a SHA-1 MAC, readable by OpenSSL 3 without -legacy", () => {
  const out = join(work.dir, "alice-legacy.p12");
  const pw = join(work.dir, "pw.txt");
  writeFileSync(pw, P12_PASSWORD + "\n", { mode: 0o600 });
  const j = pkiJson(home, ["export-p12", "alice", "--legacy", "--out", out, "--password-file", pw], { PKI_P12_PASSWORD: undefined });
  assert.equal(j.file, out);
  assert.equal(j.legacy, true);
  const r = p12info(out);
  assert.equal(r.status, 0, r.stderr);
  const info = r.stderr + r.stdout;
  assert.match(info, /MAC: sha1, Iteration 2048/);
  assert.match(info, /PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
  assert.match(info, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
  assert.match(info, /-----BEGIN PRIVATE KEY-----/);
});

test("a wrong .p12 password fails the MAC check in openssl", () => {
  const r = openssl(["pkcs12", "-in", join(home, "private", "alice.p12"), "-noout", "-passin", "pass:not-it"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /mac verify (failure|error)/i);
});

test("refusals: empty password, no password source, unknown name, CSR-issued, wrong CA passphrase", () => {
  const csrKey = join(work.dir, "k.pem");
  const csr = join(work.dir, "r.csr");
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", csrKey, "-out", csr, "-subj", "/CN=x"]);
  pkiJson(home, ["issue-client", "from-csr", "--csr", csr]);
  const empty = join(work.dir, "empty.txt");
  writeFileSync(empty, "\n");
  const before = snapshot(home);
  const cases: [string[], Record<string, string | undefined>, number, RegExp][] = [
    [["export-p12", "alice", "--password-file", empty], {}, 5, /--password-file .*empty\.txt is empty; its first line must be the password for the \.p12/],
    [["export-p12", "alice"], { PKI_P12_PASSWORD: undefined }, 5, /no password for the \.p12 given; set PKI_P12_PASSWORD, use --password-file FILE/],
    [["export-p12", "nobody"], { PKI_P12_PASSWORD: "x" }, 3, /no certificate with name or serial "nobody"/],
    [["export-p12", "from-csr"], { PKI_P12_PASSWORD: "x" }, 6, /issued from a CSR: pki does not hold its key/],
    [["export-p12", "alice"], { PKI_P12_PASSWORD: "x", PKI_PASSPHRASE: "wrong one!" }, 5, /wrong passphrase for the CA key/],
    [["export-p12", "alice", "--out", join(work.dir, "no-such-dir", "x.p12")], { PKI_P12_PASSWORD: "pw" }, 3, /no-such-dir\/x\.p12: no such file or directory/],
  ];
  for (const [args, env, code, why] of cases) {
    const r = pki(home, args, env);
    assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before);
  assert.ok(!existsSync(join(work.dir, "no-such-dir")));
});
