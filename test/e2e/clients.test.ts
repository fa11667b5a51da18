import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pki, pkiJson, tempDir } from "../helpers.js";
import { exec, type E2eCa, makeCa } from "./harness.js";

// The .p12 files pki writes, read by the key stores of NSS (Firefox, Chrome on Linux), GnuTLS and Java.
const work = tempDir("pki-e2e-clients-");
let ca: E2eCa;
// ASCII, because Java refuses non-ASCII PKCS#12 passwords outright (tested below).
const PASSWORD = "Zoe's p12 password";
const files: Record<"modern" | "legacy", string> = { modern: "", legacy: "" };

before(() => {
  ca = makeCa(work.dir);
  pkiJson(ca.home, ["issue-client", "Zoë", "--email", "zoe@example.com"]);
  for (const kind of ["modern", "legacy"] as const) {
    files[kind] = join(work.dir, `zoe-${kind}.p12`);
    pkiJson(ca.home, ["export-p12", "Zoë", "--out", files[kind], ...(kind === "legacy" ? ["--legacy"] : [])], { PKI_P12_PASSWORD: PASSWORD });
  }
});
after(() => work.cleanup());

for (const kind of ["modern", "legacy"] as const) {
  test(`NSS pk12util imports the ${kind} .p12 into a fresh database, key and certificate`, async () => {
    const db = join(work.dir, `nss-${kind}`);
    mkdirSync(db);
    assert.equal((await exec("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"])).code, 0);
    const imp = await exec("pk12util", ["-i", files[kind], "-d", `sql:${db}`, "-W", PASSWORD]);
    assert.equal(imp.code, 0, imp.stdout + imp.stderr);
    assert.match(imp.stdout + imp.stderr, /PKCS12 IMPORT SUCCESSFUL/);
    const keys = await exec("certutil", ["-K", "-d", `sql:${db}`]);
    assert.match(keys.stdout, /Zoë/, "the private key is there, with its friendly name");
    const certs = await exec("certutil", ["-L", "-d", `sql:${db}`]);
    assert.match(certs.stdout, /Zoë\s+u,u,u/);
  });

  test(`GnuTLS certtool reads the ${kind} .p12 (${kind === "modern" ? "AES-256, SHA-256 MAC" : "3DES, SHA-1 MAC"})`, async () => {
    const r = await exec("certtool", ["--p12-info", "--inder", "--infile", files[kind], "--password", PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    if (kind === "modern") {
      assert.match(out, /MAC: SHA256/);
      assert.match(out, /Schema: PBES2-AES256-CBC/);
    } else {
      assert.match(out, /MAC: SHA1/);
      assert.match(out, /Schema: PKCS12-3DES-SHA1/);
    }
    assert.match(out, /-----BEGIN ENCRYPTED PRIVATE KEY-----|-----BEGIN PRIVATE KEY-----|Key ID/);
  });

  test(`Java keytool lists the ${kind} .p12 as a PrivateKeyEntry with its chain`, async () => {
    const r = await exec("keytool", ["-list", "-v", "-storetype", "PKCS12", "-keystore", files[kind], "-storepass", PASSWORD]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Alias name: zoë|Alias name: Zoë/i);
    assert.match(r.stdout, /Entry type: PrivateKeyEntry/);
    assert.match(r.stdout, /Certificate chain length: 2/);
    assert.match(r.stdout, /Owner: CN=E2E Root CA, O=pki tests/);
  });
}

test("a wrong password is refused by every reader", async () => {
  const nss = join(work.dir, "nss-wrong");
  mkdirSync(nss);
  await exec("certutil", ["-N", "-d", `sql:${nss}`, "--empty-password"]);
  assert.notEqual((await exec("pk12util", ["-i", files.modern, "-d", `sql:${nss}`, "-W", "wrong"])).code, 0);
  assert.notEqual((await exec("certtool", ["--p12-info", "--inder", "--infile", files.modern, "--password", "wrong"])).code, 0);
  assert.notEqual((await exec("keytool", ["-list", "-storetype", "PKCS12", "-keystore", files.modern, "-storepass", "wrong"])).code, 0);
});

test("non-ASCII passwords: pki warns, NSS and GnuTLS read the file, Java refuses it as the warning says", async () => {
  const file = join(work.dir, "zoe-utf8.p12");
  const r = pki(ca.home, ["export-p12", "Zoë", "--out", file], { PKI_P12_PASSWORD: "pässwörd" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: the password has non-ASCII characters; Java \(keytool, JDK clients\) cannot open such files/);
  assert.equal((await exec("certtool", ["--p12-info", "--inder", "--infile", file, "--password", "pässwörd"])).code, 0);
  const nss = join(work.dir, "nss-utf8");
  mkdirSync(nss);
  await exec("certutil", ["-N", "-d", `sql:${nss}`, "--empty-password"]);
  assert.equal((await exec("pk12util", ["-i", file, "-d", `sql:${nss}`, "-W", "pässwörd"])).code, 0);
  const java = await exec("keytool", ["-list", "-storetype", "PKCS12", "-keystore", file, "-storepass", "pässwörd"], { ...process.env, LC_ALL: "C.UTF-8" });
  assert.notEqual(java.code, 0);
});

test("the .p7b from export-cert --format p7b: Java keytool and GnuTLS certtool read the certificate and its CA", async () => {
  const p7b = join(work.dir, "zoe.p7b");
  pkiJson(ca.home, ["export-cert", "Zoë", "--format", "p7b", "--out", p7b]);
  const java = await exec("keytool", ["-printcert", "-file", p7b]);
  assert.equal(java.code, 0, java.stdout + java.stderr);
  assert.deepEqual([...java.stdout.matchAll(/^Owner: (.*)$/gm)].map((m) => m[1]), ["CN=Zoë", "CN=E2E Root CA, O=pki tests"]);
  const gnutls = await exec("certtool", ["--p7-info", "--inder", "--infile", p7b]);
  assert.equal(gnutls.code, 0, gnutls.stderr);
  assert.match(gnutls.stdout, /Number of certificates: 2/);
});
