import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PkiError } from "../../src/ca/errors.js";
import { MAX_NAME_LENGTH, nameKey, validateName } from "../../src/ca/names.js";
import { editDistance } from "../../src/ca/suggest.js";

test("ordinary user, service and host names are accepted", () => {
  for (const n of ["alice", "Zoë", "build-bot", "api.internal", "bob@example.com", "Jean Dupont", "ci_runner+2", "Ωμέγα", "李雷"]) {
    assert.equal(validateName(n), n.normalize("NFC"));
  }
});

test("a decomposed Zoë is the same name as a precomposed one", () => {
  assert.equal(validateName("Zoe\u0308"), "Zo\u00eb");
});

test("path tricks, control characters and oversize names are refused with a reason", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["../etc/passwd", /path separator/],
    ["a/b", /path separator/],
    ["a\\b", /path separator/],
    ["nul\u0000byte", /control/],
    ["new\nline", /control/],
    ["bell\u0007", /control/],
    ["zero\u200bwidth", /control or invisible/],
    [".hidden", /start with a letter or digit/],
    ["..", /ends with/],
    ["trailing.", /ends with/],
    ["semi;colon", /characters other than/],
    ["$(rm -rf)", /characters other than/],
    ["x".repeat(MAX_NAME_LENGTH + 1), /at most 64/],
  ];
  for (const [input, why] of bad) {
    assert.throws(() => validateName(input), (e: unknown) => e instanceof PkiError && e.kind === "usage" && why.test(e.message), JSON.stringify(input));
  }
});

test("property: every accepted name is a safe single path component", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (s) => {
      let name: string;
      try {
        name = validateName(s);
      } catch (e) {
        assert.ok(e instanceof PkiError);
        return;
      }
      assert.ok(!name.includes("/") && !name.includes("\\") && !name.includes("\0"));
      assert.ok(name !== "." && name !== ".." && !name.startsWith("."));
      assert.ok(!/\p{Cc}/u.test(name));
      assert.ok(name.length >= 1 && name.length <= MAX_NAME_LENGTH);
    }),
    { numRuns: 2000 },
  );
});

test("nameKey: case, Unicode form and full case folding make one name; different names stay apart", () => {
  for (const [a, b] of [["bob", "BOB"], ["Zoe\u0308", "ZOË"], ["straße", "STRASSE"], ["ΣΊΣΥΦΟΣ", "σίσυφος"]]) assert.equal(nameKey(a!), nameKey(b!), `${a} ~ ${b}`);
  for (const [a, b] of [["bob", "bobby"], ["zoe", "zoë"], ["a-b", "a_b"]]) assert.notEqual(nameKey(a!), nameKey(b!), `${a} !~ ${b}`);
});

test("editDistance: insertions, substitutions and a transposition each count once; null past the limit", () => {
  const d = (a: string, b: string, max = 2) => editDistance([...a], [...b], max);
  assert.equal(d("nobdy", "nobody"), 1);
  assert.equal(d("nobdoy", "nobody"), 1);
  assert.equal(d("alice", "alcie"), 1);
  assert.equal(d("alice", "alice"), 0);
  assert.equal(d("bob", "rob"), 1);
  assert.equal(d("alice", "bob"), null);
  assert.equal(d("abcdef", "abcxyz"), null);
});
