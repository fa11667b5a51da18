import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, PASSIN, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const ca = join(home, "ca.pem");

interface Issued {
  name: string;
  serial: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  certificate: string;
  key: string | null;
}

test("issue-client alice: verifies as an SSL client certificate under the root", () => {
  const j = pkiJson<Issued>(home, ["issue-client", "alice", "--email", "alice@example.com"]);
  assert.equal(j.name, "alice");
  assert.equal(j.subject, "CN=alice");
  assert.equal(j.certificate, join(home, "certs", "alice.pem"));
  assert.equal(j.key, join(home, "private", "alice.key"));
  const v = openssl(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", ca, j.certificate]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /alice\.pem: OK/);
  // Not usable as a server certificate: clientAuth only.
  assert.notEqual(openssl(["verify", "-purpose", "sslserver", "-CAfile", ca, j.certificate]).status, 0);
});

test("alice's certificate carries exactly the client extensions", () => {
  const text = openssl(["x509", "-in", join(home, "certs", "alice.pem"), "-noout", "-text"]).stdout;
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
  assert.match(text, /X509v3 Extended Key Usage: \s*\n\s+TLS Web Client Authentication\n/);
  assert.match(text, /X509v3 Subject Alternative Name: \s*\n\s+email:alice@example.com/);
  assert.match(text, /X509v3 Subject Key Identifier/);
  const aki = /X509v3 Authority Key Identifier: \s*\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
  const rootSki = /X509v3 Subject Key Identifier: \s*\n\s+([0-9A-F:]+)/.exec(openssl(["x509", "-in", ca, "-noout", "-text"]).stdout)?.[1];
  assert.ok(aki && aki === rootSki, `AKI ${aki} must equal the root's SKI ${rootSki}`);
  assert.match(text, /Version: 3 \(0x2\)/);
});

test("the serial is a positive 128-bit-class random integer and matches openssl's view", () => {
  const j = pkiJson<Issued>(home, ["issue-client", "serial-check"]);
  const printed = openssl(["x509", "-in", j.certificate, "-noout", "-serial"]).stdout.trim();
  assert.equal(printed, `serial=${j.serial.toUpperCase()}`);
  assert.ok(j.serial.length >= 28 && j.serial.length <= 32, j.serial);
  const asn = openssl(["asn1parse", "-in", j.certificate]).stdout;
  assert.doesNotMatch(asn.split("\n").slice(0, 6).join("\n"), /INTEGER\s+:-/, "not negative");
});

test("the stored key is encrypted PKCS#8 (PBES2, AES-256, 600k PBKDF2) that openssl opens with the passphrase, mode 0600", () => {
  const key = join(home, "private", "alice.key");
  assert.equal(mode(key), 0o600);
  assert.match(readFileSync(key, "utf8"), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  const info = openssl(["asn1parse", "-in", key]).stdout;
  assert.match(info, /PBES2/);
  assert.match(info, /aes-256-cbc/);
  assert.match(info, /hmacWithSHA256/);
  assert.match(info, /INTEGER\s+:0927C0/, "600000 iterations");
  const pub = openssl(["pkey", "-in", key, "-passin", PASSIN, "-pubout"]);
  assert.equal(pub.status, 0, pub.stderr);
  const certPub = openssl(["x509", "-in", join(home, "certs", "alice.pem"), "-noout", "-pubkey"]).stdout;
  assert.equal(pub.stdout, certPub, "the key belongs to the certificate");
  assert.notEqual(openssl(["pkey", "-in", key, "-passin", "pass:wrong-pass", "-noout"]).status, 0);
});

test("a name that already has a valid certificate is refused with a hint to renew", () => {
  const before = snapshot(home);
  const r = pki(home, ["issue-client", "alice"]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /^pki: issue-client alice: "alice" already has a valid client certificate \(serial [0-9a-f]+, until .*\); to replace it run: pki renew alice\n$/);
  assert.deepEqual(snapshot(home), before);
});

test("Zoë works: UTF8String CN, file name in NFC", () => {
  const j = pkiJson<Issued>(home, ["issue-client", "Zoe\u0308"]);
  assert.equal(j.name, "Zoë");
  assert.equal(j.certificate, join(home, "certs", "Zoë.pem"));
  const subj = openssl(["x509", "-in", j.certificate, "-noout", "-subject", "-nameopt", "utf8,sep_comma_plus"]).stdout.trim();
  assert.equal(subj, "subject=CN=Zoë");
  assert.match(openssl(["asn1parse", "-in", j.certificate]).stdout, /UTF8STRING\s+:Zo/);
});

test("RSA and P-384 client keys", () => {
  for (const key of ["rsa-2048", "ec-p384"]) {
    const j = pkiJson<Issued>(home, ["issue-client", `k-${key}`, "--key", key]);
    assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", ca, j.certificate]).status, 0);
    const text = openssl(["x509", "-in", j.certificate, "-noout", "-text"]).stdout;
    assert.match(text, key === "rsa-2048" ? /Public-Key: \(2048 bit\)/ : /NIST CURVE: P-384/);
  }
});

test("--days sets the lifetime; past the root's expiry is refused, not clamped", () => {
  const j = pkiJson<Issued>(home, ["issue-client", "short-lived", "--days", "7"]);
  const days = (Date.parse(j.notAfter) - Date.now()) / 86_400_000;
  assert.ok(days > 6.9 && days < 7.1, String(days));
  assert.ok(Date.parse(j.notBefore) <= Date.now(), "notBefore is not in the future");
  const r = pki(home, ["issue-client", "too-long", "--days", "5000"]);
  assert.equal(r.status, 6);
  assert.match(r.stderr, /would outlive the root CA, which expires .*; use --days \d+ or less/);
});

test("--csr: signs a CSR made by openssl; the subject and extensions come from the profile, not the CSR", () => {
  const key = join(work.dir, "bot.key");
  const csr = join(work.dir, "bot.csr");
  const gen = openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=admin/O=Evil Corp"]);
  assert.equal(gen.status, 0, gen.stderr);
  const j = pkiJson<Issued>(home, ["issue-client", "build-bot", "--csr", csr]);
  assert.equal(j.key, null);
  assert.equal(j.subject, "CN=build-bot");
  assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", ca, j.certificate]).status, 0);
  const certPub = openssl(["x509", "-in", j.certificate, "-noout", "-pubkey"]).stdout;
  assert.equal(openssl(["pkey", "-in", key, "-pubout"]).stdout, certPub);
});

test("--csr refusals: CA:TRUE, extra key usages, bad signature, garbage, oversize", () => {
  const make = (name: string, ext: string) => {
    const cfg = join(work.dir, `${name}.cnf`);
    writeFileSync(cfg, `[req]\ndistinguished_name=dn\nprompt=no\nreq_extensions=ext\n[dn]\nCN=x\n[ext]\n${ext}\n`);
    const out = join(work.dir, `${name}.csr`);
    const r = openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work.dir, `${name}.key`), "-out", out, "-config", cfg]);
    assert.equal(r.status, 0, r.stderr);
    return out;
  };
  const caCsr = make("ca", "basicConstraints=critical,CA:TRUE");
  const kuCsr = make("ku", "keyUsage=critical,digitalSignature,keyCertSign");
  const ekuCsr = make("eku", "extendedKeyUsage=serverAuth,clientAuth");
  // Flip one byte inside the signature of a valid CSR.
  const good = make("good", "basicConstraints=CA:FALSE");
  const derFile = join(work.dir, "tampered.der");
  const conv = openssl(["req", "-in", good, "-outform", "DER", "-out", derFile]);
  assert.equal(conv.status, 0);
  const bytes = readFileSync(derFile);
  bytes[bytes.length - 5] ^= 0xff;
  writeFileSync(derFile, bytes);
  const garbage = join(work.dir, "garbage.csr");
  writeFileSync(garbage, "-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all!\n-----END CERTIFICATE REQUEST-----\n");
  const truncated = join(work.dir, "truncated.csr");
  writeFileSync(truncated, readFileSync(good, "utf8").slice(0, 200));
  const huge = join(work.dir, "huge.csr");
  writeFileSync(huge, Buffer.alloc(10 * 1024 * 1024, 0x41));
  const cases: [string, number, RegExp][] = [
    [caCsr, 6, /the CSR asks for CA:TRUE/],
    [kuCsr, 6, /key usages the profile does not allow: keyCertSign/],
    [ekuCsr, 6, /extended key usages the profile does not allow: 1\.3\.6\.1\.5\.5\.7\.3\.1/],
    [derFile, 6, /the CSR was refused: the request's signature does not verify/],
    [garbage, 6, /invalid base64|not a certificate request/],
    [truncated, 6, /not a certificate request|not a PKCS#10/],
    [huge, 6, /huge\.csr is larger than 65536 bytes, the most pki reads there/],
    [join(work.dir, "missing.csr"), 3, /cannot read --csr .*missing\.csr: ENOENT/],
  ];
  const before = snapshot(home);
  for (const [file, code, why] of cases) {
    const r = pki(home, ["issue-client", "csr-victim", "--csr", file]);
    assert.equal(r.status, code, `${file}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  assert.deepEqual(snapshot(home), before, "no refusal changed the home");
});

test("bad names, bad flags and a wrong passphrase change nothing", () => {
  const before = snapshot(home);
  const cases: [string[], Record<string, string | undefined>, number, RegExp][] = [
    [["issue-client", "../evil"], {}, 2, /contains a path separator/],
    [["issue-client", "a/b"], {}, 2, /contains a path separator/],
    [["issue-client", "line\nbreak"], {}, 2, /control or invisible character/],
    [["issue-client", "x".repeat(65)], {}, 2, /at most 64 are allowed/],
    [["issue-client", "ok", "--email", "not-an-address"], {}, 2, /--email "not-an-address" is not an address/],
    [["issue-client", "ok", "--days", "-3"], {}, 2, /expected a whole number of days/],
    [["issue-client", "ok", "--profile", "/nonexistent.ini"], {}, 3, /cannot read profile/],
    [["issue-client", "ok"], { PKI_PASSPHRASE: "wrong passphrase" }, 5, /wrong passphrase for the CA key/],
    [["issue-client", "ok"], { PKI_PASSPHRASE: undefined }, 5, /no CA passphrase given/],
    [["issue-client", "ok", "--bogus"], {}, 2, /unknown option '--bogus'/],
  ];
  for (const [args, env, code, why] of cases) {
    const r = pki(home, args, env);
    assert.equal(r.status, code, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /^pki: /);
  }
  assert.deepEqual(snapshot(home), before);
});

test("a profile with a syntax error names the file and line, and nothing is issued", () => {
  const p = join(work.dir, "broken.ini");
  writeFileSync(p, "[ req ]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\n[ dn ]\nCN = $ENV::PKI_NAME\n[ ext\nbasicConstraints = critical, CA:false\n");
  const before = snapshot(home);
  const r = pki(home, ["issue-client", "carol", "--profile", p]);
  assert.equal(r.status, 6);
  assert.equal(r.stderr, `pki: issue-client carol: ${p}:7: malformed section header (expected [ name ])\n`);
  assert.deepEqual(snapshot(home), before);
});

test("a profile that would make a CA is refused", () => {
  const p = join(work.dir, "ca-leaf.ini");
  writeFileSync(p, "[ req ]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\n[ dn ]\nCN = $ENV::PKI_NAME\n[ ext ]\nbasicConstraints = critical, CA:true\n");
  const r = pki(home, ["issue-client", "carol", "--profile", p]);
  assert.equal(r.status, 6);
  assert.match(r.stderr, /a leaf profile needs basicConstraints = critical, CA:false/);
});

test("no CA in the home: a clear not-found error", () => {
  const r = pki(join(work.dir, "empty-home"), ["issue-client", "alice"]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^pki: issue-client alice: no CA in .*empty-home; create one with: pki init-root --cn NAME/);
});

test("--p12 writes the PKCS#12 in the same step, readable by openssl, key matching the certificate", () => {
  const j = pkiJson<{ certificate: string; pkcs12: string }>(home, ["issue-client", "p12-user", "--p12"], { PKI_P12_PASSWORD: "one step" });
  assert.equal(j.pkcs12, join(home, "private", "p12-user.p12"));
  assert.equal(mode(j.pkcs12), 0o600);
  process.env.ONE_STEP = "one step";
  const key = openssl(["pkcs12", "-in", j.pkcs12, "-nocerts", "-nodes", "-passin", "env:ONE_STEP"]);
  assert.equal(key.status, 0, key.stderr);
  assert.equal(openssl(["pkey", "-pubout"], key.stdout).stdout, openssl(["x509", "-in", j.certificate, "-noout", "-pubkey"]).stdout);
  const refused = pki(home, ["issue-client", "p12-csr", "--p12", "--csr", "/dev/null"], { PKI_P12_PASSWORD: "x" });
  assert.notEqual(refused.status, 0);
});

test("--from FILE issues every name in one process; keys open with openssl; a bad or taken name refuses the whole batch", () => {
  const list = join(work.dir, "names.txt");
  writeFileSync(list, "# staff\nbatch-a\nbatch-b  # trailing comment\n\nbatch-c\n");
  const j = pkiJson<{ issued: number }>(home, ["issue-client", "--from", list]);
  assert.equal(j.issued, 3);
  for (const n of ["batch-a", "batch-b", "batch-c"]) {
    assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", ca, join(home, "certs", `${n}.pem`)]).status, 0);
    assert.equal(openssl(["pkey", "-in", join(home, "private", `${n}.key`), "-passin", PASSIN, "-noout"]).status, 0);
  }
  const before = snapshot(home);
  for (const [text, code, why] of [
    ["ok-1\n../evil\n", 2, /line 2: the name "\.\.\/evil" contains a path separator/],
    ["ok-1\nbatch-a\n", 4, /line 2: "batch-a" already has a valid client certificate/],
    ["dup\ndup\n", 2, /line 2: "dup" appears twice/],
    ["# only a comment\n", 2, /holds no names/],
  ] as const) {
    writeFileSync(list, text);
    const r = pki(home, ["issue-client", "--from", list]);
    assert.equal(r.status, code, r.stderr);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before, "a refused batch issues nothing");
});
