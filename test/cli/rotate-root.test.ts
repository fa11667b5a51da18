import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const ca = join(home, "ca.pem");
const crl = join(home, "crl.pem");

interface Issued {
  serial: string;
  certificate: string;
}
interface View {
  name: string;
  serial: string;
  kind: string;
  status: string;
  root?: string;
}

/** A G1 certificate, copied out of the home (renewal replaces certs/NAME.pem). */
function issueOld(name: string): Issued {
  const issued = pkiJson<Issued>(home, ["issue-client", name]);
  const copy = join(work.dir, `${name}-g1.pem`);
  writeFileSync(copy, readFileSync(issued.certificate));
  return { serial: issued.serial, certificate: copy };
}
const alice = issueOld("alice");
const bob = issueOld("bob");
const carol = issueOld("carol");
const g1 = readFileSync(ca, "utf8");

/** The PEM blocks of a file, in order. */
function blocks(file: string, label: string): string[] {
  return readFileSync(file, "utf8").match(new RegExp(`-----BEGIN ${label}-----\\n[^-]+-----END ${label}-----\\n`, "g")) ?? [];
}

/** Each block of a bundle in its own file, for openssl commands that read only the first one. */
function split(file: string, label: string, prefix: string): string[] {
  return blocks(file, label).map((b, i) => {
    const p = join(work.dir, `${prefix}-${i}.pem`);
    writeFileSync(p, b);
    return p;
  });
}

function verify(cert: string, caFile = ca, crlFile = crl) {
  return openssl(["verify", "-crl_check", "-CAfile", caFile, "-CRLfile", crlFile, cert]);
}

function subjectOf(file: string): string {
  return openssl(["x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253"]).stdout.trim().replace(/^subject=/, "");
}

