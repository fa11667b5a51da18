// Revocation without reloads: nginx (ssl_ocsp leaf) and Apache (SSLOCSPEnable leaf, which
// sends a nonce and requires it back) ask `pki serve` about each client certificate; a
// revocation refuses the next handshake while the servers keep running on their old CRL.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pkiJson, tempDir } from "../helpers.js";
import { type Served, startServe } from "../server/helpers.js";
import { curl, type E2eCa, makeCa, makeClient, type Running, startApache, startNginx, startUpstream } from "./harness.js";

const work = tempDir("pki-e2e-ocsp-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let served: Served;
const servers: Running[] = [];

before(async () => {
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  served = await startServe(ca.home);
  pkiJson(ca.home, ["config", "set", "url", served.url]);
});
after(async () => {
  for (const s of servers) await s.stop();
  await served?.stop();
  await upstream?.close();
  work.cleanup();
});

const clientArgs = (c: { cert: string; key: string }) => ["--cert", c.cert, "--key", c.key];

describe("nginx with ssl_ocsp leaf, from `pki server-config nginx --ocsp`", () => {
  let nginx: Running;
  let alice: { cert: string; key: string };
  let bob: { cert: string; key: string };
  before(async () => {
    alice = makeClient(ca, "nginx-alice");
    bob = makeClient(ca, "nginx-bob");
    // ssl_ocsp_cache is dropped so that the revocation is seen now, not after the answer's nextUpdate.
    nginx = await startNginx(ca, "ocsp", ["--ocsp"], upstream.port, (s) => s.replace(/^\s*ssl_ocsp_cache .*$/m, ""));
    servers.push(nginx);
  });

  test("a valid certificate gets in after nginx asked the responder", async () => {
    const r = await curl(ca, nginx.port, clientArgs(alice));
    assert.equal(r.status, 200, r.error + r.body);
    assert.match(r.body, /verify=SUCCESS/);
    await served.waitForLog(/GET \/ocsp 200 \d+B [\d.]+ms ocsp=good/);
  });

  test("revoked through pki: the next handshake is refused, with no nginx reload", async () => {
    pkiJson(ca.home, ["revoke", "nginx-alice", "--reason", "keyCompromise"]);
    const r = await curl(ca, nginx.port, clientArgs(alice));
    assert.equal(r.status, 400, r.error + r.body);
    assert.match(r.body, /The SSL certificate error/);
    await served.waitForLog(/GET \/ocsp 200 \d+B [\d.]+ms ocsp=revoked/);
    const other = await curl(ca, nginx.port, clientArgs(bob));
    assert.equal(other.status, 200, "another client is unaffected");
  });
});

describe("nginx with ssl_ocsp leaf and no ssl_ocsp_responder: the responder is the one the certificate names (AIA)", () => {
  let nginx: Running;
  let dave: { cert: string; key: string };
  before(async () => {
    dave = makeClient(ca, "aia-dave"); // issued after `pki config set url`: it carries {url}/ocsp
    nginx = await startNginx(ca, "ocsp-aia", ["--ocsp"], upstream.port, (s) => s.replace(/^\s*ssl_ocsp_(cache|responder) .*$/gm, ""));
    servers.push(nginx);
  });

  test("nginx asks the URI from the certificate: in while good, out at the next handshake once revoked", async () => {
    assert.doesNotMatch(readFileSync(join(ca.dir, "nginx-ocsp-aia", "nginx.conf"), "utf8"), /ssl_ocsp_responder/);
    const { serial } = pkiJson<{ serial: string }>(ca.home, ["show", "aia-dave"]);
    const r = await curl(ca, nginx.port, clientArgs(dave));
    assert.equal(r.status, 200, r.error + r.body);
    await served.waitForLog(new RegExp(`GET /ocsp 200 \\d+B [\\d.]+ms ocsp=good serial=${serial}`));
    pkiJson(ca.home, ["revoke", "aia-dave", "--reason", "keyCompromise"]);
    const refused = await curl(ca, nginx.port, clientArgs(dave));
    assert.equal(refused.status, 400, refused.error + refused.body);
    await served.waitForLog(new RegExp(`GET /ocsp 200 \\d+B [\\d.]+ms ocsp=revoked serial=${serial}`));
  });
});

describe("Apache with SSLOCSPEnable leaf (nonce required), from `pki server-config apache --ocsp`", () => {
  let apache: Running;
  let carol: { cert: string; key: string };
  before(async () => {
    carol = makeClient(ca, "apache-carol");
    apache = await startApache(ca, "ocsp", ["--ocsp"], upstream.port);
    servers.push(apache);
  });

  test("a valid certificate gets in; Apache's nonce is echoed (POST)", async () => {
    const r = await curl(ca, apache.port, clientArgs(carol));
    assert.equal(r.status, 200, r.error + r.body);
    await served.waitForLog(/POST \/ocsp 200 \d+B [\d.]+ms ocsp=good/);
  });

  test("revoked through pki: the next handshake fails, with no Apache restart", async () => {
    pkiJson(ca.home, ["revoke", "apache-carol", "--reason", "affiliationChanged"]);
    const r = await curl(ca, apache.port, clientArgs(carol));
    assert.notEqual(r.status, 200, r.body);
    await served.waitForLog(/POST \/ocsp 200 \d+B [\d.]+ms ocsp=revoked/);
    assert.match(readFileSync(join(ca.dir, "apache-ocsp", "error.log"), "utf8"), /Certificate Verification: Error \(23\): certificate revoked/);
  });
});

describe("nginx and Apache accept the answers of a delegated responder (pki serve --ocsp-signer delegated)", () => {
  let dca: E2eCa;
  let dserved: Served;
  let nginx: Running;
  let apache: Running;
  let erin: { cert: string; key: string };
  let fred: { cert: string; key: string };
  before(async () => {
    const dir = join(work.dir, "delegated");
    mkdirSync(dir);
    dca = makeCa(dir);
    dserved = await startServe(dca.home, {}, ["--ocsp-signer", "delegated"]);
    pkiJson(dca.home, ["config", "set", "url", dserved.url]);
    erin = makeClient(dca, "delegated-erin");
    fred = makeClient(dca, "delegated-fred");
    nginx = await startNginx(dca, "ocsp-delegated", ["--ocsp"], upstream.port, (s) => s.replace(/^\s*ssl_ocsp_cache .*$/m, ""));
    servers.push(nginx);
    apache = await startApache(dca, "ocsp-delegated", ["--ocsp"], upstream.port);
    servers.push(apache);
  });
  after(async () => {
    await dserved?.stop();
  });

  test("a valid certificate gets in through both; revoked, the next handshake is refused by both, with no reload", async () => {
    const { serial: responder } = pkiJson<{ serial: string }>(dca.home, ["show", "pki-ocsp-responder"]);
    assert.match(dserved.log(), new RegExp(`delegated responder certificate ${responder}`));
    assert.equal((await curl(dca, nginx.port, clientArgs(erin))).status, 200);
    await dserved.waitForLog(/GET \/ocsp 200 \d+B [\d.]+ms ocsp=good/);
    assert.equal((await curl(dca, apache.port, clientArgs(fred))).status, 200);
    await dserved.waitForLog(/POST \/ocsp 200 \d+B [\d.]+ms ocsp=good/);
    pkiJson(dca.home, ["revoke", "delegated-erin", "--reason", "keyCompromise"]);
    pkiJson(dca.home, ["revoke", "delegated-fred", "--reason", "keyCompromise"]);
    const n = await curl(dca, nginx.port, clientArgs(erin));
    assert.equal(n.status, 400, n.error + n.body);
    await dserved.waitForLog(/GET \/ocsp 200 \d+B [\d.]+ms ocsp=revoked/);
    const a = await curl(dca, apache.port, clientArgs(fred));
    assert.notEqual(a.status, 200, a.body);
    await dserved.waitForLog(/POST \/ocsp 200 \d+B [\d.]+ms ocsp=revoked/);
    assert.match(readFileSync(join(dca.dir, "apache-ocsp-delegated", "error.log"), "utf8"), /Certificate Verification: Error \(23\): certificate revoked/);
  });
});
