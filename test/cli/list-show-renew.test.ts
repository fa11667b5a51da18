import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);
const ca = join(home, "ca.pem");

interface Row {
  name: string;
  kind: string;
  serial: string;
  subject: string;
  status: string;
  notAfter: string;
}

const alice = pkiJson<{ serial: string }>(home, ["issue-client", "alice", "--email", "alice@example.com"]);
const bob = pkiJson<{ serial: string }>(home, ["issue-client", "bob", "--days", "10"]);
pkiJson(home, ["issue-client", "carol"]);
pkiJson(home, ["revoke", "carol"]);

test("list --json: every certificate with name, serial, subject, status, notAfter", () => {
  const rows = pkiJson<Row[]>(home, ["list"]);
  assert.deepEqual(rows.map((r) => [r.name, r.kind, r.status]), [
    ["Test Root CA", "root", "valid"],
    ["alice", "client", "valid"],
    ["bob", "client", "valid"],
    ["carol", "client", "revoked"],
  ]);
  for (const r of rows) {
    assert.match(r.serial, /^[0-9a-f]+$/);
    assert.ok(!Number.isNaN(Date.parse(r.notAfter)));
  }
});

test("list filters: --status and --expiring", () => {
  assert.deepEqual(pkiJson<Row[]>(home, ["list", "--status", "revoked"]).map((r) => r.name), ["carol"]);
  assert.deepEqual(pkiJson<Row[]>(home, ["list", "--expiring", "30"]).map((r) => r.name), ["bob"]);
  assert.deepEqual(pkiJson<Row[]>(home, ["list", "--status", "expired"]), []);
});

test("list prints a readable table without colour when not on a terminal", () => {
  const r = pki(home, ["list"]);
  assert.equal(r.status, 0);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0]!, /^NAME\s+KIND\s+STATUS\s+EXPIRES\s+SERIAL\s+SUBJECT$/);
  assert.match(r.stdout, new RegExp(`alice\\s+client\\s+valid\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+${alice.serial}\\s+CN=alice`));
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});

test("show by name and by serial; --pem is the certificate; --json includes the PEM", () => {
  const byName = pki(home, ["show", "alice"]);
  assert.equal(byName.status, 0);
  assert.match(byName.stdout, /status:\s+valid/);
  assert.match(byName.stdout, /subjectAltName:\s+email:alice@example.com/);
  const bySerial = pkiJson(home, ["show", bob.serial]);
  assert.equal(bySerial.name, "bob");
  const pem = pki(home, ["show", "alice", "--pem"]).stdout;
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
  assert.equal(openssl(["x509", "-noout", "-serial"], pem).stdout.trim(), `serial=${alice.serial.toUpperCase()}`);
  assert.match(bySerial.pem as string, /BEGIN CERTIFICATE/);
  const missing = pki(home, ["show", "zed"]);
  assert.equal(missing.status, 3);
});

test("renew: new serial and new key for the same subject; the old one is superseded and stays valid until --revoke-old", () => {
  const oldPub = openssl(["x509", "-noout", "-pubkey"], pki(home, ["show", "alice", "--pem"]).stdout).stdout;
  const j = pkiJson<{ serial: string; subject: string; certificate: string; previous: { serial: string; status: string }; crl: string | null }>(home, ["renew", "alice"]);
  assert.notEqual(j.serial, alice.serial);
  assert.equal(j.subject, "CN=alice");
  assert.deepEqual(j.previous, { serial: alice.serial, status: "superseded" });
  assert.equal(j.crl, null);
  const newPub = openssl(["x509", "-in", j.certificate, "-noout", "-pubkey"]).stdout;
  assert.notEqual(newPub, oldPub, "new key by default");
  const text = openssl(["x509", "-in", j.certificate, "-noout", "-text"]).stdout;
  assert.match(text, /email:alice@example.com/, "extensions carried over");
  assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", ca, j.certificate]).status, 0);
  const rows = pkiJson<Row[]>(home, ["list"]).filter((r) => r.name === "alice");
  assert.deepEqual(rows.map((r) => r.status), ["superseded", "valid"]);
  const again = pki(home, ["renew", alice.serial]);
  assert.notEqual(again.status, 0, "a superseded certificate cannot be renewed twice");
});

test("renew --revoke-old --reuse-key: old one revoked (superseded) in the CRL, key kept", () => {
  const oldPub = openssl(["x509", "-noout", "-pubkey"], pki(home, ["show", "bob", "--pem"]).stdout).stdout;
  const j = pkiJson<{ certificate: string; previous: { serial: string; status: string }; crl: string | null }>(home, ["renew", "bob", "--revoke-old", "--reuse-key", "--days", "90"]);
  assert.deepEqual(j.previous, { serial: bob.serial, status: "revoked" });
  assert.equal(j.crl, join(home, "crl.pem"));
  assert.equal(openssl(["x509", "-in", j.certificate, "-noout", "-pubkey"]).stdout, oldPub);
  const crl = openssl(["crl", "-in", join(home, "crl.pem"), "-noout", "-text"]).stdout;
  assert.match(crl, new RegExp(`Serial Number: ${bob.serial.toUpperCase()}[\\s\\S]*?Superseded`));
});
