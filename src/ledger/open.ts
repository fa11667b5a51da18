import Database from "better-sqlite3";
import type { Ledger } from "./ledger.js";
import { toLedgerError } from "./sqlite/errors.js";
import { SqliteLedger, type SqliteOptions } from "./sqlite/engine.js";
import { schemaProblems } from "./sqlite/schema-check.js";

export type OpenOptions = SqliteOptions;

/** The one place a ledger is opened (and migrated); the engine is chosen here. */
export async function openLedger(path: string, options: OpenOptions = {}): Promise<Ledger> {
  return SqliteLedger.open(path, options);
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
