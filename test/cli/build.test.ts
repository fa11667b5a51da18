import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { after, test } from "node:test";
import { ROOT, run } from "../helpers.js";

// Inside dist/ so that the bundle finds node_modules (better-sqlite3 stays external).
const parent = mkdtempSync(join(ROOT, "dist", "bundle-test-"));
after(() => rmSync(parent, { recursive: true, force: true }));
const outdir = join(parent, "bundle");

function bundle(): void {
  const r = run(process.execPath, [join(ROOT, "scripts", "bundle.mjs"), outdir, join(ROOT, "dist", "src", "cli", "main.js")], { cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
}

test("rebuilding never removes a file a running pki may still import; day-old leftovers go", () => {
  bundle();
  const first = readdirSync(outdir);
  assert.ok(first.includes("main.js") && first.some((f) => f.startsWith("authority-")));
  // A chunk of an earlier build that a long-running pki has not imported yet, and one from last week.
  writeFileSync(join(outdir, "chunk-EARLIER1.js"), "export {};\n");
  writeFileSync(join(outdir, "chunk-LASTWEEK.js"), "export {};\n");
  const weekAgo = new Date(Date.now() - 7 * 86_400_000);
  utimesSync(join(outdir, "chunk-LASTWEEK.js"), weekAgo, weekAgo);

  bundle();
  for (const f of [...first, "chunk-EARLIER1.js"]) assert.ok(existsSync(join(outdir, f)), `${f} is still there`);
  assert.ok(!existsSync(join(outdir, "chunk-LASTWEEK.js")), "a week-old leftover is removed");
  assert.deepEqual(readdirSync(dirname(outdir)).filter((f) => f !== basename(outdir)), [], "no staging folder left behind");
  const version = run(process.execPath, [join(outdir, "main.js"), "--version"]);
  assert.equal(version.stdout.trim(), "0.1.0", version.stderr);
});
