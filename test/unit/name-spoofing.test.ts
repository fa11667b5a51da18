import assert from "node:assert/strict";
import { test } from "node:test";
import { PkiError } from "../../src/ca/errors.js";
import { validateName } from "../../src/ca/names.js";
import { spoofingProblem } from "../../src/ca/spoofing.js";

function refused(name: string, why: RegExp, code: string): void {
  assert.throws(() => validateName(name), (e: unknown) => e instanceof PkiError && e.kind === "usage" && e.code === code && why.test(e.message), JSON.stringify(name));
}

test("look-alike names are refused: mixed scripts, whole-script Latin look-alikes, fullwidth letters, stacked marks", () => {
  refused("\u0430lice", /mixes the Cyrillic and Latin scripts/, "CONFUSABLE_NAME"); // Cyrillic а
  refused("Ωmega", /mixes the Greek and Latin scripts/, "CONFUSABLE_NAME");
  refused("\u0430\u0440\u0435", /Cyrillic letters that look like Latin ones/, "CONFUSABLE_NAME"); // "аре"
  refused("\uff41lice", /compatibility look-alikes.*"alice"/, "CONFUSABLE_NAME"); // fullwidth ａ
  refused("\ud835\udc1alice", /compatibility look-alikes/, "CONFUSABLE_NAME"); // mathematical bold a
  refused("a" + "\u0301".repeat(5), /combining marks/, "CONFUSABLE_NAME");
});

test("real names in one script, and the CJK combinations, are accepted", () => {
  for (const n of ["Zoë", "Ωμέγα", "Дмитрий", "李雷", "山田太郎", "やまだ", "김민수", "Ngọc Ánh", "José", "Müller-Lüdenscheidt", "रमेश", "สมชาย", "ci_runner+2", "東京 office"]) {
    assert.equal(validateName(n), n.normalize("NFC"), n);
  }
});

test("bidi and zero-width characters are refused in any displayed text", () => {
  for (const t of ["Evil\u202eCA", "Ro\u200bot", "Root\u2066CA", "\u061cRoot"]) assert.match(spoofingProblem(t) ?? "", /control or invisible/, JSON.stringify(t));
  assert.equal(spoofingProblem("Example Corp Root CA 2026"), null);
});

test("a name that reads as a serial number is refused; short hex words stay names", () => {
  for (const n of ["6ed63c959ff35465005490ad7e554c55", "0x6ed63c959ff35465", "6ED63C959FF35465", "6e d6 3c 95 9f f3 54 65"]) refused(n, /reads as a serial number/, "NAME_LOOKS_LIKE_SERIAL");
  for (const n of ["cafe", "1234", "deadbeef", "abc"]) assert.equal(validateName(n), n);
});
