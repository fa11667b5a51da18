import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { initHome, openssl, PASSPHRASE, pki, pkiJson, snapshot, tempDir } from "../helpers.js";

// Issue #12's input findings (13): every read bounded, no file content in errors, weak secrets,
// look-alike and serial-like names, weak CSRs, and a ledger edited into garbage.
const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
const alice = pkiJson<{ serial: string }>(home, ["issue-client", "alice"]);

interface Refusal {
  status: number;
  code: string;
  stderr: string;
}

/** Runs a command that must be refused with `status` and change nothing in `h`. */
function refused(h: string, args: string[], status: number, code: string, env: Record<string, string | undefined> = {}): Refusal {
  const before = snapshot(h);
  const r = pki(h, ["--json", ...args], env);
  assert.equal(r.status, status, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: one line`);
  const actual = JSON.parse(r.stdout).error.code as string;
  assert.equal(actual, code, `${args.join(" ")}: ${r.stderr}`);
  assert.deepEqual(snapshot(h), before, `${args.join(" ")}: ledger and files unchanged`);
  return { status: r.status, code: actual, stderr: r.stderr };
}

test("endless inputs are refused at their size limit, not read until memory runs out", () => {
  const list = join(work.dir, "many.txt");
  for (const [args, env, limit] of [
    [["issue-client", "x", "--csr", "/dev/zero"], {}, 65536],
    [["issue-client", "x", "--profile", "/dev/zero"], {}, 65536],
    [["issue-client", "--from", "/dev/zero"], {}, 16777216],
    [["issue-client", "x", "--passphrase-file", "/dev/zero"], { PKI_PASSPHRASE: undefined }, 4096],
    [["issue-server", "web.internal", "--csr", "/dev/urandom"], {}, 65536],
  ] as const) {
    const r = refused(home, [...args], 6, "FILE_TOO_LARGE", env);
    assert.match(r.stderr, new RegExp(`is larger than ${limit} bytes, the most pki reads there`));
  }
  writeFileSync(list, "a".repeat(70_000));
  refused(home, ["issue-client", "x", "--csr", list], 6, "FILE_TOO_LARGE");
});

test("a secret file given where a profile belongs is refused without printing its content", () => {
  const secret = join(work.dir, "passphrase.txt");
  writeFileSync(secret, `${PASSPHRASE}\n`, { mode: 0o600 });
  const r = refused(home, ["issue-client", "x", "--profile", secret], 6, "INVALID_INPUT");
  assert.match(r.stderr, /passphrase\.txt:1: expected "name = value"/);
  assert.ok(!r.stderr.includes("horse"), r.stderr);
});

test("weak CA passphrases are refused: whitespace does not count, common and repeated ones neither", () => {
  for (const weak of ["        ", "  seven  ", "password", "aaaaaaaa", "12345678"]) {
    const h = join(work.dir, "weak-home");
    const r = pki(h, ["--json", "init-root", "--cn", "Weak CA"], { PKI_PASSPHRASE: weak });
    assert.equal(r.status, 5, `${JSON.stringify(weak)}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).error.code, "WEAK_PASSPHRASE");
    assert.ok(!existsSync(h), "no home made");
  }
  refused(home, ["passphrase", "change"], 5, "WEAK_PASSPHRASE", { PKI_NEW_PASSPHRASE: "Password" });
});

test("one-character export passwords are refused for .p12, .mobileconfig and exported keys", () => {
  const pw = join(work.dir, "pw.txt");
  writeFileSync(pw, " x \n", { mode: 0o600 });
  refused(home, ["export-p12", "alice"], 5, "WEAK_PASSWORD", { PKI_P12_PASSWORD: "x" });
  refused(home, ["export-mobileconfig", "alice"], 5, "WEAK_PASSWORD", { PKI_P12_PASSWORD: "x" });
  refused(home, ["export-key", "alice", "--password-file", pw, "--out", join(work.dir, "alice.key")], 5, "WEAK_PASSWORD");
  refused(home, ["issue-client", "frank", "--p12"], 5, "WEAK_PASSWORD", { PKI_P12_PASSWORD: "password" });
});

