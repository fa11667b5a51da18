// OCSP throughput: `pki serve` against OpenSSL's own responder (`openssl ocsp -index -port`) on
// the same certificates, 8 concurrent loopback clients, one request per connection as nginx and
// Apache ask, rounds interleaved after a warm-up round. A third contender, a node:http server
// answering every request with the same bytes, is the floor of any responder built on
// node:http: what the HTTP stack and the kernel cost before pki does anything. Each row also
// says how much CPU the server process spent per response (user + system, from /proc), which
// a machine shared with other work disturbs much less than responses per second.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { PKI_BIN } from "../helpers.js";
import { fillLedger, opensslCaDir, SECRETS, smallHome } from "./fixtures.js";
import type { Context, Row } from "./scenarios.js";
import { paired, summarize } from "./stats.js";

interface Load {
  /** Requests per second of each round. */
  rps: number[];
  p50Ms: number[];
  p99Ms: number[];
  /** The server's CPU time per response in each round, µs. */
  cpuUs: number[];
}

type Contender = "pki" | "openssl" | "floor";

/** A node:http server answering any request with 512 fixed bytes: nothing parsed, signed or looked up. */
const FLOOR_SERVER = `const body = Buffer.alloc(512, 0x30);
require("node:http").createServer((req, res) => { req.resume(); req.on("end", () => { res.writeHead(200, { "content-type": "application/ocsp-response", "content-length": body.length }); res.end(body); }); }).listen(Number(process.argv[1]), "127.0.0.1");`;

/** How the responder is asked: nginx's way (GET, no nonce: cacheable) or Apache's (POST with a nonce: signed every time). */
type Pattern = "get" | "post-nonce";

export function ocsp(ctx: Context): Row[] {
  const { ocspRows: total, ocspRounds: rounds, ocspSeconds: seconds } = ctx.sizes;
  const home = join(ctx.work, "ocsp-home");
  const ossl = join(ctx.work, "ocsp-openssl");
  smallHome(ctx.env, home, 1);
  opensslCaDir(home, ossl);
  fillLedger(home, { revoked: Math.round(total / 10), valid: total - Math.round(total / 10), expiringSoon: 0 }, join(ossl, "index.txt"));
  const requests = makeRequests(ctx, home, ossl, ctx.sizes.ocspAsked);

  const pkiPort = freePortSync();
  const osslPort = freePortSync();
  const floorPort = freePortSync();
  const log = openSync(join(ctx.work, "ocsp-pki.log"), "w");
  const osslLog = openSync(join(ctx.work, "ocsp-openssl.log"), "w");
  const servers: ChildProcess[] = [
    spawn(process.execPath, [PKI_BIN, "--home", home, "serve", "--http", `127.0.0.1:${pkiPort}`], { env: { ...ctx.env, ...SECRETS }, stdio: ["ignore", "ignore", log] }),
    spawn("openssl", ["ocsp", "-index", "index.txt", "-port", String(osslPort), "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem", "-passin", "env:PKI_PASSPHRASE", "-nmin", "5"], {
      cwd: ossl, env: { ...ctx.env, ...SECRETS }, stdio: ["ignore", "ignore", osslLog],
    }),
    spawn(process.execPath, ["-e", FLOOR_SERVER, String(floorPort)], { env: ctx.env, stdio: "ignore" }),
  ];
  const pids: Record<Contender, number> = { pki: servers[0]!.pid!, openssl: servers[1]!.pid!, floor: servers[2]!.pid! };
  try {
    // Ready when a real OCSP request is answered (OpenSSL's responder stops at a malformed one).
    const first = (JSON.parse(readFileSync(requests, "utf8")) as { get: string[] }).get[0]!;
    waitForHttp(`http://127.0.0.1:${pkiPort}/ocsp/${first}`);
    waitForHttp(`http://127.0.0.1:${osslPort}/${first}`);
    waitForHttp(`http://127.0.0.1:${floorPort}/`);
    const rows: Row[] = [];
    for (const pattern of ["get", "post-nonce"] as const) {
      // GET appends the request to the URL's path; POST goes to the path itself.
      const targets: Record<Contender, string> = { pki: `http://127.0.0.1:${pkiPort}/ocsp${pattern === "get" ? "/" : ""}`, openssl: `http://127.0.0.1:${osslPort}/`, floor: `http://127.0.0.1:${floorPort}/ocsp${pattern === "get" ? "/" : ""}` };
      const results: Record<Contender, Load> = { pki: { rps: [], p50Ms: [], p99Ms: [], cpuUs: [] }, openssl: { rps: [], p50Ms: [], p99Ms: [], cpuUs: [] }, floor: { rps: [], p50Ms: [], p99Ms: [], cpuUs: [] } };
      // One warm-up round (JIT, caches), then A B C A B C ...
      for (let r = 0; r <= rounds; r++) {
        for (const k of ["pki", "openssl", "floor"] as const) {
          const cpu0 = cpuSeconds(pids[k]);
          const m = runLoad(ctx, targets[k], pattern, requests, r === 0 ? 2 : seconds);
          if (r === 0) continue;
          results[k].rps.push(m.rps);
          results[k].p50Ms.push(m.p50Ms);
          results[k].p99Ms.push(m.p99Ms);
          results[k].cpuUs.push(((cpuSeconds(pids[k]) - cpu0) * 1e6) / m.responses);
        }
      }
      const how = pattern === "get" ? "GET, no nonce (nginx)" : "POST with a nonce (Apache)";
      const row = (k: Contender, label: string): Row => ({
        scenario: "OCSP",
        label: `${label}: ${how}`,
        unit: "responses/s",
        summary: summarize(results[k].rps),
        note: `server CPU ${med(results[k].cpuUs).toFixed(0)} µs a response (rounds ${Math.min(...results[k].cpuUs).toFixed(0)}–${Math.max(...results[k].cpuUs).toFixed(0)}); latency p50 ${med(results[k].p50Ms).toFixed(2)} ms, p99 ${med(results[k].p99Ms).toFixed(2)} ms; ${total} certificates, ${ctx.sizes.ocspAsked} asked about, 8 clients, a connection per request`,
      });
      const base = row("openssl", "openssl ocsp -index -port (one process)");
      const ours = row("pki", "pki serve --http");
      const floor = row("floor", "floor: node:http answering fixed bytes");
      const floorRatios = summarize(paired(results.floor.rps, results.openssl.rps, (a, b) => a / b));
      Object.assign(floor, { baseline: base.label, ratio: floor.summary.median / base.summary.median, ratioSpread: [floorRatios.p10, floorRatios.p90] });
      const ratios = summarize(paired(results.pki.rps, results.openssl.rps, (a, b) => a / b));
      Object.assign(ours, {
        baseline: base.label,
        ratio: ours.summary.median / base.summary.median,
        ratioSpread: [ratios.p10, ratios.p90],
        target: "≥ 3× openssl and ≥ 2,000/s",
        met: ours.summary.median / base.summary.median >= 3 && ours.summary.median >= 2000,
      });
      rows.push(base, ours, floor);
    }
    return rows;
  } finally {
    for (const s of servers) s.kill("SIGTERM");
    closeSync(log);
    closeSync(osslLog);
  }
}

