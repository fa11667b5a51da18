import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, pki, PKI_BIN, pkiJson, run, snapshot, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});

const HUMAN_DATE = /\d{4}-\d\d-\d\d \d\d:\d\d UTC/;
const ISO_IN_TEXT = /\d{4}-\d\d-\d\dT\d\d:\d\d/;

interface JsonError {
  error: { code: string; message: string; hint: string | null; exitCode: number };
}

test("pki with no arguments, pki help nosuch and a bare command group: usage on stderr, exit 2", () => {
  for (const args of [[], ["help", "nosuch"], ["hook"], ["passphrase"]]) {
    const r = pki(home, args);
    assert.equal(r.status, 2, `pki ${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "", `pki ${args.join(" ")}: nothing on stdout`);
    assert.match(r.stderr, /^Usage: pki /, `pki ${args.join(" ")}`);
  }
  assert.match(pki(home, ["help", "nosuch"]).stderr, /pki: usage: unknown command "nosuch"\n$/);
  assert.match(pki(home, ["--home", home, "help", "no\x1b[2Jsuch"]).stderr, /pki: usage: unknown command "no\\x1b\[2Jsuch"\n$/, "echoed safely");
  const help = pki(home, ["help", "list"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: pki list/);
});

test("--json errors: one object on stdout with a stable code, message, hint and exit code; the line on stderr stays", () => {
  const cases: [string[], string, number][] = [
    [["show", "nobody"], "NOT_FOUND", 3],
    [["list", "--bogus"], "USAGE", 2],
    [["revoke", "Test Root CA"], "ROOT_REFUSED", 6],
    [["export-key", "Test Root CA", "--unencrypted", "--out", join(work.dir, "root.key")], "ROOT_REFUSED", 6],
  ];
  const before = snapshot(home);
  for (const [args, code, exitCode] of cases) {
    for (const position of ["before", "after"]) {
      const r = pki(home, position === "before" ? ["--json", ...args] : [...args, "--json"]);
      assert.equal(r.status, exitCode, `${args.join(" ")}: ${r.stderr}`);
      const { error } = JSON.parse(r.stdout) as JsonError;
      assert.equal(error.code, code, args.join(" "));
      assert.equal(error.exitCode, exitCode);
      assert.ok(error.message.length > 0 && !error.message.includes("\n"));
      assert.ok(error.hint === null || typeof error.hint === "string");
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
  }
  assert.deepEqual(snapshot(home), before);

  const junk = join(work.dir, "junk");
  pki(junk, ["init-root", "--cn", "Junk"]);
  writeFileSync(join(junk, "ledger.db"), "not a database ".repeat(100));
  const r = pki(junk, ["--json", "list"]);
  assert.equal(r.status, 7);
  assert.equal((JSON.parse(r.stdout) as JsonError).error.code, "LEDGER_NOT_A_DATABASE");

  const wrong = pki(home, ["--json", "crl"], { PKI_PASSPHRASE: "not the passphrase" });
  assert.equal(wrong.status, 5);
  assert.match((JSON.parse(wrong.stdout) as JsonError).error.code, /^[A-Z_]+$/);
});

test("hints are shell-quoted with the real name; after --p12 no export is suggested", () => {
  const spaced = pki(home, ["issue-client", "Jean Dupont"]);
  assert.equal(spaced.status, 0, spaced.stderr);
  assert.match(spaced.stdout, /pki export-p12 'Jean Dupont'\n/);
  const decomposed = pki(home, ["issue-client", "Zoe\u0308"]);
  assert.match(decomposed.stdout, /pki export-p12 Zo\u00eb\n/, "the stored (NFC) name");
  const server = pki(home, ["issue-server", "intranet.example.com"]);
  assert.match(server.stdout, /pki export-key intranet\.example\.com --unencrypted --out \/etc\/ssl\/private\/intranet\.example\.com\.key\n/);
  const again = pki(home, ["issue-client", "Jean Dupont"]);
  assert.equal(again.status, 4);
  assert.match(again.stderr, /to replace it run: pki renew 'Jean Dupont'\n$/);
  const oneStep = pki(home, ["issue-client", "carol", "--p12", join(work.dir, "carol.p12")], { PKI_P12_PASSWORD: "pw-carol" });
  assert.equal(oneStep.status, 0, oneStep.stderr);
  assert.doesNotMatch(oneStep.stdout, /export-p12/);
});

test("show --json adds issuer, subjectAltNames and extensions; show prints CA:FALSE and the human date", () => {
  pki(home, ["issue-client", "dave", "--email", "dave@example.com"]);
  const d = pkiJson<Record<string, any>>(home, ["show", "dave"]);
  assert.equal(d.issuer, "C=NL, O=Test Org, CN=Test Root CA");
  assert.deepEqual(d.subjectAltNames, [{ type: "email", value: "dave@example.com" }]);
  assert.deepEqual(d.extensions.basicConstraints, { critical: true, ca: false, pathLength: null });
  assert.deepEqual(d.extensions.keyUsage.usages, ["digitalSignature"]);
  assert.deepEqual(d.extensions.extendedKeyUsage.usages, ["clientAuth"]);
  assert.match(d.extensions.subjectKeyIdentifier, /^[0-9a-f]{40}$/);
  assert.match(d.extensions.authorityKeyIdentifier, /^[0-9a-f]{40}$/);
  assert.match(d.notAfter, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "ISO 8601 in JSON");
  assert.match(d.pem, /^-----BEGIN CERTIFICATE-----/);

  const text = pki(home, ["show", "dave"]).stdout;
  assert.match(text, /basicConstraints: +CA:FALSE \(critical\)/);
  assert.match(text, /subjectAltName: +email:dave@example\.com/);
  assert.match(text, new RegExp(`not after: +${HUMAN_DATE.source}`));
  assert.doesNotMatch(text, ISO_IN_TEXT);
  const root = pki(home, ["show", "Test Root CA"]).stdout;
  assert.match(root, /basicConstraints: +CA:TRUE, pathlen:0 \(critical\)/);
});

test("human output has one date format and real plurals", () => {
  const outputs = [pki(home, ["list"]).stdout, pki(home, ["audit"]).stdout, pki(home, ["check"]).stdout, pki(home, ["crl"]).stdout];
  for (const out of outputs) {
    assert.match(out, HUMAN_DATE);
    assert.doesNotMatch(out, ISO_IN_TEXT);
  }
  assert.match(outputs[3]!, /CRL #\d+ with 0 revoked certificates/);
  pki(home, ["issue-client", "erin"]);
  pki(home, ["revoke", "erin"]);
  const twice = pki(home, ["revoke", "erin"]);
  assert.match(twice.stderr, new RegExp(`is already revoked \\(${HUMAN_DATE.source}\\)`));
  const single = join(work.dir, "single");
  pki(single, ["init-root", "--cn", "Single"]);
  assert.match(pki(single, ["backup", join(work.dir, "single.db")]).stdout, /Backed up 1 certificate to /);
});

test("list: columns line up by display width with CJK, combining and Latin names", () => {
  for (const n of ["李雷", "Zoe\u0301"]) assert.equal(pki(home, ["issue-client", n]).status, 0);
  const lines = pki(home, ["list"]).stdout.trimEnd().split("\n");
  const columnOfSerial = (line: string) => {
    // A random serial whose first byte is zero prints shorter than 32 digits.
    const serial = /(?<![0-9a-f])[0-9a-f]{16,40}(?![0-9a-f])|SERIAL/.exec(line)!;
    let width = 0;
    for (const ch of line.slice(0, serial.index).normalize("NFC")) width += /[\u3000-\u9fff]/.test(ch) ? 2 : 1;
    return width;
  };
  const columns = new Set(lines.map(columnOfSerial));
  assert.equal(columns.size, 1, lines.join("\n"));
});

test("check --repair says what it repaired and how many", () => {
  rmSync(join(home, "certs", "dave.pem"));
  chmodSync(join(home, "private", "dave.key"), 0o644);
  const r = pki(home, ["check", "--repair"]);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /rewrote \S+dave\.pem from the ledger \(it is missing\)/);
  assert.match(r.stdout, /changed the mode of \S+dave\.key from 644 to 600/);
  assert.match(r.stdout, /Repaired 2 problems\.\n/);
  assert.doesNotMatch(r.stdout, /\(repaired\)/);
});

test("--help of every command shows each default once", () => {
  const commands = ["init-root", "issue-client", "issue-server", "export-p12", "export-mobileconfig", "export-key", "revoke", "crl", "list", "show", "renew",
    "server-config", "doctor", "check", "audit", "backup", "restore", "passphrase change", "hook set", "hook show", "serve", "config list", "config get", "config set", "config unset", "trust install", "trust uninstall"];
  for (const c of [[], ...commands.map((c) => c.split(" "))]) {
    const r = pki(home, [...c, "--help"]);
    assert.equal(r.status, 0, c.join(" "));
    // One entry per option: its first line starts with "  -", continuation lines are indented further.
    const entries = r.stdout.split(/\n(?=  -)/).map((e) => e.split(/\n(?!\s{6,})/)[0]!);
    for (const e of entries) assert.ok((e.match(/default/gi) ?? []).length <= 1, `pki ${c.join(" ")} --help: ${e}`);
  }
});

test("Ctrl-C at a prompt on a terminal: 'cancelled', exit 130, nothing created", async (t) => {
  if (run("script", ["--version"]).status !== 0) return t.skip("needs script(1) for a pseudo-terminal");
  const fresh = join(work.dir, "cancelled");
  // script(1) gives pki a pseudo-terminal; -e passes its exit status through.
  const child = spawn("script", ["-qefc", `${process.execPath} ${PKI_BIN} --home ${fresh} init-root`, "/dev/null"], { env: { PATH: process.env.PATH, TERM: "xterm" } });
  let out = "";
  let pressed = false;
  child.stdout.on("data", (d: Buffer) => {
    out += d;
    if (!pressed && out.includes("Common name of the root CA")) {
      pressed = true;
      child.stdin.write("\x03");
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 130, out);
  assert.match(out, /pki: init-root: cancelled/);
  assert.ok(!existsSync(fresh), "no home created");
});
