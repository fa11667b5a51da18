import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, PASSPHRASE, pki, pkiJson, run, snapshot, tempDir } from "../helpers.js";

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
  assert.equal(root.status, 6, "a policy refusal, not a usage error");
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
    [["server-config", "nginx", "--server", "intranet.example.com", "--files-dir", "/tmp/x"], /nginx reads this home's files as root: --files-dir is for servers that run as their own user/],
    [["server-config", "postgresql", "--server", "intranet.example.com", "--verify", "optional"], /postgresql has no --verify optional; leave --verify out/],
  ] as const) {
    const r = pki(home, [...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, why);
  }
});

test("server-config without --server: the home's only server certificate, else a refusal that names the choice", () => {
  const { home: fresh, cleanup: done } = initHome();
  try {
    const none = pki(fresh, ["server-config", "nginx"]);
    assert.equal(none.status, 3, none.stderr);
    assert.match(none.stderr, /has no valid server certificate for nginx to use; issue one first: pki issue-server HOST/);
    assert.equal(none.stdout, "", "no configuration with SERVER.pem placeholders");
    pkiJson(fresh, ["issue-server", "only.example.com"]);
    const one = pki(fresh, ["server-config", "nginx"]);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`ssl_certificate\\s+${join(fresh, "certs", "only.example.com.pem")};`));
    assert.match(one.stdout, /server_name only\.example\.com;/);
    assert.doesNotMatch(one.stdout, /SERVER/);
    pkiJson(fresh, ["issue-server", "other.example.com"]);
    for (const target of ["nginx", "postgresql"]) {
      const two = pki(fresh, ["server-config", target]);
      assert.equal(two.status, 2, two.stderr);
      assert.match(two.stderr, new RegExp(`has 2 server certificates \\(only\\.example\\.com, other\\.example\\.com\\): which one should ${target} use\\?; choose with --server NAME`));
      assert.equal(two.stdout, "");
    }
  } finally {
    done();
  }
});

test("server-config systemd-service and cron: the real home, quoted for systemd and for cron's shell", () => {
  const { dir, cleanup: done } = tempDir("pki-test-");
  try {
    const spaced = join(dir, "my 100% home");
    pkiJson(spaced, ["init-root", "--cn", "Spaced Root"]);
    const unit = pki(spaced, ["server-config", "systemd-service", "--timer-passphrase-file", join(dir, "pass 50%")]);
    assert.equal(unit.status, 0, unit.stderr);
    const execStart = /^ExecStart=(.*)$/m.exec(unit.stdout)![1]!;
    assert.ok(execStart.includes(`--home "${join(dir, "my 100%% home")}" `), execStart);
    assert.match(unit.stdout, new RegExp(`^LoadCredential=pki-passphrase:${join(dir, "pass 50%%")}$`, "m"));
    const cron = pki(spaced, ["server-config", "cron", "--timer-passphrase-file", join(dir, "pass 50%")]);
    const line = cron.stdout.split("\n").find((l) => /^\d/.test(l))!;
    assert.ok(line.includes(`--home '${join(dir, "my 100\\% home")}' `), line);
    // What cron hands to /bin/sh: every \% back to %. The shell must then see the real home.
    const command = line.replace(/^(\S+\s+){6}/, "").replace(/\\%/g, "%");
    writeFileSync(join(dir, "pass 50%"), `${PASSPHRASE}\n`, { mode: 0o600 });
    const crlBefore = readFileSync(join(spaced, "crl.pem"), "utf8");
    const r = run("/bin/sh", ["-c", command], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(readFileSync(join(spaced, "crl.pem"), "utf8"), crlBefore, "a new CRL in the spaced home");
  } finally {
    done();
  }
});
