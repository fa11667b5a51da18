import { spawnSync } from "node:child_process";
import { EXIT } from "./errors.js";

/**
 * Runs the after-CRL command (`pki hook set crl "nginx -s reload"`) through /bin/sh, with
 * PKI_CRL and PKI_HOME set. Its output goes to stderr so that --json stays parseable.
 * A failure does not undo the change; it is reported and turns the exit code into 9.
 */
export function runCrlHook(crl: { hook: string | null; path: string }, home: string, label: string): void {
  if (!crl.hook) return;
  const r = spawnSync("/bin/sh", ["-c", crl.hook], { stdio: ["ignore", 2, 2], env: { ...process.env, PKI_CRL: crl.path, PKI_HOME: home } });
  if (r.status === 0) return;
  const how = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  process.stderr.write(`pki: ${label}: the CRL hook "${crl.hook}" failed (${how}); the CRL is written, reload your servers by hand\n`);
  process.exitCode = EXIT.hookFailed;
}
