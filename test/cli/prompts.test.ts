// The prompt paths for real, on a pseudo-terminal (test/pty/drive.py), never mocked.
import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdirSync, readdirSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, openssl, PASSPHRASE, PKI_BIN, pki, pkiJson, ROOT, run, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
const work = tempDir();
after(() => {
  cleanup();
  work.cleanup();
});
pkiJson(home, ["issue-client", "alice"]);

/** Escapes text for a regex step. */
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function onTerminal(args: string[], steps: [RegExp | string, string][], options: { home?: string; bin?: string } = {}): { output: string; status: number; unmatched: string | null } {
  const spec = {
    argv: [process.execPath, options.bin ?? PKI_BIN, ...args],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work.dir, PKI_HOME: options.home ?? home, TERM: "xterm" },
    steps: steps.map(([pattern, text]) => [typeof pattern === "string" ? re(pattern) : pattern.source, text]),
  };
  const r = run("python3", [join(ROOT, "test", "pty", "drive.py"), JSON.stringify(spec)]);
  assert.equal(r.status, 0, r.stderr);
  // Without colour and cursor codes, so assertions read like the screen.
  const parsed = JSON.parse(r.stdout) as { output: string; status: number; unmatched: string | null };
  return { ...parsed, output: parsed.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "") };
}

test("a wrong CA passphrase is asked again (3 tries), an empty .p12 password too; then the export works", () => {
  const r = onTerminal(["export-p12", "alice", "--out", join(work.dir, "alice.p12")], [
    ["CA passphrase", "wrong one 1\r"],
    [/\(2 tries left\)\.\r\n.*?CA passphrase/, "wrong one 2\r"],
    [/\(1 try left\)\.\r\n.*?CA passphrase/, `${PASSPHRASE}\r`],
    ["password for the .p12", "\r"],
    ["must not be empty: macOS, iOS and Firefox cannot import such files", "p12 secret\r"],
    ["Repeat it", "p12 secret\r"],
  ]);
  assert.equal(r.unmatched, null, r.output);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /Wrote .*alice\.p12/);
  process.env.PROMPT_P12 = "p12 secret";
  assert.equal(openssl(["pkcs12", "-in", join(work.dir, "alice.p12"), "-noout", "-passin", "env:PROMPT_P12"]).status, 0);
});

test("three wrong CA passphrases end the command (exit 5) with a hint about the prompt", () => {
  const r = onTerminal(["export-p12", "alice", "--out", join(work.dir, "never.p12")], [
    ["CA passphrase", "wrong one 1\r"],
    [/\(2 tries left\)\.\r\n.*?CA passphrase/, "wrong one 2\r"],
    [/\(1 try left\)\.\r\n.*?CA passphrase/, "wrong one 3\r"],
  ]);
  assert.equal(r.status, 5, r.output);
  assert.match(r.output, /pki: export-p12 alice: wrong passphrase for the CA key; 3 wrong tries; it is the passphrase set by pki init-root or by the last pki passphrase change/);
  assert.doesNotMatch(r.output, /password for the \.p12/);
});

test("names and the CA are checked before any secret is asked, with a near name suggested", () => {
  const typo = onTerminal(["export-p12", "alcie"], []);
  assert.equal(typo.status, 3, typo.output);
  assert.match(typo.output, /^pki: export-p12 alcie: no certificate with name or serial "alcie"; did you mean "alice"\? \(pki list shows names and serials\)\r\n$/);
  const noCa = onTerminal(["export-p12", "alice"], [], { home: join(work.dir, "no-ca") });
  assert.equal(noCa.status, 3, noCa.output);
  assert.doesNotMatch(noCa.output, /passphrase|password/);
  const taken = onTerminal(["issue-client", "alice", "--p12"], []);
  assert.equal(taken.status, 4, taken.output);
  assert.doesNotMatch(taken.output, /passphrase|password/);
});

test("keys typed between two prompts, while pki checks the passphrase, are not echoed", () => {
  const typedAhead = "TYPED-AHEAD-IN-CLEAR";
  const r = onTerminal(["export-p12", "alice", "--out", join(work.dir, "echo.p12")], [
    ["CA passphrase", `${PASSPHRASE}\r`],
    // The prompt's final line is drawn just before it closes; the next one opens only after the
    // passphrase is verified (a 600,000-iteration PBKDF2), so these keys land in between.
    [/✔.*CA passphrase.*\r\n/, typedAhead],
    ["password for the .p12", "p12 secret\r"],
    ["Repeat it", "p12 secret\r"],
  ]);
  assert.equal(r.status, 0, r.output);
  assert.ok(!r.output.includes(typedAhead), r.output);
});

