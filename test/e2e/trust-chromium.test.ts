import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pkiJson, tempDir } from "../helpers.js";
import { exec, type E2eCa, makeCa, type Running, startNginx, startUpstream } from "./harness.js";

// pki trust install --nss as Chromium sees it: a browser whose ~/.pki/nssdb lacks the root
// refuses the nginx server certificate pki issued; after install it completes the TLS
// handshake (and meets nginx's own "no client certificate" page); after uninstall it refuses again.
const CHROMIUM = "/usr/bin/chromium";
const work = tempDir("pki-e2e-trust-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let nginx: Running;

before(async () => {
  assert.ok(existsSync(CHROMIUM), "Debian's chromium must be installed (.ci/run installs it)");
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  nginx = await startNginx(ca, "trust-chromium", [], upstream.port);
});
after(async () => {
  await nginx?.stop();
  await upstream?.close();
  work.cleanup();
});

async function chromium(home: string, url: string) {
  return exec(
    CHROMIUM,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0", `--user-data-dir=${join(home, "profile")}`, "--dump-dom", url],
    { PATH: process.env.PATH, HOME: home },
  );
}

test("Chromium trusts the root after pki trust install --nss and no longer after uninstall", async () => {
  const browser = join(work.dir, "browser");
  const db = join(browser, ".pki", "nssdb");
  mkdirSync(db, { recursive: true });
  assert.equal((await exec("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"])).code, 0);
  const url = `https://localhost:${nginx.port}/`;
  // HOME is the browser's: --nss without a folder is its ~/.pki/nssdb.
  const trust = (action: string) => pkiJson<{ stores: { outcome: string }[] }>(ca.home, ["trust", action, "--nss"], { HOME: browser }).stores[0]!.outcome;

  const before = await chromium(browser, url);
  assert.match(before.stderr, /net::ERR_CERT_AUTHORITY_INVALID/, before.stderr.slice(-1500));

  assert.equal(trust("install"), "installed");
  const trusted = await chromium(browser, url);
  assert.match(trusted.stdout, /400 No required SSL certificate was sent/, trusted.stderr.slice(-1500));

  assert.equal(trust("uninstall"), "removed");
  const after = await chromium(browser, url);
  assert.match(after.stderr, /net::ERR_CERT_AUTHORITY_INVALID/, after.stderr.slice(-1500));
});
