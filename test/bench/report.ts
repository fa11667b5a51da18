// The bench's output: a Markdown table on stdout, and the same rows as JSON for scripts.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Machine } from "./environment.js";
import type { Row } from "./scenarios.js";

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const x = (v: number) => `${v.toFixed(2)}×`;

function timing(r: Row): string {
  const s = r.summary;
  const unit = r.unit === "ms" ? " ms" : "/s";
  return `${ms(s.median)}${unit} (p10–p90 ${ms(s.p10)}–${ms(s.p90)}, min–max ${ms(s.min)}–${ms(s.max)}, n=${s.n})`;
}

function comparison(r: Row): string {
  if (r.ratio === undefined) return "";
  const spread = r.ratioSpread ? ` (per round ${x(r.ratioSpread[0])}–${x(r.ratioSpread[1])})` : "";
  const beyond = r.beyond ? `; ${r.beyond.median >= 0 ? "+" : ""}${ms(r.beyond.median)} ms` : "";
  return `${x(r.ratio)} ${r.baseline}${spread}${beyond}`;
}

export function printTable(meta: Machine & { mode: string }, rows: readonly Row[]): void {
  console.log(`pki benchmark (${meta.mode}), ${meta.date}: ${meta.cpus} × ${meta.cpu}, ${meta.memoryGiB} GiB, load ${meta.loadAverage.join(" ")}, Node ${meta.node}, ${meta.openssl}, easy-rsa ${meta.easyRsa}`);
  console.log("Every process ran without NODE_* variables; contenders of a scenario ran interleaved, each run on a fresh copy of its fixture.\n");
  console.log("| scenario | measurement | median (spread) | vs baseline (median ratio; per-round p10–p90; median difference) | target | peak RSS | note |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const target = r.target ? `${r.target} ${r.met ? "✓" : "✗"}` : "";
    console.log(`| ${r.scenario} | ${r.label} | ${timing(r)} | ${comparison(r)} | ${target} | ${r.peakRssMb !== undefined ? `${r.peakRssMb} MB` : ""} | ${r.note ?? ""} |`);
  }
}

export function writeJson(path: string, meta: Machine & { mode: string }, rows: readonly Row[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify({ meta, rows }, null, 2) + "\n");
}
