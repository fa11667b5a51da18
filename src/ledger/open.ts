import type { Ledger } from "./ledger.js";
import { SqliteLedger, type SqliteOptions } from "./sqlite/engine.js";

export type OpenOptions = SqliteOptions;

/** The one place a ledger is opened (and migrated); the engine is chosen here. */
export async function openLedger(path: string, options: OpenOptions = {}): Promise<Ledger> {
  return SqliteLedger.open(path, options);
}
