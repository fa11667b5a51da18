// API issuances per second: one `pki serve --api` on SQLite, one on PostgreSQL, two on one
// PostgreSQL database, measured in the same run (rounds interleaved) by nodes-run.ts in its own
// process, with the CPU each part used, so the report says where the time goes.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SECRETS } from "./fixtures.js";
import type { Context, Row } from "./scenarios.js";
import { paired, summarize } from "./stats.js";

interface Result {
  label: string;
  rps: number[];
  cpu: Record<string, number>[];
}

export function nodes(ctx: Context): Row[] {
  const work = join(ctx.work, "nodes");
  mkdirSync(work, { recursive: true });
  // The OCSP scenario's rounds and seconds: a load round of the same length.
  const r = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), "nodes-run.js"), work, String(ctx.sizes.ocspRounds), String(ctx.sizes.ocspSeconds * 2)], {
    env: { ...ctx.env, ...SECRETS },
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench: nodes: ${r.stderr.slice(-1500)}`);
  const results = JSON.parse(r.stdout) as Result[];
  const [sqlite, one, two] = results as [Result, Result, Result];
  const cpuNote = (res: Result) => {
    const keys = Object.keys(res.cpu[0] ?? {});
    const median = (k: string) => summarize(res.cpu.map((c) => c[k]!)).median.toFixed(2);
    const cores = keys.filter((k) => !k.startsWith("write lock") && !k.startsWith("writers"));
    const lock = keys.includes("write lock held") ? `; write lock held ${median("write lock held")} of the time, ${median("writers waiting")} writers waiting on average` : "";
    return "CPU in cores: " + cores.map((k) => `${k} ${median(k)}`).join(", ") + lock;
  };
  const row = (res: Result): Row => ({ scenario: "nodes", label: `API issuance, ${res.label}`, unit: "certificates/s", summary: summarize(res.rps), note: `16 keep-alive mTLS clients; ${cpuNote(res)}` });
  const base = row(one);
  const ratios = summarize(paired(two.rps, one.rps, (a, b) => a / b));
  const twoRow: Row = {
    ...row(two),
    baseline: base.label,
    ratio: summarize(two.rps).median / summarize(one.rps).median,
    ratioSpread: [ratios.p10, ratios.p90],
    target: "≥ 1.6× one node on PostgreSQL",
  };
  twoRow.met = twoRow.ratio! >= 1.6;
  return [row(sqlite), base, twoRow];
}
