import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { LedgerError } from "../errors.js";
import type { Ledger, LedgerReader, LedgerWriter } from "../ledger.js";
import { Mutex } from "../mutex.js";
import { toLedgerError } from "./errors.js";
import { PgHandle } from "./handle.js";
import { MIGRATIONS } from "./migrations.js";
import { copyToSqlite } from "./sqlite-copy.js";
import { copyFromSqlite, tableCounts, type TableCounts } from "./sqlite-import.js";
import { describeDatabase } from "./url.js";

export interface PostgresOptions {
  /** Create the schema in an empty database. Default false: a database without a pki ledger is an error. */
  create?: boolean;
  /** How long a write waits for another writer's lock (any process, any node), in ms. Default 15000. */
  busyTimeoutMs?: number;
  /** Called once when a write has waited about a second for another writer. */
  onLockWait?: () => void;
  /** How long opening a connection may take before the database counts as unreachable, in ms. Default 10000. */
  connectTimeoutMs?: number;
}

/**
 * The key of the transaction-scoped advisory lock every writer takes: one ledger per database,
 * so one constant ("pki" in ASCII). Writers on every node queue on it, which keeps serials
 * drawn, CRL numbers (MAX + 1) and the event chain linear across processes and nodes.
 */
const WRITE_LOCK_KEY = 0x706b69;
const LOCK_WAIT_NOTICE_MS = 1000;
/** Connections per process: one writer at a time, plus readers (the OCSP responder reads while a CRL is signed). */
const POOL_SIZE = 4;
const INT8_OID = 20;

/**
 * The PostgreSQL engine. A pool of connections: `read` borrows one for a REPEATABLE READ READ
 * ONLY transaction (one snapshot), `write` one for a READ COMMITTED transaction that first
 * takes the advisory write lock. READ COMMITTED is what makes MAX + 1 right: each statement
 * after the lock sees every commit made before it, where a REPEATABLE READ snapshot would date
 * from the lock request and miss the writer that held the lock. A connection the server drops
 * is discarded by the pool and a new one is opened on the next call, so a long-running server
 * recovers by itself when the database comes back.
 */
export class PostgresLedger implements Ledger {
  private readonly pool: pg.Pool;
  private readonly mutex = new Mutex();
  private readonly inside = new AsyncLocalStorage<true>();
  private readonly busyTimeoutMs: number;
  private readonly onLockWait: (() => void) | undefined;

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresLedger> {
    const ledger = new PostgresLedger(url, options);
    try {
      await ledger.migrate(options.create ?? false);
    } catch (e) {
      await ledger.pool.end().catch(() => {});
      throw toLedgerError(e, url);
    }
    return ledger;
  }

  private constructor(
    private readonly url: string,
    options: PostgresOptions,
  ) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? 15000;
    this.onLockWait = options.onLockWait;
    this.pool = new pg.Pool({
      connectionString: url,
      max: POOL_SIZE,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10000,
      // A command that ends must not wait for idle connections to time out.
      allowExitOnIdle: true,
      application_name: "pki",
      Client: ClientClosedOnFailedConnect as unknown as new () => pg.ClientBase,
      // Counts, ids and CRL numbers are int8; they stay far below 2^53.
      types: { getTypeParser: ((oid: number, format?: "text" | "binary") => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
    });
    // An idle connection the server closes (restart, failover) is dropped by the pool; without a listener it would crash the process.
    this.pool.on("error", () => {});
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw toLedgerError(e, this.url);
    }
    // A connection lost while checked out also emits "error" (EPIPE, server shutdown): with no
    // listener that would crash the process, though the query in flight already rejects with it.
    if (!listening.has(client)) {
      listening.add(client);
      client.on("error", () => {});
    }
    return client;
  }

