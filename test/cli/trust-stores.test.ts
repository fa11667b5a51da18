import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort } from "../e2e/harness.js";
import { initHome, PKI_BIN, pki, pkiJson, run, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);
const rootSha256 = run("openssl", ["x509", "-in", join(home, "ca.pem"), "-noout", "-fingerprint", "-sha256"]).stdout.split("=")[1]!.replace(/[:\s]/g, "").toLowerCase();
const label = `pki-test-root-ca-${rootSha256.slice(0, 16)}`;

// CI installs certutil and keytool (.ci/run): there a missing one fails the tests instead of skipping them.
const missing = ["certutil", "keytool"].filter((tool) => run("sh", ["-c", `command -v ${tool}`]).status !== 0);
const needsTools = missing.length > 0 && !process.env.CI && `needs ${missing.join(" and ")} (apt-get install libnss3-tools default-jre-headless)`;

interface Reports {
  stores: { store: string; location: string; outcome: string }[];
}
const outcomes = (r: Reports) => r.stores.map((s) => `${s.store}:${s.outcome}`);

function nssHas(dir: string): boolean {
  return run("certutil", ["-L", "-d", `sql:${dir}`]).stdout.includes(label);
}

function javaHas(keystore: string): boolean {
  const r = run("keytool", ["-list", "-keystore", keystore, "-storepass:env", "STOREPASS"], { env: { ...process.env, STOREPASS: "changeit" } });
  return r.status === 0 && r.stdout.includes(label);
}

test("trust install/uninstall --nss and --java: certutil and keytool see the root after install and not after uninstall; each step idempotent", { skip: needsTools }, () => {
  const nss = join(home, ".pki", "nssdb");
  mkdirSync(nss, { recursive: true });
  assert.equal(run("certutil", ["-N", "-d", `sql:${nss}`, "--empty-password"]).status, 0);
  const keystore = join(home, "truststore.p12");
  // --nss without a folder is the user's ~/.pki/nssdb (HOME is the test's home).
  const args = ["--nss", "--java", keystore];

  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "install", ...args])), ["nss:installed", "java:installed"]);
  assert.ok(nssHas(nss), "certutil -L lists the root");
  assert.match(run("certutil", ["-L", "-d", `sql:${nss}`, "-n", label]).stdout, /Trusted CA|Valid CA/);
  assert.ok(javaHas(keystore), "keytool -list lists the root");
  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "install", ...args])), ["nss:already-present", "java:already-present"]);

  const text = pki(home, ["trust", "uninstall", ...args]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /NSS database .*: removed\nJava keystore .*: removed/);
  assert.ok(!nssHas(nss), "certutil -L no longer lists the root");
  assert.ok(!javaHas(keystore), "keytool -list no longer lists the root");
  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "uninstall", ...args])), ["nss:not-present", "java:not-present"]);
  rmSync(keystore);
});

test("trust install: a wrong Java keystore password, a missing tool, a missing NSS database are one-line errors that change nothing", { skip: needsTools }, () => {
  const keystore = join(home, "other.p12");
  pkiJson(home, ["trust", "install", "--java", keystore]);
  const nss = join(home, "nssdb");
  mkdirSync(nss);
  assert.equal(run("certutil", ["-N", "-d", `sql:${nss}`, "--empty-password"]).status, 0);
  const before = { ...snapshot(home), ...snapshot(nss) };

  const wrong = pki(home, ["--json", "trust", "uninstall", "--nss", nss, "--java", keystore], { PKI_JAVA_STOREPASS: "not-the-password" });
  assert.equal(wrong.status, 5);
  assert.equal(JSON.parse(wrong.stdout).error.code, "BAD_STOREPASS");

  const noTool = pki(home, ["--json", "trust", "install", "--nss", nss], { PATH: "/nonexistent" });
  assert.equal(noTool.status, 3);
  const error = JSON.parse(noTool.stdout).error as { code: string; message: string; hint: string };
  assert.equal(error.code, "TOOL_MISSING");
  assert.match(error.message, /certutil is not installed/);
  assert.match(error.hint, /apt-get install libnss3-tools/);

  const noDb = pki(home, ["trust", "install", "--nss", join(home, "absent")]);
  assert.equal(noDb.status, 3);
  assert.match(noDb.stderr, /no NSS database in .*absent .*certutil -N -d sql:/);
  assert.equal(noDb.stderr.trim().split("\n").length, 1);

  assert.deepEqual({ ...snapshot(home), ...snapshot(nss) }, before);
  assert.ok(!nssHas(nss));
  rmSync(keystore);
  rmSync(nss, { recursive: true });
});

