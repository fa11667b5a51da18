import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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
const alice = pkiJson<{ serial: string; certificate: string }>(home, ["issue-client", "alice"]);
const bob = pkiJson<{ serial: string; certificate: string }>(home, ["issue-client", "bob"]);

function crlText(): string {
  const r = openssl(["crl", "-in", crl, "-CAfile", ca, "-noout", "-text"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  return r.stdout;
}

function crlNumber(): number {
  return Number(/X509v3 CRL Number: \s*\n\s+(\d+)/.exec(crlText())![1]);
}

test("before revocation, openssl verify -crl_check accepts alice", () => {
  const r = openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, alice.certificate]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("revoke alice --reason keyCompromise: CRL regenerated, signed, numbered, reason recorded; openssl refuses alice", () => {
  const n = crlNumber();
  const j = pkiJson(home, ["revoke", "alice", "--reason", "keyCompromise"]);
  assert.equal(j.serial, alice.serial);
  assert.equal(j.reason, "keyCompromise");
  assert.equal(j.crl, crl);
  assert.equal(j.crlNumber, n + 1);
  const text = crlText();
  assert.match(readFileSync(crl, "utf8"), /^-----BEGIN X509 CRL-----\n/);
  assert.match(text, new RegExp(`Serial Number: ${alice.serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code: \\s*\\n\\s+Key Compromise`));
  assert.match(text, /X509v3 Authority Key Identifier/);
  assert.match(text, /Next Update: /);
  assert.equal(crlNumber(), n + 1);
  const v = openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, alice.certificate]);
  assert.notEqual(v.status, 0);
  assert.match(v.stdout + v.stderr, /certificate revoked/);
  const b = openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, bob.certificate]);
  assert.equal(b.status, 0, "bob is unaffected");
});

test("revoking by serial (openssl's colon form too) and an unspecified reason omits the reason code", () => {
  const colon = bob.serial.toUpperCase().match(/../g)!.join(":");
  const r = pki(home, ["revoke", colon]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Revoked "CN=bob"/);
  const text = crlText();
  const entry = text.split("Serial Number: ").find((s) => s.startsWith(bob.serial.toUpperCase()))!;
  assert.doesNotMatch(entry.split("Serial Number")[0]!, /Reason Code/);
});

test("revoking again is a conflict; unknown targets and the root are refused; nothing changes", () => {
  const before = snapshot(home);
  const cases: [string[], number, RegExp][] = [
    [["revoke", "alice"], 4, /is already revoked/],
    [["revoke", "nobody"], 3, /no certificate with name or serial "nobody"/],
    [["revoke", "Test Root CA"], 6, /the root CA cannot revoke itself/],
    [["revoke", "alice", "--reason", "becauseISaidSo"], 2, /Allowed choices are unspecified, keyCompromise/],
  ];
  for (const [args, code, why] of cases) {
    const r = pki(home, args);
    assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before);
});

test("pki crl: a new number each time, --days sets nextUpdate, --out writes a copy, output says when it expires", () => {
  const n = crlNumber();
  const out = join(work.dir, "copy.pem");
  const r = pki(home, ["crl", "--days", "7", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /It expires \d{4}-\d\d-\d\d \d\d:\d\d UTC; after that nginx refuses every client/);
  assert.equal(crlNumber(), n + 1);
  assert.equal(readFileSync(out, "utf8"), readFileSync(crl, "utf8"));
  const j = pkiJson(home, ["crl"]);
  assert.equal(j.number, n + 2);
  assert.equal(j.revoked, 2);
  const days = (Date.parse(j.nextUpdate as string) - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days < 30.1, `default 30 days, got ${days}`);
  const next = /Next Update: (.*)/.exec(crlText())![1]!;
  assert.equal(new Date(next).toISOString().slice(0, 16), (j.nextUpdate as string).slice(0, 16));
});

test("a wrong passphrase leaves the CRL and ledger untouched", () => {
  const before = snapshot(home);
  const r = pki(home, ["crl"], { PKI_PASSPHRASE: "definitely wrong" });
  assert.equal(r.status, 5);
  assert.deepEqual(snapshot(home), before);
});
