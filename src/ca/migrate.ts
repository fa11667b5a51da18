// `pki migrate --to`: the home's ledger copied into the other engine (SQLite file → PostgreSQL
// database, PostgreSQL → SQLite file), from one consistent snapshot, and proven equal before it
// counts: the same rows per table, the same event chain ending at the same hash, every MAC made
// by this CA's history key. The home keeps using its own ledger (see the README: a copy serves
// a new home, made with pki join or pki restore).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { LedgerError } from "../ledger/errors.js";
import type { Ledger, LedgerReader } from "../ledger/ledger.js";
import { openLedger } from "../ledger/open.js";
import type { TableCounts } from "../ledger/postgres/sqlite-import.js";
import { describeDatabase, isDatabaseUrl, withoutPassword } from "../ledger/postgres/url.js";
import { verifyAudit } from "./audit.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError } from "./errors.js";
import { HistoryAuthenticator, readAnchor, tampered } from "./history.js";
import { fileError, SECRET_MODE } from "./home.js";

export interface MigrateResult {
  /** The target: a file path, or the URL without its password. */
  target: string;
  engine: "postgres" | "sqlite";
  rows: TableCounts;
  events: number;
  head: string;
}

export async function migrateLedger(core: CaCore, _ctx: Context, to: string, onProgress?: (done: number, total: number) => void): Promise<MigrateResult> {
  const toPostgres = isDatabaseUrl(to);
  const target = toPostgres ? to : resolve(to);
  if (!toPostgres && existsSync(target)) throw notEmpty(`${target} already exists`);
  if (!toPostgres && !existsSync(dirname(target))) throw new PkiError("not-found", `${dirname(target)}: no such directory`);
  // The history is verified with the CA's key: the copy must carry no event this CA did not make.
  const auth = new HistoryAuthenticator(await core.historyKey());
  // The snapshot: a SQLite file beside the target, or in the home (0700) for a database target.
  const snapshot = toPostgres ? join(core.home.dir, `.migrate.db.tmp-${randomBytes(6).toString("hex")}`) : join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString("hex")}`);
  try {
    await core.ledger.backupTo(snapshot, onProgress);
    chmodSync(snapshot, SECRET_MODE);
    const { sqliteTableCounts } = await import("../ledger/postgres/sqlite-import.js");
    const rows = sqliteTableCounts(snapshot);
    const copy = await openLedger(snapshot);
    // Against this home's anchor too: a ledger that lost its newest events is not copied.
    const anchor = readAnchor(core.home);
    const source = await copy.read((r) => verifyAudit(r, auth, anchor ?? "not-judged")).finally(() => copy.close());
    if (!source.ok) throw tampered(source.problems[0]!);
    const proven = (r: LedgerReader, counts: TableCounts) => proveEqual(r, auth, counts, rows, source.head, source.events);
    if (toPostgres) {
      const { PostgresLedger } = await import("../ledger/postgres/engine.js");
      const db = await PostgresLedger.open(target, { create: true });
      try {
        const outcome = await db.importSqlite(snapshot, onProgress, proven);
        if ("found" in outcome) throw notEmpty(`the PostgreSQL database ${describeDatabase(target)} already holds a ledger (${describeCounts(outcome.found)})`);
      } finally {
        await db.close();
      }
    } else {
      const file: Ledger = await openLedger(snapshot);
      try {
        await file.read((r) => proven(r, rows));
      } finally {
        await file.close();
      }
      if (existsSync(target)) throw notEmpty(`${target} already exists`);
      renameSync(snapshot, target);
    }
    return { target: toPostgres ? withoutPassword(target) : target, engine: toPostgres ? "postgres" : "sqlite", rows, events: source.events, head: source.head };
  } catch (e) {
    if (e instanceof PkiError || e instanceof LedgerError) throw e;
    throw fileError(toPostgres ? snapshot : target, e);
  } finally {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(snapshot + suffix, { force: true });
  }
}

/** The copy as read back from the target: same rows per table, the same chain to the same head, every MAC this CA's. */
async function proveEqual(r: LedgerReader, auth: HistoryAuthenticator, counts: TableCounts, expected: TableCounts, head: string, events: number): Promise<void> {
  const differing = Object.keys(expected).filter((t) => counts[t as keyof TableCounts] !== expected[t as keyof TableCounts]);
  if (differing.length > 0) {
    throw new PkiError("storage", `the copy does not hold what the ledger holds: ${differing.map((t) => `${t} ${counts[t as keyof TableCounts]} rows, not ${expected[t as keyof TableCounts]}`).join("; ")}; nothing was migrated`, undefined, "MIGRATE_VERIFY_FAILED");
  }
  const report = await verifyAudit(r, auth, "not-judged");
  if (!report.ok || report.head !== head || report.events !== events) {
    const why = report.problems[0] ?? `its chain ends at event ${report.events} (${report.head.slice(0, 12)}), not ${events} (${head.slice(0, 12)})`;
    throw new PkiError("storage", `the copy's history does not verify: ${why}; nothing was migrated`, undefined, "MIGRATE_VERIFY_FAILED");
  }
}

function notEmpty(what: string): PkiError {
  return new PkiError("conflict", `${what}; pki migrate copies only into an empty target and never merges ledgers`, "give a new file name, or an empty database (createdb)", "MIGRATE_TARGET_NOT_EMPTY");
}

function describeCounts(c: TableCounts): string {
  return Object.entries(c).filter(([, n]) => n > 0).map(([t, n]) => `${n} ${t}`).join(", ");
}
