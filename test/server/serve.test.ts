// `pki serve` as a process, driven by the clients that use it: openssl ocsp, HTTP GET/POST,
// and a stream of bad requests it must survive.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { initHome, openssl, pki, pkiJson, tempDir } from "../helpers.js";
import { http, type Served, startServe } from "./helpers.js";

let home: string;
let cleanup: () => void;
let served: Served;
const scratch = tempDir("pki-serve-");
const f = (n: string) => join(scratch.dir, n);

before(async () => {
  ({ home, cleanup } = initHome());
  for (const n of ["alice", "bob", "carol"]) pkiJson(home, ["issue-client", n]);
  pkiJson(home, ["revoke", "bob", "--reason", "keyCompromise"]);
  served = await startServe(home);
});
after(async () => {
  await served?.stop();
  cleanup();
  scratch.cleanup();
});

function ocsp(cert: string, extra: string[] = []): string {
  const r = openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-cert", join(home, "certs", `${cert}.pem`), "-url", `${served.url}/ocsp`, "-CAfile", join(home, "ca.pem"), ...extra]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Response verify OK/);
  return r.stdout;
}

test("openssl ocsp: good, revoked with reason, with and without a nonce (POST)", () => {
  assert.match(ocsp("alice"), /alice\.pem: good/);
  assert.match(ocsp("alice", ["-no_nonce"]), /alice\.pem: good/);
  const bob = ocsp("bob");
  assert.match(bob, /bob\.pem: revoked/);
  assert.match(bob, /Reason: keyCompromise/);
});