/** Issuer, number and revoked serials of the one CRL in `file`, verified against `caFile`. */
function crlInfo(file: string, caFile: string): { issuer: string; number: number; serials: string[] } {
  const r = openssl(["crl", "-in", file, "-CAfile", caFile, "-noout", "-text", "-nameopt", "RFC2253"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  return {
    issuer: /Issuer: (.*)/.exec(r.stdout)![1]!.trim(),
    number: Number(/X509v3 CRL Number: \s*\n\s+(\d+)/.exec(r.stdout)![1]),
    serials: [...r.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase()),
  };
}

test("rotate-root: a new pathlen-0 root named for its generation, both roots in ca.pem (new first), both CRLs in crl.pem", () => {
  const r = pkiJson<{ root: { serial: string; name: string; generation: string }; previous: { generation: string; dependents: number } }>(home, ["rotate-root"]);
  assert.equal(r.root.name, "Test Root CA G2");
  assert.equal(r.root.generation, "G2");
  assert.deepEqual({ ...r.previous, serial: undefined, name: undefined }, { generation: "G1", dependents: 3, serial: undefined, name: undefined });

  const roots = split(ca, "CERTIFICATE", "root");
  assert.equal(roots.length, 2);
  assert.equal(subjectOf(roots[0]!), "CN=Test Root CA G2,O=Test Org,C=NL");
  assert.equal(subjectOf(roots[1]!), "CN=Test Root CA,O=Test Org,C=NL");
  assert.equal(blocks(ca, "CERTIFICATE")[1], g1, "the old root is unchanged");
  const text = openssl(["x509", "-in", roots[0]!, "-noout", "-text"]).stdout;
  assert.match(text, /CA:TRUE, pathlen:0/);
  assert.equal(openssl(["verify", "-CAfile", roots[0]!, roots[0]!]).status, 0, "self-signed");
  // Its key is sealed in the ledger under the CA passphrase, like the first root's.
  const shown = pkiJson<{ hasKey: boolean; kind: string; root: string }>(home, ["show", r.root.serial]);
  assert.deepEqual([shown.kind, shown.hasKey, shown.root], ["root", true, "G2"]);

  const crls = split(crl, "X509 CRL", "crl");
  assert.equal(crls.length, 2);
  const newer = crlInfo(crls[0]!, roots[0]!);
  const older = crlInfo(crls[1]!, roots[1]!);
  assert.equal(newer.issuer, "CN=Test Root CA G2,O=Test Org,C=NL");
  assert.equal(older.issuer, "CN=Test Root CA,O=Test Org,C=NL");
  assert.ok(newer.number > older.number, "one shared sequence: the current root's CRL is the newest");
  for (const c of [alice, bob, carol]) assert.equal(verify(c.certificate).status, 0, `${c.certificate} still verifies against the bundle`);
});

test("new certificates come from the new root; list and show say which root signed what", () => {
  const dave = pkiJson<Issued>(home, ["issue-client", "dave"]);
  assert.match(openssl(["x509", "-in", dave.certificate, "-noout", "-issuer"]).stdout, /Test Root CA G2/);
  assert.equal(verify(dave.certificate).status, 0);
  const views = pkiJson<View[]>(home, ["list"]);
  const rootOf = (name: string) => views.filter((v) => v.name === name && v.kind !== "root").map((v) => v.root);
  assert.deepEqual(rootOf("alice"), ["G1"]);
  assert.deepEqual(rootOf("dave"), ["G2"]);
  const table = pki(home, ["list"]);
  assert.match(table.stdout.split("\n")[0]!, /\bROOT\b/);
  assert.match(table.stdout, /dave\s.*\sG2\s/);
  assert.match(pki(home, ["show", "alice"]).stdout, /^root:\s+G1$/m);
});

test("renew moves a certificate to the new root; a revoked old one is in the old root's CRL only and openssl refuses it", () => {
  const renewed = pkiJson<Issued>(home, ["renew", "alice"]);
  assert.match(openssl(["x509", "-in", renewed.certificate, "-noout", "-issuer"]).stdout, /Test Root CA G2/);
  assert.equal(verify(renewed.certificate).status, 0);
  assert.equal(verify(alice.certificate).status, 0, "the superseded G1 certificate still works until it expires");

  pkiJson(home, ["revoke", "bob"]);
  const roots = split(ca, "CERTIFICATE", "root");
  const crls = split(crl, "X509 CRL", "crl");
  assert.deepEqual(crlInfo(crls[1]!, roots[1]!).serials, [bob.serial]);
  assert.deepEqual(crlInfo(crls[0]!, roots[0]!).serials, []);
  const v = verify(bob.certificate);
  assert.notEqual(v.status, 0);
  assert.match(v.stdout + v.stderr, /certificate revoked/);
  assert.equal(verify(carol.certificate).status, 0);
});

test("a second rotation during the overlap, a DER CRL copy, and --finish while certificates depend on the old root are refused, changing nothing", () => {
  const before = snapshot(home);
  const again = pki(home, ["--json", "rotate-root"]);
  assert.equal(again.status, 4);
  assert.equal(JSON.parse(again.stdout).error.code, "ROTATION_IN_PROGRESS");

  const der = pki(home, ["--json", "crl", "--out", join(work.dir, "crl.der"), "--format", "der"]);
  assert.equal(der.status, 2);
  assert.equal(JSON.parse(der.stdout).error.code, "CRL_DER_OVERLAP");

  const finish = pki(home, ["rotate-root", "--finish"]);
  assert.equal(finish.status, 4);
  // alice's superseded G1 certificate and carol's still work: bob's is revoked and does not count.
  assert.match(finish.stderr, /^pki: rotate-root: 2 valid certificate\(s\) still depend on the G1 root "Test Root CA" \("alice", "carol"\)/);
  assert.equal(finish.stderr.trim().split("\n").length, 1);
  const forced = pki(home, ["--json", "rotate-root", "--finish", "--force"]);
  assert.equal(forced.status, 2);
  assert.equal(JSON.parse(forced.stdout).error.code, "CONFIRMATION_NEEDED");
  assert.deepEqual(snapshot(home), before);
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
});

test("rotate-root --status and pki check report the overlap; audit --verify authenticates the whole history across the rotation", () => {
  const status = pkiJson<{ roots: { generation: string; status: string; dependents: number }[] }>(home, ["rotate-root", "--status"]);
  assert.deepEqual(status.roots.map((r) => [r.generation, r.status, r.dependents]), [["G1", "overlap", 2], ["G2", "current", 2]]);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /root rotation under way: G2 "Test Root CA G2" signs, G1 "Test Root CA" is still trusted .* with 2 valid certificate\(s\) left/);
  assert.match(check.stdout, /output files match the ledger/);
  const audit = pki(home, ["audit", "--verify"]);
  assert.equal(audit.status, 0, audit.stdout + audit.stderr);
  assert.match(audit.stdout, /authenticated with the CA key/);
});

test("backup and restore carry both roots: the restored home verifies, trusts both and signs with the new one", () => {
  const file = join(work.dir, "rotated.pkibak");
  assert.equal(pki(home, ["backup", file]).status, 0);
  const restored = join(work.dir, "restored");
  const r = pki(restored, ["restore", file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(restored, "ca.pem"), "utf8"), readFileSync(ca, "utf8"));
  assert.equal(readFileSync(join(restored, "crl.pem"), "utf8"), readFileSync(crl, "utf8"));
  assert.equal(pki(restored, ["audit", "--verify"]).status, 0);
  const erin = pkiJson<Issued>(restored, ["issue-client", "erin"]);
  assert.match(openssl(["x509", "-in", erin.certificate, "-noout", "-issuer"]).stdout, /Test Root CA G2/);
  assert.equal(verify(erin.certificate, join(restored, "ca.pem"), join(restored, "crl.pem")).status, 0);
});

test("--finish once nothing valid depends on the old root: ca.pem and crl.pem hold only the new root's, old certificates stop verifying", () => {
  pkiJson(home, ["renew", "carol"]);
  pkiJson(home, ["revoke", "--serial", alice.serial]);
  pkiJson(home, ["revoke", "--serial", carol.serial]);
  const r = pkiJson<{ retired: { generation: string; cutOff: number }[]; current: { generation: string } }>(home, ["rotate-root", "--finish"]);
  assert.deepEqual(r.retired.map((x) => [x.generation, x.cutOff]), [["G1", 0]]);
  assert.equal(r.current.generation, "G2");
  assert.equal(blocks(ca, "CERTIFICATE").length, 1);
  assert.equal(subjectOf(ca), "CN=Test Root CA G2,O=Test Org,C=NL");
  assert.equal(blocks(crl, "X509 CRL").length, 1);
  assert.equal(crlInfo(crl, ca).issuer, "CN=Test Root CA G2,O=Test Org,C=NL");
  assert.notEqual(verify(carol.certificate).status, 0, "a G1 certificate no longer verifies");
  for (const name of ["alice", "carol", "dave"]) assert.equal(verify(join(home, "certs", `${name}.pem`)).status, 0, name);
  // The next CRL is the new root's alone.
  assert.equal(pki(home, ["crl"]).status, 0);
  assert.equal(blocks(crl, "X509 CRL").length, 1);
  assert.equal(pki(home, ["rotate-root", "--status"]).stdout.split("\n")[0]!.includes("retired"), true);
  const finishAgain = pki(home, ["--json", "rotate-root", "--finish"]);
  assert.equal(finishAgain.status, 4);
  assert.equal(JSON.parse(finishAgain.stdout).error.code, "NO_ROTATION");
  assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout);
  assert.doesNotMatch(check.stdout, /rotation under way/);
});

test("--finish --force --yes cuts off the certificates still under the old root and says how many", () => {
  const other = initHome();
  try {
    pkiJson(other.home, ["issue-client", "frank"]);
    const grace = pkiJson<Issued>(other.home, ["issue-client", "grace"]);
    pkiJson(other.home, ["rotate-root", "--key", "ec-p384"]);
    const r = pki(other.home, ["rotate-root", "--finish", "--force", "--yes"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Retired the G1 root "Test Root CA" \(serial [0-9a-f]+\), cutting off 2 valid certificates\./);
    assert.notEqual(verify(grace.certificate, join(other.home, "ca.pem"), join(other.home, "crl.pem")).status, 0);
    assert.match(openssl(["x509", "-in", join(other.home, "ca.pem"), "-noout", "-text"]).stdout, /NIST CURVE: P-384|secp384r1/);
    const events = pkiJson<{ action: string; details: { cutOff?: number; forced?: boolean } }[]>(other.home, ["audit"]);
    const retired = events.find((e) => e.action === "root-retired")!;
    assert.deepEqual([retired.details.cutOff, retired.details.forced], [2, true]);
    assert.equal(pki(other.home, ["audit", "--verify"]).status, 0);
  } finally {
    other.cleanup();
  }
});
