import { accessSync, constants, statfsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { LedgerError } from "../errors.js";

/**
 * Maps better-sqlite3's SqliteError codes to ledger error kinds, so callers never parse
 * SQLite messages. `path` lets an error be told apart: SQLite reports a missing file, a
 * permission problem and a read-only folder alike as SQLITE_CANTOPEN, and a full disk during
 * a WAL write as a generic SQLITE_IOERR, so we look at the file system ourselves.
 */
export function toLedgerError(e: unknown, path: string): unknown {
  if (e instanceof LedgerError) return e;
  const code = (e as { code?: string }).code ?? "";
  const message = (e as Error).message ?? String(e);
  if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) return new LedgerError("corrupt", `${path} is not a pki ledger (not an SQLite database, or damaged)`);
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return new LedgerError("locked", "another pki process kept the ledger locked too long");
  if (code === "SQLITE_CANTOPEN" || code === "SQLITE_PERM" || code.startsWith("SQLITE_READONLY") || code === "SQLITE_AUTH") return whyNotOpen(path, code);
  if (code === "SQLITE_FULL" || (code.startsWith("SQLITE_IOERR") && diskFull(path))) return new LedgerError("full", `no space left on device for ${path}`);
  if (code.startsWith("SQLITE_CONSTRAINT")) return new LedgerError("conflict", message);
  if (code.startsWith("SQLITE_")) return new LedgerError("io", message);
  return e;
}

function whyNotOpen(path: string, code: string): LedgerError {
  try {
    statSync(path);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === "ENOENT") return new LedgerError("missing", `${path}: no such ledger`);
    if (errno === "EACCES") return new LedgerError("permission-denied", `${path}: permission denied`);
  }
  for (const [p, mode] of [[path, constants.R_OK | constants.W_OK], [dirname(path), constants.W_OK | constants.X_OK]] as const) {
    try {
      accessSync(p, mode);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code;
      if (errno === "EROFS") return new LedgerError("read-only", `cannot write ${path}: read-only file system`);
      if (errno === "EACCES" || errno === "EPERM") return new LedgerError("permission-denied", `${p}: permission denied`);
    }
  }
  return new LedgerError("read-only", `cannot write ${path} (${code === "SQLITE_CANTOPEN" ? "cannot open it" : "read-only"})`);
}

function diskFull(path: string): boolean {
  try {
    const st = statfsSync(dirname(path));
    return st.bavail * st.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}
