// `npm run bench [-- --quick] [-- --only SCENARIO,...]`: pki against `node -e 0`, easy-rsa,
// openssl and mkcert, measured side by side in one run. Not part of npm test. The method is
// described in the README's Performance section.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../helpers.js";
import { assertCleanNodeEnv, cleanEnv, ensureTools, machine } from "./environment.js";
import { printTable, writeJson } from "./report.js";
import { fastPath } from "./fast-path.js";
import { nodes } from "./nodes.js";
import { ocsp } from "./ocsp.js";
import { bulk, type Context, crl, FULL, ledgerScale, oneUser, QUICK, type Row, startup } from "./scenarios.js";

const SCENARIOS: Record<string, (ctx: Context) => Row[]> = { startup, "one-user": oneUser, bulk, crl, "ledger-scale": ledgerScale, ocsp, "fast-path": fastPath, nodes };

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, only: { type: "string" } } });
// --quick leaves out `nodes` unless named (it starts a PostgreSQL cluster: a third of a quick run).
const QUICK_SKIPS = ["nodes"];
const chosen = values.only ? values.only.split(",") : Object.keys(SCENARIOS).filter((s) => !(values.quick && QUICK_SKIPS.includes(s)));
const unknown = chosen.filter((s) => !(s in SCENARIOS));
if (unknown.length) {
  console.error(`bench: unknown scenario ${unknown.join(", ")}; choose from ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}

ensureTools();
const env = cleanEnv();
assertCleanNodeEnv(env);
const work = mkdtempSync(join(tmpdir(), "pki-bench-"));
const ctx: Context = { env, work, sizes: values.quick ? QUICK : FULL };
const meta = { ...machine(), mode: values.quick ? "--quick" : "full" };
const rows: Row[] = [];
const started = Date.now();
try {
  for (const name of chosen) {
    const t0 = Date.now();
    console.error(`bench: ${name}…`);
    rows.push(...SCENARIOS[name]!(ctx));
    console.error(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  if (!values.only && values.quick) console.error(`bench: --quick left out ${QUICK_SKIPS.join(", ")}; add --only ${QUICK_SKIPS.join(",")} to run it`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const out = join(ROOT, "dist", "bench-results.json");
writeJson(out, { ...meta, mode: `${meta.mode}, ${((Date.now() - started) / 1000).toFixed(0)} s` }, rows);
printTable(meta, rows);
console.log(`\nJSON: ${out}`);
