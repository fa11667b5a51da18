import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PkiError, type PkiErrorKind } from "../../src/ca/errors.js";
import { reportOf } from "../../src/cli/errors.js";
import { ROOT } from "../helpers.js";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
/** `| \`CODE\` | meaning | exit |` rows of the README's error-code table. */
const documented = new Map([...readme.matchAll(/^\| `([A-Z][A-Z_]+)` \| [^|]+ \| (\d+) \|$/gm)].map((m) => [m[1]!, Number(m[2])]));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

test("every error code the code can produce is in the README's table, with its exit code", () => {
  const used = new Set<string>();
  for (const file of sources(join(ROOT, "src"))) {
    const text = readFileSync(file, "utf8");
    // The stable code passed last to PkiError (or another typed error), and the tables that map kinds and lower layers' codes.
    for (const m of text.matchAll(/new \w*Error\([^;]*?,\s*"([A-Z][A-Z_]+)"\s*,?\s*\)/g)) used.add(m[1]!);
    if (/(ca|cli)\/errors\.ts$|cli\/(run|fast-client)\.ts$|ca\/home\.ts$/.test(file)) for (const m of text.matchAll(/(?::\s*|\[)"([A-Z][A-Z_]+)"/g)) used.add(m[1]!);
  }
  assert.ok(used.size >= 20, [...used].join(" "));
  for (const code of used) assert.ok(documented.has(code), `${code} is not in the README's error-code table`);
  const kinds: PkiErrorKind[] = ["usage", "not-found", "conflict", "secret", "invalid", "storage"];
  for (const kind of kinds) {
    const r = reportOf(new PkiError(kind, "x"))!;
    assert.equal(documented.get(r.code), r.exitCode, `${r.code}: the README's exit code`);
  }
});
