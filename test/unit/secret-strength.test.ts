import assert from "node:assert/strict";
import { test } from "node:test";
import { exportPasswordProblem, passphraseProblem } from "../../src/ca/secret-strength.js";

test("CA passphrases: spaces at either end do not count, common and repetitive ones are refused", () => {
  for (const weak of ["        ", "  short  ", "password", "PASSWORD", "12345678", "aaaaaaaa", "abcabcabcabc", "qwertyuiop", " letmein1 "]) {
    assert.notEqual(passphraseProblem(weak), null, JSON.stringify(weak));
  }
  assert.match(passphraseProblem("        ")!, /at least 8 characters, not counting spaces at either end/);
  assert.match(passphraseProblem("Password")!, /most common passwords/);
  assert.match(passphraseProblem("abababab")!, /repeats/);
  for (const fine of ["correct horse battery staple", "Tr0ub4dor&3", "zoë-und-straße"]) assert.equal(passphraseProblem(fine), null, fine);
});

test("export passwords: one character (after trimming) and the most common ones are refused", () => {
  for (const weak of ["x", " x ", "  ", "password", "123456"]) assert.notEqual(exportPasswordProblem(weak), null, JSON.stringify(weak));
  for (const fine of ["pw", "s3cret p12", "pässwörd"]) assert.equal(exportPasswordProblem(fine), null, fine);
});
