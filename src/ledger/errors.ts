import { statfsSync } from "node:fs";
import { dirname } from "node:path";

export type LedgerErrorCode =
  | "not-a-database" // the file exists but is not SQLite
  | "newer-schema" // written by a newer pki
  | "busy" // another process held the lock past the busy timeout
  | "read-only" // the home or database file is not writable
  | "full" // disk full
  | "conflict" // a uniqueness rule was violated (e.g. a serial already recorded)
  | "io"; // anything else the database reported

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}

/**
 * Maps better-sqlite3's SqliteError codes to our kinds, so callers never parse SQLite messages.
 * `path` lets an I/O error be told apart: SQLite reports a full disk during a WAL write as a
 * generic SQLITE_IOERR, so we look at the free space ourselves.
 */
export function toLedgerError(e: unknown, path?: string): unknown {
  if (e instanceof LedgerError) return e;
  const code = (e as { code?: string }).code ?? "";
  const message = (e as Error).message ?? String(e);
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") return new LedgerError("not-a-database", "file is not a pki ledger (not an SQLite database, or corrupt)");
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return new LedgerError("busy", "another pki process kept the ledger locked too long");
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_CANTOPEN" || code === "SQLITE_PERM") return new LedgerError("read-only", "cannot write the ledger (read-only file or directory?)");
  if (code === "SQLITE_FULL" || (code.startsWith("SQLITE_IOERR") && path && diskFull(path))) {
    return new LedgerError("full", `no space left on device for ${path ?? "the ledger"}`);
  }
  if (code.startsWith("SQLITE_CONSTRAINT")) return new LedgerError("conflict", message);
  if (code.startsWith("SQLITE_")) return new LedgerError("io", message);
  return e;
}

function diskFull(path: string): boolean {
  try {
    const st = statfsSync(dirname(path));
    return st.bavail * st.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}