test("names that read as a serial, or pass for another name, are refused", () => {
  refused(home, ["issue-client", alice.serial], 2, "NAME_LOOKS_LIKE_SERIAL");
  refused(home, ["issue-client", "\u0430lice"], 2, "CONFUSABLE_NAME"); // Cyrillic а
  refused(home, ["issue-client", "\uff41lice"], 2, "CONFUSABLE_NAME"); // fullwidth ａ
  refused(home, ["issue-client", "a\u0301\u0302\u0303\u0304\u0306"], 2, "CONFUSABLE_NAME");
  for (const [flag, value] of [["--cn", "Evil\u202eAC"], ["--cn", "T\u0435st Root"], ["--org", "Exa\u200bmple"]] as const) {
    const h = join(work.dir, "spoof-home");
    const r = pki(h, ["--json", "init-root", "--cn", "Fine Root", flag, value]);
    assert.equal(r.status, 2, `${flag} ${JSON.stringify(value)}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).error.code, "CONFUSABLE_NAME");
    assert.ok(!existsSync(h));
  }
});

test("CSRs signed with SHA-1, with RSA exponent 3, or with bytes after their DER are refused", () => {
  const csr = (name: string, args: string[]) => {
    const out = join(work.dir, name);
    const r = openssl(["req", "-new", "-nodes", "-keyout", join(work.dir, `${name}.key`), "-subj", "/CN=x", "-out", out, ...args]);
    assert.equal(r.status, 0, r.stderr);
    return out;
  };
  const sha1 = csr("sha1.csr", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1"]);
  const e3 = csr("e3.csr", ["-newkey", "rsa:2048", "-pkeyopt", "rsa_keygen_pubexp:3"]);
  const der = csr("good.der", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-outform", "DER"]);
  const trailing = join(work.dir, "trailing.der");
  writeFileSync(trailing, Buffer.concat([readFileSync(der), Buffer.from([0x05, 0x00])]));
  assert.match(refused(home, ["issue-client", "csr-user", "--csr", sha1], 6, "UNSUPPORTED_ALGORITHM").stderr, /signed with SHA-1; sign it with SHA-256 or stronger/);
  assert.match(refused(home, ["issue-client", "csr-user", "--csr", e3], 6, "UNSUPPORTED_ALGORITHM").stderr, /public exponent 3; pki signs RSA keys with exponent 65537 only/);
  assert.match(refused(home, ["issue-client", "csr-user", "--csr", trailing], 6, "INVALID_INPUT").stderr, /has 2 bytes after its DER encoding/);
  assert.equal(pki(home, ["issue-client", "csr-user", "--csr", der]).status, 0, "the same DER without the extra bytes is signed");
});

/** A copy of the home with its ledger edited by raw SQL. */
function tampered(name: string, sql: string): string {
  const h = join(work.dir, name);
  mkdirSync(h, { mode: 0o700 });
  copyFileSync(join(home, "ledger.db"), join(h, "ledger.db"));
  const db = new Database(join(h, "ledger.db"));
  db.exec(sql);
  db.close();
  return h;
}

test("a malformed event row or root certificate is reported as tampering by check and audit, not as an internal error", () => {
  for (const [name, sql, why] of [
    ["bad-json", "UPDATE events SET details = '{not json' WHERE id = 2", /event 2 \(.*\) was edited: its details are not a JSON object/],
    ["json-null", "UPDATE events SET details = 'null' WHERE id = 2", /event 2 \(.*\) was edited: its details are not a JSON object/],
    ["bad-root", "UPDATE certificates SET der = x'300100' WHERE kind = 'root'", /certificate .* differs from the one its event recorded/],
  ] as const) {
    const h = tampered(name, sql);
    for (const args of [["check"], ["audit", "--verify"]]) {
      const r = pki(h, args);
      assert.equal(r.status, 8, `${name} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, why, `${name} ${args.join(" ")}`);
      assert.doesNotMatch(r.stdout + r.stderr, /internal error/);
    }
  }
  const r = pki(join(work.dir, "bad-root"), ["check"]);
  assert.match(r.stdout, /the root certificate in the ledger \(serial [0-9a-f]+\) does not parse: the ledger was altered outside pki/);
});

test("the CRL hook gets PKI_CRL, PKI_HOME and PATH, and none of the secrets in pki's environment", () => {
  const envFile = join(work.dir, "hook-env.txt");
  pkiJson(home, ["hook", "set", "crl", `env > '${envFile}'`]);
  pkiJson(home, ["issue-client", "gina"]);
  const secrets = { PKI_P12_PASSWORD: "p12 secret value", PKI_KEY_PASSWORD: "key secret value", PKI_NEW_PASSPHRASE: "new secret value", PKI_BACKUP_PASSPHRASE: "backup secret value" };
  assert.equal(pki(home, ["revoke", "gina"], secrets).status, 0);
  const vars = readFileSync(envFile, "utf8").trim().split("\n").map((l) => l.slice(0, l.indexOf("=")));
  assert.deepEqual(vars.filter((v) => v.startsWith("PKI_")).sort(), ["PKI_CRL", "PKI_HOME"]);
  const text = readFileSync(envFile, "utf8");
  for (const value of [PASSPHRASE, ...Object.values(secrets)]) assert.ok(!text.includes(value), `the hook saw ${value}`);
  pkiJson(home, ["hook", "clear", "crl"]);
});
