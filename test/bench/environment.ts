// The environment every measured process runs in, and the tools the baselines need.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

/**
 * Variables that change how Node starts. NODE_EXTRA_CA_CERTS alone adds 45-55 ms to every
 * Node process on the project's machine (it parses a CA bundle at start-up), which would make
 * every ratio to `node -e 0` look better than a user without it would see.
 */
const STARTUP_VARIABLES = /^NODE_/;

/** process.env without any NODE_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !STARTUP_VARIABLES.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Proves, from inside a child started like every measured process, that no NODE_* variable reached it. */
export function assertCleanNodeEnv(env: Record<string, string>): void {
  const r = spawnSync(process.execPath, ["-p", "Object.keys(process.env).filter((k) => k.startsWith('NODE_')).join(',')"], { env, encoding: "utf8" });
  const leaked = r.stdout.trim();
  if (r.status !== 0 || leaked !== "") throw new Error(`bench: measured processes would see ${leaked || r.stderr}; refusing to measure`);
}

export const EASYRSA = "/usr/share/easy-rsa/easyrsa";
export const MKCERT = "/usr/bin/mkcert";
export const GNU_TIME = "/usr/bin/time";

/** easy-rsa, mkcert and GNU time from Debian, installed when missing (as root); the baselines need all three. */
export function ensureTools(): void {
  const missing = [["easy-rsa", EASYRSA], ["mkcert", MKCERT], ["time", GNU_TIME]].filter(([, path]) => !existsSync(path!)).map(([pkg]) => pkg!);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`bench: missing ${missing.join(", ")}; install with: apt-get install ${missing.join(" ")}`);
  console.error(`bench: installing ${missing.join(", ")} from Debian…`);
  const apt = (args: string[]) => spawnSync("apt-get", args, { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status;
  if (apt(["install", "-y", "-qq", ...missing]) !== 0) {
    apt(["update", "-qq"]);
    if (apt(["install", "-y", "-qq", ...missing]) !== 0) throw new Error(`bench: apt-get install ${missing.join(" ")} failed`);
  }
}

export interface Machine {
  date: string;
  node: string;
  openssl: string;
  easyRsa: string;
  cpus: number;
  cpu: string;
  memoryGiB: number;
  loadAverage: number[];
}

export function machine(): Machine {
  const out = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "";
  return {
    date: new Date().toISOString(),
    node: process.version,
    openssl: out("openssl", ["version"]).trim(),
    easyRsa: out(EASYRSA, ["--version"]).match(/Version:\s*(\S+)/)?.[1] ?? "?",
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
