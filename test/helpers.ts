import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PKI_BIN = join(ROOT, "bin", "pki");
export const PASSPHRASE = "correct horse battery staple";

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

const temporary = new Set<string>();

/** A fresh temporary directory, removed by the returned cleanup; a test file that forgets to call it fails. */
export function tempDir(prefix = "pki-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.add(dir);
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      temporary.delete(dir);
    },
  };
}

// Each test file runs in its own process: when it ends, every directory it made must be gone.
process.on("exit", () => {
  const left = [...temporary].filter((d) => existsSync(d));
  if (left.length === 0) return;
  process.stderr.write(`temporary directories left behind: ${left.join(", ")}\n`);
  process.exitCode = 1;
});

/** Runs the real CLI as a child process, never on a TTY, with a clean environment. */
export function pki(home: string, args: string[], env: Record<string, string | undefined> = {}, input?: string): Result {
  const fullEnv: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PKI_HOME: home, PKI_PASSPHRASE: PASSPHRASE };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  return run(process.execPath, [PKI_BIN, ...args], { env: fullEnv, ...(input !== undefined ? { input } : {}) });
}

export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...options });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function openssl(args: string[], input?: string): Result {
  return run("openssl", args, input !== undefined ? { input } : {});
}

/** pki's JSON output, asserting a clean exit first. */
export function pkiJson<T = Record<string, unknown>>(home: string, args: string[], env: Record<string, string | undefined> = {}): T {
  const r = pki(home, ["--json", ...args], env);
  if (r.status !== 0) throw new Error(`pki ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Every file under `dir` with its mode and SHA-256, to prove a failed command changed nothing. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      const st = statSync(p);
      if (st.isDirectory()) {
        out[p] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(p);
      } else {
        out[p] = `${(st.mode & 0o777).toString(8)} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
      }
    }
  };
  walk(dir);
  return out;
}

export function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Writes the passphrase where openssl's -passin can read it without putting it on a command line. */
export const PASSIN = `env:PKI_PASSPHRASE`;
process.env.PKI_PASSPHRASE ??= PASSPHRASE;

/** A CA home with a root, ready for issuing; shared by tests in one file to save key generation. */
export function initHome(extra: string[] = []): { home: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const home = join(dir, "home");
  const r = pki(home, ["init-root", "--cn", "Test Root CA", "--org", "Test Org", "--country", "NL", ...extra]);
  if (r.status !== 0) throw new Error(`init-root failed: ${r.stderr}`);
  return { home, cleanup };
}
