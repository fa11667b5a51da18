// bin/pki answers `pki list` and `pki show` on a SQLite home from a small bundle (src/cli/lean-read.ts)
// without the full CLI. Each case runs through that lean path and through the full CLI
// (PKI_NO_LEAN=1, for tests only) on the same home: stdout, stderr and exit code must be
// identical, and the lean path must really have answered (or, for the fallback cases, declined).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { describeCertificate } from "../../src/crypto/describe.js";
import { describeDer } from "../../src/crypto/describe-der.js";
import { readDerOrPem } from "../../src/crypto/pem.js";
import { pkiOnTerminal } from "./pty.js";
import { initHome, openssl, PASSPHRASE, pki, pkiJson, ROOT, tempDir, type Result } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

const alice = pkiJson<{ serial: string }>(home, ["issue-client", "alice", "--email", "alice@example.com"]);
pkiJson(home, ["issue-client", "bob", "--days", "10"]);
pkiJson(home, ["issue-client", "carol"]);
pkiJson(home, ["revoke", "carol", "--reason", "keyCompromise"]);
pkiJson(home, ["issue-client", "dave"]);
pkiJson(home, ["renew", "dave"]);
pkiJson(home, ["issue-server", "web.internal", "api.internal", "10.0.0.7"]);
pkiJson(home, ["issue-client", "erin"]);
// An expired certificate: status is derived from not_after and the clock.
const ledger = new Database(join(home, "ledger.db"));
ledger.prepare("UPDATE certificates SET not_after = '2020-01-01T00:00:00.000Z' WHERE name = 'erin'").run();
ledger.close();

const FULL = { PKI_NO_LEAN: "1" };

/** As printed (the library's arrays are subclasses of Array). */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
const certificate = (pem: string) => readDerOrPem(Buffer.from(pem), ["CERTIFICATE"], "certificate");

