import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { initHome, pki, tempDir } from "../helpers.js";

const { home, cleanup } = initHome();
after(cleanup);

test("with --json an error is also an object on stdout with its stable code; the stderr line stays", () => {
  assert.equal(pki(home, ["issue-client", "alice"]).status, 0);
  const r = pki(home, ["--json", "issue-client", "alice"]);
  assert.equal(r.status, 4);
  const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string } };
  assert.equal(error.code, "NAME_TAKEN");
  assert.match(error.message, /"alice" already has a valid certificate/);
  assert.equal(error.hint, "to replace it run: pki renew alice");
  assert.match(r.stderr, /^pki: issue-client alice: "alice" already has a valid certificate .*; to replace it run: pki renew alice\n$/);
  const missing = pki(home, ["--json", "show", "nobody"]);
  assert.equal(missing.status, 3);
  assert.equal(JSON.parse(missing.stdout).error.code, "NOT_FOUND");
});

test("ledger errors carry their own codes: a ledger that is not a database is LEDGER_CORRUPT", () => {
  const { dir, cleanup: done } = tempDir();
  try {
    const junk = join(dir, "junk");
    assert.equal(pki(junk, ["init-root", "--cn", "Junk"]).status, 0);
    writeFileSync(join(junk, "ledger.db"), "not a database ".repeat(200));
    const r = pki(junk, ["--json", "list"]);
    assert.equal(r.status, 7);
    assert.equal(JSON.parse(r.stdout).error.code, "LEDGER_CORRUPT");
    assert.match(r.stderr, /is not a pki ledger/);
  } finally {
    done();
  }
});

test("an 80 KB name is echoed cut to about 100 characters, in the label as in the message", () => {
  const huge = "a".repeat(80_000);
  for (const args of [["issue-client", huge], ["show", huge], ["revoke", huge]]) {
    const r = pki(home, args);
    assert.notEqual(r.status, 0);
    assert.ok(r.stderr.length < 400, `${args[0]}: ${r.stderr.length} characters on stderr`);
    assert.match(r.stderr, /a…/);
  }
});

test("a wrong passphrase is BAD_PASSPHRASE", () => {
  const r = pki(home, ["--json", "crl"], { PKI_PASSPHRASE: "not the passphrase" });
  assert.equal(r.status, 5);
  assert.equal(JSON.parse(r.stdout).error.code, "BAD_PASSPHRASE");
});
