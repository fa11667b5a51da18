import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pki, pkiJson, snapshot } from "../helpers.js";

// Issue #16 items 4 and 5: IP look-alikes, IPv6 hosts, internationalised and underscore names.
const { home, cleanup } = initHome();
after(cleanup);
const ca = join(home, "ca.pem");

interface Issued {
  name: string;
  subject: string;
  certificate: string;
  hosts: string[];
  unicode?: Record<string, string>;
}

function verifies(cert: string, check: string[]): boolean {
  return openssl(["verify", "-purpose", "sslserver", ...check, "-CAfile", ca, cert]).status === 0;
}

test("hosts that look like IPv4 addresses but are not one are refused, not issued as DNS names", () => {
  const before = snapshot(home);
  for (const host of ["10.0.0.300", "1.2.3.4.", "999.999.999.999", "0x7f.1", "010.1.1.1"]) {
    const r = pki(home, ["--json", "issue-server", host]);
    assert.equal(r.status, 2, `${host}: ${r.stderr}`);
    assert.match(r.stderr, /looks like an IP address but is not one/);
    assert.equal(JSON.parse(r.stdout).error.code, "BAD_HOST");
  }
  assert.deepEqual(snapshot(home), before);
});

test("IPv6 hosts become IP SANs, the CN is the address, the name a safe file name; [::1] is ::1", () => {
  const j = pkiJson<Issued>(home, ["issue-server", "2001:db8::1", "api.internal"]);
  assert.equal(j.name, "2001-db8--1");
  assert.equal(j.subject, "CN=2001:db8::1");
  assert.equal(j.certificate, join(home, "certs", "2001-db8--1.pem"));
  assert.deepEqual(j.hosts, ["2001:db8::1", "api.internal"]);
  assert.match(openssl(["x509", "-in", j.certificate, "-noout", "-ext", "subjectAltName"]).stdout, /IP Address:2001:DB8:0:0:0:0:0:1, DNS:api\.internal/);
  assert.ok(verifies(j.certificate, ["-verify_ip", "2001:db8::1"]));
  assert.ok(!verifies(j.certificate, ["-verify_ip", "2001:db8::2"]));

  const loopback = pkiJson<Issued>(home, ["issue-server", "[::1]"]);
  assert.equal(loopback.name, "0--1");
  assert.ok(verifies(loopback.certificate, ["-verify_ip", "::1"]));
  const again = pki(home, ["issue-server", "::1"]);
  assert.equal(again.status, 4, "the same address in another spelling is the same name");
  assert.match(again.stderr, /"0--1" already has a valid server certificate/);
});

test("internationalised host names are issued as A-labels, with the Unicode form shown", () => {
  const j = pkiJson<Issued>(home, ["issue-server", "bücher.example"]);
  assert.equal(j.name, "xn--bcher-kva.example");
  assert.deepEqual(j.hosts, ["xn--bcher-kva.example"]);
  assert.deepEqual(j.unicode, { "xn--bcher-kva.example": "bücher.example" });
  assert.ok(verifies(j.certificate, ["-verify_hostname", "xn--bcher-kva.example"]));
  const human = pki(home, ["issue-server", "*.straße.example"]);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /\*\.straße\.example is written \*\.xn--strae-oqa\.example in the certificate \(IDNA A-label\)/);
  const mixed = pki(home, ["issue-server", "p\u0430ypal.example"]);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /has a label that mixes the Latin and Cyrillic scripts/);
});

test("underscores are accepted for internal service names, with a warning; public-suffix wildcards are refused", () => {
  const r = pki(home, ["issue-server", "db_primary.svc.internal"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^pki: warning: "db_primary\.svc\.internal" has an underscore: fine for internal service names/);
  assert.ok(verifies(join(home, "certs", "db_primary.svc.internal.pem"), ["-verify_hostname", "db_primary.svc.internal"]));
  const before = snapshot(home);
  const suffix = pki(home, ["issue-server", "*.co.uk"]);
  assert.equal(suffix.status, 2);
  assert.match(suffix.stderr, /"\*\.co\.uk" is a wildcard for a public suffix/);
  assert.deepEqual(snapshot(home), before);
});
