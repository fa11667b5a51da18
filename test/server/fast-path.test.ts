// The CLI's fast path: with `pki serve` running, bin/pki sends the command over serve.sock and
// the server runs it. Twin homes, the same commands: home A directly, home B through its
// server with no passphrase in the environment; what they print, exit with and write must be
// the same once serials, dates and the home's path are set aside.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openssl, PASSPHRASE, PKI_BIN, pki, type Result, tempDir } from "../helpers.js";
import { type Served, startServe } from "./helpers.js";

const scratch = tempDir("pki-fast-");
// Same-length paths, so that tables and messages line up alike in both homes.
const homeA = join(scratch.dir, "a", "home");
const homeB = join(scratch.dir, "b", "home");
const cwdA = join(scratch.dir, "a", "work");
const cwdB = join(scratch.dir, "b", "work");
let served: Served;

const P12 = "Export-Password-42";
/** The direct path: the passphrase in the environment, the fast path switched off. */
const direct = (args: string[], env: Record<string, string | undefined> = {}) => pki(homeA, args, { PKI_NO_SERVE: "1", ...env });
/** Through B's server: no passphrase anywhere. */
const fast = (args: string[], env: Record<string, string | undefined> = {}) => pki(homeB, args, { PKI_PASSPHRASE: undefined, ...env });

/** What is left when serials, dates, keys and the home's own path are set aside. */
function normal(text: string, home: string): string {
  return text
    .replaceAll(home, "HOME")
    .replaceAll(join(home, "..", "work"), "WORK")
    // A random serial whose first bytes are zero prints shorter, and pads its column with more spaces.
    .replace(/\b[0-9a-f]{24,40}\b */g, "SERIAL ")
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?Z| UTC)/g, "DATE")
    .replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g, "PEM")
    .replace(/("pem": )"[^"]*"/g, "$1PEM")
    .replace(/("(subjectKeyIdentifier|authorityKeyIdentifier)": )"[^"]*"/g, "$1KEYID")
    .replace(/((subject|authority)KeyIdentifier:\s+)\S+/g, "$1KEYID")
    .replace(/ in \d+\.\d s \(\d+\/s\)/g, " in T");
}

let cliLines = 0;
const servedCommands = () => served.log().split("\n").filter((l) => / cli [a-z0-9 -]+ exit=\d+ /.test(l)).length;
/** Whether exactly one more command went through B's server since the last call (its log line is written before its answer). */
async function wentThroughServer(): Promise<boolean> {
  // Generous: the log line reaches this process through a pipe, on a machine that may be busy.
  for (let i = 0; i < 1200 && servedCommands() <= cliLines; i++) await new Promise((r) => setTimeout(r, 25));
  const lines = servedCommands();
  const one = lines === cliLines + 1;
  cliLines = lines;
  return one;
}

async function same(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const a = direct(args, env);
  const b = fast(args, env);
  assert.ok(await wentThroughServer(), `pki ${args.join(" ")} went through the server:\n${served.log()}`);
  assert.equal(b.status, a.status, `exit code of pki ${args.join(" ")}: direct ${a.stderr}, served ${b.stderr}`);
  assert.equal(normal(b.stdout, homeB), normal(a.stdout, homeA), `stdout of pki ${args.join(" ")}`);
  assert.equal(normal(b.stderr, homeB), normal(a.stderr, homeA), `stderr of pki ${args.join(" ")}`);
  return b;
}

