// With `pki config set url`, every issuance path puts the responder, the issuer and the CRL into
// the certificate (AIA and CDP), and the programs that read those URIs find `pki serve` there.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { initHome, openssl, pki, pkiJson, tempDir } from "../helpers.js";
import { http, type Served, startServe } from "./helpers.js";

let home: string;
let cleanup: () => void;
let served: Served;
const scratch = tempDir("pki-aia-");
const f = (n: string) => join(scratch.dir, n);
const certText = (name: string) => openssl(["x509", "-in", join(home, "certs", `${name}.pem`), "-noout", "-text"]).stdout;

before(async () => {
  ({ home, cleanup } = initHome());
  pkiJson(home, ["issue-client", "before-url"]);
  served = await startServe(home);
  pkiJson(home, ["config", "set", "url", `${served.url}/`]);
});
after(async () => {
  await served?.stop();
  cleanup();
  scratch.cleanup();
});

function assertPointers(text: string): void {
  assert.match(text, new RegExp(`OCSP - URI:${served.url}/ocsp\\n`));
  assert.match(text, new RegExp(`CA Issuers - URI:${served.url}/ca\\.der\\n`));
  assert.match(text, /X509v3 CRL Distribution Points:\s+Full Name:\s+URI:http:\/\/127\.0\.0\.1:\d+\/crl\.der\n/);
  assert.doesNotMatch(text, /Authority Information Access: critical|CRL Distribution Points: critical/);
}

test("client, server, CSR, renewed and bulk certificates carry AIA and CDP; one from before the setting does not", () => {
  pkiJson(home, ["issue-client", "alice"]);
  pkiJson(home, ["issue-server", "svc.internal", "127.0.0.1"]);
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("bot.key"), "-out", f("bot.csr"), "-subj", "/CN=bot"]);
  pkiJson(home, ["issue-client", "bot", "--csr", f("bot.csr")]);
  pkiJson(home, ["renew", "before-url"]);
  writeFileSync(f("names.txt"), "bulk-1\nbulk-2\n");
  pkiJson(home, ["issue-client", "--from", f("names.txt")]);
  for (const name of ["alice", "svc.internal", "bot", "before-url", "bulk-1", "bulk-2"]) assertPointers(certText(name));
  // Its predecessor was signed before the setting: no pointers.
  const [older] = pkiJson<{ name: string; serial: string }[]>(home, ["list", "--status", "superseded", "--json"]).filter((c) => c.name === "before-url");
  writeFileSync(f("older.pem"), pki(home, ["show", older!.serial, "--pem"]).stdout);
  assert.doesNotMatch(openssl(["x509", "-in", f("older.pem"), "-noout", "-text"]).stdout, /Authority Information Access|CRL Distribution Points/);
});

test("pki show names them", () => {
  const shown = pkiJson<{ extensions: { authorityInfoAccess: unknown; crlDistributionPoints: unknown; other: unknown[] } }>(home, ["show", "alice"]);
  assert.deepEqual(shown.extensions.authorityInfoAccess, { ocsp: [`${served.url}/ocsp`], caIssuers: [`${served.url}/ca.der`] });
  assert.deepEqual(shown.extensions.crlDistributionPoints, [`${served.url}/crl.der`]);
  assert.deepEqual(shown.extensions.other, []);
  assert.match(pki(home, ["show", "alice"]).stdout, new RegExp(`authorityInfoAccess:\\s+OCSP:${served.url}/ocsp, caIssuers:${served.url}/ca\\.der\n`));
});

test("openssl ocsp with the URI read from the certificate gets a verified 'good'", () => {
  const cert = join(home, "certs", "alice.pem");
  const uri = openssl(["x509", "-in", cert, "-noout", "-ocsp_uri"]).stdout.trim();
  assert.equal(uri, `${served.url}/ocsp`);
  const r = openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-cert", cert, "-url", uri, "-CAfile", join(home, "ca.pem")]);
  assert.match(r.stdout + r.stderr, /Response verify OK/);
  assert.match(r.stdout, /alice\.pem: good/);
});

test("the caIssuers and CRL URIs serve DER that openssl reads: the root and a CRL it signed", async () => {
  const issuer = await http(`${served.url}/ca.der`);
  assert.equal(issuer.headers["content-type"], "application/pkix-cert");
  writeFileSync(f("issuer.der"), issuer.body);
  const pem = openssl(["x509", "-inform", "DER", "-in", f("issuer.der")]).stdout;
  assert.equal(pem.trim(), readFileSync(join(home, "ca.pem"), "utf8").trim());
  pkiJson(home, ["revoke", "bulk-1"]);
  writeFileSync(f("crl.der"), (await http(`${served.url}/crl.der`)).body);
  const crl = openssl(["crl", "-inform", "DER", "-in", f("crl.der"), "-CAfile", join(home, "ca.pem"), "-noout"]);
  assert.equal(crl.status, 0, crl.stderr);
  assert.match(crl.stderr + crl.stdout, /verify OK/);
});

test("without the setting, certificates carry neither extension", () => {
  pkiJson(home, ["config", "unset", "url"]);
  pkiJson(home, ["issue-client", "plain"]);
  assert.doesNotMatch(certText("plain"), /Authority Information Access|CRL Distribution Points/);
});
