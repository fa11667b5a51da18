/**
 * Where a write can be interrupted: before the ledger commits, between the commit and the
 * renames of its output files, between two renames, while an export's temporary file exists, and
 * between two chunks of a bulk revocation (after the first commits). The crash tests set PKI_CRASH_AT to
 * one of them to kill pki exactly there, instead of at a random moment.
 */
export type CrashPoint = "before-commit" | "after-commit" | "mid-rename" | "export-staged" | "mid-batch";

export function crashPoint(point: CrashPoint): void {
  if (process.env.PKI_CRASH_AT === point) process.kill(process.pid, "SIGKILL");
}
