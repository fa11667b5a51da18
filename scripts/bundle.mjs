// Bundles the CLI (dist/src/cli/main.js) and what bin/pki runs first (start.cjs: help text,
// the fast path's client, the lean list and show; start.js beside main.js) into dist/bundle
// without ever removing a file a
// running pki may still import: esbuild writes into a temporary folder, and each file is
// renamed into place (atomic), main.js last. Chunk names carry a content hash, so a chunk
// of the previous build that this one no longer has stays for a running process's lazy
// imports; such leftovers are removed once they are a day old.
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";

const STALE_AFTER_MS = 24 * 60 * 60 * 1000;
const outdir = resolve(process.argv[2] ?? "dist/bundle");
const entry = resolve(process.argv[3] ?? "dist/src/cli/main.js");
// Bulk issuance's key workers load this file beside the chunk that starts them (key-pool.ts).
const keyWorker = resolve(entry, "../../crypto/key-worker.js");
const first = join(dirname(entry), "start.js");
const LAST = ["start.cjs", "main.js"];

mkdirSync(outdir, { recursive: true });
const staging = mkdtempSync(`${outdir}.tmp-`);
try {
  await build({
    entryPoints: { main: entry, "key-worker": keyWorker },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir: staging,
    external: ["better-sqlite3", "pkcs11js", "pg"],
    logLevel: "warning",
    banner: { js: "import{createRequire as __pkiCreateRequire}from'node:module';const require=__pkiCreateRequire(import.meta.url);" },
  });
  // One CommonJS file of its own: no chunk to load before it knows whether it needs the CLI, and
  // Node's CommonJS loader starts several milliseconds sooner than its ES module loader.
  await build({
    entryPoints: { start: first },
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    outdir: staging,
    outExtension: { ".js": ".cjs" },
    external: ["better-sqlite3", "pkcs11js", "pg"],
    define: { "import.meta.url": "__pkiModuleUrl" },
    banner: { js: "const __pkiModuleUrl=require('node:url').pathToFileURL(__filename).href;" },
    logLevel: "warning",
  });
  const built = readdirSync(staging);
  for (const file of built.filter((f) => !LAST.includes(f))) renameSync(join(staging, file), join(outdir, file));
  for (const file of LAST) renameSync(join(staging, file), join(outdir, file));
  const now = Date.now();
  for (const file of readdirSync(outdir)) {
    if (built.includes(file)) continue;
    const path = join(outdir, file);
    if (now - statSync(path).mtimeMs > STALE_AFTER_MS) rmSync(path, { recursive: true, force: true });
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
