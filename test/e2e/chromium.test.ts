import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pkiJson, tempDir } from "../helpers.js";
import { exec, type E2eCa, makeCa, makeClient, type Running, startHaproxy, startNginx, startUpstream } from "./harness.js";

// Headless Chromium (Debian's package) with an NSS database holding the .p12 from
// `pki export-p12`, and the AutoSelectCertificateForUrls policy so no picker is shown.
const CHROMIUM = "/usr/bin/chromium";
const POLICY_DIR = "/etc/chromium/policies/managed";
const work = tempDir("pki-e2e-chromium-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let nginx: Running;
let haproxy: Running;
let haproxy12: Running;
const policyFile = join(POLICY_DIR, `pki-e2e-${process.pid}.json`);

before(async () => {
  assert.ok(existsSync(CHROMIUM), "Debian's chromium must be installed (.ci/run installs it)");
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  makeClient(ca, "alice");
  nginx = await startNginx(ca, "chromium", [], upstream.port);
  haproxy = await startHaproxy(ca, "chromium", [], upstream.port);
  haproxy12 = await startHaproxy(ca, "chromium-tls12", [], upstream.port, "ssl-max-ver TLSv1.2");
  mkdirSync(POLICY_DIR, { recursive: true });
  const patterns = [nginx.port, haproxy.port, haproxy12.port].map((p) => JSON.stringify({ pattern: `https://localhost:${p}`, filter: {} }));
  writeFileSync(policyFile, JSON.stringify({ AutoSelectCertificateForUrls: patterns }));
});
after(async () => {
  rmSync(policyFile, { force: true });
  await nginx?.stop();
  await haproxy?.stop();
  await haproxy12?.stop();
  await upstream?.close();
  work.cleanup();
});

/** A browser profile: HOME with an NSS database that trusts the root and, optionally, holds alice's identity. */
async function browserHome(name: string, withIdentity: boolean): Promise<string> {
  const home = join(work.dir, name);
  const db = join(home, ".pki", "nssdb");
  mkdirSync(db, { recursive: true });
  assert.equal((await exec("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"])).code, 0);
  assert.equal((await exec("certutil", ["-A", "-n", "E2E Root CA", "-t", "C,,", "-i", ca.ca, "-d", `sql:${db}`])).code, 0);
  if (withIdentity) {
    const p12 = join(work.dir, "alice.p12");
    pkiJson(ca.home, ["export-p12", "alice", "--out", p12], { PKI_P12_PASSWORD: "browser pw" });
    const imp = await exec("pk12util", ["-i", p12, "-d", `sql:${db}`, "-W", "browser pw"]);
    assert.equal(imp.code, 0, imp.stderr);
  }
  return home;
}

async function chromium(home: string, url: string) {
  return exec(
    CHROMIUM,
    [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--enable-logging=stderr", "--v=0",
      `--user-data-dir=${join(home, "profile")}`, "--dump-dom", url,
    ],
    { PATH: process.env.PATH, HOME: home },
  );
}

test("with the imported .p12, Chromium gets 200 and the page shows the client's subject", async () => {
  const home = await browserHome("with-identity", true);
  const r = await chromium(home, `https://localhost:${nginx.port}/`);
  assert.match(r.stdout, /subject=CN=alice/, r.stderr.slice(-2000));
  assert.match(r.stdout, /verify=SUCCESS/);
});

test("without a client certificate, nginx answers 400 \"No required SSL certificate was sent\"", async () => {
  const home = await browserHome("no-identity", false);
  const r = await chromium(home, `https://localhost:${nginx.port}/`);
  assert.match(r.stdout, /400 No required SSL certificate was sent/, r.stderr.slice(-2000));
  assert.doesNotMatch(r.stdout, /subject=CN=alice/);
});

test("without a client certificate, a handshake-level refusal (HAProxy, TLS 1.2) is Chrome's ERR_BAD_SSL_CLIENT_AUTH_CERT", async () => {
  const home = await browserHome("no-identity-haproxy", false);
  const r = await chromium(home, `https://localhost:${haproxy12.port}/`);
  assert.doesNotMatch(r.stdout, /subject=/);
  assert.match(r.stderr, /Page load failed: net::ERR_BAD_SSL_CLIENT_AUTH_CERT/, r.stderr.slice(-1500));
});

test("the same refusal over TLS 1.3 reaches Chrome after its handshake: ERR_BAD_SSL_CLIENT_AUTH_CERT or, depending on timing, ERR_SOCKET_NOT_CONNECTED", async () => {
  // In TLS 1.3 the server's certificate_required alert arrives after the client's Finished,
  // so which error Chrome reports depends on whether it is still reading; both mean "no
  // acceptable client certificate", which is why pki doctor asks the server directly.
  const home = await browserHome("no-identity-haproxy13", false);
  const r = await chromium(home, `https://localhost:${haproxy.port}/`);
  assert.doesNotMatch(r.stdout, /subject=/);
  assert.match(r.stderr, /Page load failed: net::(ERR_BAD_SSL_CLIENT_AUTH_CERT|ERR_SOCKET_NOT_CONNECTED)/, r.stderr.slice(-1500));
});
