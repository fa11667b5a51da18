import Database from "better-sqlite3";
import type { PoolClient } from "pg";
import { SqliteLedger } from "../sqlite/engine.js";
import { toLedgerError } from "../sqlite/errors.js";

/** Rows per round trip: certificates and CRLs carry blobs, so memory stays bounded by this many. */
const ROWS_PER_PAGE = 500;

/**
 * The tables in copy order, each with the key it is paged by. Columns are copied by name, so a
 * migration that adds a column to both dialects needs nothing here; `seq` is PostgreSQL's
 * recording order, which SQLite keeps in the rowid the inserts assign in the same order.
 */
const TABLES = [
  { table: "certificates", key: "seq" },
  { table: "crls", key: "number" },
  { table: "events", key: "id" },
  { table: "settings", key: "key" },
  { table: "roles", key: "name_key" },
] as const;
const POSTGRES_ONLY = new Set(["seq"]);

/**
 * Writes a new SQLite ledger at `path` holding what `client`'s transaction sees: the schema from
 * the SQLite migrations, then every row, in one SQLite transaction (all or nothing). Returns the
 * number of certificates copied.
 */
export async function copyToSqlite(client: PoolClient, path: string, onProgress?: (done: number, total: number) => void): Promise<{ certificates: number }> {
  await (await SqliteLedger.open(path, { create: true })).close();
  const total = Number((await client.query<{ n: number }>("SELECT COUNT(*) AS n FROM certificates")).rows[0]!.n);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    db.exec("BEGIN");
    let certificates = 0;
    onProgress?.(0, total);
    for (const { table, key } of TABLES) {
      let after: unknown = null;
      for (;;) {
        const { rows, fields } = await client.query(
          `SELECT * FROM ${table} ${after === null ? "" : `WHERE ${key} > $1`} ORDER BY ${key} LIMIT ${ROWS_PER_PAGE}`,
          after === null ? [] : [after],
        );
        if (rows.length === 0) break;
        const columns = fields.map((f) => f.name).filter((c) => !POSTGRES_ONLY.has(c));
        const insert = db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`);
        for (const row of rows) insert.run(...columns.map((c) => row[c]));
        after = rows[rows.length - 1][key];
        if (table === "certificates") {
          certificates += rows.length;
          onProgress?.(certificates, total);
        }
      }
    }
    db.exec("COMMIT");
    return { certificates };
  } catch (e) {
    if (db?.inTransaction) db.exec("ROLLBACK");
    throw toLedgerError(e, path);
  } finally {
    db?.close();
  }
}
