// pki serve during a root rotation: OCSP answers for the certificates of both roots, each signed
// by its own issuer (chosen by the request's issuerNameHash/issuerKeyHash); each root's CRL and
// certificate at its own URL, the ones a certificate's AIA and CDP name; the rotation itself,
// made by another process while the service runs, is followed without a restart.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { initHome, openssl, pki, pkiJson, tempDir } from "../helpers.js";
import { http, type Served, startServe } from "./helpers.js";

let home: string;
let cleanup: () => void;
let served: Served;
const work = tempDir();
let g1Root: string;
let g2Root: string;
let oldCert: string;

before(async () => {
  ({ home, cleanup } = initHome());
  served = await startServe(home);
  assert.equal(pki(home, ["config", "set", "url", served.url]).status, 0);
  pkiJson(home, ["issue-client", "olga"]);
  pkiJson(home, ["issue-client", "oscar"]);
  oldCert = join(work.dir, "olga-g1.pem");
  writeFileSync(oldCert, readFileSync(join(home, "certs", "olga.pem")));
  g1Root = join(work.dir, "g1.pem");
  writeFileSync(g1Root, readFileSync(join(home, "ca.pem")));
  pkiJson(home, ["rotate-root"]);
  pkiJson(home, ["issue-client", "nina"]);
  g2Root = join(work.dir, "g2.pem");
  writeFileSync(g2Root, readFileSync(join(home, "ca.pem"), "utf8").split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
});
after(async () => {
  await served?.stop();
  cleanup();
  work.cleanup();
});

function ocsp(cert: string, issuer: string): string {
  const r = openssl(["ocsp", "-issuer", issuer, "-cert", cert, "-url", `${served.url}/ocsp`, "-CAfile", join(home, "ca.pem"), "-no_nonce", "-resp_text"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Response verify OK/);
  return r.stdout;
}

test("OCSP answers for both roots' certificates, each response signed by the certificate's own root", () => {
  const old = ocsp(oldCert, g1Root);
  assert.match(old, /olga-g1\.pem: good/);
  const fresh = ocsp(join(home, "certs", "nina.pem"), g2Root);
  assert.match(fresh, /nina\.pem: good/);
  // Each answer names its own root's key as responder (ResponderID byKey).
  const keyId = (root: string) => /X509v3 Subject Key Identifier: *\n\s*([0-9A-F:]+)/.exec(openssl(["x509", "-in", root, "-noout", "-text"]).stdout)![1]!.replace(/:/g, "");
  assert.match(old, new RegExp(`Responder Id: ${keyId(g1Root)}`));
  assert.match(fresh, new RegExp(`Responder Id: ${keyId(g2Root)}`));
  pkiJson(home, ["revoke", "olga"]);
  assert.match(ocsp(oldCert, g1Root), /olga-g1\.pem: revoked/);
});

test("each certificate's AIA and CDP name its own root's URLs, and the service publishes each root's CRL and certificate there", async () => {
  const text = (cert: string) => openssl(["x509", "-in", cert, "-noout", "-text"]).stdout;
  assert.match(text(join(home, "certs", "nina.pem")), new RegExp(`CA Issuers - URI:${served.url}/ca-G2\\.der[\\s\\S]*URI:${served.url}/crl-G2\\.der|URI:${served.url}/crl-G2\\.der[\\s\\S]*CA Issuers - URI:${served.url}/ca-G2\\.der`));
  assert.match(text(join(home, "certs", "oscar.pem")), new RegExp(`URI:${served.url}/crl\\.der`));

  const crlIssuer = async (path: string) => {
    const res = await http(`${served.url}${path}`);
    assert.equal(res.status, 200, path);
    const file = join(work.dir, `${path.slice(1)}`);
    writeFileSync(file, res.body);
    return openssl(["crl", "-inform", "DER", "-in", file, "-noout", "-issuer", "-nameopt", "RFC2253"]).stdout.trim();
  };
  assert.match(await crlIssuer("/crl.der"), /CN=Test Root CA,O=/);
  assert.match(await crlIssuer("/crl-G1.der"), /CN=Test Root CA,O=/);
  assert.match(await crlIssuer("/crl-G2.der"), /CN=Test Root CA G2,O=/);
  const pem = await http(`${served.url}/crl.pem`);
  assert.equal(pem.body.toString(), readFileSync(join(home, "crl.pem"), "utf8"));
  const ca = await http(`${served.url}/ca.pem`);
  assert.equal(ca.body.toString(), readFileSync(join(home, "ca.pem"), "utf8"));
  const g2 = await http(`${served.url}/ca-G2.der`);
  assert.equal(g2.status, 200);
  assert.equal(g2.headers["content-type"], "application/pkix-cert");
  writeFileSync(join(work.dir, "g2.der"), g2.body);
  assert.match(openssl(["x509", "-inform", "DER", "-in", join(work.dir, "g2.der"), "-noout", "-subject"]).stdout, /CN ?= ?Test Root CA G2/);
  assert.equal((await http(`${served.url}/crl-G7.der`)).status, 404);
});

test("after --finish the old root's URLs and OCSP are gone; /crl.der serves the current root's CRL", async () => {
  const r = pki(home, ["rotate-root", "--finish", "--force", "--yes"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await http(`${served.url}/crl-G1.der`)).status, 404);
  const res = await http(`${served.url}/crl.der`);
  const file = join(work.dir, "after.der");
  writeFileSync(file, res.body);
  assert.match(openssl(["crl", "-inform", "DER", "-in", file, "-noout", "-issuer"]).stdout, /Test Root CA G2/);
  const unauthorized = openssl(["ocsp", "-issuer", g1Root, "-cert", join(home, "certs", "oscar.pem"), "-url", `${served.url}/ocsp`, "-CAfile", g1Root, "-no_nonce"]);
  assert.match(unauthorized.stdout + unauthorized.stderr, /unauthorized/i);
  assert.match(ocsp(join(home, "certs", "nina.pem"), g2Root), /nina\.pem: good/);
});