/** The home's files (relative path and mode), without the ledger's own files and the socket. */
function files(home: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const r = rel ? `${rel}/${e}` : e;
      if (/^(ledger\.|serve\.sock)/.test(e)) continue;
      const st = statSync(p);
      out.push(`${r} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(home, "");
  return out;
}

before(async () => {
  for (const d of [cwdA, cwdB]) mkdirSync(d, { recursive: true });
  for (const home of [homeA, homeB]) {
    const r = pki(home, ["init-root", "--cn", "Twin Root", "--org", "Test Org", "--country", "NL"]);
    assert.equal(r.status, 0, r.stderr);
  }
  // A CSR made elsewhere, named relative to each side's working folder.
  for (const cwd of [cwdA, cwdB]) {
    openssl(["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", join(cwd, "carol.key"), "-out", join(cwd, "carol.csr"), "-subj", "/CN=carol"]);
  }
  served = await startServe(homeB);
});

after(async () => {
  await served?.stop();
  scratch.cleanup();
});

// pki() runs in the test's own folder: relative paths need the folder each side works in.
function pkiIn(cwd: string, home: string, args: string[], env: Record<string, string | undefined>): Promise<Result> {
  const full: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(process.execPath, [PKI_BIN, ...args], { cwd, env: full, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("latin1")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

async function sameIn(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const a = await pkiIn(cwdA, homeA, args, { PKI_NO_SERVE: "1", ...env });
  const b = await pkiIn(cwdB, homeB, args, { PKI_PASSPHRASE: undefined, ...env });
  assert.ok(await wentThroughServer(), `pki ${args.join(" ")} went through the server:\n${served.log()}`);
  assert.equal(b.status, a.status, `exit code of pki ${args.join(" ")}: direct ${a.stderr}, served ${b.stderr}`);
  assert.equal(normal(b.stdout, homeB), normal(a.stdout, homeA), `stdout of pki ${args.join(" ")}`);
  assert.equal(normal(b.stderr, homeB), normal(a.stderr, homeA), `stderr of pki ${args.join(" ")}`);
  return b;
}

test("every served command prints, exits and writes as the direct path does", async () => {
  await same(["issue-client", "alice", "--email", "alice@example.com"]);
  await same(["--json", "issue-server", "www.example.com", "10.0.0.7"]);
  await sameIn(["issue-client", "carol", "--csr", "carol.csr"]);
  await sameIn(["issue-client", "dave", "--profile", "smime", "--email", "dave@example.com", "--p12", "dave.p12"], { PKI_P12_PASSWORD: P12 });
  for (const args of [["list"], ["list", "--json"], ["list", "--status", "valid"], ["show", "alice"], ["show", "alice", "--json"], ["show", "www.example.com", "--pem"], ["config", "list"], ["config", "list", "--json"], ["config", "get", "crl-lifetime"]]) await same(args);
  await sameIn(["export-cert", "alice", "--format", "der", "--out", "alice.der"]);
  await sameIn(["export-cert", "alice", "--format", "fullchain"]);
  await sameIn(["export-p12", "alice", "--out", "alice.p12"], { PKI_P12_PASSWORD: P12 });
  for (const cwd of [cwdA, cwdB]) writeFileSync(join(cwd, "pw.txt"), `${P12}\n`, { mode: 0o600 });
  await sameIn(["export-p12", "alice", "--legacy", "--password-file", "pw.txt", "--out", "alice-legacy.p12"]);
  await same(["renew", "alice", "--days", "90"]);
  await same(["revoke", "carol", "--reason", "certificateHold"]);
  await same(["unrevoke", "carol"]);
  await same(["--json", "revoke", "alice", "--reason", "keyCompromise"]);
  await sameIn(["crl", "--days", "7", "--out", "crl.der", "--format", "der"]);
  // Policy changes are not served: they run directly and need the passphrase, server or not.
  for (const args of [["config", "set", "crl-lifetime", "3d"], ["config", "unset", "crl-lifetime"]]) {
    const refused = fast(args);
    assert.equal(refused.status, 5, refused.stderr);
    assert.match(refused.stderr, /no CA passphrase given/);
    const a = direct(args);
    const b = pki(homeB, args);
    assert.equal(b.status, a.status, b.stderr);
    assert.equal(normal(b.stdout, homeB), normal(a.stdout, homeA));
    assert.equal(normal(b.stderr, homeB), normal(a.stderr, homeA));
  }
  await same(["list", "--status", "revoked"]);

  assert.deepEqual(files(homeB), files(homeA), "the same files with the same modes in both homes");
  for (const cwd of [cwdA, cwdB]) {
    // Relative --out and --csr were the client's folder's, not the server's.
    for (const f of ["alice.der", "alice.p12", "alice-legacy.p12", "crl.der", "dave.p12"]) assert.ok(existsSync(join(cwd, f)), `${f} in ${cwd}`);
    const p12 = openssl(["pkcs12", "-in", join(cwd, "alice.p12"), "-passin", `pass:${P12}`, "-nokeys", "-clcerts"]);
    assert.equal(p12.status, 0, p12.stderr);
    assert.match(p12.stdout, /subject=CN\s*=\s*alice/);
    const crl = openssl(["crl", "-in", join(cwd, "crl.der"), "-inform", "DER", "-noout", "-text"]);
    assert.equal(crl.status, 0, crl.stderr);
  }
  for (const name of ["alice", "carol", "dave", "www.example.com"]) {
    const text = (home: string) => openssl(["x509", "-in", join(home, "certs", `${name}.pem`), "-noout", "-subject", "-issuer", "-ext", "subjectAltName,keyUsage,extendedKeyUsage,basicConstraints"]).stdout;
    assert.equal(text(homeB), text(homeA), `${name}'s certificate`);
  }
  // The key written by the server is encrypted with the CA passphrase, as directly.
  const key = openssl(["pkey", "-in", join(homeB, "private", "www.example.com.key"), "-passin", `pass:${PASSPHRASE}`, "-noout"]);
  assert.equal(key.status, 0, key.stderr);
});

