// `pki serve --ocsp-signer delegated`: answers signed by a short-lived responder certificate the
// root issued for OCSP alone, checked by openssl ocsp trusting only ca.pem; the certificate is in
// the ledger like any issuance, is no good for TLS, and is renewed by serve before it lapses.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { initHome, openssl, pki, pkiJson, tempDir } from "../helpers.js";
import { http, type Served, startServe } from "./helpers.js";

let home: string;
let cleanup: () => void;
let served: Served;
const scratch = tempDir("pki-delegated-");
const f = (n: string) => join(scratch.dir, n);

before(async () => {
  ({ home, cleanup } = initHome());
  for (const n of ["alice", "bob"]) pkiJson(home, ["issue-client", n]);
  pkiJson(home, ["revoke", "bob", "--reason", "keyCompromise"]);
  // The shortest lifetime the setting takes, so the renewal (at a third left: 20 s) happens in the test.
  pkiJson(home, ["config", "set", "ocsp-signer-lifetime", "1m"]);
  served = await startServe(home, {}, ["--ocsp-signer", "delegated"]);
});
after(async () => {
  await served?.stop();
  cleanup();
  scratch.cleanup();
});

interface Shown {
  serial: string;
  status: string;
  hasKey: boolean;
  supersededBy: string | null;
}

/** The responder certificate's SHA-1 key hash, as `openssl ocsp -resp_text` prints the Responder Id. */
function keyHash(certPem: string): string {
  writeFileSync(f("responder.pem"), certPem);
  const pub = openssl(["x509", "-in", f("responder.pem"), "-noout", "-pubkey"]).stdout;
  writeFileSync(f("responder.pub"), pub);
  const der = openssl(["pkey", "-pubin", "-in", f("responder.pub"), "-outform", "DER", "-out", f("responder.pub.der")]);
  assert.equal(der.status, 0, der.stderr);
  // The BIT STRING's content of a P-256 SubjectPublicKeyInfo is its last 65 bytes.
  const bits = readFileSync(f("responder.pub.der")).subarray(-65);
  writeFileSync(f("bits"), bits);
  return /([0-9a-f]{40})/i.exec(openssl(["dgst", "-sha1", f("bits")]).stdout)![1]!.toUpperCase();
}

function ocsp(args: string[]): string {
  const r = openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-url", `${served.url}/ocsp`, "-CAfile", join(home, "ca.pem"), "-resp_text", ...args]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Response verify OK/);
  return r.stdout;
}

const cert = (n: string) => ["-cert", join(home, "certs", `${n}.pem`)];

/** The serial of the certificate an answer carries, as -resp_text prints it (aa:bb:...). */
function carried(text: string): string {
  return /Serial Number:\s*\n\s*([0-9a-f:]+)\n/.exec(text)![1]!.replace(/:/g, "");
}

test("openssl ocsp trusting only ca.pem: good, revoked and unknown, with and without a nonce (POST), signed by the delegated responder", () => {
  const caId = keyHash(readFileSync(join(home, "ca.pem"), "utf8"));
  for (const nonce of ["-nonce", "-no_nonce"]) {
    const good = ocsp([...cert("alice"), nonce]);
    assert.match(good, /Cert Status: good/);
    // Signed by the delegated key (the Responder Id is its key hash, not the CA's), its certificate sent along.
    assert.doesNotMatch(good, new RegExp(`Responder Id: ${caId}`));
    assert.match(good, /Responder Id: [0-9A-F]{40}/);
    assert.match(good, /OCSP Signing/);
    assert.match(good, /OCSP No Check/);
    assert.equal(pkiJson<{ name: string }>(home, ["show", carried(good)]).name, "pki-ocsp-responder");
    if (nonce === "-nonce") assert.match(good, /OCSP Nonce/);
    else assert.doesNotMatch(good, /OCSP Nonce/);
    const revoked = ocsp([...cert("bob"), nonce]);
    assert.match(revoked, /Cert Status: revoked/);
    assert.match(revoked, /Reason: keyCompromise/);
    assert.match(ocsp(["-serial", "0x0123456789abcdef", nonce]), /Cert Status: unknown/);
  }
});

test("GET /ocsp/{base64}: the delegated answer verifies against ca.pem alone", async () => {
  for (const [n, status] of [["alice", "good"], ["bob", "revoked"]] as const) {
    openssl(["ocsp", "-issuer", join(home, "ca.pem"), ...cert(n), "-no_nonce", "-reqout", f(`${n}-req.der`)]);
    const r = await http(`${served.url}/ocsp/${encodeURIComponent(readFileSync(f(`${n}-req.der`)).toString("base64"))}`);
    assert.equal(r.status, 200);
    writeFileSync(f(`${n}-resp.der`), r.body);
    const v = openssl(["ocsp", "-reqin", f(`${n}-req.der`), "-respin", f(`${n}-resp.der`), "-CAfile", join(home, "ca.pem"), "-issuer", join(home, "ca.pem"), "-resp_text"]);
    assert.match(v.stdout + v.stderr, /Response verify OK/);
    assert.match(v.stdout, new RegExp(`Cert Status: ${status}`));
    assert.match(v.stdout, /OCSP Signing/);
  }
});

