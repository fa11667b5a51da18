import { spawn, spawnSync } from "node:child_process";
import { EXIT } from "./errors.js";
import { io } from "./io.js";

/**
 * The after-CRL command's environment: PKI_CRL, PKI_HOME and a PATH, nothing else. In
 * particular never PKI_PASSPHRASE or the .p12 password that this process may hold.
 */
function hookEnv(crlPath: string, home: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { PATH: env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", PKI_CRL: crlPath, PKI_HOME: home };
}

/** How long a served command waits for its CRL hook before killing it: the hook must not hold the client forever. */
export const SERVED_HOOK_TIMEOUT_MS = 120_000;

/**
 * Runs the after-CRL command (`pki hook set crl "nginx -s reload"`) through /bin/sh.
 * Its output goes to stderr so that --json stays parseable.
 * A failure does not undo the change; it is reported and turns the exit code into 9.
 * Served, it runs without blocking `pki serve` (OCSP, the API and other clients go on) and is
 * killed after SERVED_HOOK_TIMEOUT_MS.
 */
export async function runCrlHook(crl: { hook: string | null; path: string }, home: string, label: string): Promise<void> {
  if (!crl.hook) return;
  const out = io();
  // Served, the hook's output belongs on the client's stderr, not in the server's log.
  const served = out.stderr !== process.stderr;
  let how: string | null;
  if (served) {
    how = await spawnHook(crl.hook, hookEnv(crl.path, home, out.env), (chunk) => out.stderr.write(chunk), SERVED_HOOK_TIMEOUT_MS);
  } else {
    const r = spawnSync("/bin/sh", ["-c", crl.hook], { stdio: ["ignore", 2, 2], env: hookEnv(crl.path, home, out.env) });
    how = r.status === 0 ? null : r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  }
  if (how === null) return;
  io().stderr.write(`pki: ${label}: the CRL hook "${crl.hook}" failed (${how}); the CRL is written, reload your servers by hand\n`);
  io().exitCode = EXIT.hookFailed;
}

/** The same for a long-running `pki serve`: without blocking it; the failure is returned for its log. */
export async function runCrlHookAsync(crl: { hook: string | null; path: string }, home: string): Promise<string | null> {
  const hook = crl.hook;
  if (!hook) return null;
  const how = await spawnHook(hook, hookEnv(crl.path, home), (chunk) => process.stderr.write(chunk), SERVED_HOOK_TIMEOUT_MS);
  return how === null ? null : `the CRL hook "${hook}" failed (${how})`;
}

/** Runs `hook` in a process group of its own, so that a timeout kills what it started too; resolves to null or why it failed. */
function spawnHook(hook: string, env: NodeJS.ProcessEnv, output: (chunk: Buffer) => void, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", hook], { stdio: ["ignore", "pipe", "pipe"], env, detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.stdout.on("data", output);
    child.stderr.on("data", output);
    child.once("error", (e) => (clearTimeout(timer), resolve(e.message)));
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve(timedOut ? `no exit after ${timeoutMs / 1000} s, killed` : code === 0 ? null : signal ? `killed by ${signal}` : `exit ${code}`);
    });
  });
}
