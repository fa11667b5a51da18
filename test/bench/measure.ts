// Runs contenders interleaved (A B A B ...) after warm-up, each run on a freshly prepared
// fixture, and times only the commands themselves.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { GNU_TIME } from "./environment.js";
import { summarize, type Summary } from "./stats.js";

export interface Step {
  cmd: string;
  args: string[];
  /** Added to the clean environment. */
  env?: Record<string, string>;
  cwd?: string;
}

export interface Contender {
  label: string;
  /** Commands timed together as one run, in order (a tool that needs two commands for the job). */
  steps: Step[];
  /** Before every run, warm-up included, outside the timing: e.g. a fresh copy of the fixture. */
  prepare?: () => void;
}

export interface Measured {
  label: string;
  /** Wall time of each timed run, in ms, in run order. */
  samples: number[];
  summary: Summary;
  /** Highest peak RSS of any process in any run, when `rss` was asked for. */
  peakRssMb?: number;
}

export interface InterleaveOptions {
  warmup: number;
  runs: number;
  env: Record<string, string>;
  /** Wrap each step in GNU time for its peak RSS (adds the same small cost to every contender). */
  rss?: boolean;
  /** Scratch directory for GNU time's output. */
  scratch: string;
}

export function interleave(contenders: readonly Contender[], o: InterleaveOptions): Measured[] {
  const samples = contenders.map(() => [] as number[]);
  const rss = contenders.map(() => 0);
  for (let round = 0; round < o.warmup + o.runs; round++) {
    contenders.forEach((c, i) => {
      c.prepare?.();
      const r = runOnce(c, o);
      if (round < o.warmup) return;
      samples[i]!.push(r.ms);
      rss[i] = Math.max(rss[i]!, r.peakRssKb);
    });
  }
  return contenders.map((c, i) => ({
    label: c.label,
    samples: samples[i]!,
    summary: summarize(samples[i]!),
    ...(o.rss ? { peakRssMb: Math.round(rss[i]! / 1024) } : {}),
  }));
}

function runOnce(c: Contender, o: InterleaveOptions): { ms: number; peakRssKb: number } {
  const rssFile = join(o.scratch, "peak-rss");
  let ms = 0;
  let peakRssKb = 0;
  for (const step of c.steps) {
    const [cmd, args] = o.rss ? [GNU_TIME, ["-f", "%M", "-o", rssFile, step.cmd, ...step.args]] : [step.cmd, step.args];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: step.cwd ?? o.scratch, env: { ...o.env, ...step.env }, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: 64 << 20 });
    ms += Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`bench: ${c.label}: ${step.cmd} ${step.args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
    if (o.rss) {
      peakRssKb = Math.max(peakRssKb, Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1)));
      rmSync(rssFile);
    }
  }
  return { ms, peakRssKb };
}