test("errors are the same line, exit code and error code through the server", async () => {
  for (const args of [["show", "nosuch"], ["--json", "show", "nosuch"], ["show", "alice", "--bogus"], ["--json", "show", "alice", "--bogus"], ["revoke"], ["--json", "issue-client", "www.example.com"], ["--json", "export-p12", "dave"], ["renew", "nosuch"]]) {
    const r = await same(args);
    assert.notEqual(r.status, 0, `pki ${args.join(" ")} fails`);
    if (args[0] === "--json") assert.match(JSON.parse(r.stdout).error.code, /^[A-Z_]+$/);
  }
  const r = await sameIn(["issue-client", "erin", "--csr", "missing.csr"]);
  assert.equal(r.status, 3);
});

test("a revocation through the fast path is in the served OCSP answer at once", async () => {
  const ocsp = (name: string) => openssl(["ocsp", "-issuer", join(homeB, "ca.pem"), "-cert", join(homeB, "certs", `${name}.pem`), "-url", `${served.url}/ocsp`, "-CAfile", join(homeB, "ca.pem")]).stdout;
  assert.equal(fast(["issue-client", "frank"]).status, 0);
  assert.ok(await wentThroughServer());
  assert.match(ocsp("frank"), /frank\.pem: good/);
  assert.equal(fast(["revoke", "frank", "--reason", "keyCompromise"]).status, 0);
  assert.ok(await wentThroughServer());
  assert.match(ocsp("frank"), /frank\.pem: revoked[\s\S]*Reason: keyCompromise/);
});

test("several fast-path commands at once: each answered, each in the ledger once", async () => {
  const names = ["g1", "g2", "g3", "g4", "g5"];
  const before = servedCommands();
  const results = await Promise.all(names.map((n) => pkiIn(cwdB, homeB, ["--json", "issue-client", n], { PKI_PASSPHRASE: undefined })));
  for (const r of results) assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(results.map((r) => JSON.parse(r.stdout).name), names);
  const list = JSON.parse(fast(["--json", "list"]).stdout) as { name: string }[];
  for (const n of names) assert.equal(list.filter((c) => c.name === n).length, 1);
  for (let i = 0; i < 1200 && servedCommands() < before + names.length + 1; i++) await new Promise((r) => setTimeout(r, 25));
  cliLines = servedCommands();
  assert.equal(cliLines, before + names.length + 1, "all of them went through the server");
});

