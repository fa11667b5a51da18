// Bundles the CLI (dist/src/cli/main.js) into dist/bundle without ever removing a file a
// running pki may still import: esbuild writes into a temporary folder, and each file is
// renamed into place (atomic), main.js last. Chunk names carry a content hash, so a chunk
// of the previous build that this one no longer has stays for a running process's lazy
// imports; such leftovers are removed once they are a day old.
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const STALE_AFTER_MS = 24 * 60 * 60 * 1000;
const outdir = resolve(process.argv[2] ?? "dist/bundle");
const entry = resolve(process.argv[3] ?? "dist/src/cli/main.js");
// Bulk issuance's key workers load this file beside the chunk that starts them (key-pool.ts).
const keyWorker = resolve(entry, "../../crypto/key-worker.js");

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
  const built = readdirSync(staging);
  for (const file of built.filter((f) => f !== "main.js")) renameSync(join(staging, file), join(outdir, file));
  renameSync(join(staging, "main.js"), join(outdir, "main.js"));
  const now = Date.now();
  for (const file of readdirSync(outdir)) {
    if (built.includes(file)) continue;
    const path = join(outdir, file);
    if (now - statSync(path).mtimeMs > STALE_AFTER_MS) rmSync(path, { recursive: true, force: true });
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
