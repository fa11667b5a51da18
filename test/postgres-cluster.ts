// A private PostgreSQL cluster for one test file: initdb and pg_ctl in a temporary folder, a
// Unix socket in that folder (and with `tls`, TLS on a loopback port), run as `nobody` when the
// tests run as root (PostgreSQL refuses to run as root). Never the system's service.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { run, tempDir } from "./helpers.js";

export interface PgCluster {
  /** A URL for `database` as the cluster's superuser, over the Unix socket. */
  url(database: string): string;
  /** With `tls`: a URL for `database` over TCP to localhost:port, with these libpq parameters. */
  tcpUrl(database: string, params: Record<string, string>): string;
  /** A new, empty database (default collation ICU en-US); its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown: open sessions are cut, as in a failover). */
  stop(): void;
  start(): void;
  /** Stops the server and removes the folder. */
  remove(): void;
  /** The postmaster's process id (its backends are its children). */
  pid(): number;
}

const SUPERUSER = "pki";

function binDir(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb"))) : [];
  if (versions.length === 0) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql (.ci/run does)");
  return join(base, versions.sort((a, b) => Number(b) - Number(a))[0]!, "bin");
}

const started = new Set<PgCluster>();
process.on("exit", () => {
  for (const c of started) c.remove();
});

export interface ClusterOptions {
  /** Serve TLS on 127.0.0.1:port with this certificate and (unencrypted) key, PEM files. */
  tls?: { port: number; certificate: string; key: string };
  /** Require this password (SCRAM) from the superuser; url() leaves it out. Default: trust. */
  password?: string;
}

export function startCluster(options: ClusterOptions = {}): PgCluster {
  const bin = binDir();
  const { dir, cleanup } = tempDir("pki-pg-");
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const owner = (path: string) => {
    if (!asRoot) return;
    const id = (flag: string) => Number(run("id", [flag, "nobody"]).stdout.trim());
    chownSync(path, id("-u"), id("-g"));
  };
  owner(dir);
  let serverOptions = `-c listen_addresses='' -k ${dir} -c fsync=off -c max_connections=100`;
  const { tls } = options;
  if (tls) {
    // PostgreSQL accepts a key only when its own user owns it and no one else may read it.
    for (const [from, to] of [[tls.certificate, "server.crt"], [tls.key, "server.key"]] as const) {
      copyFileSync(from, join(dir, to));
      chmodSync(join(dir, to), 0o600);
      owner(join(dir, to));
    }
    serverOptions = `-c listen_addresses=127.0.0.1 -p ${tls.port} -k ${dir} -c fsync=off -c max_connections=100 -c ssl=on -c ssl_cert_file=${join(dir, "server.crt")} -c ssl_key_file=${join(dir, "server.key")}`;
  }
  const pgTool = (tool: string, args: string[]) => {
    const cmd = join(bin, tool);
    const r = asRoot ? spawnSync("runuser", ["-u", "nobody", "--", cmd, ...args], { encoding: "utf8" }) : spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  let running = false;
  let counter = 0;
  const port = tls?.port ?? 5432;
  const admin = (database: string) => (options.password ? url(database).replace(`${SUPERUSER}@`, `${SUPERUSER}:${encodeURIComponent(options.password)}@`) : url(database));
  const url = (database: string) => `postgresql://${SUPERUSER}@localhost/${database}?host=${encodeURIComponent(dir)}&port=${port}`;
  const cluster: PgCluster = {
    url,
    tcpUrl: (database, params) => `postgresql://${SUPERUSER}@localhost:${port}/${database}?${new URLSearchParams(params).toString()}`,
    async createDatabase() {
      const name = `pki_test_${++counter}`;
      const client = new pg.Client({ connectionString: admin("postgres") });
      await client.connect();
      try {
        // A linguistic default collation, as most real databases have (en_US.UTF-8): the ledger
        // must not depend on the database's locale for its orderings and comparisons.
        await client.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop() {
      if (!running) return;
      pgTool("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      running = false;
    },
    start() {
      if (running) return;
      // fsync off: these clusters live for one test file; crash safety is PostgreSQL's, not under test here.
      pgTool("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", serverOptions, "start"]);
      running = true;
    },
    pid: () => Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]),
    remove() {
      try {
        if (running) pgTool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        running = false;
        started.delete(cluster);
        cleanup();
      }
    },
  };
  try {
    const auth = ["-A", "trust"];
    if (options.password) {
      const pwfile = join(dir, "pwfile");
      writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
      owner(pwfile);
      auth.splice(0, 2, "-A", "scram-sha-256", `--pwfile=${pwfile}`);
    }
    pgTool("initdb", ["-D", data, "-U", SUPERUSER, ...auth, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
    cluster.start();
  } catch (e) {
    cleanup();
    throw e;
  }
  started.add(cluster);
  return cluster;
}