test("the responder certificate is in the ledger (list, show, audit), holds no stored key, and is refused for TLS client or server auth", () => {
  const listed = pkiJson<{ name: string; hasKey: boolean }[]>(home, ["list"]);
  assert.ok(listed.some((c) => c.name === "pki-ocsp-responder" && !c.hasKey));
  const issued = pkiJson<{ action: string; details: { name?: string } }[]>(home, ["audit"]).filter((e) => e.details.name === "pki-ocsp-responder");
  assert.equal(issued[0]?.action, "issued");
  const text = openssl(["x509", "-in", join(home, "certs", "pki-ocsp-responder.pem"), "-noout", "-text"]).stdout;
  assert.match(text, /Extended Key Usage: *\n *OCSP Signing\n/);
  assert.doesNotMatch(text, /TLS Web (Client|Server) Authentication/);
  for (const purpose of ["sslclient", "sslserver"]) {
    const v = openssl(["verify", "-CAfile", join(home, "ca.pem"), "-purpose", purpose, join(home, "certs", "pki-ocsp-responder.pem")]);
    assert.notEqual(v.status, 0, `valid for ${purpose}`);
    assert.match(v.stdout + v.stderr, /unsuitable certificate purpose/);
  }
  assert.equal(openssl(["verify", "-CAfile", join(home, "ca.pem"), "-purpose", "ocsphelper", join(home, "certs", "pki-ocsp-responder.pem")]).status, 0);
  const check = pki(home, ["check"]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
});

test("serve renews the responder certificate when a third of its lifetime remains; answers are signed by the new one", async () => {
  const first = pkiJson<Shown>(home, ["show", "pki-ocsp-responder"]);
  const renewed = /ocsp responder certificate issued serial=([0-9a-f]+)/;
  for (let i = 0; i < 900 && !renewed.test(served.log()); i++) await new Promise((r) => setTimeout(r, 100));
  const serial = renewed.exec(served.log())?.[1];
  assert.ok(serial, `no renewal within 90 s:\n${served.log()}`);
  assert.notEqual(serial, first.serial);
  const now = pkiJson<Shown>(home, ["show", "pki-ocsp-responder"]);
  assert.equal(now.serial, serial);
  const old = pkiJson<Shown>(home, ["show", first.serial]);
  assert.equal(old.status, "superseded");
  assert.equal(old.supersededBy, serial);
  const events = pkiJson<{ action: string; serial: string; details: { replaces?: string } }[]>(home, ["audit"]);
  assert.ok(events.some((e) => e.action === "renewed" && e.serial === serial && e.details.replaces === first.serial));
  const answer = ocsp([...cert("alice")]);
  assert.match(answer, /Cert Status: good/);
  assert.match(answer, new RegExp(`Responder Id: ${keyHash(readFileSync(join(home, "certs", "pki-ocsp-responder.pem"), "utf8"))}`));
  assert.equal(carried(answer), serial);
});

test("a revoked responder certificate is replaced at the next check, well before it would be due", async () => {
  const current = pkiJson<Shown>(home, ["show", "pki-ocsp-responder"]);
  const issued = () => [...served.log().matchAll(/ocsp responder certificate issued serial=([0-9a-f]+)/g)].map((m) => m[1]);
  const before = issued().length;
  pkiJson(home, ["revoke", "--serial", current.serial, "--reason", "keyCompromise"]);
  // Checks come every tenth of the 1-minute lifetime (6 s); the next renewal would be due 40 s after the last.
  for (let i = 0; i < 200 && issued().length === before; i++) await new Promise((r) => setTimeout(r, 100));
  const next = issued()[before];
  assert.ok(next, `not replaced within 20 s:\n${served.log()}`);
  assert.notEqual(next, current.serial);
  assert.equal(pkiJson<Shown>(home, ["show", "pki-ocsp-responder"]).serial, next);
  assert.equal(carried(ocsp([...cert("alice")])), next);
});

test("a name already held by another certificate is refused at start (NAME_TAKEN), before listening", () => {
  const other = initHome();
  try {
    pkiJson(other.home, ["issue-client", "pki-ocsp-responder"]);
    const r = pki(other.home, ["--json", "serve", "--http", "127.0.0.1:0", "--ocsp-signer", "delegated"]);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /"pki-ocsp-responder" is the name of a certificate that is not pki's OCSP responder/);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "NAME_TAKEN");
  } finally {
    other.cleanup();
  }
});
