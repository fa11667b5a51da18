// Bundles the CLI (dist/src/cli/main.js) and the fast path's client that bin/pki runs first
// (fast-client.js beside it) into dist/bundle without ever removing a file a
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
const client = join(dirname(entry), "fast-client.js");
const LAST = ["fast-client.js", "main.js"];

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
  // The client is one file of its own: no chunk to load before it knows whether it needs the CLI.
  await build({ entryPoints: [client], bundle: true, format: "esm", platform: "node", target: "node20", outdir: staging, logLevel: "warning" });
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
