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

/**
 * Runs the after-CRL command (`pki hook set crl "nginx -s reload"`) through /bin/sh.
 * Its output goes to stderr so that --json stays parseable.
 * A failure does not undo the change; it is reported and turns the exit code into 9.
 */
export function runCrlHook(crl: { hook: string | null; path: string }, home: string, label: string): void {
  if (!crl.hook) return;
  const out = io();
  // Served, the hook's output belongs on the client's stderr, not in the server's log.
  const served = out.stderr !== process.stderr;
  const r = spawnSync("/bin/sh", ["-c", crl.hook], { stdio: served ? ["ignore", "pipe", "pipe"] : ["ignore", 2, 2], env: hookEnv(crl.path, home, out.env), maxBuffer: 1 << 20 });
  if (served) for (const chunk of [r.stdout, r.stderr]) if (chunk?.length) out.stderr.write(chunk);
  if (r.status === 0) return;
  const how = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  io().stderr.write(`pki: ${label}: the CRL hook "${crl.hook}" failed (${how}); the CRL is written, reload your servers by hand\n`);
  io().exitCode = EXIT.hookFailed;
}

/** The same for a long-running `pki serve`: without blocking it; the failure is returned for its log. */
export function runCrlHookAsync(crl: { hook: string | null; path: string }, home: string): Promise<string | null> {
  const hook = crl.hook;
  if (!hook) return Promise.resolve(null);
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", hook], { stdio: ["ignore", 2, 2], env: hookEnv(crl.path, home) });
    child.once("error", (e) => resolve(`the CRL hook "${hook}" failed (${e.message})`));
    child.once("exit", (code, signal) => resolve(code === 0 ? null : `the CRL hook "${hook}" failed (${signal ? `killed by ${signal}` : `exit ${code}`})`));
  });
}
