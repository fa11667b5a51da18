import assert from "node:assert/strict";
import { test } from "node:test";
import { PkiError } from "../../src/ca/errors.js";
import { classifyHosts, hostWarnings, serverName } from "../../src/ca/hosts.js";
import { validateName } from "../../src/ca/names.js";

function refused(host: string, why: RegExp, code = "BAD_HOST"): void {
  assert.throws(() => classifyHosts([host]), (e: unknown) => e instanceof PkiError && e.kind === "usage" && e.code === code && why.test(e.message), host);
}

test("IP look-alikes are refused instead of becoming DNS names", () => {
  for (const host of ["10.0.0.300", "1.2.3.4.", "999.999.999.999", "0x7f.1", "010.1.1.1", "0x7f000001", "127.1", "host.123"]) {
    refused(host, /looks like an IP address but is not one/);
  }
  refused("fe80::1%eth0", /not an IPv6 address .*without a %zone/);
  refused("[example.com]", /not an IPv6 address/);
  refused("1:2:3", /not an IPv6 address/);
});

test("IPv4 and IPv6 addresses become IP SANs; IPv6 in its canonical form, with a name that is a safe file name", () => {
  assert.deepEqual(classifyHosts(["10.0.0.30"]), [{ type: "ip", value: "10.0.0.30" }]);
  for (const [typed, value, name] of [
    ["::1", "::1", "0--1"],
    ["[::1]", "::1", "0--1"],
    ["2001:db8::1", "2001:db8::1", "2001-db8--1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1", "2001-db8--1"],
    ["[2001:db8::]", "2001:db8::", "2001-db8--0"],
  ] as const) {
    const [host] = classifyHosts([typed]);
    assert.deepEqual(host, { type: "ip", value }, typed);
    assert.equal(serverName(host!), name);
    assert.equal(validateName(name), name);
  }
});

test("internationalised host names become A-labels, with the Unicode form kept for people", () => {
  assert.deepEqual(classifyHosts(["bücher.example"]), [{ type: "dns", value: "xn--bcher-kva.example", unicode: "bücher.example" }]);
  assert.deepEqual(classifyHosts(["*.Bücher.example"]), [{ type: "dns", value: "*.xn--bcher-kva.example", unicode: "*.bücher.example" }]);
  assert.deepEqual(classifyHosts(["пример.com"]), [{ type: "dns", value: "xn--e1afmkfd.com", unicode: "пример.com" }]);
  assert.deepEqual(classifyHosts(["xn--bcher-kva.example"]), [{ type: "dns", value: "xn--bcher-kva.example", unicode: "bücher.example" }]);
  refused("xn--zz.example", /neither an IP address nor a DNS name/);
});

test("look-alike host names are refused: mixed scripts, Latin look-alikes, fullwidth letters, invisible characters", () => {
  refused("раypal.com", /mixes the Cyrillic and Latin scripts/, "CONFUSABLE_NAME");
  refused("аре.com", /Cyrillic letters that look like Latin ones/, "CONFUSABLE_NAME");
  refused("ｅxample.com", /compatibility look-alikes/, "CONFUSABLE_NAME");
  refused("exa\u200bmple.com", /control or invisible/, "CONFUSABLE_NAME");
});

test("underscores are accepted for internal service names, with a warning", () => {
  const hosts = classifyHosts(["_sip._tcp.internal", "db_1.svc.internal", "api.internal"]);
  assert.deepEqual(hosts.map((h) => h.value), ["_sip._tcp.internal", "db_1.svc.internal", "api.internal"]);
  const warnings = hostWarnings(hosts);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /"_sip\._tcp\.internal" has an underscore: fine for internal service names/);
});

test("wildcards over a public suffix are refused; a wildcard under one's own domain is not", () => {
  for (const host of ["*.co.uk", "*.com.au", "*.co.jp", "*.com.br", "*.github.io".replace("github.io", "co.nz")]) refused(host, /wildcard for a public suffix/);
  for (const host of ["*.com", "*.internal", "*"]) refused(host, /"\*\." only as the first label, followed by two or more labels/);
  assert.deepEqual(classifyHosts(["*.example.co.uk"]), [{ type: "dns", value: "*.example.co.uk" }]);
  assert.deepEqual(classifyHosts(["*.apps.internal"]), [{ type: "dns", value: "*.apps.internal" }]);
});
