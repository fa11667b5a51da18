import { existsSync } from "node:fs";
import { describeDatabase, isDatabaseUrl, sameDatabase } from "../ledger/postgres/url.js";
import { MAX_SMALL_FILE_BYTES, readBounded } from "./bounded-read.js";
import type { AuthorityOptions } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { fileError } from "./home.js";

export { hasPassword } from "../ledger/postgres/url.js";

/**
 * Where the home's ledger is: a PostgreSQL URL or the SQLite file. The URL given (PKI_DATABASE_URL
 * or --database) wins; else the home's `database` file names it (init-root writes it, without
 * the password: that stays in the environment, PGPASSWORD or ~/.pgpass); else ledger.db. A home
 * that already uses one ledger is never silently pointed at another: a command would otherwise
 * issue into a database its CRL and files know nothing of.
 */
export function ledgerLocation(options: AuthorityOptions): string {
  const { home, database } = options;
  const pointer = readPointer(options);
  if (database === undefined) return pointer ?? home.ledger;
  if (!isDatabaseUrl(database)) {
    throw new PkiError("usage", "the database URL must start with postgres:// or postgresql://", "e.g. PKI_DATABASE_URL=postgres://pki@db.internal/pki?sslmode=verify-full&sslrootcert=/etc/pki/db-ca.pem", "BAD_DATABASE_URL");
  }
  if (existsSync(home.ledger)) {
    throw new PkiError("usage", `${home.dir} holds a SQLite ledger (ledger.db), but a PostgreSQL ledger ${describeDatabase(database)} was given`, "unset PKI_DATABASE_URL (or drop --database) for this home, or use another --home", "LEDGER_MISMATCH");
  }
  if (pointer !== undefined && !sameDatabase(pointer, database)) {
    throw new PkiError("usage", `${home.dir} uses the PostgreSQL ledger ${describeDatabase(pointer)}, not ${describeDatabase(database)}`, "fix PKI_DATABASE_URL, or use another --home", "LEDGER_MISMATCH");
  }
  return database;
}

function readPointer(options: AuthorityOptions): string | undefined {
  const path = options.home.databasePointer;
  if (!existsSync(path)) return undefined;
  let url: string;
  try {
    url = readBounded(path, MAX_SMALL_FILE_BYTES, "the home's database file").toString("utf8").split("\n")[0]!.trim();
  } catch (e) {
    throw e instanceof PkiError ? e : fileError(path, e);
  }
  if (!isDatabaseUrl(url)) throw new PkiError("invalid", `${shown(path)} does not hold a postgres:// URL`, "write the ledger's URL there (without its password), or restore the file");
  return url;
}
