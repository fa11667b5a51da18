import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pki, pkiJson, tempDir } from "../helpers.js";
import { expiredClient } from "./expired.js";
import { curl, exec, type E2eCa, makeCa, makeClient, type Running, startNginx, startUpstream } from "./harness.js";

const work = tempDir("pki-e2e-nginx-");
let ca: E2eCa;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const servers: Running[] = [];
let alice: { cert: string; key: string };

before(async () => {
  ca = makeCa(work.dir);
  upstream = await startUpstream();
  alice = makeClient(ca, "alice");
});
after(async () => {
  for (const s of servers) await s.stop();
  await upstream?.close();
  work.cleanup();
});

describe("nginx with ssl_verify_client on, from `pki server-config nginx`", () => {
  let nginx: Running;
  before(async () => {
    nginx = await startNginx(ca, "on", [], upstream.port);
    servers.push(nginx);
  });

  test("no client certificate → 400 \"No required SSL certificate was sent\" with the explanation page", async () => {
    const r = await curl(ca, nginx.port);
    assert.equal(r.status, 400, r.error);
    assert.match(r.body, /<title>400 No required SSL certificate was sent<\/title>/);
    assert.match(r.body, /Install the \.p12 file your administrator sent you/);
  });

  test("alice's certificate → 200, and the upstream sees her subject and SUCCESS", async () => {
    const r = await curl(ca, nginx.port, ["--cert", alice.cert, "--key", alice.key]);
    assert.equal(r.status, 200, r.error + r.body);
    assert.match(r.body, /subject=CN=alice\n/);
    assert.match(r.body, /verify=SUCCESS\n/);
  });

  test("alice's .p12 from export-p12 works with curl (default and --legacy)", async () => {
    for (const legacy of [false, true]) {
      const file = join(ca.dir, `alice${legacy ? "-legacy" : ""}.p12`);
      pkiJson(ca.home, ["export-p12", "alice", "--out", file, ...(legacy ? ["--legacy"] : [])], { PKI_P12_PASSWORD: "s3cret p12" });
      const r = await curl(ca, nginx.port, ["--cert-type", "P12", "--cert", `${file}:s3cret p12`]);
      assert.equal(r.status, 200, r.error);
      assert.match(r.body, /subject=CN=alice/);
    }
  });

  test("an expired certificate → 400 \"The SSL certificate error\" (certificate has expired)", async () => {
    const old = await expiredClient(ca.home, ca.dir, "old-timer");
    const r = await curl(ca, nginx.port, ["--cert", old.cert, "--key", old.key]);
    assert.equal(r.status, 400, r.error);
    assert.match(r.body, /The SSL certificate error \(FAILED:certificate has expired\)/);
  });

  test("a certificate from a different CA → 400 \"The SSL certificate error\"", async () => {
    const other = tempDir("pki-e2e-other-");
    try {
      const home = join(other.dir, "home");
      pkiJson(home, ["init-root", "--cn", "Some Other CA"]);
      pkiJson(home, ["issue-client", "mallory"]);
      pkiJson(home, ["export-key", "mallory", "--unencrypted", "--out", join(other.dir, "m.key")]);
      const r = await curl(ca, nginx.port, ["--cert", join(home, "certs", "mallory.pem"), "--key", join(other.dir, "m.key")]);
      assert.equal(r.status, 400, r.error);
      assert.match(r.body, /The SSL certificate error \(FAILED:unable to (get|verify the first) /);
    } finally {
      other.cleanup();
    }
  });

  test("after pki revoke and a reload → rejected because of the CRL", async () => {
    const bob = makeClient(ca, "bob");
    assert.equal((await curl(ca, nginx.port, ["--cert", bob.cert, "--key", bob.key])).status, 200);
    pkiJson(ca.home, ["revoke", "bob", "--reason", "keyCompromise"]);
    await nginx.reload();
    const r = await curl(ca, nginx.port, ["--cert", bob.cert, "--key", bob.key]);
    assert.equal(r.status, 400, r.error);
    assert.match(r.body, /The SSL certificate error \(FAILED:certificate revoked\)/);
    assert.equal((await curl(ca, nginx.port, ["--cert", alice.cert, "--key", alice.key])).status, 200, "alice still gets in");
  });

  test("revoke --reason certificateHold → refused; pki unrevoke and a reload → let in again", async () => {
    const hal = makeClient(ca, "hal");
    pkiJson(ca.home, ["revoke", "hal", "--reason", "certificateHold"]);
    await nginx.reload();
    const held = await curl(ca, nginx.port, ["--cert", hal.cert, "--key", hal.key]);
    assert.equal(held.status, 400, held.error);
    assert.match(held.body, /The SSL certificate error \(FAILED:certificate revoked\)/);
    pkiJson(ca.home, ["unrevoke", "hal"]);
    await nginx.reload();
    const released = await curl(ca, nginx.port, ["--cert", hal.cert, "--key", hal.key]);
    assert.equal(released.status, 200, released.error + released.body);
    assert.match(released.body, /subject=CN=hal\n/);
  });

  test("revoke NAME after renew without --revoke-old → the superseded certificate is rejected too, not just the new one", async () => {
    const old = makeClient(ca, "gina");
    const oldCert = join(ca.dir, "gina-old.pem");
    copyFileSync(old.cert, oldCert); // renew writes the new certificate over certs/gina.pem
    const renewed = pkiJson<{ certificate: string }>(ca.home, ["renew", "gina"]);
    const newKey = join(ca.dir, "gina-new.key");
    pkiJson(ca.home, ["export-key", "gina", "--unencrypted", "--out", newKey]);
    for (const [cert, key] of [[oldCert, old.key], [renewed.certificate, newKey]]) {
      assert.equal((await curl(ca, nginx.port, ["--cert", cert!, "--key", key!])).status, 200, "both work before");
    }
    const j = pkiJson<{ revoked: unknown[] }>(ca.home, ["revoke", "gina", "--reason", "affiliationChanged"]);
    assert.equal(j.revoked.length, 2);
    await nginx.reload();
    for (const [cert, key] of [[oldCert, old.key], [renewed.certificate, newKey]]) {
      const r = await curl(ca, nginx.port, ["--cert", cert!, "--key", key!]);
      assert.equal(r.status, 400, r.error);
      assert.match(r.body, /certificate revoked/);
    }
  });

  test("pki hook set crl \"nginx … -s reload\": a revocation takes effect without a manual reload", async () => {
    const carol = makeClient(ca, "carol");
    assert.equal((await curl(ca, nginx.port, ["--cert", carol.cert, "--key", carol.key])).status, 200);
    pkiJson(ca.home, ["hook", "set", "crl", nginx.reloadCommand]);
    const r = pki(ca.home, ["revoke", "carol"]);
    assert.equal(r.status, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 1500)); // the new worker takes over
    const after = await curl(ca, nginx.port, ["--cert", carol.cert, "--key", carol.key]);
    assert.equal(after.status, 400);
    assert.match(after.body, /certificate revoked/);
    pkiJson(ca.home, ["hook", "clear", "crl"]);
  });

  test("a failing hook leaves the revocation in place and exits 9", () => {
    makeClient(ca, "dave");
    pkiJson(ca.home, ["hook", "set", "crl", "exit 3"]);
    const r = pki(ca.home, ["revoke", "dave"]);
    assert.equal(r.status, 9);
    assert.match(r.stderr, /the CRL hook "exit 3" failed \(exit 3\); the CRL is written/);
    assert.equal(pkiJson<{ status: string }>(ca.home, ["show", "dave"]).status, "revoked");
    pkiJson(ca.home, ["hook", "clear", "crl"]);
  });

  test("the systemd service's ExecStart, run as written, renews the CRL and (through the hook) reloads nginx", async () => {
    const passFile = join(ca.dir, "passphrase");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(passFile, `${process.env.PKI_PASSPHRASE}\n`, { mode: 0o600 });
    pkiJson(ca.home, ["hook", "set", "crl", nginx.reloadCommand]);
    const unit = pki(ca.home, ["server-config", "systemd-service", "--timer-passphrase-file", passFile]).stdout;
    assert.match(unit, new RegExp(`LoadCredential=pki-passphrase:${passFile}`));
    const exec1 = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    const credDir = join(ca.dir, "credentials");
    const { mkdirSync, copyFileSync } = await import("node:fs");
    mkdirSync(credDir, { mode: 0o700 });
    copyFileSync(passFile, join(credDir, "pki-passphrase"));
    const crlBefore = readFileSync(join(ca.home, "crl.pem"), "utf8");
    // systemd expands ${CREDENTIALS_DIRECTORY}; the shell does the same here.
    const r = await exec("/bin/sh", ["-c", exec1], { PATH: process.env.PATH, CREDENTIALS_DIRECTORY: credDir });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(readFileSync(join(ca.home, "crl.pem"), "utf8"), crlBefore, "a new CRL");
    assert.equal((await curl(ca, nginx.port, ["--cert", alice.cert, "--key", alice.key])).status, 200, "nginx reloaded and still serves");
    const timer = pki(ca.home, ["server-config", "systemd-timer"]).stdout;
    assert.match(timer, /OnCalendar=weekly/);
    assert.match(timer, /Persistent=true/);
    const cron = pki(ca.home, ["server-config", "cron", "--timer-passphrase-file", passFile]).stdout;
    const line = cron.split("\n").find((l) => /^\d/.test(l))!;
    assert.match(line, /^17 3 \* \* 1 root .* --passphrase-file .* crl$/);
    const cronCommand = line.replace(/^(\S+\s+){6}/, "");
    const r2 = await exec("/bin/sh", ["-c", cronCommand], { PATH: process.env.PATH });
    assert.equal(r2.code, 0, r2.stderr);
    pkiJson(ca.home, ["hook", "clear", "crl"]);
  });
});

describe("nginx with --verify optional", () => {
  let nginx: Running;
  before(async () => {
    nginx = await startNginx(ca, "optional", ["--verify", "optional"], upstream.port);
    servers.push(nginx);
  });

  test("served without a certificate, with the verify status visible to the upstream", async () => {
    const r = await curl(ca, nginx.port);
    assert.equal(r.status, 200, r.error);
    assert.match(r.body, /verify=NONE\n/);
    const ok = await curl(ca, nginx.port, ["--cert", alice.cert, "--key", alice.key]);
    assert.match(ok.body, /verify=SUCCESS\n/);
  });
});
