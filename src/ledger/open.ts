import Database from "better-sqlite3";
import type { Ledger } from "./ledger.js";
import { isDatabaseUrl } from "./postgres/url.js";
import { toLedgerError } from "./sqlite/errors.js";
import { SqliteLedger, type SqliteOptions } from "./sqlite/engine.js";
import { schemaProblems } from "./sqlite/schema-check.js";

/** SQLite's options; PostgreSQL takes `create`, `busyTimeoutMs` and `onLockWait`, and ignores `readOnly` (the home's file system does not concern it). */
export type OpenOptions = SqliteOptions;

/**
 * The one place a ledger is opened (and migrated); the engine is chosen here: a postgres:// or
 * postgresql:// URL opens PostgreSQL, anything else is a SQLite file. The PostgreSQL engine and
 * its driver are loaded only then, so SQLite homes never pay for them.
 */
export async function openLedger(location: string, options: OpenOptions = {}): Promise<Ledger> {
  if (isDatabaseUrl(location)) {
    const { PostgresLedger } = await import("./postgres/engine.js");
    return PostgresLedger.open(location, {
      ...(options.create !== undefined ? { create: options.create } : {}),
      ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
      ...(options.onLockWait ? { onLockWait: options.onLockWait } : {}),
    });
  }
  return SqliteLedger.open(location, options);
}

/** Loads SQLite's native module now, so that a missing or broken build is reported before anything else happens. */
export function checkSqliteModule(): void {
  try {
    new Database(":memory:").close();
  } catch (e) {
    throw toLedgerError(e);
  }
}

/**
 * What in the stored ledger at `path` (a backup about to be restored) is not exactly the schema
 * pki creates: foreign triggers, views, tables or indexes, or altered ones. Empty when sound.
 */
export function foreignSchema(path: string): string[] {
  try {
    return schemaProblems(path);
  } catch (e) {
    throw toLedgerError(e, path);
  }
}