  private async migrate(create: boolean): Promise<void> {
    const client = await this.connect();
    let broken = false;
    try {
      if ((await this.schemaVersion(client)) === MIGRATIONS.length) return;
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [WRITE_LOCK_KEY]);
      await client.query("CREATE TABLE IF NOT EXISTS pki_schema (version INTEGER NOT NULL)");
      // Another process may have migrated while we waited for the lock.
      const version = await this.schemaVersion(client);
      if (version === 0 && !create) throw new LedgerError("cant-open", `no pki ledger in ${describeDatabase(this.url)}`, "create one with: pki init-root, or fix PKI_DATABASE_URL");
      for (let v = version; v < MIGRATIONS.length; v++) {
        const step = MIGRATIONS[v]!;
        await client.query(step.sql);
        await step.backfill?.(client);
      }
      await client.query("DELETE FROM pki_schema");
      await client.query("INSERT INTO pki_schema (version) VALUES ($1)", [MIGRATIONS.length]);
      await client.query("COMMIT");
    } catch (e) {
      broken = await rollback(client);
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /** The schema version (0: no ledger); refuses a newer one. */
  private async schemaVersion(client: pg.PoolClient): Promise<number> {
    const exists = (await client.query<{ t: string | null }>("SELECT to_regclass('pki_schema')::text AS t")).rows[0]?.t;
    const version = exists ? ((await client.query<{ v: number | null }>("SELECT max(version) AS v FROM pki_schema")).rows[0]?.v ?? 0) : 0;
    if (version > MIGRATIONS.length) {
      throw new LedgerError("newer-schema", `ledger schema version ${version} in ${describeDatabase(this.url)} is newer than this pki understands (${MIGRATIONS.length})`);
    }
    return version;
  }

  read<T>(fn: (r: LedgerReader) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", (client) => this.inside.run(true, () => fn(new PgHandle(client, this.url))));
  }

  write<T>(fn: (tx: LedgerWriter) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.mutex.run(() =>
      this.transaction("BEGIN ISOLATION LEVEL READ COMMITTED", async (client) => {
        await this.takeWriteLock(client);
        return this.inside.run(true, () => fn(new PgHandle(client, this.url)));
      }),
    );
  }

  /**
   * Runs `body` in one transaction on a pooled connection. A lost connection rolls the
   * transaction back on the server; one lost during COMMIT leaves the outcome unknown to us,
   * and the error says so rather than claim that nothing changed.
   */
  private async transaction<T>(begin: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    let committing = false;
    try {
      await client.query(begin);
      const result = await body(client);
      committing = true;
      await client.query("COMMIT");
      return result;
    } catch (e) {
      broken = await rollback(client);
      const mapped = toLedgerError(e, this.url);
      if (committing && mapped instanceof LedgerError && mapped.code === "unavailable") {
        throw new LedgerError("outcome-unknown", `${mapped.message} while committing`, "the change may or may not be recorded: check with pki list or pki audit before running it again");
      }
      throw mapped;
    } finally {
      client.release(broken);
    }
  }

  /** Waits for the advisory lock up to the busy timeout; tells `onLockWait` once after about a second. */
  private async takeWriteLock(client: pg.PoolClient): Promise<void> {
    const notice = this.onLockWait ? setTimeout(this.onLockWait, LOCK_WAIT_NOTICE_MS) : undefined;
    try {
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.busyTimeoutMs))}`);
      await client.query("SELECT pg_advisory_xact_lock($1)", [WRITE_LOCK_KEY]);
    } finally {
      clearTimeout(notice);
    }
  }

  /** PostgreSQL keeps its own pages consistent; what can go wrong for pki is a schema or an index left unusable. */
  integrityProblems(): Promise<string[]> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", async (client) => {
      const problems: string[] = [];
      const version = await this.schemaVersion(client);
      if (version !== MIGRATIONS.length) problems.push(`schema version ${version}, expected ${MIGRATIONS.length}`);
      const { rows } = await client.query<{ name: string }>(
        `SELECT i.indexrelid::regclass::text AS name FROM pg_index i
         WHERE i.indrelid IN (to_regclass('certificates'), to_regclass('crls'), to_regclass('events'), to_regclass('settings'), to_regclass('roles'))
           AND NOT (i.indisvalid AND i.indisready)`,
      );
      for (const r of rows) problems.push(`index ${r.name} is not valid (rebuild it with REINDEX)`);
      return problems;
    });
  }

  /**
   * `pki backup` writes the same thing on either engine: a SQLite ledger file, copied from one
   * REPEATABLE READ snapshot (other nodes keep writing meanwhile), which `pki restore` reads.
   */
  backupTo(path: string, onProgress?: (done: number, total: number) => void): Promise<{ certificates: number }> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", (client) => copyToSqlite(client, path, onProgress));
  }

  /**
   * `pki migrate --to postgres://...`: copies the SQLite ledger at `path` (a snapshot) into this
   * database, holding the write lock, only when the database holds no ledger rows yet; else
   * nothing is written and the rows found are returned. `verify` reads the copy back before
   * COMMIT (a throw rolls it all back). All or nothing.
   */
  importSqlite(path: string, onProgress?: (done: number, total: number) => void, verify?: (r: LedgerReader, counts: TableCounts) => Promise<void>): Promise<{ copied: TableCounts } | { found: TableCounts }> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.mutex.run(() =>
      this.transaction("BEGIN ISOLATION LEVEL READ COMMITTED", async (client) => {
        await this.takeWriteLock(client);
        const found = await tableCounts(client);
        if (Object.values(found).some((n) => n > 0)) return { found };
        await copyFromSqlite(client, path, onProgress);
        const copied = await tableCounts(client);
        await this.inside.run(true, () => verify?.(new PgHandle(client, this.url), copied));
        return { copied };
      }),
    );
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      if (!this.pool.ended) await this.pool.end();
    });
  }
}

const listening = new WeakSet<pg.PoolClient>();

/**
 * A client that closes its socket when connecting fails on our side (no password to give in
 * SCRAM, a TLS file unreadable): node-postgres leaves it open, and the pool drops the client
 * without closing it, so a command would wait for the server's authentication_timeout (60 s)
 * before it could exit.
 */
class ClientClosedOnFailedConnect extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: (err: Error | null, client?: pg.Client) => void): void;
  override connect(callback?: (err: Error | null, client?: pg.Client) => void): Promise<pg.Client> | void {
    if (!callback) return super.connect();
    super.connect((err: Error | null) => {
      if (!err) return callback(null, this);
      void this.end().catch(() => {});
      callback(err);
    });
  }
}

/** Rolls back; true when the connection itself is broken and must not return to the pool. */
async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query("ROLLBACK");
    return false;
  } catch {
    return true;
  }
}

function nested(): LedgerError {
  return new LedgerError("nested", "ledger read/write called inside another read/write; use the handle the callback received");
}
