// Client programs beside curl (nginx.test.ts) and browsers (chromium.test.ts): Python's ssl
// module and wget present a pki client certificate with the key from `export-key --unencrypted`
// (what the README's table says they need) to nginx from `pki server-config nginx`, which checks the CRL.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pkiJson, tempDir } from "../helpers.js";
import { type E2eCa, exec, makeCa, makeClient, type Running, startNginx, startUpstream } from "./harness.js";

const work = tempDir("pki-e2e-client-programs-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let nginx: Running;
let alice: { cert: string; key: string };
let eve: { cert: string; key: string };

before(async () => {
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  alice = makeClient(ca, "alice");
  eve = makeClient(ca, "eve");
  pkiJson(ca.home, ["revoke", "eve"]);
  nginx = await startNginx(ca, "clients", [], upstream.port);
});
after(async () => {
  await nginx?.stop();
  await upstream?.close();
  work.cleanup();
});

const PYTHON_GET = `
import ssl, sys, urllib.error, urllib.request
url, cafile, cert, key = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.load_cert_chain(cert, key)
try:
    r = urllib.request.urlopen(url, context=ctx, timeout=20)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
`;

async function python(client: { cert: string; key: string }): Promise<{ status: number; body: string; error: string }> {
  const url = `https://localhost:${nginx.port}/`;
  const r = await exec("python3", ["-c", PYTHON_GET, url, ca.ca, client.cert, client.key], { PATH: process.env.PATH, HOME: process.env.HOME });
  const [status, ...body] = r.stdout.split("\n");
  return { status: Number(status), body: body.join("\n"), error: r.stderr };
}

test("Python ssl + urllib with the certificate and the unencrypted key: 200 and its subject; a revoked one gets nginx's 400", async () => {
  const ok = await python(alice);
  assert.equal(ok.status, 200, ok.error);
  assert.match(ok.body, /subject=CN=alice\n/);
  const revoked = await python(eve);
  assert.equal(revoked.status, 400, revoked.error);
  assert.match(revoked.body, /certificate revoked/);
});

test("wget --certificate --private-key: 200 and its subject", async () => {
  const out = join(work.dir, "wget.out");
  const r = await exec("wget", ["-q", "-O", out, "--ca-certificate", ca.ca, "--certificate", alice.cert, "--private-key", alice.key, `https://127.0.0.1:${nginx.port}/`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(out, "utf8"), /subject=CN=alice\n/);
});
