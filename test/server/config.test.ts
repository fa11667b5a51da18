// pki config: settings kept in the ledger, and what server-config makes of them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../e2e/harness.js";
import { initHome, PASSPHRASE, pki, pkiJson, run, tempDir } from "../helpers.js";
import { http } from "./helpers.js";

test("config: settings are validated, listed with defaults, recorded in the audit log", () => {
  const { home, cleanup } = initHome();
  try {
    const list = JSON.parse(pki(home, ["--json", "config", "list"]).stdout) as { key: string; value: string | null; isDefault: boolean }[];
    assert.deepEqual(list.find((s) => s.key === "crl-lifetime"), { key: "crl-lifetime", value: "30d", isDefault: true });
    for (const [key, value, why] of [["crl-lifetime", "30s", /between 1m and 3650d/], ["crl-lifetime", "soon", /not a duration/], ["url", "https://ca.example", /plain http/], ["colour", "blue", /unknown setting/]] as const) {
      const r = pki(home, ["config", "set", key, value]);
      assert.equal(r.status, 2, `${key}=${value}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    assert.equal(pki(home, ["config", "set", "url", "http://ca.example:8080/"]).stdout.trim(), "url = http://ca.example:8080");
    assert.equal(pki(home, ["config", "set", "crl-lifetime", "168h"]).stdout.trim(), "crl-lifetime = 7d");
    assert.equal(pki(home, ["config", "get", "crl-lifetime"]).stdout.trim(), "7d");
    assert.equal(pki(home, ["config", "unset", "crl-lifetime"]).stdout.trim(), "crl-lifetime = 30d (default)");
    const audit = JSON.parse(pki(home, ["--json", "audit"]).stdout) as { action: string; details: { key: string; value: string | null } }[];
    assert.deepEqual(audit.filter((e) => e.action === "config-set").map((e) => [e.details.key, e.details.value]), [["url", "http://ca.example:8080"], ["crl-lifetime", "7d"], ["crl-lifetime", null]]);
    assert.equal(pki(home, ["audit", "--verify"]).status, 0);
  } finally {
    cleanup();
  }
});

test("server-config --ocsp: nginx and Apache lines from the url setting; refused without it or for other servers", () => {
  const { home, cleanup } = initHome();
  try {
    assert.equal(pki(home, ["issue-server", "web.internal"]).status, 0);
    const none = pki(home, ["server-config", "nginx", "--ocsp"]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--ocsp needs the URL where pki serve answers; set it with: pki config set url/);
    pki(home, ["config", "set", "url", "http://ca.internal:8080"]);
    const nginx = pki(home, ["server-config", "nginx", "--ocsp"]).stdout;
    assert.match(nginx, /^\s*ssl_ocsp\s+leaf;$/m);
    assert.match(nginx, /^\s*ssl_ocsp_responder http:\/\/ca\.internal:8080\/ocsp;$/m);
    assert.match(nginx, /^\s*ssl_ocsp_cache\s+shared:pki_ocsp:1m;$/m);
    assert.match(nginx, /needs a `resolver`/);
    assert.doesNotMatch(pki(home, ["server-config", "nginx"]).stdout, /ssl_ocsp/, "only when asked");
    const apache = pki(home, ["server-config", "apache", "--ocsp"]).stdout;
    assert.match(apache, /^\s*SSLOCSPEnable\s+leaf$/m);
    assert.match(apache, /^\s*SSLOCSPDefaultResponder\s+http:\/\/ca\.internal:8080\/ocsp$/m);
    const pg = pki(home, ["server-config", "postgresql", "--ocsp"]);
    assert.equal(pg.status, 2);
    assert.match(pg.stderr, /--ocsp is for nginx and apache/);
  } finally {
    cleanup();
  }
});

/** systemd's word splitting for ExecStart: double quotes with backslash escapes, %% and $$ unescaped. */
function systemdWords(line: string, credentials: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const w = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!;
    words.push(w.replace(/\$\{CREDENTIALS_DIRECTORY\}/g, credentials).replace(/%%/g, "%").replace(/\$\$/g, "$"));
  }
  return words;
}

test("server-config systemd-serve: a unit whose ExecStart, run as written, serves OCSP and the API until SIGTERM", async () => {
  const { home, cleanup } = initHome();
  const creds = tempDir("pki-creds-");
  try {
    pkiJson(home, ["issue-server", "localhost", "127.0.0.1"]);
    const [port, apiPort] = [await freePort(), await freePort()];
    const unit = pki(home, ["server-config", "systemd-serve", "--listen", `127.0.0.1:${port}`, "--api", `127.0.0.1:${apiPort}`, "--api-cert", "localhost", "--ocsp-signer", "delegated", "--timer-passphrase-file", "/etc/pki-clients/pass"]);
    assert.equal(unit.status, 0, unit.stderr);
    assert.match(unit.stdout, /^LoadCredential=pki-passphrase:\/etc\/pki-clients\/pass$/m);
    assert.match(unit.stdout, new RegExp(`^ReadWritePaths=${home}$`, "m"));
    assert.match(unit.stdout, /^KillSignal=SIGTERM$/m);
    assert.doesNotMatch(unit.stdout, /PASSPHRASE=/, "never the passphrase in the environment");
    for (const line of ["ProtectSystem=strict", "ProtectHome=read-only", "NoNewPrivileges=yes", "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "UMask=0077"]) {
      assert.ok(unit.stdout.split("\n").includes(line), `hardening: ${line}`);
    }
    // The home is under /tmp here: PrivateTmp would hide it.
    assert.doesNotMatch(unit.stdout, /^PrivateTmp=yes$/m);
    assert.doesNotMatch(unit.stdout, /^AmbientCapabilities=/m, "no capability for a port above 1024");
    writeFileSync(join(creds.dir, "pki-passphrase"), `${PASSPHRASE}\n`, { mode: 0o600 });
    const [cmd, ...args] = systemdWords(/^ExecStart=(.*)$/m.exec(unit.stdout)![1]!, creds.dir);
    assert.deepEqual(args.slice(-8), ["--http", `127.0.0.1:${port}`, "--api", `127.0.0.1:${apiPort}`, "--api-cert", "localhost", "--ocsp-signer", "delegated"]);
    const child = spawn(cmd!, args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr!.on("data", (d: Buffer) => (log += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    for (let i = 0; i < 200 && !/ready on/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(log, new RegExp(`ready on http://127\\.0\\.0\\.1:${port}, https://127\\.0\\.0\\.1:${apiPort} \\(API\\)`));
    assert.match(log, /delegated responder certificate/);
    assert.equal((await http(`http://127.0.0.1:${port}/health`)).status, 200);
    // The API answers over TLS with the server certificate; without a client certificate: 401 and a code.
    const api = run("curl", ["-s", "--cacert", join(home, "ca.pem"), `https://127.0.0.1:${apiPort}/v1/certificates`]);
    assert.match(api.stdout, /"code":"[A-Z_]+"/);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, log);
  } finally {
    creds.cleanup();
    cleanup();
  }
});

test("server-config systemd-serve: systemd-analyze verify passes and security rates it OK; a port below 1024 gets only CAP_NET_BIND_SERVICE; options checked", { skip: run("sh", ["-c", "command -v systemd-analyze"]).status === 0 ? false : "systemd-analyze is not installed" }, () => {
  const { home, cleanup } = initHome();
  const units = tempDir("pki-units-");
  try {
    pkiJson(home, ["issue-server", "ca.example.com"]);
    for (const [file, listen] of [["low.service", "0.0.0.0:80"], ["high.service", "127.0.0.1:8080"]] as const) {
      const unit = pki(home, ["server-config", "systemd-serve", "--listen", listen, "--api", "0.0.0.0:8443", "--api-cert", "ca.example.com", "--ocsp-signer", "delegated"]);
      assert.equal(unit.status, 0, unit.stderr);
      writeFileSync(join(units.dir, file), unit.stdout);
      const verify = run("systemd-analyze", ["verify", join(units.dir, file)]);
      assert.equal(verify.status, 0, verify.stderr);
      assert.equal(verify.stderr.trim(), "", `${file}: ${verify.stderr}`);
      // Exposure 0.0 (best) to 10.0, which --threshold takes times ten: at most 3.0 (systemd says "OK").
      const security = run("systemd-analyze", ["security", "--offline=yes", "--threshold=30", join(units.dir, file)]);
      assert.equal(security.status, 0, security.stdout.split("\n").slice(-3).join("\n") + security.stderr);
      if (listen.endsWith(":80")) {
        assert.match(unit.stdout, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
        assert.match(unit.stdout, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
      } else {
        assert.match(unit.stdout, /^CapabilityBoundingSet=$/m);
      }
    }
    const alone = pki(home, ["server-config", "systemd-serve", "--api", "0.0.0.0:8443"]);
    assert.equal(alone.status, 2);
    assert.match(alone.stderr, /--api ADDRESS:PORT and --api-cert NAME go together/);
    const elsewhere = pki(home, ["server-config", "nginx", "--ocsp-signer", "delegated"]);
    assert.equal(elsewhere.status, 2);
    assert.match(elsewhere.stderr, /for systemd-serve/);
    const client = pkiJson(home, ["issue-client", "alice"]);
    assert.ok(client);
    const notServer = pki(home, ["server-config", "systemd-serve", "--api", "0.0.0.0:8443", "--api-cert", "alice"]);
    assert.equal(notServer.status, 2);
    assert.match(notServer.stderr, /is a client certificate/);
  } finally {
    units.cleanup();
    cleanup();
  }
});

test("the CRL timer and cron job sign with the crl-lifetime setting", () => {
  const { home, cleanup } = initHome();
  try {
    pki(home, ["config", "set", "crl-lifetime", "10d"]);
    const unit = pki(home, ["server-config", "systemd-service"]).stdout;
    assert.match(/^ExecStart=(.*)$/m.exec(unit)![1]!, / crl$/, "no --days: the setting decides");
    assert.match(pki(home, ["server-config", "systemd-timer"]).stdout, /against a 10d CRL/);
  } finally {
    cleanup();
  }
});
