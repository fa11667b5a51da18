// Real servers on 127.0.0.1 for end-to-end tests: nginx, Apache and HAProxy started from the
// snippets `pki server-config` prints, an upstream that echoes what the proxy passed on, and
// curl/openssl run asynchronously (the upstream lives in this process and must keep serving).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { pki, pkiJson, ROOT } from "../helpers.js";

const execFileAsync = promisify(execFile);

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop; never throws on a non-zero exit. */
export async function exec(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Output> {
  try {
    const r = await execFileAsync(cmd, args, { encoding: "utf8", timeout: 60_000, maxBuffer: 16 * 1024 * 1024, ...(env ? { env } : {}) });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? String(e) };
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export async function waitForPort(port: number, what: string, logFile?: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, "127.0.0.1");
      c.on("connect", () => (c.destroy(), resolve(true)));
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  let log = "";
  try {
    log = logFile ? readFileSync(logFile, "utf8").slice(-2000) : "";
  } catch {
    /* no log */
  }
  throw new Error(`${what} did not start listening on ${port}\n${log}`);
}

/** An HTTP upstream that answers with the identity headers the proxy set. */
export async function startUpstream(): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createHttpServer((req, res) => {
    const h = (n: string) => String(req.headers[n] ?? "");
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`subject=${h("x-ssl-client-s-dn")}\nverify=${h("x-ssl-client-verify")}\nserial=${h("x-ssl-client-serial")}\n`);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

/** A CA home with a server certificate for localhost/127.0.0.1 and its key exported for the servers. */
export interface E2eCa {
  home: string;
  dir: string;
  ca: string;
  serverKey: string;
  serverBundle: string;
}

export function makeCa(dir: string): E2eCa {
  const home = join(dir, "home");
  pkiJson(home, ["init-root", "--cn", "E2E Root CA", "--org", "pki tests"]);
  pkiJson(home, ["issue-server", "localhost", "127.0.0.1"]);
  const serverKey = join(dir, "localhost.key");
  const serverBundle = join(dir, "localhost-bundle.pem");
  pkiJson(home, ["export-key", "localhost", "--unencrypted", "--out", serverKey]);
  pkiJson(home, ["export-key", "localhost", "--unencrypted", "--with-certificate", "--out", serverBundle]);
  return { home, dir, ca: join(home, "ca.pem"), serverKey, serverBundle };
}

/** Issues a client certificate and exports its key in the clear for curl. */
export function makeClient(ca: E2eCa, name: string): { cert: string; key: string } {
  const j = pkiJson<{ certificate: string }>(ca.home, ["issue-client", name]);
  const key = join(ca.dir, `${name}.key`);
  pkiJson(ca.home, ["export-key", name, "--unencrypted", "--out", key]);
  return { cert: j.certificate, key };
}

export function serverConfig(ca: E2eCa, target: string, extra: string[]): string {
  const r = pki(ca.home, ["server-config", target, "--server", "localhost", ...extra]);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

export interface Running {
  port: number;
  /** Re-reads configuration, certificates and the CRL, as `nginx -s reload` does. */
  reload: () => Promise<void>;
  stop: () => Promise<void>;
  reloadCommand: string;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.on("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    });
}

/** `edit` may rewrite the snippet first, to reproduce a misconfiguration. */
export async function startNginx(ca: E2eCa, name: string, snippetArgs: string[], upstreamPort: number, edit: (snippet: string) => string = (s) => s): Promise<Running> {
  const dir = join(ca.dir, `nginx-${name}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const snippet = edit(serverConfig(ca, "nginx", ["--key-file", ca.serverKey, "--listen", `127.0.0.1:${port}`, "--upstream", `http://127.0.0.1:${upstreamPort}`, ...snippetArgs]));
  const conf = join(dir, "nginx.conf");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`).join(" ");
  writeFileSync(conf, `daemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log info;\nuser root;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  ${temp}\n${snippet}\n}\n`);
  const check = await exec("nginx", ["-t", "-c", conf, "-p", dir]);
  if (check.code !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
  const child = spawn("nginx", ["-c", conf, "-p", dir], { stdio: "ignore" });
  await waitForPort(port, "nginx", join(dir, "error.log"));
  const reloadCommand = `nginx -c ${conf} -p ${dir} -s reload`;
  return {
    port,
    reloadCommand,
    reload: async () => {
      const before = readFileSync(join(dir, "error.log"), "utf8").length;
      const r = await exec("nginx", ["-c", conf, "-p", dir, "-s", "reload"]);
      if (r.code !== 0) throw new Error(r.stderr);
      // The reload is done when a new worker started and the old one exited: until then the
      // old worker, with the old CRL, may still accept connections (seen on a loaded machine).
      const done = () => /start worker process[\s\S]*worker process \d+ exited/.test(readFileSync(join(dir, "error.log"), "utf8").slice(before));
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r2) => setTimeout(r2, 100));
    },
    stop: stopper(child),
  };
}

export async function startApache(ca: E2eCa, name: string, snippetArgs: string[], upstreamPort: number, edit: (snippet: string) => string = (s) => s): Promise<Running> {
  const dir = join(ca.dir, `apache-${name}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const m = "/usr/lib/apache2/modules";
  const snippet = edit(serverConfig(ca, "apache", ["--key-file", ca.serverKey, "--listen", `127.0.0.1:${port}`, "--upstream", `http://127.0.0.1:${upstreamPort}`, ...snippetArgs]));
  const conf = join(dir, "httpd.conf");
  const modules = ["mpm_event", "authz_core", "ssl", "headers", "proxy", "proxy_http", "socache_shmcb"].map((n) => `LoadModule ${n}_module ${m}/mod_${n}.so`).join("\n");
  writeFileSync(conf, `ServerRoot ${dir}\nPidFile ${dir}/httpd.pid\nErrorLog ${dir}/error.log\nLogLevel info ssl:info\nDefaultRuntimeDir ${dir}\nMutex file:${dir}\nServerName localhost\nUser www-data\nGroup www-data\n${modules}\n${snippet}\n`);
  const check = await exec("apache2", ["-t", "-f", conf]);
  if (check.code !== 0) throw new Error(`apache2 -t failed: ${check.stderr}`);
  const child = spawn("apache2", ["-f", conf, "-DFOREGROUND"], { stdio: "ignore" });
  await waitForPort(port, "apache2", join(dir, "error.log"));
  const reloadCommand = `apache2 -f ${conf} -k graceful`;
  return { port, reloadCommand, reload: async () => void (await exec("apache2", ["-f", conf, "-k", "graceful"])), stop: stopper(child) };
}

/** `bindOptions` are appended to the snippet's bind line (tests pin a TLS version with it). */
export async function startHaproxy(ca: E2eCa, name: string, snippetArgs: string[], upstreamPort: number, bindOptions = ""): Promise<Running> {
  const dir = join(ca.dir, `haproxy-${name}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const snippet = serverConfig(ca, "haproxy", ["--key-file", ca.serverBundle, "--listen", `127.0.0.1:${port}`, "--upstream", `http://127.0.0.1:${upstreamPort}`, ...snippetArgs]);
  const conf = join(dir, "haproxy.cfg");
  const config = bindOptions ? snippet.replace(/^(\s*bind .*)$/m, `$1 ${bindOptions}`) : snippet;
  writeFileSync(conf, `global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n${config}\n`);
  const check = await exec("haproxy", ["-c", "-f", conf]);
  if (check.code !== 0) throw new Error(`haproxy -c failed: ${check.stdout}${check.stderr}`);
  const child = spawn("haproxy", ["-f", conf, "-db"], { stdio: "ignore" });
  await waitForPort(port, "haproxy");
  return { port, reloadCommand: "", reload: async () => undefined, stop: stopper(child) };
}

/** curl against https://localhost:PORT/ trusting the test CA; returns status (0 on TLS failure), body and curl's exit code. */
export async function curl(ca: E2eCa, port: number, client?: string[]): Promise<{ status: number; body: string; exit: number; error: string }> {
  const r = await exec("curl", ["-sS", "--max-time", "20", "--cacert", ca.ca, "--resolve", `localhost:${port}:127.0.0.1`, ...(client ?? []), `https://localhost:${port}/`, "-w", "\n%{http_code}"]);
  const lines = r.stdout.split("\n");
  const status = Number(lines.pop());
  return { status, body: lines.join("\n"), exit: r.code, error: r.stderr };
}

export const PKI_ROOT = ROOT;
