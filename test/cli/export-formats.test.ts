import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, pki, pkiJson, run, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const ca = join(home, "ca.pem");
const alice = pkiJson<{ serial: string; certificate: string }>(home, ["issue-client", "alice"]);
const out = (file: string) => join(work.dir, file);

function subjects(text: string): string[] {
  return [...text.matchAll(/^subject=(.*)$/gm)].map((m) => m[1]!.replace(/\s/g, ""));
}

test("export-cert --format pem and der: the same certificate, read by openssl x509 (-inform der)", () => {
  const pem = pki(home, ["export-cert", "alice"]);
  assert.equal(pem.status, 0, pem.stderr);
  assert.equal(pem.stdout, readFileSync(alice.certificate, "utf8"));
  const j = pkiJson(home, ["export-cert", "alice", "--format", "der", "--out", out("alice.cer")]);
  assert.deepEqual(j, { file: out("alice.cer"), name: "alice", serial: alice.serial, format: "der" });
  assert.equal(mode(out("alice.cer")), 0o644);
  const der = openssl(["x509", "-inform", "der", "-in", out("alice.cer"), "-noout", "-serial", "-subject"]);
  assert.equal(der.status, 0, der.stderr);
  assert.match(der.stdout, new RegExp(`serial=${alice.serial.toUpperCase()}`));
  const same = run("openssl", ["x509", "-in", alice.certificate, "-outform", "der", "-out", out("openssl.der")]);
  assert.equal(same.status, 0);
  assert.deepEqual(readFileSync(out("alice.cer")), readFileSync(out("openssl.der")), "byte for byte what openssl writes");
});

