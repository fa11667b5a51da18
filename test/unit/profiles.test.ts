import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { PkiError } from "../../src/ca/errors.js";
import { loadProfile } from "../../src/ca/profiles.js";
import { ROOT, tempDir } from "../helpers.js";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

test("the shipped client profile: CN from the name, CA:false, digitalSignature, clientAuth", () => {
  const p = loadProfile(join(ROOT, "templates", "profiles", "client.ini"), { PKI_NAME: "alice" });
  assert.deepEqual(p.subject, [{ type: "CN", value: "alice" }]);
  assert.deepEqual(p.extensions.basicConstraints, { critical: true, ca: false });
  assert.deepEqual(p.extensions.keyUsage, { critical: true, usages: ["digitalSignature"] });
  assert.deepEqual(p.extensions.extendedKeyUsage, { critical: false, purposes: [CLIENT_AUTH] });
});

test("the shipped root profile: CA:true with pathlen 0, keyCertSign and cRLSign, both critical", () => {
  const p = loadProfile(join(ROOT, "templates", "profiles", "root.ini"), { PKI_NAME: "Root" });
  assert.deepEqual(p.extensions.basicConstraints, { critical: true, ca: true, pathLength: 0 });
  assert.deepEqual(p.extensions.keyUsage, { critical: true, usages: ["keyCertSign", "cRLSign"] });
});

const profiles = tempDir();
after(profiles.cleanup);

function profile(text: string): string {
  const dir = mkdtempSync(join(profiles.dir, "p-"));
  const file = join(dir, "p.ini");
  writeFileSync(file, text);
  return file;
}

const HEAD = `[ req ]\ndistinguished_name = dn\nprompt = no\nreq_extensions = ext\n[ dn ]\nC = NL\norganizationName = Org\n0.OU = A\n1.OU = B\nCN = $ENV::PKI_NAME\n[ ext ]\nbasicConstraints = critical, CA:false\n`;

test("long field names, repeated fields and subjectAltName @sections are understood", () => {
  const file = profile(HEAD + `subjectAltName = email:$ENV::PKI_EMAIL, @alt\n[ alt ]\nDNS.1 = a.example\nIP.1 = 127.0.0.1\nURI.1 = https://example.org/\n`);
  const p = loadProfile(file, { PKI_NAME: "bob", PKI_EMAIL: "bob@example.org" });
  assert.deepEqual(p.subject.map((a) => `${a.type}=${a.value}`), ["C=NL", "O=Org", "OU=A", "OU=B", "CN=bob"]);
  assert.deepEqual(p.extensions.subjectAltName?.names, [
    { type: "email", value: "bob@example.org" },
    { type: "dns", value: "a.example" },
    { type: "ip", value: "127.0.0.1" },
    { type: "url", value: "https://example.org/" },
  ]);
});

test("profile mistakes are refused with file and line", () => {
  const cases: [string, RegExp][] = [
    [HEAD + "nsCertType = client\n", /p\.ini:13: unknown or unsupported extension "nsCertType"/],
    [HEAD + "keyUsage = critical, digitalSignatur\n", /p\.ini:13: keyUsage: unknown usage "digitalSignatur"/],
    [HEAD + "extendedKeyUsage = clientAuthh\n", /p\.ini:13: extendedKeyUsage: unknown purpose/],
    [HEAD + "subjectAltName = IP:300.1.1.1\n", /p\.ini:13: subjectAltName: "300\.1\.1\.1" is not an IP address/],
    [HEAD + "subjectAltName = @missing\n", /p\.ini:13: subjectAltName: section \[ missing \] does not exist/],
    [HEAD.replace("C = NL", "C = Netherlands"), /p\.ini:6: country "Netherlands" must be a two-letter/],
    [HEAD.replace("prompt = no", "prompt = yes"), /p\.ini:3: set "prompt = no"/],
    [HEAD.replace("CN = $ENV::PKI_NAME", "title = x"), /p\.ini:10: unknown subject field "title"/],
    [HEAD + "basicConstraints = CA:maybe\n", /p\.ini:13: basicConstraints: unexpected "CA:maybe"/],
    [HEAD.replace("prompt = no", "prompt = no\ndefault_md = sha1"), /p\.ini:4: default_md = sha1 is not allowed/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => loadProfile(profile(text), { PKI_NAME: "x" }), (e: unknown) => e instanceof PkiError && why.test(e.message), text);
  }
});

test("a missing profile is not-found and names the file", () => {
  assert.throws(() => loadProfile("/nonexistent/p.ini", { PKI_NAME: "x" }), (e: unknown) => e instanceof PkiError && e.kind === "not-found" && /\/nonexistent\/p\.ini/.test(e.message));
});