test("passphrase change: a too-short or unchanged new passphrase is asked again at once; it says how many keys it re-encrypts", () => {
  const { home: own, cleanup: done } = initHome();
  try {
    pkiJson(own, ["issue-client", "carol"]);
    const next = "a long enough new passphrase";
    const r = onTerminal(["passphrase", "change"], [
      ["CA passphrase", `${PASSPHRASE}\r`],
      ["new CA passphrase", "short\r"],
      ["the new passphrase must have at least 8 characters", `\x15${PASSPHRASE}\r`],
      ["the new passphrase is the same as the old one", `\x15${next}\r`],
      ["Repeat it", `${next}\r`],
    ], { home: own });
    assert.equal(r.unmatched, null, r.output);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Re-encrypting 2 keys under the new passphrase\.\.\.\r\n/);
    assert.match(r.output, /2\/2 keys, about 0 s left\r\n/);
    assert.match(r.output, /Re-encrypted 2 keys under the new passphrase\./);
    assert.equal(pki(own, ["crl"], { PKI_PASSPHRASE: next }).status, 0);
  } finally {
    done();
  }
});

test("a wrong passphrase's hint names where it came from; an empty passphrase file says so", () => {
  const wrong = join(work.dir, "wrong.txt");
  const empty = join(work.dir, "empty.txt");
  writeFileSync(wrong, "not the passphrase\n", { mode: 0o600 });
  writeFileSync(empty, "\n", { mode: 0o600 });
  const cases: [string[], Record<string, string | undefined>, RegExp][] = [
    [["crl"], { PKI_PASSPHRASE: "not the passphrase" }, /^pki: crl: wrong passphrase for the CA key; check PKI_PASSPHRASE\n$/],
    [["--passphrase-file", wrong, "crl"], { PKI_PASSPHRASE: undefined }, new RegExp(`^pki: crl: wrong passphrase for the CA key; check --passphrase-file ${re(wrong)} \\(its first line is the passphrase\\)\\n$`)],
    [["--passphrase-file", empty, "crl"], {}, new RegExp(`^pki: crl: --passphrase-file ${re(empty)} is empty; its first line must be the CA passphrase\\n$`)],
  ];
  for (const [args, env, why] of cases) {
    const r = pki(home, args, env);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, why);
  }
});

/** A copy of the installed pki whose better-sqlite3 addon is broken by `damage`; node_modules itself is untouched. */
function pkiWithBrokenSqlite(damage: (addon: string) => void): string {
  const copy = join(work.dir, `pkg-${readdirSync(work.dir).length}`);
  mkdirSync(join(copy, "node_modules"), { recursive: true });
  cpSync(join(ROOT, "bin"), join(copy, "bin"), { recursive: true });
  cpSync(join(ROOT, "dist", "bundle"), join(copy, "dist", "bundle"), { recursive: true });
  copyFileSync(join(ROOT, "package.json"), join(copy, "package.json"));
  symlinkSync(join(ROOT, "templates"), join(copy, "templates"));
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry !== "better-sqlite3") symlinkSync(join(ROOT, "node_modules", entry), join(copy, "node_modules", entry));
  }
  const sqlite = join(copy, "node_modules", "better-sqlite3");
  for (const part of ["package.json", "lib"]) cpSync(join(ROOT, "node_modules", "better-sqlite3", part), join(sqlite, part), { recursive: true });
  mkdirSync(join(sqlite, "build", "Release"), { recursive: true });
  const addon = join(sqlite, "build", "Release", "better_sqlite3.node");
  copyFileSync(join(ROOT, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"), addon);
  damage(addon);
  return join(copy, "bin", "pki");
}

test("a broken or missing better-sqlite3 addon: one line with the fix, exit 7, before any prompt", () => {
  const truncated = pkiWithBrokenSqlite((addon) => truncateSync(addon, 100));
  const missing = pkiWithBrokenSqlite((addon) => unlinkSync(addon));
  for (const bin of [truncated, missing]) {
    const listed = run(process.execPath, [bin, "list"], { env: { PATH: process.env.PATH, PKI_HOME: home } });
    assert.equal(listed.status, 7, listed.stderr);
    assert.match(listed.stderr, /^pki: list: the SQLite module cannot be loaded \([^\n]*\); run: npm rebuild better-sqlite3\n$/);
    const json = run(process.execPath, [bin, "--json", "list"], { env: { PATH: process.env.PATH, PKI_HOME: home } });
    assert.equal(json.status, 7, json.stderr);
    assert.deepEqual(Object.keys(JSON.parse(json.stdout).error), ["code", "message", "hint", "exitCode"]);
    assert.equal(JSON.parse(json.stdout).error.code, "SQLITE_MODULE_BROKEN");
    assert.equal(JSON.parse(json.stdout).error.hint, "run: npm rebuild better-sqlite3");
    // init-root without --cn asks for the name on a terminal: the module is checked first.
    const init = onTerminal(["init-root"], [], { home: join(work.dir, "new-home"), bin });
    assert.equal(init.status, 7, init.output);
    assert.match(init.output, /^pki: init-root: the SQLite module cannot be loaded \([^\n]*\); run: npm rebuild better-sqlite3\r\n$/);
  }
});
