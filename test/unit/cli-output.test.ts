import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import fc from "fast-check";
import { PkiError } from "../../src/ca/errors.js";
import { EXIT, reportOf } from "../../src/cli/errors.js";
import { displayWidth, plural, when } from "../../src/cli/output.js";
import { delayedProgress } from "../../src/cli/progress.js";
import { shellQuote } from "../../src/ca/shell-quote.js";
import { CryptoError } from "../../src/crypto/errors.js";
import { LedgerError } from "../../src/ledger/errors.js";

test("display width: CJK and emoji take two cells, combining marks none", () => {
  assert.equal(displayWidth("alice"), 5);
  assert.equal(displayWidth("李雷"), 4);
  assert.equal(displayWidth("김철수"), 6);
  assert.equal(displayWidth("Ｚ"), 2, "fullwidth Latin");
  assert.equal(displayWidth("Zoe\u0308"), 3, "e + combining diaeresis is one cell");
  assert.equal(displayWidth("Zo\u00eb"), 3);
  assert.equal(displayWidth("👍"), 2);
  assert.equal(displayWidth("❤\uFE0F"), 2, "text symbol with emoji presentation selector");
  assert.equal(displayWidth("👩‍💻"), 2, "ZWJ sequence is one glyph");
  assert.equal(displayWidth("a\u200Bb"), 2, "zero-width space");
});

test("one date format for people: 2027-12-01 14:03 UTC", () => {
  assert.equal(when("2027-12-01T14:03:59.999Z"), "2027-12-01 14:03 UTC");
  assert.equal(when("2027-12-01T16:03:00+02:00"), "2027-12-01 14:03 UTC");
});

test("plurals", () => {
  assert.equal(plural(0, "certificate"), "0 certificates");
  assert.equal(plural(1, "certificate"), "1 certificate");
  assert.equal(plural(2, "key"), "2 keys");
});

test("shellQuote: safe words as they are, the rest single-quoted so that sh reads back the same word", () => {
  assert.equal(shellQuote("alice"), "alice");
  assert.equal(shellQuote("api.internal"), "api.internal");
  assert.equal(shellQuote("Zoë"), "Zoë");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("o'brien"), `'o'\\''brien'`);
  assert.equal(shellQuote(""), "''");
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 20 }).filter((s) => !s.includes("\0")), (word) => {
      const r = spawnSync("/bin/sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
      assert.equal(r.stdout, word);
    }),
    { numRuns: 60 },
  );
});

test("progress: nothing on a pipe, nothing in the first second, then percent and counts, and a final newline", () => {
  const writes: string[] = [];
  let now = 1000;
  const p = delayedProgress("backing up", { isTTY: true, write: (t: string) => writes.push(t) }, () => now);
  p.update(10, 100);
  now += 999;
  p.update(20, 100);
  assert.deepEqual(writes, [], "quiet during the first second");
  now += 1;
  p.update(50, 100);
  p.update(100, 100);
  p.end();
  assert.deepEqual(writes, ["\rbacking up: 50% (50/100)", "\rbacking up: 100% (100/100)", "\n"]);

  const piped: string[] = [];
  let later = 0;
  const q = delayedProgress("restoring", { isTTY: false, write: (t: string) => piped.push(t) }, () => (later += 5000));
  q.update(1, 2);
  q.end();
  assert.deepEqual(piped, []);
});

test("every typed error has a stable code and its exit code; a cancelled prompt is 130", () => {
  assert.deepEqual(reportOf(new PkiError("conflict", "taken", "use renew", "NAME_TAKEN")), { code: "NAME_TAKEN", message: "taken", hint: "use renew", exitCode: EXIT.conflict });
  assert.deepEqual(reportOf(new PkiError("not-found", "no such")), { code: "NOT_FOUND", message: "no such", hint: null, exitCode: 3 });
  assert.equal(reportOf(new LedgerError("busy", "locked"))!.code, "LEDGER_LOCKED");
  assert.equal(reportOf(new LedgerError("read-only", "ro", "hint"))!.hint, "hint");
  assert.equal(reportOf(new LedgerError("conflict", "dup"))!.exitCode, EXIT.conflict);
  assert.deepEqual(reportOf(new CryptoError("bad-passphrase", "wrong")), { code: "BAD_PASSPHRASE", message: "wrong", hint: null, exitCode: EXIT.secret });
  assert.equal(reportOf(new CryptoError("malformed", "junk"))!.exitCode, EXIT.invalid);
  const cancelled = Object.assign(new Error("User force closed the prompt with SIGINT"), { name: "ExitPromptError" });
  assert.deepEqual(reportOf(cancelled), { code: "CANCELLED", message: "cancelled", hint: null, exitCode: 130 });
  assert.equal(reportOf(new TypeError("bug")), null, "anything else is an internal error");
});
