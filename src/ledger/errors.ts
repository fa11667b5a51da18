import { accessSync, constants, existsSync, statfsSync } from "node:fs";
import { dirname } from "node:path";

export type LedgerErrorCode =
  | "not-a-database" // the file exists but is not SQLite
  | "newer-schema" // written by a newer pki
  | "busy" // another process held the lock past the busy timeout
  | "read-only" // the home or database file is on a read-only file system, or SQLite opened it read-only
  | "permission" // the home or database file may not be written by this user
  | "cant-open" // SQLite could not open the database or its -wal/-shm files, for no reason we can see
  | "full" // disk full
  | "conflict" // a uniqueness rule was violated (e.g. a serial already recorded)
  | "native-module" // better-sqlite3's compiled addon is missing, broken or built for another Node
  | "io"; // anything else the database reported

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    /** What the user can do about it, when there is something. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

const READ_ONLY_HINT = "list, show, audit, check (without --repair) and backup still work there; make changes on a writable home";

/**
 * Maps better-sqlite3's SqliteError codes to our kinds, so callers never parse SQLite messages.
 * `path` lets an I/O error be told apart: SQLite reports a full disk during a WAL write as a
 * generic SQLITE_IOERR, so we look at the free space ourselves, and it says neither which of
 * its files it could not write nor why, so we ask the file system.
 */
export function toLedgerError(e: unknown, path?: string): unknown {
  if (e instanceof LedgerError) return e;
  const code = (e as { code?: string }).code ?? "";
  const message = (e as Error).message ?? String(e);
  if (code === "ERR_DLOPEN_FAILED" || /Could not locate the bindings file|better_sqlite3\.node|NODE_MODULE_VERSION/.test(message)) {
    const reason = /Could not locate the bindings file/.test(message) ? "better_sqlite3.node is missing" : message.split("\n")[0]!.slice(0, 200);
    return new LedgerError("native-module", `the SQLite module cannot be loaded (${reason})`, "run: npm rebuild better-sqlite3");
  }
  const ledger = path ? `the ledger ${path}` : "the ledger";
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") return new LedgerError("not-a-database", "file is not a pki ledger (not an SQLite database, or corrupt)");
  if (isBusy(e)) return new LedgerError("busy", `${ledger} is locked by another pki command that did not finish in time`, "try again when it is done (pki audit shows what ran)");
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_CANTOPEN" || code === "SQLITE_PERM") {
    if (code === "SQLITE_CANTOPEN" && path && !existsSync(path)) return new LedgerError("cant-open", `no ledger at ${path}`);
    const why = path ? unwritable(path) : null;
    if (why) return new LedgerError(why.code, `cannot write ${why.path}: ${why.reason}`, why.code === "read-only" ? READ_ONLY_HINT : "run pki as the home's owner, or fix the modes: pki check shows them");
    if (code === "SQLITE_CANTOPEN") return new LedgerError("cant-open", `cannot open ${ledger} or its -wal/-shm files (SQLITE_CANTOPEN)`);
    return new LedgerError("read-only", `${ledger} is open read-only; this command needs to write it (${code})`, READ_ONLY_HINT);
  }
  if (code === "SQLITE_FULL" || (code.startsWith("SQLITE_IOERR") && path && diskFull(path))) {
    return new LedgerError("full", `no space left on device for ${path ?? "the ledger"}`);
  }
  if (code.startsWith("SQLITE_CONSTRAINT")) return new LedgerError("conflict", message);
  if (code.startsWith("SQLITE_")) return new LedgerError("io", message);
  return e;
}

/** The first of the ledger's files (or its folder) this process may not write, and why. */
function unwritable(path: string): { path: string; code: "read-only" | "permission"; reason: string } | null {
  for (const p of [dirname(path), path, `${path}-wal`, `${path}-shm`]) {
    if (p !== dirname(path) && !existsSync(p)) continue;
    try {
      accessSync(p, constants.W_OK);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code;
      if (errno === "EROFS") return { path: p, code: "read-only", reason: "read-only file system" };
      if (errno === "EACCES" || errno === "EPERM") return { path: p, code: "permission", reason: "permission denied" };
    }
  }
  return null;
}

function diskFull(path: string): boolean {
  try {
    const st = statfsSync(dirname(path));
    return st.bavail * st.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}