test("a serial the CA never issued is unknown; another CA's certificate is unauthorized", () => {
  openssl(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", f("x.key"), "-out", f("x.pem"), "-subj", "/CN=Other CA"]);
  const r = openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-serial", "0x0123456789abcdef", "-url", `${served.url}/ocsp`, "-CAfile", join(home, "ca.pem")]);
  assert.match(r.stdout, /0x0123456789abcdef: unknown/);
  const foreign = openssl(["ocsp", "-issuer", f("x.pem"), "-cert", f("x.pem"), "-url", `${served.url}/ocsp`, "-CAfile", f("x.pem")]);
  assert.match(foreign.stdout + foreign.stderr, /unauthorized/i);
});

test("GET /ocsp/{base64}: plain and percent-encoded, with RFC 5019 caching headers", async () => {
  openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-cert", join(home, "certs", "alice.pem"), "-no_nonce", "-reqout", f("alice-req.der")]);
  const b64 = readFileSync(f("alice-req.der")).toString("base64");
  for (const path of [b64, encodeURIComponent(b64)]) {
    const r = await http(`${served.url}/ocsp/${path}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/ocsp-response");
    assert.match(String(r.headers["cache-control"]), /max-age=\d+, public, no-transform, must-revalidate/);
    assert.ok(r.headers.etag && r.headers["last-modified"] && r.headers.expires);
    writeFileSync(f("get-resp.der"), r.body);
    const v = openssl(["ocsp", "-reqin", f("alice-req.der"), "-respin", f("get-resp.der"), "-CAfile", join(home, "ca.pem"), "-issuer", join(home, "ca.pem"), "-resp_text"]);
    assert.match(v.stdout + v.stderr, /Response verify OK/);
    assert.match(v.stdout, /Cert Status: good/);
  }
});

test("a revocation shows in the very next answer, cached GET answers included, without a restart", async () => {
  openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-cert", join(home, "certs", "carol.pem"), "-no_nonce", "-reqout", f("carol-req.der")]);
  const url = `${served.url}/ocsp/${encodeURIComponent(readFileSync(f("carol-req.der")).toString("base64"))}`;
  const status = async () => {
    writeFileSync(f("carol-resp.der"), (await http(url)).body);
    return openssl(["ocsp", "-respin", f("carol-resp.der"), "-CAfile", join(home, "ca.pem"), "-issuer", join(home, "ca.pem"), "-resp_text"]).stdout;
  };
  assert.match(await status(), /Cert Status: good/);
  assert.match(await status(), /Cert Status: good/); // now from the cache
  await served.waitForLog(/ocsp=good serial=[0-9a-f]+ cached=1/);
  pkiJson(home, ["revoke", "carol", "--reason", "affiliationChanged"]);
  const after = await status();
  assert.match(after, /Cert Status: revoked/);
  assert.match(after, /Reason: affiliationChanged/);
});

test("answers to a nonce reuse each serial's status until the ledger changes: a revocation still shows in the very next one", () => {
  pkiJson(home, ["issue-client", "dora"]);
  const ask = () => {
    const r = openssl(["ocsp", "-issuer", join(home, "ca.pem"), "-cert", join(home, "certs", "dora.pem"), "-url", `${served.url}/ocsp`, "-CAfile", join(home, "ca.pem"), "-nonce", "-resp_text"]);
    assert.match(r.stdout + r.stderr, /Response verify OK/);
    assert.doesNotMatch(r.stdout + r.stderr, /Nonce Verify error|no nonce/i);
    return r.stdout;
  };
  const first = ask();
  assert.match(first, /Cert Status: good/);
  const second = ask();
  assert.match(second, /Cert Status: good/);
  // The same SingleResponse (times included), a new nonce and signature.
  assert.equal(/This Update: (.*)/.exec(second)![1], /This Update: (.*)/.exec(first)![1]);
  assert.notEqual(/OCSP Nonce: *\n *([0-9A-F]+)/.exec(second)![1], /OCSP Nonce: *\n *([0-9A-F]+)/.exec(first)![1]);
  pkiJson(home, ["revoke", "dora", "--reason", "superseded"]);
  const after = ask();
  assert.match(after, /Cert Status: revoked/);
  assert.match(after, /Reason: superseded/);
});

test("/crl.der and /crl.pem are the ledger's newest CRL, with ETag and 304", async () => {
  const der = await http(`${served.url}/crl.der`);
  assert.equal(der.status, 200);
  assert.equal(der.headers["content-type"], "application/pkix-crl");
  writeFileSync(f("served.crl"), der.body);
  const text = openssl(["crl", "-inform", "DER", "-in", f("served.crl"), "-noout", "-text", "-CAfile", join(home, "ca.pem")]);
  assert.match(text.stdout + text.stderr, /verify OK/);
  const onDisk = openssl(["crl", "-in", join(home, "crl.pem"), "-outform", "DER", "-out", f("disk.crl")]);
  assert.equal(onDisk.status, 0);
  assert.deepEqual(der.body, readFileSync(f("disk.crl")));
  const pem = await http(`${served.url}/crl.pem`);
  assert.equal(pem.body.toString(), readFileSync(join(home, "crl.pem"), "utf8"));
  const again = await http(`${served.url}/crl.der`, { headers: { "if-none-match": String(der.headers.etag) } });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
});

test("/ca.pem, /ca.der, /health and /metrics", async () => {
  assert.equal((await http(`${served.url}/ca.pem`)).body.toString(), readFileSync(join(home, "ca.pem"), "utf8"));
  const der = await http(`${served.url}/ca.der`);
  assert.equal(der.headers["content-type"], "application/pkix-cert");
  writeFileSync(f("ca.der"), der.body);
  assert.equal(openssl(["x509", "-inform", "DER", "-in", f("ca.der"), "-noout"]).status, 0);
  const health = JSON.parse((await http(`${served.url}/health`)).body.toString());
  assert.equal(health.status, "ok");
  assert.ok(health.crl.secondsLeft > 86_400);
  const metrics = (await http(`${served.url}/metrics`)).body.toString();
  assert.match(metrics, /^pki_certificates\{status="revoked"\} 3$/m); // bob, carol, dora
  assert.match(metrics, /^pki_certificates\{status="valid"\} 1$/m);
  assert.match(metrics, /^pki_http_requests_total\{route="\/ocsp",status="200"\} \d+$/m);
  assert.match(metrics, /^pki_ocsp_responses_total\{outcome="revoked",cached="false"\} \d+$/m);
  assert.match(metrics, /^pki_crl_next_update_seconds \d+/m);
  assert.match(metrics, /^pki_ocsp_response_seconds_count \d+$/m);
  // One log line a request.
  await served.waitForLog(/127\.0\.0\.1 GET \/metrics 200 \d+B/);
  assert.doesNotMatch(served.log(), /PASSPHRASE|correct horse/);
});

test("500 bad requests get clear errors, and the server stays up with flat memory", async () => {
  const rss = async () => Number(/^process_resident_memory_bytes (\d+)/m.exec((await http(`${served.url}/metrics`)).body.toString())![1]);
  const good = readFileSync(f("alice-req.der"));
  const before = await rss();
  const statuses = new Map<string, number>();
  const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
  for (let i = 0; i < 500; i++) {
    const kind = i % 7;
    let r;
    if (kind === 0) r = await http(`${served.url}/ocsp`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: good.subarray(0, i % good.length) });
    else if (kind === 1) r = await http(`${served.url}/ocsp`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: Buffer.alloc(64 + i, i & 0xff) });
    else if (kind === 2) r = await http(`${served.url}/ocsp`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: Buffer.alloc(200_000, 0x30) });
    else if (kind === 3) r = await http(`${served.url}/ocsp`, { method: "POST", headers: { "content-type": "text/plain" }, body: good });
    else if (kind === 4) r = await http(`${served.url}/ocsp/${"%zz!*".repeat(1 + (i % 5))}`);
    else if (kind === 5) r = await http(`${served.url}/ocsp/${Buffer.alloc(i, 0x41).toString("base64")}`);
    else r = await http(`${served.url}/${["nope", "crl.der/x", "ocsp"][i % 3]}`, { method: i % 2 ? "DELETE" : "PUT" });
    count(`${kind}:${r.status}`);
    if (r.status === 200) {
      writeFileSync(f("bad-resp.der"), r.body);
      assert.match(openssl(["ocsp", "-respin", f("bad-resp.der"), "-resp_text", "-noverify"]).stdout, /malformedrequest|unauthorized/i, `request kind ${kind}`);
    }
  }
  for (const [k, n] of statuses) {
    const [kind, status] = k.split(":").map(Number);
    const expected = { 0: [200], 1: [200], 2: [413], 3: [415], 4: [200], 5: [200], 6: [404, 405] }[kind!]!;
    assert.ok(expected.includes(status!), `request kind ${kind} answered ${status} ${n} times`);
  }
  assert.match(ocsp("alice"), /alice\.pem: good/, "still answering");
  const grown = (await rss()) - before;
  assert.ok(grown < 40 * 1024 * 1024, `RSS grew by ${grown} bytes over 500 bad requests`);
});

test("a second pki serve on the same home is refused; the socket is owner-only", () => {
  assert.equal(statSync(join(home, "serve.sock")).mode & 0o777, 0o600);
  const r = pki(home, ["serve", "--http", "127.0.0.1:0"]);
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /already running/);
});

test("SIGTERM stops it cleanly: exit 0, socket removed", async () => {
  const code = await served.stop();
  assert.equal(code, 0, served.log());
  assert.match(served.log(), /SIGTERM, finishing in-flight requests\npki serve: stopped/);
  assert.equal(existsSync(join(home, "serve.sock")), false);
});