test("the store programs inherit no secret of pki's: not the CA passphrase, a PIN or the keystore password", () => {
  // A stand-in certutil on PATH that records its environment and reports "not present".
  const bin = join(home, "fake-bin");
  const seen = join(home, "certutil-env");
  mkdirSync(bin);
  writeFileSync(join(bin, "certutil"), `#!/bin/sh\nenv > '${seen}'\nexit 1\n`, { mode: 0o755 });
  const nss = join(home, "fake-nss");
  mkdirSync(nss);
  writeFileSync(join(nss, "cert9.db"), "");
  pki(home, ["trust", "uninstall", "--nss", nss], { PATH: `${bin}:${process.env.PATH}`, PKI_PKCS11_PIN: "4711", PKI_JAVA_STOREPASS: "store-secret" });
  const env = readFileSync(seen, "utf8");
  assert.match(env, /^PATH=/m);
  assert.doesNotMatch(env, /PKI_PASSPHRASE|PKI_PKCS11_PIN|PKI_JAVA_STOREPASS|correct horse|4711|store-secret/);
  rmSync(bin, { recursive: true });
  rmSync(nss, { recursive: true });
  rmSync(seen);
});

const LOCAL_CA_DIR = "/usr/local/share/ca-certificates";
const isRoot = process.getuid?.() === 0;

test("trust install --system: curl without --cacert reaches a TLS server with a pki certificate; after uninstall it does not", { skip: !isRoot && "the system store needs root (CI runs as root)" }, async (t) => {
  const ourFile = join(LOCAL_CA_DIR, `${label}.crt`);
  assert.ok(!existsSync(ourFile), `${ourFile} is left from an earlier run: remove it and run update-ca-certificates`);
  const storeBefore = existsSync(LOCAL_CA_DIR) ? readdirSync(LOCAL_CA_DIR).sort() : null;
  // Whatever happens below, the system store ends as it was: without our file, bundle rebuilt.
  t.after(() => {
    if (existsSync(ourFile)) {
      rmSync(ourFile);
      run("update-ca-certificates", []);
    }
  });

  pkiJson(home, ["issue-server", "trust.test.internal"]);
  const key = join(home, "trust-server.key");
  pkiJson(home, ["export-key", "trust.test.internal", "--unencrypted", "--with-certificate", "--out", key]);
  const port = await freePort();
  const server = spawn("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", key, "-key", key, "-www", "-naccept", "3"], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => server.kill());
  await new Promise<void>((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => (out += d) && /ACCEPT/.test(out) && resolve());
    server.on("exit", (code) => reject(new Error(`openssl s_server exited ${code}`)));
  });
  const curl = () => run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--resolve", `trust.test.internal:${port}:127.0.0.1`, `https://trust.test.internal:${port}/`]);

  const untrusted = curl();
  assert.equal(untrusted.status, 60, `curl trusts the root before install: ${untrusted.stdout}${untrusted.stderr}`);
  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "install", "--system"])), ["system:installed"]);
  const trusted = curl();
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.equal(trusted.stdout, "200");
  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "install", "--system"])), ["system:already-present"]);

  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "uninstall", "--system"])), ["system:removed"]);
  assert.equal(curl().status, 60, "curl still trusts the root after uninstall");
  assert.deepEqual(outcomes(pkiJson<Reports>(home, ["trust", "uninstall", "--system"])), ["system:not-present"]);
  assert.deepEqual(existsSync(LOCAL_CA_DIR) ? readdirSync(LOCAL_CA_DIR).sort() : null, storeBefore);
  rmSync(key);
});

test("trust install --system by another user than root: NOT_ROOT, and the system store is untouched", { skip: !isRoot && "needs root to run pki as another user" }, () => {
  const { dir, cleanup } = tempDir();
  try {
    const other = join(dir, "home");
    pkiJson(other, ["init-root", "--cn", "Not Root CA"]);
    const chownTree = (path: string) => {
      chownSync(path, 65534, 65534);
      if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry));
    };
    chownTree(dir);
    const before = existsSync(LOCAL_CA_DIR) ? readdirSync(LOCAL_CA_DIR).sort() : null;
    const r = run("runuser", ["-u", "nobody", "--", process.execPath, PKI_BIN, "--json", "trust", "install", "--system"], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: other, PKI_HOME: other } });
    assert.equal(r.status, 7, r.stdout + r.stderr);
    const error = JSON.parse(r.stdout).error as { code: string; message: string; hint: string };
    assert.equal(error.code, "NOT_ROOT");
    assert.match(error.message, /system trust store .* needs root/);
    assert.match(error.hint, /sudo/);
    assert.deepEqual(existsSync(LOCAL_CA_DIR) ? readdirSync(LOCAL_CA_DIR).sort() : null, before);
  } finally {
    cleanup();
  }
});
