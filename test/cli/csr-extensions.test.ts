import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, ROOT, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const ca = join(home, "ca.pem");
let made = 0;

/** A CSR made by openssl req with these -addext extensions (EC P-256 unless `rsa`). */
function csr(extensions: string[], rsa = false): string {
  const out = join(work.dir, `r${++made}.csr`);
  const key = rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  const r = openssl(["req", "-new", ...key, "-nodes", "-keyout", join(work.dir, `r${made}.key`), "-out", out, "-subj", "/CN=ignored", ...extensions.flatMap((e) => ["-addext", e])]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

function extension(certificate: string, name: string): string {
  return openssl(["x509", "-in", certificate, "-noout", "-ext", name]).stdout;
}

interface Issued {
  certificate: string;
  fromCsr?: { subjectAltNames: { type: string; value: string }[]; extendedKeyUsage: string[] | null };
}

test("subjectAltNames the CSR asks for are copied when each passes the name checks, and the output says so", () => {
  const request = csr(["subjectAltName=DNS:bot.internal,email:bot@example.com,URI:spiffe://example.org/ns/ci/bot,IP:10.0.0.7"]);
  const j = pkiJson<Issued>(home, ["issue-client", "ci-bot", "--csr", request, "--email", "owner@example.com"]);
  const san = extension(j.certificate, "subjectAltName");
  for (const want of ["email:owner@example.com", "DNS:bot.internal", "email:bot@example.com", "URI:spiffe://example.org/ns/ci/bot", "IP Address:10.0.0.7"]) assert.ok(san.includes(want), `${want} in ${san}`);
  assert.deepEqual(j.fromCsr!.subjectAltNames.map((n) => n.type), ["dns", "email", "url", "ip"]);
  assert.equal(j.fromCsr!.extendedKeyUsage, null);
  const human = pki(home, ["issue-client", "ci-bot-2", "--csr", csr(["subjectAltName=DNS:two.internal"])]);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^ {2}subjectAltName from the CSR: DNS:two\.internal$/m);
});

test("issue-server --csr: the hosts given and the CSR's names together", () => {
  const j = pkiJson<Issued>(home, ["issue-server", "api.internal", "--csr", csr(["subjectAltName=DNS:api-v2.internal"])]);
  const san = extension(j.certificate, "subjectAltName");
  assert.match(san, /DNS:api\.internal, DNS:api-v2\.internal/);
  assert.equal(openssl(["verify", "-purpose", "sslserver", "-CAfile", ca, j.certificate]).status, 0);
});

test("a CSR asking for fewer extended key usages (or key usages) than the profile grants gets just those", () => {
  const profile = join(work.dir, "both.ini");
  writeFileSync(profile, readFileSync(join(ROOT, "templates", "profiles", "server.ini"), "utf8").replace("extendedKeyUsage = serverAuth", "extendedKeyUsage = serverAuth, clientAuth"));
  const wide = pkiJson<Issued>(home, ["issue-server", "both.internal", "--profile", profile, "--key", "rsa-2048"]);
  assert.match(extension(wide.certificate, "extendedKeyUsage"), /TLS Web Server Authentication, TLS Web Client Authentication/);
  const narrow = pkiJson<Issued>(home, ["issue-server", "client-only.internal", "--profile", profile, "--csr", csr(["extendedKeyUsage=clientAuth", "keyUsage=critical,digitalSignature"], true)]);
  assert.match(extension(narrow.certificate, "extendedKeyUsage"), /^\s+TLS Web Client Authentication$/m);
  assert.doesNotMatch(extension(narrow.certificate, "extendedKeyUsage"), /Server/);
  assert.doesNotMatch(extension(narrow.certificate, "keyUsage"), /Key Encipherment/, "the RSA key asked for digitalSignature only");
  assert.deepEqual(narrow.fromCsr!.extendedKeyUsage, ["clientAuth"]);
});

test("--key with --csr must name the CSR's key type: a mismatch is refused (KEY_MISMATCH), a match signs", () => {
  const request = csr([]);
  const before = snapshot(home);
  const r = pki(home, ["--json", "issue-client", "keyed", "--csr", request, "--key", "rsa-2048"]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "KEY_MISMATCH");
  assert.match(r.stderr, /--key rsa-2048 does not match the CSR's key, which is ec-p256: with --csr the requester made the key/);
  assert.deepEqual(snapshot(home), before);
  assert.equal(pki(home, ["issue-client", "keyed", "--csr", request, "--key", "ec-p256"]).status, 0);
});

test("refused, naming what: a CSR name that fails the checks or of a kind pki does not issue, and any requested extension under copy_extensions = none", () => {
  const strict = join(work.dir, "strict.ini");
  writeFileSync(strict, readFileSync(join(ROOT, "templates", "profiles", "client.ini"), "utf8").replace("prompt             = no", "prompt             = no\ncopy_extensions    = none"));
  const cases: [string[], string, RegExp][] = [
    [["--csr", csr(["subjectAltName=DNS:-bad-.example"])], "CSR_NAME_REFUSED", /the CSR asks for subjectAltName DNS:-bad-\.example, which is not a DNS name/],
    [["--csr", csr(["subjectAltName=email:not-an-address"])], "CSR_NAME_REFUSED", /subjectAltName email:not-an-address, which is not an address/],
    [["--csr", csr(["subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:bot@corp.example"])], "CSR_NAME_REFUSED", /a subjectAltName of type \w+; pki issues DNS, IP, email and URI names only/],
    [["--csr", csr(["subjectAltName=DNS:ok.internal", "extendedKeyUsage=clientAuth"]), "--profile", strict], "CSR_EXTENSIONS_REFUSED", /the CSR asks for subjectAltName \(DNS:ok\.internal\) and extendedKeyUsage \(clientAuth\), and .*strict\.ini copies no CSR extensions \(copy_extensions = none\)/],
  ];
  const before = snapshot(home);
  for (const [args, code, why] of cases) {
    const r = pki(home, ["--json", "issue-client", "refused", ...args]);
    assert.equal(r.status, 6, `${args.join(" ")}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, code);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(snapshot(home), before);
  const plain = pkiJson<Issued>(home, ["issue-client", "plain", "--csr", csr([]), "--profile", strict]);
  assert.equal(plain.fromCsr!.subjectAltNames.length, 0, "a CSR without extensions passes a copy_extensions = none profile");
  const bad = join(work.dir, "bad.ini");
  writeFileSync(bad, readFileSync(strict, "utf8").replace("copy_extensions    = none", "copy_extensions    = copyall"));
  const r = pki(home, ["issue-client", "x", "--csr", csr([]), "--profile", bad]);
  assert.equal(r.status, 6);
  assert.match(r.stderr, /bad\.ini:\d+: copy_extensions = copyall is not supported; use copy .* or none/);
});