/** Whether the lean path answered `args` (the same start.cjs bin/pki runs first), its output thrown away. */
function leanAnswers(args: string[], env: Record<string, string> = {}): boolean {
  const script = `require(${JSON.stringify(join(ROOT, "dist", "bundle", "start.cjs"))}).start(process.argv.slice(1)).then((c) => require("node:fs").writeFileSync(3, String(c)))`;
  const r = spawnSync(process.execPath, ["-e", script, "--", ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE, ...env },
    stdio: ["ignore", "ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  assert.equal(r.status, 0);
  const answer = String(r.output[3]);
  assert.match(answer, /^(0|null)$/);
  return answer !== "null";
}

function same(args: string[], env: Record<string, string> = {}): Result {
  const lean = pki(home, args, env);
  const full = pki(home, args, { ...env, ...FULL });
  assert.deepEqual(lean, full, `pki ${args.join(" ")}`);
  return lean;
}

const HANDLED: string[][] = [
  ["list"],
  ["list", "--json"],
  ["--json", "list"],
  ["list", "--status", "valid"],
  ["list", "--status=revoked"],
  ["list", "--status", "superseded", "--json"],
  ["list", "--status", "expired"],
  ["list", "--expiring", "30"],
  ["list", "--expiring", "0"],
  ["show", "alice"],
  ["show", "alice", "--json"],
  ["show", alice.serial],
  ["show", alice.serial.toUpperCase().replace(/(..)(?!$)/g, "$1:")],
  ["show", "carol"],
  ["show", "dave"],
  ["show", "erin", "--json"],
  ["show", "web.internal"],
  ["show", "web.internal", "--json"],
  ["show", "Test Root CA"],
  ["show", "alice", "--pem"],
  ["--home", home, "show", "bob"],
  ["show", "bob", `--home=${home}`],
];

test("list and show: the lean path answers, byte for byte as the full CLI", () => {
  for (const args of HANDLED) {
    const r = same(args);
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(leanAnswers(args), `the lean path answers pki ${args.join(" ")}`);
  }
});

test("after a root rotation: the ROOT column and root line are the same", () => {
  const r = pkiJson<{ root: { generation: string } }>(home, ["rotate-root"]);
  assert.equal(r.root.generation, "G2");
  pkiJson(home, ["issue-client", "frank"]);
  for (const args of [["list"], ["list", "--json"], ["show", "frank"], ["show", "alice"]]) {
    same(args);
    assert.ok(leanAnswers(args), `the lean path answers pki ${args.join(" ")}`);
  }
  assert.match(pki(home, ["list"]).stdout, /^NAME\s+KIND\s+STATUS\s+EXPIRES\s+SERIAL\s+ROOT\s+SUBJECT$/m);
});

test("on a terminal, with colour: the same bytes", () => {
  const colour = { TERM: "xterm", NO_COLOR: "" };
  for (const args of [["list"], ["show", "alice"], ["list", "--json"]]) {
    const lean = pkiOnTerminal(home, args, "", "", colour);
    assert.deepEqual(lean, pkiOnTerminal(home, args, "", "", { ...colour, ...FULL }), `pki ${args.join(" ")} on a terminal`);
    assert.equal(lean.status, 0, lean.stdout);
  }
  assert.match(pkiOnTerminal(home, ["list"], "", "", colour).stdout, /\x1b\[32mvalid/);
});

test("everything else is the full CLI's: errors, unknown options, other ledgers", () => {
  const declined: [string[], Record<string, string>][] = [
    [["show", "nosuch"], {}],
    [["show", "nosuch", "--json"], {}],
    [["list", "--status", "bogus"], {}],
    [["list", "--expiring", "soon"], {}],
    [["list", "--bogus"], {}],
    [["list", "extra"], {}],
    [["show"], {}],
    [["show", "alice", "bob"], {}],
    [["--status", "valid", "list"], {}],
    [["show", "--", "alice"], {}],
    [["show", "alice", "-h"], {}],
    [["list", "--passphrase-file", "/nonexistent"], {}],
    [["list"], { PKI_HOME: join(work.dir, "no-home") }],
    [["list"], { PKI_DATABASE_URL: "postgres://pki@127.0.0.1:1/none" }],
  ];
  for (const [args, env] of declined) {
    same(args, env);
    assert.ok(!leanAnswers(args, env), `the lean path declines pki ${args.join(" ")}`);
  }
});

test("a PostgreSQL home, a ledger newer than this pki and a damaged one are the full CLI's", () => {
  const pg = join(work.dir, "pg-home");
  mkdirSync(pg, { mode: 0o700 });
  writeFileSync(join(pg, "database"), "postgres://pki@127.0.0.1:1/none\n");
  const newer = join(work.dir, "newer");
  mkdirSync(newer, { mode: 0o700 });
  const db = new Database(join(newer, "ledger.db"));
  db.pragma("user_version = 999");
  db.close();
  const damaged = join(work.dir, "damaged");
  mkdirSync(damaged, { mode: 0o700 });
  writeFileSync(join(damaged, "ledger.db"), "not a database, not at all".repeat(100));
  for (const dir of [pg, newer, damaged]) {
    const lean = pki(dir, ["list"]);
    assert.deepEqual(lean, pki(dir, ["list"], FULL));
    assert.notEqual(lean.status, 0);
    assert.ok(!leanAnswers(["list"], { PKI_HOME: dir }));
  }
});

test("the DER walk describes certificates exactly as @peculiar/x509 does, or declines", () => {
  const names = ["Test Root CA", "alice", "bob", "carol", "web.internal", "frank"];
  for (const name of names) {
    const der = certificate(pki(home, ["show", name, "--pem"]).stdout);
    assert.deepEqual(describeDer(der), plain(describeCertificate(der)), name);
  }
  // Forms pki does not issue: an IPv6 address, a URI, a directory name, policies, a path length.
  const key = join(work.dir, "odd.key");
  const conf = join(work.dir, "odd.cnf");
  writeFileSync(conf, [
    "[req]", "distinguished_name = dn", "prompt = no", "x509_extensions = ext",
    "[dn]", "CN = odd, \"quoted\" + more", "O = Odd; Org", "emailAddress = x@example.com",
    "[ext]", "basicConstraints = critical, CA:TRUE, pathlen:2", "keyUsage = keyCertSign, cRLSign, decipherOnly",
    "extendedKeyUsage = serverAuth, 1.2.3.4", "certificatePolicies = 1.2.3.4.5",
    "authorityInfoAccess = OCSP;URI:http://ocsp.example/, caIssuers;URI:http://ca.example/ca.crt",
    "crlDistributionPoints = URI:http://crl.example/a.crl, URI:http://crl.example/b.crl",
    "subjectAltName = DNS:odd.example, IP:192.0.2.1, URI:https://odd.example/, email:odd@example.com",
    "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid",
  ].join("\n") + "\n");
  const made = openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-config", conf, "-outform", "PEM"]);
  assert.equal(made.status, 0, made.stderr);
  const odd = certificate(made.stdout);
  assert.deepEqual(describeDer(odd), plain(describeCertificate(odd)));
  writeFileSync(conf, ["[req]", "distinguished_name = dn", "prompt = no", "x509_extensions = ext", "[dn]", "CN = v6", "[ext]", "subjectAltName = IP:2001:db8::1, dirName:dir", "[dir]", "CN = inner"].join("\n") + "\n");
  const v6 = openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-config", conf, "-outform", "PEM"]);
  assert.equal(v6.status, 0, v6.stderr);
  assert.equal(describeDer(certificate(v6.stdout)), null, "an IPv6 address and a directory name are left to the full parser");
});
