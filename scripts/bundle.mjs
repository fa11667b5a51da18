// Bundles the CLI (dist/src/cli/main.js) and what bin/pki runs first (start.cjs, from start.js
// beside main.js: help text, the fast path's client, the lean list and show) into dist/bundle
// without ever removing a file a running pki may still import: esbuild writes into a temporary
// folder, and each file is renamed into place (atomic), main.js last. Chunk names carry a
// content hash, so a chunk of the previous build that this one no longer has stays for a
// running process's lazy imports; such leftovers are removed once they are a day old.
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

/**
 * For start.cjs, where every module loaded counts: better-sqlite3's JavaScript is bundled (a
 * dozen files fewer to find and compile) and its `bindings` lookup, which searches a list of
 * build folders, becomes a require of the addon where npm builds it; node:crypto, which list
 * and show import but never call, is loaded on first use.
 */
const startUpPlugin = {
  name: "start-up",
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: "bindings", namespace: "start-up" }));
    b.onResolve({ filter: /^node:crypto$/ }, (args) => (args.namespace === "start-up" ? { path: "node:crypto", external: true } : { path: "crypto", namespace: "start-up" }));
    b.onLoad({ filter: /^bindings$/, namespace: "start-up" }, () => ({
      contents: `const { dirname, join } = require("node:path");
module.exports = (name) => require(join(dirname(require.resolve("better-sqlite3/package.json")), "build", "Release", name));`,
      loader: "js",
      resolveDir: process.cwd(),
    }));
    b.onLoad({ filter: /^crypto$/, namespace: "start-up" }, async () => {
      const names = Object.keys(await import("node:crypto")).filter((k) => k !== "default");
      return { contents: names.map((k) => `Object.defineProperty(exports, ${JSON.stringify(k)}, { enumerable: true, get: () => require("node:crypto")[${JSON.stringify(k)}] });`).join("\n"), loader: "js" };
    });
  },
};

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
    external: ["pkcs11js", "pg"],
    plugins: [startUpPlugin],
    // The shim's require.resolve is meant to run, not to be bundled.
    logOverride: { "require-resolve-not-external": "silent" },
    minifyWhitespace: true,
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