test("export-cert --format chain is the CA alone, fullchain the certificate then the CA; openssl verify accepts the pair", () => {
  pkiJson(home, ["export-cert", "alice", "--format", "chain", "--out", out("chain.pem")]);
  assert.equal(readFileSync(out("chain.pem"), "utf8"), readFileSync(ca, "utf8"));
  pkiJson(home, ["export-cert", "alice", "--format", "fullchain", "--out", out("full.pem")]);
  const full = readFileSync(out("full.pem"), "utf8");
  assert.equal(full, readFileSync(alice.certificate, "utf8") + readFileSync(ca, "utf8"));
  const v = openssl(["verify", "-CAfile", out("chain.pem"), out("full.pem")]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test("export-cert --format p7b: a DER certs-only PKCS#7 that openssl pkcs7 -print_certs lists, leaf then CA", () => {
  pkiJson(home, ["export-cert", "alice", "--format", "p7b", "--out", out("alice.p7b")]);
  const r = openssl(["pkcs7", "-inform", "der", "-in", out("alice.p7b"), "-print_certs", "-noout"]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(subjects(r.stdout), ["CN=alice", "C=NL,O=TestOrg,CN=TestRootCA"]);
  const asn = openssl(["asn1parse", "-inform", "der", "-in", out("alice.p7b")]);
  assert.match(asn.stdout, /:pkcs7-signedData/);
  assert.match(asn.stdout, /:pkcs7-data\n/, "no eContent follows the content type: certs-only");
  // The root's own p7b holds it once.
  pkiJson(home, ["export-cert", "Test Root CA", "--format", "p7b", "--out", out("root.p7b")]);
  const root = openssl(["pkcs7", "-inform", "der", "-in", out("root.p7b"), "-print_certs", "-noout"]);
  assert.equal(subjects(root.stdout).length, 1);
});

test("export-cert refusals: unknown name or format, --json without --out; nothing written", () => {
  const before = snapshot(work.dir);
  const cases: [string[], number, RegExp][] = [
    [["export-cert", "nobody"], 3, /no certificate with name or serial "nobody"/],
    [["export-cert", "alice", "--format", "pfx"], 2, /Allowed choices are pem, der, chain, fullchain, p7b/],
    [["--json", "export-cert", "alice"], 2, /give --out FILE/],
  ];
  for (const [args, code, why] of cases) {
    const r = pki(home, args);
    assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(work.dir), before);
});

test("pki crl --out F --format der: a DER copy that openssl crl -inform der verifies against the CA; crl.pem stays PEM", () => {
  const j = pkiJson(home, ["crl", "--out", out("root.crl"), "--format", "der"]);
  assert.equal(j.out, out("root.crl"));
  assert.equal(j.format, "der");
  const r = openssl(["crl", "-inform", "der", "-in", out("root.crl"), "-CAfile", ca, "-verify", "-noout", "-crlnumber"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /verify OK/);
  assert.match(r.stdout, new RegExp(`crlNumber=0x${(j.number as number).toString(16).toUpperCase().padStart(2, "0")}`));
  assert.match(readFileSync(join(home, "crl.pem"), "utf8"), /^-----BEGIN X509 CRL-----/);
  assert.equal(mode(out("root.crl")), 0o644);
});

test("pki crl --format without --out is a usage error naming --out; nothing changes", () => {
  const before = snapshot(home);
  const r = pki(home, ["crl", "--format", "der"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--format applies to the copy: give --out FILE too/);
  assert.deepEqual(snapshot(home), before);
});

test("pki revoke --crl-out F [--crl-format der]: the copy lists the revoked serial and verifies", () => {
  const bob = pkiJson<{ serial: string }>(home, ["issue-client", "bob"]);
  const j = pkiJson(home, ["revoke", "bob", "--crl-out", out("after-bob.crl"), "--crl-format", "der"]);
  assert.equal(j.crlOut, out("after-bob.crl"));
  const r = openssl(["crl", "-inform", "der", "-in", out("after-bob.crl"), "-CAfile", ca, "-verify", "-noout", "-text"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Serial Number: ${bob.serial.toUpperCase()}`));
  pkiJson(home, ["issue-client", "carol"]);
  pkiJson(home, ["revoke", "carol", "--crl-out", out("after-carol.pem")]);
  assert.equal(readFileSync(out("after-carol.pem"), "utf8"), readFileSync(join(home, "crl.pem"), "utf8"));
});

test("a copy that cannot be written (no such folder) fails the whole revocation: the ledger and every file stay as they were", () => {
  pkiJson(home, ["issue-client", "dan"]);
  const before = snapshot(home);
  const r = pki(home, ["revoke", "dan", "--crl-out", join(work.dir, "missing", "crl.pem")]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /missing\/crl\.pem: no such file or directory/);
  assert.deepEqual(snapshot(home), before);
  assert.equal(pkiJson<{ status: string }>(home, ["show", "dan"]).status, "valid");
});

test("export-cert over an existing file keeps that file's mode (a server's 0640 copy stays 0640)", () => {
  const file = out("kept.pem");
  writeFileSync(file, "old\n", { mode: 0o640 });
  chmodSync(file, 0o640);
  pkiJson(home, ["export-cert", "alice", "--out", file]);
  assert.equal(mode(file), 0o640);
  assert.equal(readFileSync(file, "utf8"), readFileSync(alice.certificate, "utf8"));
});

test("--mode (and --owner, --group) apply to export-cert --out, revoke --crl-out and unrevoke --crl-out; without the file they are a usage error", () => {
  pkiJson(home, ["export-cert", "alice", "--out", out("alice-0640.pem"), "--mode", "0640"]);
  assert.equal(mode(out("alice-0640.pem")), 0o640);
  pkiJson(home, ["issue-client", "mona"]);
  pkiJson(home, ["revoke", "mona", "--reason", "certificateHold", "--crl-out", out("held.crl"), "--crl-format", "der", "--mode", "0640"]);
  assert.equal(mode(out("held.crl")), 0o640);
  pkiJson(home, ["unrevoke", "mona", "--crl-out", out("released.pem"), "--mode", "0600"]);
  assert.equal(mode(out("released.pem")), 0o600);
  const before = snapshot(home);
  for (const args of [["export-cert", "alice", "--mode", "0640"], ["revoke", "mona", "--mode", "0640"], ["unrevoke", "mona", "--group", "0"]]) {
    const r = pki(home, ["--json", ...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(JSON.parse(r.stdout).error.message, /--owner, --group and --mode apply to the --(crl-)?out file/);
  }
  assert.deepEqual(snapshot(home), before);
});
