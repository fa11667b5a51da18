// A root rotation seen by a live nginx configured from `pki server-config nginx`: during the
// overlap (ca.pem and crl.pem holding both roots) a client certificate of the old root and one of
// the new root both get in and a revoked old one does not; after `rotate-root --finish` the old
// one no longer gets in.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PASSPHRASE, PKI_BIN, pki, pkiJson, tempDir } from "../helpers.js";
import { curl, type E2eCa, exec, makeCa, makeClient, type Running, startNginx, startUpstream } from "./harness.js";

const work = tempDir("pki-e2e-rotate-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let nginx: Running;
let olive: { cert: string; key: string };
let rex: { cert: string; key: string };
let nora: { cert: string; key: string };

/** A client's certificate copied out of the home, as its holder keeps it. */
function kept(client: { cert: string; key: string }, name: string): { cert: string; key: string } {
  const cert = join(work.dir, `${name}-kept.pem`);
  copyFileSync(client.cert, cert);
  return { cert, key: client.key };
}

before(async () => {
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  olive = kept(makeClient(ca, "olive"), "olive");
  rex = kept(makeClient(ca, "rex"), "rex");
  nginx = await startNginx(ca, "rotate", [], upstream.port);
});
after(async () => {
  await nginx?.stop();
  await upstream?.close();
  work.cleanup();
});

const get = (c: { cert: string; key: string }) => curl(ca, nginx.port, ["--cert", c.cert, "--key", c.key]);

test("during the overlap: an old and a new client certificate get in, a revoked old one does not", async () => {
  assert.equal((await get(olive)).status, 200);
  assert.equal(pki(ca.home, ["rotate-root"]).status, 0);
  assert.equal(readFileSync(ca.ca, "utf8").match(/BEGIN CERTIFICATE/g)!.length, 2);
  nora = kept(makeClient(ca, "nora"), "nora");
  pkiJson(ca.home, ["revoke", "rex"]);
  await nginx.reload();

  const old = await get(olive);
  assert.equal(old.status, 200, old.error + old.body);
  assert.match(old.body, /subject=CN=olive\n/);
  const fresh = await get(nora);
  assert.equal(fresh.status, 200, fresh.error + fresh.body);
  assert.match(fresh.body, /subject=CN=nora\n/);
  const revoked = await get(rex);
  assert.equal(revoked.status, 400, revoked.error);
  assert.match(revoked.body, /The SSL certificate error \(FAILED:certificate revoked\)/);

  // doctor reports the overlap, and the new root's certificate gets in.
  // Asynchronously: the upstream behind nginx answers from this process.
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: ca.home, PKI_HOME: ca.home, PKI_PASSPHRASE: PASSPHRASE };
  const doctor = await exec(process.execPath, [PKI_BIN, "--json", "doctor", `https://localhost:${nginx.port}/`, "--resolve", `localhost:${nginx.port}:127.0.0.1`, "--cert", "nora", "--key", nora.key], env);
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: { id: string; message: string }[] };
  assert.equal(report.ok, true, doctor.stdout);
  assert.match(report.checks.find((c) => c.id === "ca.rotation")?.message ?? "", /root rotation under way: G2 "E2E Root CA G2" signs new certificates, G1 "E2E Root CA" \(2 valid certificates left\) still trusted/);
});

test("after rotate-root --finish (and the server's own certificate renewed under the new root): the old client certificate is refused", async () => {
  pkiJson(ca.home, ["renew", "localhost", "--reuse-key"]);
  const finish = pki(ca.home, ["rotate-root", "--finish"]);
  assert.equal(finish.status, 4, "olive still depends on the old root");
  assert.equal(pki(ca.home, ["rotate-root", "--finish", "--force", "--yes"]).status, 0);
  assert.equal(readFileSync(ca.ca, "utf8").match(/BEGIN CERTIFICATE/g)!.length, 1);
  await nginx.reload();

  const old = await get(olive);
  assert.equal(old.status, 400, old.error);
  assert.match(old.body, /The SSL certificate error \(FAILED:unable to (get|verify the first) /);
  const fresh = await get(nora);
  assert.equal(fresh.status, 200, fresh.error + fresh.body);
});
