import { AsyncLocalStorage } from "node:async_hooks";
import { closeSync, fchmodSync, openSync, readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { LedgerError } from "../errors.js";
import {
  type CertificateKind, type CertificateQuery, type CertificateRecord, type CertificateState, type CertificateSummary, type CrlRecord, type RootRecord,
  type EventAuthenticator, type EventRecord, eventHash, GENESIS_HASH, type Ledger, type LedgerReader, type LedgerWriter, type NewCertificate, type NewEvent,
  type Page, PAGE_SIZE, parseEventDetails, type PageRequest, type RevokedEntry, type Role, type RoleRecord, type StateCounts,
} from "../ledger.js";
import { Mutex } from "../mutex.js";
import { nameKey } from "../name-key.js";
import { type CertificateRow, certificateFilter, fromCertificateRow, fromSummaryRow, SUMMARY_COLUMNS, type SummaryRow } from "../rows.js";
import { MIGRATIONS } from "./migrations.js";
import { isBusy, toLedgerError } from "./errors.js";

export interface SqliteOptions {
  /** Create the database when missing. Default false: a missing ledger is an error. */
  create?: boolean;
  /** How long a write waits for another process's write lock, in ms. Default 15000. */
  busyTimeoutMs?: number;
  /**
   * Open for reading only: no write connection, every write fails with "read-only"; works on a
   * read-only mount (a snapshot, a mounted backup) and in a folder this user may not write.
   */
  readOnly?: boolean;
  /** Called once when a write has waited about a second for another process's write lock. */
  onLockWait?: () => void;
}

/** How long a write waits for the write lock before `onLockWait` is told. */
const LOCK_WAIT_NOTICE_MS = 1000;
/** better-sqlite3's default step; between steps other connections may write, and progress is reported. */
const BACKUP_PAGES_PER_STEP = 100;

/** Mode of ledger.db; SQLite gives its -wal and -shm files the database file's mode. */
const LEDGER_MODE = 0o600;

/**
 * The SQLite engine: a read connection, opened (and migrated) at once, and a write connection
 * opened on the first write; each holds one transaction at a time (a mutex each). With WAL, a
 * read sees the last commit and is never held up by a write that is signing (an OCSP answer
 * during a CRL). Across processes, writers queue on BEGIN IMMEDIATE, retried asynchronously so
 * a waiting server keeps serving.
 */
export class SqliteLedger implements Ledger {
  private readonly reader: { db: Database.Database; handle: Handle; mutex: Mutex };
  /** Opened on the first write: `pki list` and `show` never pay for a second connection. */
  private writer: { db: Database.Database; handle: Handle } | undefined;
  private readonly mutex = new Mutex();
  /** Set while a callback runs, to refuse re-entry rather than deadlock on the mutex. */
  private readonly inside = new AsyncLocalStorage<true>();
  private readonly busyTimeoutMs: number;
  private readonly readOnly: boolean;
  private readonly onLockWait: (() => void) | undefined;

  static open(path: string, options: SqliteOptions = {}): SqliteLedger {
    try {
      if (options.create) createPrivately(path);
      return new SqliteLedger(path, options);
    } catch (e) {
      throw toLedgerError(e, path);
    }
  }

  private constructor(
    private readonly path: string,
    options: SqliteOptions,
  ) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? 15000;
    this.readOnly = options.readOnly ?? false;
    this.onLockWait = options.onLockWait;
    if (this.readOnly) {
      let db = this.openForReading();
      try {
        // A ledger from an older pki is upgraded by the first command, reading ones included,
        // where the home can be written; otherwise reading it would fail until something writes.
        if (this.checkSchema(db)) {
          db.close();
          this.upgradeForReading();
          db = this.openForReading();
        }
      } catch (e) {
        db.close();
        throw e;
      }
      this.reader = { db, handle: new Handle(db, path), mutex: new Mutex() };
      return;
    }
    const db = this.connect();
    try {
      // WAL lets readers (list, show) run while another process issues.
      db.pragma("journal_mode = WAL");
      this.migrate(db);
      db.pragma("query_only = ON");
    } catch (e) {
      db.close();
      throw e;
    }
    this.reader = { db, handle: new Handle(db, path), mutex: new Mutex() };
  }

  private connect(): Database.Database {
    const db = new Database(this.path, { fileMustExist: true });
    try {
      // The busy timeout only covers the rare lock a plain statement meets; waiting for the
      // write lock is done by write() without blocking the event loop.
      db.pragma(`busy_timeout = ${Math.min(this.busyTimeoutMs, 1000)}`);
      // synchronous=FULL makes each committed transaction survive power loss, which a CA's record needs.
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      registerFunctions(db);
    } catch (e) {
      db.close();
      throw e;
    }
    return db;
  }

  /** The write connection, opened on first use. */
  private get db(): Database.Database {
    return this.writeConnection().db;
  }

  private get handle(): Handle {
    return this.writeConnection().handle;
  }

  private writeConnection(): NonNullable<SqliteLedger["writer"]> {
    if (!this.writer) {
      try {
        const db = this.connect();
        this.writer = { db, handle: new Handle(db, this.path) };
      } catch (e) {
        throw toLedgerError(e, this.path);
      }
    }
    return this.writer;
  }

  /**
   * A WAL database can be read without write access only if its -wal and -shm files exist
   * or can be created (https://sqlite.org/wal.html#readonly). On a read-only mount of a cleanly
   * closed home, or in a folder this user may read but not write, they do not, and
   * better-sqlite3 is built without URI filenames, so `immutable=1` is out of reach: we read the
   * file into memory instead, marked as a rollback-journal database (header bytes 18-19), which
   * holds everything committed, since a clean close checkpoints the WAL into the main file. A
   * non-empty -wal that we cannot open would make that copy stale, so that case is refused.
   */
  private openForReading(): Database.Database {
    const db = new Database(this.path, { readonly: true, fileMustExist: true });
    try {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      db.pragma("user_version"); // the first read opens the WAL files: fails here if it cannot
      registerFunctions(db);
      return db;
    } catch (e) {
      db.close();
      // CANTOPEN on a read-only file system; READONLY_DIRECTORY (and kin) when this user may not write the folder.
      const code = (e as { code?: string }).code ?? "";
      if (code !== "SQLITE_CANTOPEN" && !code.startsWith("SQLITE_READONLY")) throw e;
    }
    if (sizeOf(`${this.path}-wal`) > 0) {
      throw new LedgerError("read-only", `${this.path}-wal holds changes not yet merged into ${this.path}, and the home cannot be written`, "copy the home to a writable place (all three ledger.db* files) and run pki there");
    }
    const image = readFileSync(this.path);
    if (image.length >= 20 && image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
    const copy = new Database(image, { readonly: true });
    registerFunctions(copy);
    return copy;
  }

  /** The schema version: refuses a newer one; true when migrations are due. */
  private checkSchema(db: Database.Database): boolean {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new LedgerError("newer-schema", `ledger schema version ${version} is newer than this pki understands (${MIGRATIONS.length})`);
    }
    return version !== MIGRATIONS.length;
  }

  /** Migrates through a short-lived write connection, for a ledger opened to be read. */
  private upgradeForReading(): void {
    let db: Database.Database | undefined;
    try {
      db = this.connect();
      this.migrate(db);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (code !== "SQLITE_CANTOPEN" && !code.startsWith("SQLITE_READONLY")) throw e;
      throw new LedgerError("read-only", `${this.path} needs a schema upgrade to ${MIGRATIONS.length}, which needs write access`, "run any pki command on a writable copy of the home first");
    } finally {
      db?.close();
    }
  }

  private migrate(db: Database.Database): void {
    if (!this.checkSchema(db)) return;
    db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    db.transaction(() => {
      // Another process may have migrated while we waited for the lock.
      const now = db.pragma("user_version", { simple: true }) as number;
      for (let v = now; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
    db.pragma(`busy_timeout = ${Math.min(this.busyTimeoutMs, 1000)}`);
  }

  read<T>(fn: (r: LedgerReader) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return Promise.reject(nested());
    const reader = this.reader;
    return reader.mutex.run(async () => {
      try {
        reader.db.exec("BEGIN");
      } catch (e) {
        throw toLedgerError(e, this.path);
      }
      try {
        return await this.inside.run(true, () => fn(reader.handle));
      } finally {
        if (reader.db.inTransaction) reader.db.exec("COMMIT");
      }
    });
  }

  write<T>(fn: (tx: LedgerWriter) => Promise<T>): Promise<T> {
    if (this.readOnly && !this.inside.getStore()) {
      // What SQLite says of a write on a read-only connection, told apart by the file system (read-only mount, permissions).
      return Promise.reject(toLedgerError(Object.assign(new Error("attempt to write a readonly database"), { code: "SQLITE_READONLY" }), this.path));
    }
    return this.exclusive(async () => {
      await this.beginImmediate();
      try {
        const result = await this.inside.run(true, () => fn(this.handle));
        this.exec("COMMIT");
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw toLedgerError(e, this.path);
      }
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.mutex.run(fn);
  }

  /**
   * Takes the write lock, retrying while another process holds it, up to the busy timeout;
   * after about a second of waiting `onLockWait` is told once, so the user learns why nothing happens.
   */
  private async beginImmediate(): Promise<void> {
    const start = performance.now();
    const deadline = start + this.busyTimeoutMs;
    let told = false;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        this.db.pragma("busy_timeout = 0");
        this.db.exec("BEGIN IMMEDIATE");
        return;
      } catch (e) {
        const now = performance.now();
        if (!isBusy(e) || now >= deadline) throw toLedgerError(e, this.path);
        if (!told && now - start >= LOCK_WAIT_NOTICE_MS) {
          told = true;
          this.onLockWait?.();
        }
      } finally {
        this.db.pragma(`busy_timeout = ${Math.min(this.busyTimeoutMs, 1000)}`);
      }
      await sleep(wait * (0.5 + Math.random()));
    }
  }

  private exec(sql: string): void {
    try {
      this.db.exec(sql);
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  /** On the read connection, like backupTo: a check or a backup never opens the write connection. */
  private reading<T>(fn: (db: Database.Database) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return Promise.reject(nested());
    return this.reader.mutex.run(() => fn(this.reader.db));
  }

  integrityProblems(): Promise<string[]> {
    return this.reading(async (db) => {
      try {
        const rows = db.pragma("integrity_check") as { integrity_check: string }[];
        return rows.map((r) => r.integrity_check).filter((m) => m !== "ok");
      } catch (e) {
        throw toLedgerError(e, this.path);
      }
    });
  }

  backupTo(path: string, onProgress?: (done: number, total: number) => void): Promise<{ certificates: number }> {
    return this.reading(async (db) => {
      try {
        // better-sqlite3 reports before each step, so the last report is one step short of the end.
        const { totalPages } = await db.backup(path, {
          progress: ({ totalPages, remainingPages }) => {
            onProgress?.(totalPages - remainingPages, totalPages);
            return BACKUP_PAGES_PER_STEP;
          },
        });
        onProgress?.(totalPages, totalPages);
        const copy = new Database(path, { readonly: true, fileMustExist: true });
        try {
          return { certificates: (copy.prepare("SELECT COUNT(*) AS n FROM certificates").get() as { n: number }).n };
        } finally {
          copy.close();
        }
      } catch (e) {
        throw toLedgerError(e, this.path);
      }
    });
  }

  async close(): Promise<void> {
    const reader = this.reader;
    await reader.mutex.run(async () => void (reader.db.open && reader.db.close()));
    await this.mutex.run(async () => {
      if (this.writer?.db.open) this.writer.db.close();
    });
  }
}

/** Used by the migration that adds name_key; deterministic, so SQLite may use it in indexes. */
function registerFunctions(db: Database.Database): void {
  db.function("pki_name_key", { deterministic: true }, (name: unknown) => nameKey(String(name)));
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function nested(): LedgerError {
  return new LedgerError("nested", "ledger read/write called inside another read/write; use the handle the callback received");
}

/** Creates an empty database file owner-only, whatever the process umask. */
function createPrivately(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", LEDGER_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return;
    throw e;
  }
  try {
    fchmodSync(fd, LEDGER_MODE);
  } finally {
    closeSync(fd);
  }
}

/** The statements, on the connection the engine lends to a callback. */
class Handle implements LedgerWriter {
  /** Prepared once, reused: preparing costs more than running these small statements. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {}

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private get<R>(sql: string, ...params: unknown[]): R | undefined {
    try {
      return this.stmt(sql).get(...params) as R | undefined;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  private all<R>(sql: string, ...params: unknown[]): R[] {
    try {
      return this.stmt(sql).all(...params) as R[];
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  private run(sql: string, ...params: unknown[]): Database.RunResult {
    try {
      return this.stmt(sql).run(...params);
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  private one(sql: string, ...params: unknown[]): CertificateRecord | undefined {
    const row = this.get<CertificateRow>(sql, ...params);
    return row && fromCertificateRow(row);
  }

  async activeRoot(): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1");
  }

  async bySerial(serial: string): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE serial = ?", serial);
  }

  async activeByName(name: string, kind: CertificateKind): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE kind = ? AND name = ? AND state = 'active'", kind, name);
  }

  async latestByName(name: string): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE name = ? ORDER BY state = 'active' DESC, created_at DESC, rowid DESC LIMIT 1", name);
  }

  async activeSharingName(name: string): Promise<CertificateSummary[]> {
    return this.all<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE name_key = ? AND state = 'active' ORDER BY created_at, rowid`, nameKey(name)).map(fromSummaryRow);
  }

  async unrevokedByName(name: string): Promise<CertificateSummary[]> {
    return this.all<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE name = ? AND state <> 'revoked' ORDER BY created_at, rowid`, name).map(fromSummaryRow);
  }

  async activeNameClashes(): Promise<CertificateSummary[]> {
    return this.all<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE state = 'active' AND name_key IN
         (SELECT name_key FROM certificates WHERE state = 'active' GROUP BY name_key HAVING count(*) > 1)
       ORDER BY name_key, created_at, rowid`,
    ).map(fromSummaryRow);
  }

  async nameKeys(minLength: number, maxLength: number): Promise<string[]> {
    try {
      return this.stmt("SELECT DISTINCT name_key FROM certificates WHERE length(name_key) BETWEEN ? AND ?").pluck().all(minLength, maxLength) as string[];
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  async nameWithKey(key: string): Promise<string | undefined> {
    try {
      return this.stmt("SELECT name FROM certificates WHERE name_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1").pluck().get(key) as string | undefined;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  async certificates(q: CertificateQuery, page: PageRequest = {}): Promise<Page<CertificateRecord>> {
    return this.paged(`SELECT rowid AS cursor, * FROM certificates`, q, { limit: PAGE_SIZE, ...page }, (r: CertificateRow & { cursor: number }) => fromCertificateRow(r));
  }

  async summaries(q: CertificateQuery, page: PageRequest = {}): Promise<Page<CertificateSummary>> {
    return this.paged(`SELECT rowid AS cursor, ${SUMMARY_COLUMNS} FROM certificates`, q, page, fromSummaryRow);
  }

  /** Keyset pages in the order recorded (rowid); without a limit, the whole listing in one query. */
  private paged<R extends { cursor: number }, T>(select: string, q: CertificateQuery, page: PageRequest, map: (r: R) => T): Page<T> {
    const limit = page.limit === undefined ? null : Math.min(page.limit, PAGE_SIZE);
    const [where, params] = certificateFilter(q, () => "?");
    if (page.after) (where.push("rowid > ?"), params.push(Number(page.after)));
    const sql = `${select} ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY rowid${limit === null ? "" : ` LIMIT ${limit + 1}`}`;
    const rows = this.all<R>(sql, ...params);
    const more = limit !== null && rows.length > limit;
    if (more) rows.pop();
    return { items: rows.map(map), next: more ? String(rows[rows.length - 1]!.cursor) : null };
  }

  async count(q: CertificateQuery): Promise<number> {
    const [where, params] = certificateFilter(q, () => "?");
    return this.get<{ n: number }>(`SELECT COUNT(*) AS n FROM certificates ${where.length ? "WHERE " + where.join(" AND ") : ""}`, ...params)!.n;
  }

  async serialExists(serial: string): Promise<boolean> {
    return this.get("SELECT 1 FROM certificates WHERE serial = ?", serial) !== undefined;
  }

  async stateCounts(nowIso: string): Promise<StateCounts> {
    const rows = this.all<{ state: CertificateState; expired: number; n: number }>(
      "SELECT state, not_after < ? AS expired, COUNT(*) AS n FROM certificates WHERE kind != 'root' GROUP BY 1, 2",
      nowIso,
    );
    const counts: StateCounts = { active: 0, activeExpired: 0, revoked: 0, superseded: 0 };
    for (const r of rows) {
      if (r.state === "active") counts[r.expired ? "activeExpired" : "active"] += r.n;
      else if (r.state === "revoked" || r.state === "superseded") counts[r.state] += r.n;
    }
    return counts;
  }

  async revokedEntries(issuer?: string): Promise<RevokedEntry[]> {
    if (issuer !== undefined) {
      return this.all<RevokedEntry>("SELECT serial, revoked_at AS revokedAt, revocation_reason AS reason FROM certificates WHERE state = 'revoked' AND issuer = ? ORDER BY revoked_at, serial", issuer);
    }
    return this.all<RevokedEntry>("SELECT serial, revoked_at AS revokedAt, revocation_reason AS reason FROM certificates WHERE state = 'revoked' ORDER BY revoked_at, serial");
  }

  async revokedLines(): Promise<string> {
    // A NULL would drop the whole line from the concatenation; the digest writes it "null", as JavaScript prints it.
    const sql = "SELECT group_concat(serial || ' ' || COALESCE(revoked_at, 'null') || ' ' || COALESCE(revocation_reason, 'null') || char(10), '' ORDER BY revoked_at, serial) AS lines FROM certificates WHERE state = 'revoked'";
    return this.get<{ lines: string | null }>(sql)!.lines ?? "";
  }

  async latestCrl(issuer?: string): Promise<CrlRecord | undefined> {
    const columns = "number, this_update AS thisUpdate, next_update AS nextUpdate, der, issuer";
    const row =
      issuer === undefined
        ? this.get<Omit<CrlRecord, "der"> & { der: Buffer }>(`SELECT ${columns} FROM crls ORDER BY number DESC LIMIT 1`)
        : this.get<Omit<CrlRecord, "der"> & { der: Buffer }>(`SELECT ${columns} FROM crls WHERE issuer = ? ORDER BY number DESC LIMIT 1`, issuer);
    return row && { ...row, der: new Uint8Array(row.der) };
  }

  async roots(): Promise<RootRecord[]> {
    return this.all<CertificateRow & { retired_at: string | null }>("SELECT * FROM certificates WHERE kind = 'root' ORDER BY created_at, rowid").map((r, i) => ({ record: fromCertificateRow(r), generation: i + 1, retiredAt: r.retired_at }));
  }

  async nextCrlNumber(): Promise<number> {
    return (this.get<{ n: number | null }>("SELECT MAX(number) AS n FROM crls")!.n ?? 0) + 1;
  }

  async events(page: PageRequest = {}): Promise<Page<EventRecord>> {
    const limit = Math.min(page.limit ?? PAGE_SIZE, PAGE_SIZE);
    const rows = this.all<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ${limit + 1}`, Number(page.after ?? 0));
    const more = rows.length > limit;
    if (more) rows.pop();
    return { items: rows.map(fromEventRow), next: more ? String(rows[rows.length - 1]!.id) : null };
  }

  async event(id: number): Promise<EventRecord | undefined> {
    const row = this.get<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, id);
    return row && fromEventRow(row);
  }

  async headEventId(): Promise<number> {
    return this.get<{ id: number }>("SELECT COALESCE(MAX(id), 0) AS id FROM events")!.id;
  }

  async setting(key: string): Promise<string | undefined> {
    return this.get<{ value: string }>("SELECT value FROM settings WHERE key = ?", key)?.value;
  }

  async settings(): Promise<[string, string][]> {
    return this.all<{ key: string; value: string }>("SELECT key, value FROM settings ORDER BY key").map((r) => [r.key, r.value]);
  }

  async role(name: string): Promise<Role | undefined> {
    return this.get<{ role: Role }>("SELECT role FROM roles WHERE name_key = ?", nameKey(name))?.role;
  }

  async roles(): Promise<RoleRecord[]> {
    return this.all<RoleRecord>("SELECT name, role FROM roles ORDER BY name_key");
  }

  async insertCertificate(c: NewCertificate): Promise<void> {
    this.run(
      `INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, key_encrypted, csr, created_at, issuer)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, CASE WHEN ? = 'root' THEN ? END, (SELECT serial FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1)))`,
      c.serial, c.name, nameKey(c.name), c.kind, c.subject, c.notBefore, c.notAfter, c.der, c.keyEncrypted, c.csr, c.createdAt, c.issuer ?? null, c.kind, c.serial,
    );
  }

  async markRevoked(serial: string, at: string, reason: number): Promise<void> {
    this.run("UPDATE certificates SET state = 'revoked', revoked_at = ?, revocation_reason = ? WHERE serial = ?", at, reason, serial);
  }

  async markUnrevoked(serial: string): Promise<void> {
    this.run("UPDATE certificates SET state = CASE WHEN superseded_by IS NULL THEN 'active' ELSE 'superseded' END, revoked_at = NULL, revocation_reason = NULL WHERE serial = ? AND state = 'revoked'", serial);
  }

  async markSuperseded(serial: string, by: string): Promise<void> {
    this.run("UPDATE certificates SET superseded_by = ?, state = CASE state WHEN 'active' THEN 'superseded' ELSE state END WHERE serial = ?", by, serial);
  }

  async insertCrl(crl: Omit<CrlRecord, "der"> & { der: Uint8Array }): Promise<void> {
    this.run(
      "INSERT INTO crls (number, this_update, next_update, der, issuer) VALUES (?, ?, ?, ?, COALESCE(?, (SELECT serial FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1)))",
      crl.number, crl.thisUpdate, crl.nextUpdate, crl.der, crl.issuer ?? null,
    );
  }

  async retireRoot(serial: string, at: string): Promise<void> {
    this.run("UPDATE certificates SET retired_at = ? WHERE serial = ? AND kind = 'root'", at, serial);
  }

  async replaceKey(serial: string, expected: Uint8Array, replacement: Uint8Array): Promise<boolean> {
    return this.run("UPDATE certificates SET key_encrypted = ? WHERE serial = ? AND key_encrypted = ?", replacement, serial, expected).changes === 1;
  }

  async appendEvent(e: NewEvent, key: EventAuthenticator): Promise<EventRecord> {
    const prevHash = this.get<{ hash: string }>("SELECT hash FROM events ORDER BY id DESC LIMIT 1")?.hash ?? GENESIS_HASH;
    const details = JSON.stringify(e.details);
    const hash = eventHash(prevHash, e.at, e.actor, e.action, e.serial, details);
    const mac = key.eventMac(hash);
    const info = this.run("INSERT INTO events (at, actor, action, serial, details, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", e.at, e.actor, e.action, e.serial, details, prevHash, hash, mac);
    return { ...e, id: Number(info.lastInsertRowid), prevHash, hash, mac };
  }

  async setSetting(key: string, value: string | null): Promise<void> {
    if (value === null) this.run("DELETE FROM settings WHERE key = ?", key);
    else this.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
  }

  async setRole(name: string, role: Role | null): Promise<void> {
    if (role === null) this.run("DELETE FROM roles WHERE name_key = ?", nameKey(name));
    else this.run("INSERT INTO roles (name_key, name, role) VALUES (?, ?, ?) ON CONFLICT(name_key) DO UPDATE SET name = excluded.name, role = excluded.role", nameKey(name), name, role);
  }
}

type EventRow = Omit<EventRecord, "details"> & { details: string };

const EVENT_COLUMNS = "id, at, actor, action, serial, details, prev_hash AS prevHash, hash, mac";

function fromEventRow(r: EventRow): EventRecord {
  return { ...r, details: parseEventDetails(r.details) };
}

