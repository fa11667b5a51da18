import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, pkiJson, ROOT, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

interface Issued {
  certificate: string;
}

test("EC certificates carry no keyEncipherment (RFC 5480); RSA server certificates keep it", () => {
  const usage = (file: string) => /X509v3 Key Usage: critical\s*\n\s*(.*)/.exec(openssl(["x509", "-in", file, "-noout", "-text"]).stdout)![1]!.trim();
  assert.equal(usage(pkiJson<Issued>(home, ["issue-server", "ec.example.com"]).certificate), "Digital Signature");
  assert.equal(usage(pkiJson<Issued>(home, ["issue-client", "eve"]).certificate), "Digital Signature");
  const p384 = pkiJson<Issued>(home, ["issue-server", "p384.example.com", "--key", "ec-p384"]);
  assert.equal(usage(p384.certificate), "Digital Signature");
  const rsa = pkiJson<Issued>(home, ["issue-server", "rsa.example.com", "--key", "rsa-2048"]);
  assert.equal(usage(rsa.certificate), "Digital Signature, Key Encipherment");
  // A client profile asking for keyEncipherment gets it only with an RSA key, single and bulk.
  const profile = join(work.dir, "enc.ini");
  writeFileSync(profile, readFileSync(join(ROOT, "templates", "profiles", "client.ini"), "utf8").replace("digitalSignature", "digitalSignature, keyEncipherment, dataEncipherment"));
  assert.equal(usage(pkiJson<Issued>(home, ["issue-client", "enc-ec", "--profile", profile]).certificate), "Digital Signature");
  assert.equal(usage(pkiJson<Issued>(home, ["issue-client", "enc-rsa", "--profile", profile, "--key", "rsa-2048"]).certificate), "Digital Signature, Key Encipherment, Data Encipherment");
  writeFileSync(join(work.dir, "bulk.txt"), "enc-bulk\n");
  pkiJson(home, ["issue-client", "--from", join(work.dir, "bulk.txt"), "--profile", profile]);
  assert.equal(usage(join(home, "certs", "enc-bulk.pem")), "Digital Signature");
  const renewed = pkiJson<Issued>(home, ["renew", "rsa.example.com", "--key", "ec-p256"]);
  assert.equal(usage(renewed.certificate), "Digital Signature");
});
