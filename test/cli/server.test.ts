import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, pki, pkiJson, snapshot } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);
const ca = join(home, "ca.pem");

test("issue-server: DNS and IP subjectAltNames from the hosts, serverAuth, CA:FALSE; verifies for the host and IP", () => {
  const j = pkiJson<{ name: string; certificate: string; hosts: string[] }>(home, ["issue-server", "Intranet.Example.com", "10.0.0.5", "::1"]);
  assert.equal(j.name, "intranet.example.com");
  assert.deepEqual(j.hosts, ["intranet.example.com", "10.0.0.5", "::1"]);
  const text = openssl(["x509", "-in", j.certificate, "-noout", "-text"]).stdout;
  assert.match(text, /DNS:intranet\.example\.com, IP Address:10\.0\.0\.5, IP Address:0:0:0:0:0:0:0:1/);
  assert.match(text, /X509v3 Extended Key Usage: \s*\n\s+TLS Web Server Authentication/);
  assert.match(text, /CA:FALSE/);
  for (const check of [["-verify_hostname", "intranet.example.com"], ["-verify_ip", "10.0.0.5"]]) {
    const v = openssl(["verify", "-purpose", "sslserver", ...check, "-CAfile", ca, j.certificate]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  }
  assert.notEqual(openssl(["verify", "-purpose", "sslserver", "-verify_hostname", "other.example.com", "-CAfile", ca, j.certificate]).status, 0);
});

test("issue-server: a wildcard gets a file-safe name; bad hosts are refused", () => {
  const j = pkiJson<{ name: string }>(home, ["issue-server", "*.apps.internal"]);
  assert.equal(j.name, "wildcard.apps.internal");
  const before = snapshot(home);
  for (const [host, why] of [["bad_host!", /neither an IP address nor a DNS name/], ["*.com", /neither/], ["lead-.example", /neither/]] as const) {
    const r = pki(home, ["issue-server", host]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before);
});

test("export-key: --unencrypted is explicit, mode 0600; otherwise encrypted under its own password; --with-certificate for HAProxy", () => {
  const plain = join(home, "plain.key");
  const r = pki(home, ["export-key", "intranet.example.com", "--unencrypted", "--out", plain]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /UNENCRYPTED key/);
  assert.equal(mode(plain), 0o600);
  assert.match(readFileSync(plain, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
  const certPub = openssl(["x509", "-in", join(home, "certs", "intranet.example.com.pem"), "-noout", "-pubkey"]).stdout;
  assert.equal(openssl(["pkey", "-in", plain, "-pubout"]).stdout, certPub);

  const enc = join(home, "enc.key");
  pkiJson(home, ["export-key", "intranet.example.com", "--out", enc], { PKI_KEY_PASSWORD: "nginx-pass" });
  process.env.KEYPASS = "nginx-pass";
  assert.equal(openssl(["pkey", "-in", enc, "-passin", "env:KEYPASS", "-pubout"]).stdout, certPub);

  const bundle = join(home, "bundle.pem");
  pkiJson(home, ["export-key", "intranet.example.com", "--unencrypted", "--with-certificate", "--out", bundle]);
  assert.match(readFileSync(bundle, "utf8"), /^-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN PRIVATE KEY-----/);

  const none = pki(home, ["export-key", "intranet.example.com", "--out", join(home, "x.key")], { PKI_KEY_PASSWORD: undefined });
  assert.equal(none.status, 5, "no password and no --unencrypted: refused");
  assert.match(none.stderr, /no password for the exported key given/);
  const root = pki(home, ["export-key", "Test Root CA", "--unencrypted", "--out", join(home, "root.key")]);
  assert.equal(root.status, 2);
  assert.match(root.stderr, /never exports the root CA key/);
});

test("server-config: real absolute paths; unknown targets and bad options are usage errors", () => {
  const out = pki(home, ["server-config", "nginx", "--server", "intranet.example.com"]).stdout;
  assert.match(out, new RegExp(`ssl_client_certificate ${ca}`));
  assert.match(out, new RegExp(`ssl_crl\\s+${join(home, "crl.pem")}`));
  assert.match(out, new RegExp(`ssl_certificate\\s+${join(home, "certs", "intranet.example.com.pem")}`));
  assert.match(out, /ssl_verify_client\s+on;/);
  assert.match(out, /error_page 495 496/);
  for (const [args, why] of [
    [["server-config", "iis"], /unknown target "iis"/],
    [["server-config", "nginx", "--verify", "maybe"], /Allowed choices are on, optional/],
    [["server-config", "nginx", "--listen", "port 80"], /--listen "port 80" must be PORT or ADDRESS:PORT/],
    [["server-config", "nginx", "--server", "Test Root CA"], /is a root certificate; name one from pki issue-server/],
  ] as const) {
    const r = pki(home, [...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, why);
  }
});
