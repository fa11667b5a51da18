// Run as its own process by the `nodes` scenario (node nodes-run.js WORK ROUNDS SECONDS), with
// PKI_PASSPHRASE set: API issuances per second from 16 keep-alive clients against one `pki serve
// --api` on SQLite, one on PostgreSQL, and two on PostgreSQL (requests alternating), rounds
// interleaved after a warm-up round, on a private PostgreSQL cluster. Prints JSON on stdout:
// per setup the rate of each round and where the CPU went (each node, PostgreSQL, the clients).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { PKI_BIN } from "../helpers.js";
import { startCluster } from "../postgres-cluster.js";
import { apiClient, type ApiClient } from "../server/api-client.js";

const [work, roundsArg, secondsArg] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const SECONDS = Number(secondsArg);
const CLIENTS = 16;
const env = { ...process.env } as Record<string, string>;

function pki(home: string, args: string[], extra: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [PKI_BIN, "--home", home, "--json", ...args], { env: { ...env, ...extra }, encoding: "utf8" });
}

interface Node {
  child: ChildProcess;
  port: number;
}

async function serve(home: string): Promise<Node> {
  const child = spawn(process.execPath, [PKI_BIN, "--home", home, "serve", "--api", "127.0.0.1:0", "--api-cert", "localhost"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  // The request log is drained (one line a request), not kept.
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      if (err.length < 4096) err += d.toString();
      const m = /https:\/\/127\.0\.0\.1:(\d+) \(API\)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`pki serve exited ${code}: ${err}`)));
  });
  return { child, port };
}

/** CPU seconds (user + system) of a process and, with `children`, of its children (PostgreSQL's backends). */
function cpuSeconds(pid: number, children = false): number {
  const tick = 100;
  const of = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      return (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      return 0;
    }
  };
  let total = of(pid);
  if (children) {
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const fields = readFileSync(`/proc/${d}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
        if (Number(fields[1]) === pid) total += of(Number(d));
      } catch {
        /* gone */
      }
    }
  }
  return total;
}

/**
 * Samples pg_locks every 10 ms: the share of samples in which a writer held the ledger's advisory
 * write lock, and the mean number of writers queued for it. Held near 1 with writers waiting
 * means the write lock, not the nodes, sets the pace.
 */
function lockSampler(url: string): { stop(): Promise<{ held: number; waiting: number }> } {
  const client = new pg.Client({ connectionString: url });
  let samples = 0;
  let held = 0;
  let waiting = 0;
  let running = true;
  const done = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ granted: boolean; n: string }>("SELECT granted, count(*) AS n FROM pg_locks WHERE locktype = 'advisory' GROUP BY granted");
      samples++;
      for (const r of rows) {
        if (r.granted) held++;
        else waiting += Number(r.n);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { held: held / Math.max(1, samples), waiting: waiting / Math.max(1, samples) };
    },
  };
}

function home(name: string, database?: string): string {
  const dir = join(work, name);
  pki(dir, ["init-root", "--cn", `Bench ${name}`], database ? { PKI_DATABASE_URL: database } : {});
  pki(dir, ["issue-server", "localhost", "127.0.0.1"]);
  pki(dir, ["issue-client", "ops"]);
  pki(dir, ["export-key", "ops", "--unencrypted", "--out", join(work, `${name}-ops.key`)]);
  pki(dir, ["role", "set", "ops", "admin"]);
  return dir;
}

const cluster = startCluster();
const nodes: Node[] = [];
try {
  const csrFile = join(work, "leaf.csr");
  execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work, "leaf.key"), "-out", csrFile, "-subj", "/CN=leaf"], { stdio: "ignore" });
  const csr = readFileSync(csrFile, "utf8");
  const sqliteHome = home("sqlite");
  const pgUrl = await cluster.createDatabase();
  const pgHome = home("pg-a", pgUrl);
  const pgHomeB = join(work, "pg-b");
  pki(pgHomeB, ["join"], { PKI_DATABASE_URL: pgUrl });
  const postmaster = cluster.pid();
  const [sqliteNode, pgNode, pgNodeB] = [await serve(sqliteHome), await serve(pgHome), await serve(pgHomeB)];
  nodes.push(sqliteNode, pgNode, pgNodeB);
  const setups = [
    { label: "1 node, SQLite", home: sqliteHome, nodes: [sqliteNode] },
    { label: "1 node, PostgreSQL", home: pgHome, nodes: [pgNode] },
    { label: "2 nodes, PostgreSQL", home: pgHome, nodes: [pgNode, pgNodeB] },
  ];
  const clientsOf = new Map<string, ApiClient[]>();
  for (const s of setups) {
    clientsOf.set(s.label, Array.from({ length: CLIENTS }, () => apiClient({ cert: join(s.home, "certs", "ops.pem"), key: join(work, `${s.home === sqliteHome ? "sqlite" : "pg-a"}-ops.key`), ca: join(s.home, "ca.pem") })));
  }
  const results = setups.map((s) => ({ label: s.label, rps: [] as number[], cpu: [] as Record<string, number>[] }));
  let counter = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [k, s] of setups.entries()) {
      const seconds = round === 0 ? Math.min(2, SECONDS) : SECONDS;
      const sampler = s.home === sqliteHome ? null : lockSampler(pgUrl);
      const before = { nodes: s.nodes.map((n) => cpuSeconds(n.child.pid!)), pg: cpuSeconds(postmaster, true), clients: process.cpuUsage() };
      const started = performance.now();
      const deadline = started + seconds * 1000;
      let issued = 0;
      let failed = "";
      await Promise.all(
        clientsOf.get(s.label)!.map(async (client, c) => {
          for (let i = 0; performance.now() < deadline && !failed; i++) {
            const node = s.nodes[(c + i) % s.nodes.length]!;
            const r = await client.call(node.port, "POST", "/v1/certificates", { name: `b${++counter}`, profile: "client", csr });
            if (r.status === 201) issued++;
            else failed = `${r.status} ${JSON.stringify(r.body)}`;
          }
        }),
      );
      const lock = await sampler?.stop();
      if (failed) throw new Error(`bench nodes: ${s.label}: ${failed}`);
      const wall = (performance.now() - started) / 1000;
      if (round === 0) continue;
      const clients = process.cpuUsage(before.clients);
      results[k]!.rps.push(issued / wall);
      results[k]!.cpu.push({
        ...Object.fromEntries(s.nodes.map((n, i) => [`node ${i + 1}`, (cpuSeconds(n.child.pid!) - before.nodes[i]!) / wall])),
        ...(s.home === sqliteHome ? {} : { postgres: (cpuSeconds(postmaster, true) - before.pg) / wall }),
        clients: (clients.user + clients.system) / 1e6 / wall,
        ...(lock ? { "write lock held": lock.held, "writers waiting": lock.waiting } : {}),
      });
    }
  }
  for (const list of clientsOf.values()) for (const c of list) c.close();
  process.stdout.write(JSON.stringify(results) + "\n");
} finally {
  for (const n of nodes) n.child.kill("SIGTERM");
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r(null) : n.child.once("exit", r)))));
  cluster.remove();
}
