// `node dist/test/bench/profile.js [--top N] -- ARGS...`: runs `pki ARGS` once under
// node --cpu-prof (without NODE_* variables) and prints where its time went: self time by
// function and by module (package, pki source file, or Node internals).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PKI_BIN } from "../helpers.js";
import { cleanEnv } from "./environment.js";
import { SECRETS } from "./fixtures.js";

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ options: { top: { type: "string", default: "15" } }, allowPositionals: true });
const dir = mkdtempSync(join(tmpdir(), "pki-profile-"));
try {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", dir, PKI_BIN, ...positionals], { env: cleanEnv(SECRETS), stdio: ["ignore", "ignore", "inherit"] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) process.exitCode = 1;
  const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!), "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${moduleOf(n.callFrame.url, n.callFrame.functionName)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`;
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  const inclusive = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const us = profile.timeDeltas[i] ?? 0;
    const module = moduleOf(node.callFrame.url, node.callFrame.functionName);
    byFunction.set(label(node), (byFunction.get(label(node)) ?? 0) + us);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    // Each function once per sample, however deep the recursion.
    const onStack = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) onStack.add(label(byId.get(n)!));
    for (const f of onStack) inclusive.set(f, (inclusive.get(f) ?? 0) + us);
  });
  const top = Number(values.top);
  const profiled = (profile.endTime - profile.startTime) / 1000;
  console.log(`pki ${positionals.join(" ")}: ${wall.toFixed(0)} ms wall, ${profiled.toFixed(0)} ms profiled (before that: Node's own start-up)`);
  for (const [title, table] of [["self time by module", byModule], ["self time by function", byFunction], ["total time (self + callees) by function", inclusive]] as const) {
    console.log(`\n${title}:`);
    for (const [k, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${(us / 1000).toFixed(1).padStart(7)} ms  ${k}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The package or pki file a frame belongs to: what a reader can act on. */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return "node internals";
  const own = url.match(/(dist\/(?:bundle|src)\/.*)$/);
  return own ? own[1]! : url;
}