test("PKI_NO_SERVE=1, no socket, a stale socket: the direct path, which asks for the passphrase", async () => {
  const noSecret = (r: Result) => (assert.equal(r.status, 5, r.stderr), assert.match(r.stderr, /no CA passphrase given/));
  noSecret(fast(["issue-client", "henry"], { PKI_NO_SERVE: "1" }));
  assert.equal(servedCommands(), cliLines, "nothing reached the server");
  noSecret(direct(["issue-client", "henry"], { PKI_PASSPHRASE: undefined, PKI_NO_SERVE: undefined }));
  // A socket left by a killed server refuses connections: run directly, silently.
  const sock = join(homeA, "serve.sock");
  const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, "SIGKILL"))`]);
  await new Promise((r) => child.once("exit", r));
  assert.ok(existsSync(sock), "the killed listener left its socket");
  const shown = direct(["show", "alice"], { PKI_NO_SERVE: undefined, PKI_PASSPHRASE: undefined });
  assert.equal(shown.status, 0, shown.stderr);
  assert.equal(shown.stderr, "");
  noSecret(direct(["issue-client", "henry"], { PKI_NO_SERVE: undefined, PKI_PASSPHRASE: undefined }));
});

test("bad requests on the socket get nothing run, and the server stays up", async () => {
  const sock = join(homeB, "serve.sock");
  const send = (data: string | Buffer) =>
    new Promise<string>((resolve) => {
      const c = connect(sock);
      let got = "";
      c.on("data", (d: Buffer) => (got += d.toString("latin1")));
      c.on("error", () => resolve(got));
      c.on("close", () => resolve(got));
      c.on("connect", () => c.end(data));
    });
  const upgrade = "POST /cli HTTP/1.1\r\nHost: pki\r\nConnection: Upgrade\r\nUpgrade: pki-cli/1\r\n\r\n";
  assert.match(await send(`${upgrade}not json\n`), /^HTTP\/1\.1 101 [\s\S]*malformed request/);
  assert.match(await send(`${upgrade}${JSON.stringify({ argv: "show", cwd: 1 })}\n`), /malformed request/);
  assert.match(await send(`${upgrade}${JSON.stringify({ argv: ["serve"], cwd: "/", home: homeB, env: {}, stdout: { isTTY: false }, stderr: { isTTY: false } })}\n`), /not served/);
  // Another home's request is not run here.
  assert.match(await send(`${upgrade}${JSON.stringify({ argv: ["show", "alice"], cwd: "/", home: homeA, env: {}, stdout: { isTTY: false }, stderr: { isTTY: false } })}\n`), /not served/);
  await send(Buffer.alloc(2 << 20, 0x41));
  await send(`${upgrade}${"x".repeat(2 << 20)}`);
  await send("GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  const r = fast(["show", "alice", "--pem"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /BEGIN CERTIFICATE/);
  assert.ok(await wentThroughServer(), "the server still answers");
});

test("after pki passphrase change, a served change that stores a key says to restart pki serve", async () => {
  const NEW = "Another-Passphrase-43";
  const change = (from: string, to: string) => pki(homeB, ["passphrase", "change"], { PKI_NO_SERVE: "1", PKI_PASSPHRASE: from, PKI_NEW_PASSPHRASE: to });
  assert.equal(change(PASSPHRASE, NEW).status, 0);
  try {
    const r = fast(["--json", "issue-server", "stale.example.com"]);
    assert.ok(await wentThroughServer());
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /^pki: issue-server stale\.example\.com: the CA passphrase was changed .*; restart pki serve with the new passphrase/);
    assert.equal(JSON.parse(r.stdout).error.code, "PASSPHRASE_CHANGED");
    assert.equal(pki(homeB, ["show", "stale.example.com"], { PKI_NO_SERVE: "1" }).status, 3, "nothing was issued");
  } finally {
    assert.equal(change(NEW, PASSPHRASE).status, 0);
  }
});

test("a server killed while it runs a command: a clear error, no silent retry", async () => {
  // The crl hook runs inside the server for a served pki crl: it marks that it started, then waits to be killed with it.
  const marker = join(scratch.dir, "hook-started");
  const hook = pki(homeB, ["hook", "set", "crl", `echo $$ > ${marker}.tmp && mv ${marker}.tmp ${marker} && exec sleep 60`], { PKI_NO_SERVE: "1" });
  assert.equal(hook.status, 0, hook.stderr);
  const running = pkiIn(cwdB, homeB, ["--json", "crl"], { PKI_PASSPHRASE: undefined });
  for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(marker), "the hook started inside the server");
  // The hook does not hold the server: other clients and OCSP are answered while it runs.
  const shown = fast(["show", "alice", "--pem"]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.ok(await wentThroughServer(), "show went through the server while the hook ran");
  const health = await fetch(`${served.url}/health`);
  assert.equal(health.status, 200);
  served.child.kill("SIGKILL");
  const r = await running;
  // The hook the killed server started is ours to stop.
  process.kill(Number(readFileSync(marker, "utf8")), "SIGKILL");
  assert.equal(r.status, 7);
  assert.match(r.stderr, /^pki: crl: pki serve stopped before crl finished .*may or may not have taken effect; check with pki list/);
  // crl printed its result before its hook ran; then the error, as a JSON object of its own.
  assert.match(r.stdout, /\{\n  "error": \{\n    "code": "SERVE_LOST",/);
  // Its socket is left behind: the next command runs directly (and asks for the passphrase).
  assert.ok(existsSync(join(homeB, "serve.sock")));
  const again = fast(["crl"]);
  assert.equal(again.status, 5, again.stderr);
});
