import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, PASSIN, pkiJson, ROOT, run, tempDir } from "../helpers.js";

// The promise of templates/: one ini file drives pki and the manual openssl flow alike.
const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

/** The CA key in PEM for openssl x509 -CAkey, decrypted by openssl itself from the ledger's copy. */
function caKey(): string {
  const sqlite = run(process.execPath, ["-e", `
    const D = require(${JSON.stringify(join(ROOT, "node_modules", "better-sqlite3"))});
    const db = new D(${JSON.stringify(join(home, "ledger.db"))}, { readonly: true });
    const row = db.prepare("SELECT key_encrypted FROM certificates WHERE kind = 'root'").get();
    process.stdout.write(row.key_encrypted.toString("base64"));
  `]);
  const der = join(work.dir, "ca.key.der");
  writeFileSync(der, Buffer.from(sqlite.stdout, "base64"));
  const out = join(work.dir, "ca.key");
  const r = openssl(["pkey", "-inform", "DER", "-in", der, "-passin", PASSIN, "-out", out]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

function extensionsAndSubject(cert: string): string {
  const text = openssl(["x509", "-in", cert, "-noout", "-text", "-nameopt", "utf8,sep_comma_plus"]).stdout;
  const subject = /Subject: (.*)/.exec(text)![1];
  const exts = text
    .split(/\n(?=\s{12}X509v3 )/)
    .filter((b) => /X509v3 (Basic Constraints|Key Usage|Extended Key Usage|Subject Alternative Name)/.test(b))
    .map((b) => b.replace(/\s+Signature Algorithm[\s\S]*/, "").trim())
    .join("\n");
  return `${subject}\n${exts}`;
}

/** `rsa`: for profiles with keyEncipherment, which pki (RFC 5480) leaves out of EC certificates and openssl copies. */
function compare(profileFile: string, name: string, extensionsSection: string, rsa = false) {
  const ours = pkiJson<{ certificate: string }>(home, ["issue-client", name, "--profile", profileFile, ...(rsa ? ["--key", "rsa-2048"] : [])]);
  const env = { ...process.env, PKI_NAME: name };
  const key = join(work.dir, `${name}.key`);
  const csr = join(work.dir, `${name}.csr`);
  const cert = join(work.dir, `${name}.pem`);
  const req = run("openssl", ["req", "-new", "-config", profileFile, ...(rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]), "-nodes", "-keyout", key, "-out", csr], { env });
  assert.equal(req.status, 0, req.stderr);
  const sign = run("openssl", ["x509", "-req", "-in", csr, "-CA", join(home, "ca.pem"), "-CAkey", caKey(), "-set_serial", "0x" + "ab".repeat(16), "-days", "30", "-extfile", profileFile, "-extensions", extensionsSection], { env });
  assert.equal(sign.status, 0, sign.stderr);
  writeFileSync(cert, sign.stdout);
  const mine = extensionsAndSubject(ours.certificate);
  assert.match(mine, new RegExp(`CN=${name}\n`));
  assert.match(mine, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(mine, /X509v3 Extended Key Usage/);
  assert.equal(mine, extensionsAndSubject(cert));
}

test("templates/profiles/client.ini gives the same subject and extensions through pki and through openssl req + x509", () => {
  compare(join(ROOT, "templates", "profiles", "client.ini"), "dana", "client_extensions");
});

test("a richer profile (C/O/OU, SAN with @section) also matches openssl", () => {
  const p = join(work.dir, "staff.ini");
  writeFileSync(
    p,
    `[ req ]
distinguished_name = dn
prompt             = no
default_md         = sha256
req_extensions     = staff_ext

[ dn ]
C  = NL
O  = Example Org
OU = Staff
CN = $ENV::PKI_NAME

[ staff_ext ]
basicConstraints = critical, CA:false
keyUsage         = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, emailProtection
subjectAltName   = @alt

[ alt ]
email.1 = $ENV::PKI_NAME@example.org
DNS.1   = $ENV::PKI_NAME.staff.example.org
`,
  );
  compare(p, "erin", "staff_ext", true);
});
