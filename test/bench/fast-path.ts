// The CLI's fast path (issue 13): `pki issue-client NAME` and `pki show NAME` through a running
// `pki serve` on the home, interleaved with `node -e 0`. The server holds the home, so the runs
// share it (no fresh copy per run); each issue-client run adds one certificate to 11.
import { openSync, closeSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { PKI_BIN } from "../helpers.js";
import { SECRETS, smallHome } from "./fixtures.js";
import { type Contender, interleave, type Step } from "./measure.js";
import { compare, type Context, plain, type Row } from "./scenarios.js";

export function fastPath(ctx: Context): Row[] {
  const home = join(ctx.work, "fast-path-home");
  smallHome(ctx.env, home, 10);
  const logFile = join(ctx.work, "fast-path-serve.log");
  const log = openSync(logFile, "w");
  const server = spawn(process.execPath, [PKI_BIN, "--home", home, "serve"], { env: { ...ctx.env, ...SECRETS }, stdio: ["ignore", "ignore", log] });
  closeSync(log);
  try {
    waitFor(() => existsSync(join(home, "serve.sock")) && readFileSync(logFile, "utf8").includes("ready on"), "pki serve to start");
    // No passphrase on the client's side: a run that missed the server would fail, not be timed.
    const pki = (args: string[]): Step => ({ cmd: process.execPath, args: [PKI_BIN, "--home", home, ...args], env: {} });
    let n = 0;
    const issue = pki(["issue-client", "fast-0"]);
    const contenders: Contender[] = [
      { label: "node -e 0", steps: [{ cmd: process.execPath, args: ["-e", "0"] }] },
      { label: "pki issue-client NAME, through pki serve", steps: [issue], prepare: () => void (issue.args[issue.args.length - 1] = `fast-${n++}`) },
      { label: "pki show NAME, through pki serve", steps: [pki(["show", "user1"])] },
    ];
    const [base, issued, shown] = interleave(contenders, { warmup: ctx.sizes.warmup, runs: ctx.sizes.startupRuns, env: ctx.env, scratch: ctx.work });
    const served = readFileSync(logFile, "utf8").split("\n").filter((l) => / cli (issue-client|show) exit=0 /.test(l)).length;
    const expected = 2 * (ctx.sizes.warmup + ctx.sizes.startupRuns);
    if (served !== expected) throw new Error(`bench: fast path: ${served} of ${expected} commands went through pki serve`);
    return [
      plain("fast path", base!),
      compare("fast path", issued!, base!, { text: "≤ 1.25× node -e 0", met: (r) => r.ratio! <= 1.25 }),
      compare("fast path", shown!, base!, { text: "≤ 1.15× node -e 0", met: (r) => r.ratio! <= 1.15 }),
    ];
  } finally {
    server.kill("SIGTERM");
    waitFor(() => server.exitCode !== null || server.signalCode !== null || !existsSync(join(home, "serve.sock")), "pki serve to stop");
  }
}

function waitFor(done: () => boolean, what: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 600; i++) {
    if (done()) return;
    Atomics.wait(pause, 0, 0, 50);
  }
  throw new Error(`bench: timed out waiting for ${what}`);
}
