import Database from "better-sqlite3";
import type { PoolClient } from "pg";
import { toLedgerError } from "../sqlite/errors.js";

/** Rows per INSERT: certificates carry blobs, so memory stays bounded by this many. */
const ROWS_PER_INSERT = 500;

/** The tables in copy order (a certificate's successor may come later: that foreign key is checked at COMMIT). */
const TABLES = ["certificates", "crls", "events", "settings", "roles"] as const;
export type TableCounts = Record<(typeof TABLES)[number], number>;

/**
 * Copies every row of the SQLite ledger at `path` into the tables `client` sees, inside the
 * caller's transaction (all or nothing), certificates in rowid order so that `seq` keeps the
 * order recorded. Columns are copied by name, as backups are (sqlite-copy.ts). Returns how many
 * rows each table got.
 */
export async function copyFromSqlite(client: PoolClient, path: string, onProgress?: (done: number, total: number) => void): Promise<TableCounts> {
  const db = openReadOnly(path);
  try {
    const counts = {} as TableCounts;
    const total = (db.prepare("SELECT COUNT(*) AS n FROM certificates").get() as { n: number }).n;
    onProgress?.(0, total);
    for (const table of TABLES) {
      const columns = (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((c) => c.name);
      let batch: unknown[][] = [];
      let copied = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const values = batch.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(", ")})`);
        await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values.join(", ")}`, batch.flat());
        copied += batch.length;
        batch = [];
        if (table === "certificates") onProgress?.(copied, total);
      };
      for (const row of db.prepare(`SELECT ${columns.join(", ")} FROM ${table} ORDER BY rowid`).raw().iterate() as IterableIterator<unknown[]>) {
        batch.push(row);
        if (batch.length === ROWS_PER_INSERT) await flush();
      }
      await flush();
      counts[table] = copied;
    }
    return counts;
  } finally {
    db.close();
  }
}

/** How many rows each ledger table holds, as `client` sees them. */
export async function tableCounts(client: PoolClient): Promise<TableCounts> {
  const counts = {} as TableCounts;
  for (const table of TABLES) counts[table] = Number((await client.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0]!.n);
  return counts;
}

/** The same counts in a SQLite ledger file. */
export function sqliteTableCounts(path: string): TableCounts {
  const db = openReadOnly(path);
  try {
    const counts = {} as TableCounts;
    for (const table of TABLES) counts[table] = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return counts;
  } finally {
    db.close();
  }
}

function openReadOnly(path: string): Database.Database {
  try {
    return new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw toLedgerError(e, path);
  }
}