/** utime + stime of a process, in seconds (Linux /proc; USER_HZ is 100 on every Linux port). */
function cpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function med(values: number[]): number {
  return summarize(values).median;
}

/** DER requests made by openssl itself for `n` serials spread over the ledger, written for the load generator. */
function makeRequests(ctx: Context, home: string, ossl: string, n: number): string {
  const db = new Database(join(home, "ledger.db"), { readonly: true });
  const all = db.prepare("SELECT serial FROM certificates WHERE kind = 'client' ORDER BY rowid").pluck().all() as string[];
  db.close();
  const get: string[] = [];
  const post: string[] = [];
  for (let i = 0; i < n; i++) {
    const serial = all[Math.floor((i * all.length) / n)]!;
    const file = join(ctx.work, "ocsp-req.der");
    for (const nonce of [false, true]) {
      execFileSync("openssl", ["ocsp", "-issuer", join(ossl, "ca.pem"), "-serial", `0x${serial}`, nonce ? "-nonce" : "-no_nonce", "-reqout", file], { env: ctx.env, stdio: "ignore" });
      if (nonce) post.push(readFileSync(file).toString("base64"));
      else get.push(encodeURIComponent(readFileSync(file).toString("base64")));
    }
  }
  const out = join(ctx.work, "ocsp-requests.json");
  writeFileSync(out, JSON.stringify({ get, post }));
  return out;
}

/** Runs the load generator (ocsp-load.ts) in its own process against `url`; 8 connections at a time. */
function runLoad(ctx: Context, url: string, pattern: Pattern, requestsFile: string, seconds: number): { rps: number; responses: number; p50Ms: number; p99Ms: number } {
  const r = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), "ocsp-load.js"), url, pattern === "get" ? "get" : "post", requestsFile, String(seconds), "8"], { env: ctx.env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bench: load on ${url}: ${r.stderr}`);
  const m = JSON.parse(r.stdout) as { responses: number; seconds: number; p50Ms: number; p99Ms: number; errors: number };
  if (m.errors > 0 || m.responses === 0) {
    const logs = ["ocsp-pki.log", "ocsp-openssl.log"].map((f) => `${f}: ${readFileSync(join(ctx.work, f), "utf8").slice(-600)}`).join("\n");
    throw new Error(`bench: ${url} answered ${m.errors} requests with errors (${m.responses} good)\n${logs}`);
  }
  return { rps: m.responses / m.seconds, responses: m.responses, p50Ms: m.p50Ms, p99Ms: m.p99Ms };
}

function freePortSync(): number {
  const out = execFileSync(process.execPath, ["-e", "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: "utf8" });
  return Number(out.trim());
}

function waitForHttp(url: string): void {
  for (let i = 0; i < 100; i++) {
    if (spawnSync("curl", ["-sf", "-o", "/dev/null", url]).status === 0) return;
    spawnSync("sleep", ["0.1"]);
  }
  throw new Error(`bench: no OCSP answer from ${url}`);
}
