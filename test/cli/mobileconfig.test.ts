import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, mode, openssl, pki, pkiJson, run } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);
pkiJson(home, ["issue-client", "alice"]);

// Parsed by Python's plistlib (a real plist parser), then checked against the keys and
// types of Apple's Configuration Profile Reference for the top level, com.apple.security.pkcs12
// and com.apple.security.root.
const VALIDATE = String.raw`
import plistlib, sys, json, uuid, re
p = plistlib.load(open(sys.argv[1], "rb"))
def need(d, key, typ):
    assert key in d, "missing " + key
    assert isinstance(d[key], typ), key + " is " + type(d[key]).__name__
need(p, "PayloadType", str); assert p["PayloadType"] == "Configuration"
need(p, "PayloadVersion", int); assert p["PayloadVersion"] == 1
for d in [p] + p["PayloadContent"]:
    need(d, "PayloadIdentifier", str); assert re.fullmatch(r"[A-Za-z0-9.-]+", d["PayloadIdentifier"]), d["PayloadIdentifier"]
    need(d, "PayloadUUID", str); assert str(uuid.UUID(d["PayloadUUID"])).upper() == d["PayloadUUID"]
    need(d, "PayloadDisplayName", str)
    need(d, "PayloadVersion", int)
need(p, "PayloadContent", list)
ids = [d["PayloadIdentifier"] for d in [p] + p["PayloadContent"]]
assert len(set(ids)) == len(ids), "identifiers are unique"
assert len(set(d["PayloadUUID"] for d in [p] + p["PayloadContent"])) == 3, "UUIDs are unique"
types = {d["PayloadType"]: d for d in p["PayloadContent"]}
assert set(types) == {"com.apple.security.pkcs12", "com.apple.security.root"}, types.keys()
for d in types.values():
    need(d, "PayloadContent", bytes)
    need(d, "PayloadCertificateFileName", str)
    assert d["PayloadIdentifier"].startswith(p["PayloadIdentifier"] + ".")
assert "Password" not in types["com.apple.security.pkcs12"], "the password is typed on the phone, not stored in the profile"
open(sys.argv[2], "wb").write(types["com.apple.security.pkcs12"]["PayloadContent"])
open(sys.argv[3], "wb").write(types["com.apple.security.root"]["PayloadContent"])
print(json.dumps({"name": p["PayloadDisplayName"], "removal": p.get("PayloadRemovalDisallowed")}))
`;

test("export-mobileconfig: a valid Apple profile with the identity (legacy PKCS#12 by default) and the root", () => {
  const j = pkiJson<{ file: string }>(home, ["export-mobileconfig", "alice"], { PKI_P12_PASSWORD: "phone pw" });
  assert.equal(j.file, join(home, "private", "alice.mobileconfig"));
  assert.equal(mode(j.file), 0o600);
  assert.match(readFileSync(j.file, "utf8"), /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN"/);
  const p12 = join(home, "extracted.p12");
  const der = join(home, "extracted-root.der");
  const r = run("python3", ["-c", VALIDATE, j.file, p12, der]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { name: "alice (Test Root CA)", removal: false });
  process.env.PHONE_PW = "phone pw";
  const info = openssl(["pkcs12", "-in", p12, "-info", "-noout", "-passin", "env:PHONE_PW"]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stderr, /pbeWithSHA1And3-KeyTripleDES-CBC/);
  const rootPem = openssl(["x509", "-inform", "DER", "-in", der]).stdout;
  assert.equal(rootPem, readFileSync(join(home, "ca.pem"), "utf8"));
});

test("--modern puts an AES-256 PKCS#12 inside; two exports get different UUIDs", () => {
  const a = pkiJson<{ file: string }>(home, ["export-mobileconfig", "alice", "--modern", "--out", join(home, "a.mobileconfig")], { PKI_P12_PASSWORD: "pw" });
  const b = pkiJson<{ file: string }>(home, ["export-mobileconfig", "alice", "--out", join(home, "b.mobileconfig")], { PKI_P12_PASSWORD: "pw" });
  const p12 = join(home, "modern.p12");
  assert.equal(run("python3", ["-c", VALIDATE, a.file, p12, join(home, "r.der")]).status, 0);
  process.env.PHONE_PW = "pw";
  assert.match(openssl(["pkcs12", "-in", p12, "-info", "-noout", "-passin", "env:PHONE_PW"]).stderr, /AES-256-CBC/);
  const uuids = (f: string) => [...readFileSync(f, "utf8").matchAll(/<key>PayloadUUID<\/key>\s*<string>([^<]+)/g)].map((m) => m[1]);
  assert.equal(uuids(a.file).filter((u) => uuids(b.file).includes(u)).length, 0);
});

test("refusals: empty password, server certificates, unknown names", () => {
  pkiJson(home, ["issue-server", "web.internal"]);
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [["export-mobileconfig", "alice", "--password-file", "/dev/null"], {}, 5, /--password-file \/dev\/null is empty; its first line must be the password for the identity/],
    [["export-mobileconfig", "web.internal"], { PKI_P12_PASSWORD: "x" }, 2, /is a server certificate/],
    [["export-mobileconfig", "nobody"], { PKI_P12_PASSWORD: "x" }, 3, /no certificate with name or serial "nobody"/],
  ];
  for (const [args, env, code, why] of cases) {
    const r = pki(home, args, env);
    assert.equal(r.status, code, r.stderr);
    assert.match(r.stderr, why);
  }
});
