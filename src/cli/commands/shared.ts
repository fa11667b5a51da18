import { readFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { PkiError } from "../../ca/errors.js";
import type { Authority } from "../../ca/authority.js";
import type { ExportFormat } from "../../ca/export.js";
import { authorityOptions, globals, type GlobalOptions } from "../context.js";

/**
 * How a command uses the ledger: "read" opens it read-only (so it works on a read-only mount);
 * "write-if-possible" falls back to that when the home cannot be written (backup records an
 * event when it can).
 */
export type LedgerAccess = "read" | "write" | "write-if-possible";

/** Opens the home's authority (loaded lazily: --help never pays for crypto), runs `fn`, closes. */
export async function withAuthority<T>(cmd: Command, fn: (authority: Authority, opts: GlobalOptions) => Promise<T>, access: LedgerAccess = "write"): Promise<T> {
  const opts = globals(cmd);
  const { Authority } = await import("../../ca/authority.js");
  const open = (mode: "read" | "write") => Authority.open(authorityOptions(opts), mode);
  let authority: Authority;
  if (access === "write-if-possible") {
    try {
      authority = open("write");
    } catch (e) {
      const code = (e as { name?: string; code?: string }).name === "LedgerError" ? (e as { code: string }).code : "";
      if (code !== "read-only" && code !== "permission") throw e;
      authority = open("read");
    }
  } else authority = open(access);
  try {
    return await fn(authority, opts);
  } finally {
    authority.close();
  }
}

/**
 * Before any secret is asked: the name exists and may be exported (warnings on stderr),
 * then the CA passphrase is checked, so that the export's own password comes last, right
 * before the work.
 */
export async function exportPreflight(authority: Authority, target: string, format: ExportFormat, force: boolean | undefined): Promise<void> {
  const { warnings } = await authority.exportCandidate(target, format, force ?? false);
  for (const w of warnings) process.stderr.write(`pki: warning: ${w}\n`);
  await authority.unlock();
}

export function parseDays(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of days");
  return Number(value);
}

export const KEY_CHOICES = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"];

/** Largest CSR we read: real ones are a few kilobytes; this stops a 10 MB file early. */
const MAX_CSR_BYTES = 64 * 1024;

export function readCsr(file: string): Uint8Array {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new PkiError("not-found", `cannot read --csr ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (data.length > MAX_CSR_BYTES) throw new PkiError("invalid", `--csr ${file} is ${data.length} bytes; a CSR is at most ${MAX_CSR_BYTES}`);
  return new Uint8Array(data);
}
