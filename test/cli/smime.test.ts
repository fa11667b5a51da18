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
const message = join(work.dir, "message.txt");
writeFileSync(message, "Subject: quarterly figures\r\n\r\nThe numbers are in.\r\n");

/** An S/MIME certificate from `pki issue-client --profile smime` and its key, in the clear for openssl. */
function smimeIdentity(name: string, extra: string[] = []): { cert: string; key: string } {
  const j = pkiJson<{ certificate: string }>(home, ["issue-client", name, "--profile", "smime", "--email", `${name}@example.com`, ...extra]);
  const key = join(work.dir, `${name}.key`);
  pkiJson(home, ["export-key", name, "--unencrypted", "--out", key]);
  return { cert: j.certificate, key };
}

function text(cert: string): string {
  return openssl(["x509", "-in", cert, "-noout", "-ext", "keyUsage,extendedKeyUsage,subjectAltName"]).stdout;
}

function signAndVerify(id: { cert: string; key: string }, label: string): { status: number; output: string } {
  const signed = join(work.dir, `${label}.signed`);
  const s = openssl(["smime", "-sign", "-signer", id.cert, "-inkey", id.key, "-in", message, "-out", signed]);
  assert.equal(s.status, 0, s.stderr);
  const verified = join(work.dir, `${label}.verified`);
  const v = openssl(["smime", "-verify", "-CAfile", ca, "-in", signed, "-out", verified]);
  if (v.status === 0) assert.equal(readFileSync(verified, "utf8"), readFileSync(message, "utf8"));
  return { status: v.status, output: v.stdout + v.stderr };
}

test("--profile smime (EC): emailProtection, the address as an email SAN, digitalSignature + keyAgreement; openssl smime -sign then -verify with the CA", () => {
  const alice = smimeIdentity("alice");
  const ext = text(alice.cert);
  assert.match(ext, /X509v3 Key Usage: critical\s+Digital Signature, Key Agreement\n/);
  assert.match(ext, /X509v3 Extended Key Usage: \s+E-mail Protection\n/);
  assert.match(ext, /X509v3 Subject Alternative Name: \s+email:alice@example\.com\n/);
  const r = signAndVerify(alice, "alice");
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /Verification successful/);
  // keyAgreement is what ECDH mail encryption (RFC 5753) needs: openssl cms encrypts to her and she decrypts.
  const enc = join(work.dir, "to-alice.p7m");
  assert.equal(openssl(["cms", "-encrypt", "-aes256", "-in", message, "-out", enc, alice.cert]).status, 0);
  const dec = openssl(["cms", "-decrypt", "-in", enc, "-recip", alice.cert, "-inkey", alice.key]);
  assert.equal(dec.status, 0, dec.stderr);
  assert.equal(dec.stdout, readFileSync(message, "utf8"));
});

test("--profile smime with an RSA key: digitalSignature + keyEncipherment; openssl smime signs, verifies, encrypts and decrypts", () => {
  const bob = smimeIdentity("bob", ["--key", "rsa-2048"]);
  assert.match(text(bob.cert), /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
  assert.equal(signAndVerify(bob, "bob").status, 0);
  const enc = join(work.dir, "to-bob.p7m");
  assert.equal(openssl(["smime", "-encrypt", "-aes256", "-in", message, "-out", enc, bob.cert]).status, 0);
  const dec = openssl(["smime", "-decrypt", "-in", enc, "-recip", bob.cert, "-inkey", bob.key]);
  assert.equal(dec.status, 0, dec.stderr);
  assert.equal(dec.stdout, readFileSync(message, "utf8"));
});

test("a TLS client certificate is no S/MIME certificate: openssl smime -verify refuses its signature", () => {
  pkiJson(home, ["issue-client", "carol"]);
  const key = join(work.dir, "carol.key");
  pkiJson(home, ["export-key", "carol", "--unencrypted", "--out", key]);
  const r = signAndVerify({ cert: join(home, "certs", "carol.pem"), key }, "carol");
  assert.notEqual(r.status, 0);
  assert.match(r.output, /unsuitable certificate purpose|unsupported certificate purpose/);
});

test("--profile smime without --email is refused, saying where the address comes from; nothing changes", () => {
  const before = snapshot(home);
  const r = pki(home, ["issue-client", "dave", "--profile", "smime"]);
  assert.equal(r.status, 6);
  assert.match(r.stderr, /smime\.ini:\d+: variable ENV::PKI_EMAIL is not defined \(pki sets PKI_NAME, and PKI_EMAIL from --email\)/);
  assert.deepEqual(snapshot(home), before);
});
