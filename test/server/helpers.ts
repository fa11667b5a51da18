import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { PASSPHRASE, PKI_BIN } from "../helpers.js";

export interface Served {
  child: ChildProcess;
  port: number;
  url: string;
  /** The API's port, when started with --api. */
  apiPort: number | null;
  /** Everything the server wrote to stderr so far (its request log). */
  log: () => string;
  /** Resolves when the log matches `re` (the log line of a request is written as its response ends). */
  waitForLog: (re: RegExp) => Promise<void>;
  /** SIGTERM, then the exit code (or signal name). */
  stop: () => Promise<number | string>;
}

/** Starts `pki serve --http 127.0.0.1:0` (and `args`) on `home` and waits for its ready line. */
export async function startServe(home: string, extraEnv: Record<string, string> = {}, args: string[] = []): Promise<Served> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE, ...extraEnv };
  const child = spawn(process.execPath, [PKI_BIN, "serve", "--http", "127.0.0.1:0", ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pki serve did not become ready:\n${err}`)), 20_000);
    const check = () => {
      const m = /ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) (clearTimeout(timer), resolve(Number(m[1])));
    };
    child.stderr!.on("data", check);
    child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`pki serve exited ${code}:\n${err}`))));
  });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    apiPort: Number(/https:\/\/127\.0\.0\.1:(\d+) \(API\)/.exec(err)?.[1]) || null,
    log: () => err,
    waitForLog: async (re) => {
      for (let i = 0; i < 100 && !re.test(err); i++) await new Promise((r) => setTimeout(r, 50));
      if (!re.test(err)) throw new Error(`the log never matched ${re}:\n${err}`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request to the loopback server (no keep-alive, no proxies). */
export function http(url: string, options: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: { connection: "close", ...options.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
