import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { isBusy, LedgerError, toLedgerError } from "./errors.js";
import { MIGRATIONS } from "./migrations.js";
import { nameKey } from "./name-key.js";

/** Binary columns come back as plain-ArrayBuffer bytes, which parsers downstream require. */
export type Blob = Uint8Array<ArrayBuffer>;

export type CertificateKind = "root" | "client" | "server";
export type CertificateState = "active" | "revoked" | "superseded";

export interface CertificateRecord {
  serial: string;
  name: string;
  kind: CertificateKind;
  subject: string;
  notBefore: string;
  notAfter: string;
  der: Blob;
  keyEncrypted: Blob | null;
  csr: Blob | null;
  state: CertificateState;
  revokedAt: string | null;
  revocationReason: number | null;
  supersededBy: string | null;
  createdAt: string;
}

/** A certificate without its blobs: what listings need, at a fraction of the I/O. */
export type CertificateSummary = Omit<CertificateRecord, "der" | "keyEncrypted" | "csr"> & { hasKey: boolean };

export type NewCertificate = Omit<CertificateRecord, "state" | "revokedAt" | "revocationReason" | "supersededBy" | "der" | "keyEncrypted" | "csr"> & {
  der: Uint8Array;
  keyEncrypted: Uint8Array | null;
  csr: Uint8Array | null;
};

export interface CertificateQuery {
  kind?: CertificateKind;
  state?: CertificateState;
  /** Only certificates whose not_after is at or after this ISO time. */
  notAfterFrom?: string;
  /** Only certificates whose not_after is before this ISO time. */
  notAfterBefore?: string;
  name?: string;
}

export interface StateCounts {
  active: number;
  activeExpired: number;
  revoked: number;
  superseded: number;
}

export interface RevokedEntry {
  serial: string;
  revokedAt: string;
  reason: number;
}

export interface CrlRecord {
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  der: Blob;
}

export interface EventRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  serial: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type NewEvent = Pick<EventRecord, "at" | "actor" | "action" | "serial" | "details">;

/** The storage the authority needs, and nothing more. All writes happen inside `transaction`. */
export interface Ledger {
  /** Runs `fn` in one IMMEDIATE transaction: all of it is stored, or none. */
  transaction<T>(fn: () => T): T;
  /**
   * Like `transaction`, for work that must await (signing a CRL) while holding the write
   * lock, so that what it read cannot change before it commits. Keep `fn` short: other
   * pki processes wait for it (up to the busy timeout).
   */
  transactionAsync<T>(fn: () => Promise<T>): Promise<T>;
  activeRoot(): CertificateRecord | undefined;
  insertCertificate(cert: NewCertificate): void;
  bySerial(serial: string): CertificateRecord | undefined;
  activeByName(name: string, kind: CertificateKind): CertificateRecord | undefined;
  latestByName(name: string): CertificateRecord | undefined;
  /** Active certificates of any kind whose name equals `name` after case folding (see nameKey). */
  activeSharingName(name: string): CertificateSummary[];
  /** Certificates named exactly `name` that are not revoked (active or superseded, expired or not), oldest first. */
  unrevokedByName(name: string): CertificateSummary[];
  /** Active certificates that share their folded name with another active one, grouped by name, oldest first. */
  activeNameClashes(): CertificateSummary[];
  /** Distinct folded names (nameKey) from `minLength` to `maxLength` characters, read from their index alone. */
  nameKeys(minLength: number, maxLength: number): string[];
  /** A certificate name whose folded form is `key`, the newest. */
  nameWithKey(key: string): string | undefined;
  query(q: CertificateQuery): CertificateRecord[];
  /** Like `query`, without the DER, key and CSR blobs (indexed; no full scans). */
  summaries(q: CertificateQuery): CertificateSummary[];
  serialExists(serial: string): boolean;
  /** Leaf certificates per state, the active ones split by whether not_after is before `nowIso`. */
  stateCounts(nowIso: string): StateCounts;
  markRevoked(serial: string, at: string, reason: number): void;
  /** Links `serial` to its successor; an active certificate becomes superseded, a revoked one stays revoked. */
  markSuperseded(serial: string, by: string): void;
  revokedEntries(): RevokedEntry[];
  nextCrlNumber(): number;
  insertCrl(crl: Omit<CrlRecord, "der"> & { der: Uint8Array }): void;
  latestCrl(): CrlRecord | undefined;
  /** Replaces a stored key only if it is still `expected` (another process may have changed it). */
  replaceKey(serial: string, expected: Uint8Array, replacement: Uint8Array): boolean;
  appendEvent(event: NewEvent): EventRecord;
  events(): EventRecord[];
  /**
   * The id of the newest event (0 when none). Every change appends an event, so a reader that
   * sees the same id sees the same state: long-running readers (the OCSP responder) cache on it.
   */
  headEventId(): number;
  setting(key: string): string | undefined;
  /** Sets (or with `null`, removes) an operator setting. */
  setSetting(key: string, value: string | null): void;
  /** SQLite's own consistency check: an empty list means the database is sound. */
  integrityProblems(): string[];
  /** An online, consistent copy through SQLite's backup API (safe while other processes write). */
  backupTo(path: string, onProgress?: (done: number, total: number) => void): Promise<void>;
  close(): void;
}

export interface OpenOptions {
  /** Create the database when missing. Default false: a missing ledger is an error. */
  create?: boolean;
  /** How long to wait for another process's write lock, in ms. Default 15000. */
  busyTimeoutMs?: number;
  /** Open for reading only: works on a read-only mount (a snapshot, a mounted backup); every write fails. */
  readOnly?: boolean;
  /** Called once when a transaction has waited about a second for another process's write lock. */
  onLockWait?: () => void;
}

/** How long a transaction waits for the write lock before `onLockWait` is told, and between later attempts. */
const LOCK_WAIT_SLICE_MS = 1000;

const GENESIS_HASH = "0".repeat(64);
/** better-sqlite3's default step; between steps other connections may write, and progress is reported. */
const BACKUP_PAGES_PER_STEP = 100;

const SUMMARY_COLUMNS = `serial, name, kind, subject, not_before, not_after, state, revoked_at, revocation_reason, superseded_by, created_at,
  key_encrypted IS NOT NULL AS has_key`;

/** Loads SQLite's native module now, so that a missing or broken build is reported before anything else happens. */
export function checkSqliteModule(): void {
  try {
    new Database(":memory:").close();
  } catch (e) {
    throw toLedgerError(e);
  }
}

/** Opens (and migrates) the SQLite ledger at `path`. */
export function openLedger(path: string, options: OpenOptions = {}): Ledger {
  try {
    return new SqliteLedger(path, options.readOnly ? openForReading(path, options) : openForWriting(path, options), options);
  } catch (e) {
    throw toLedgerError(e, path);
  }
}

function openForWriting(path: string, options: OpenOptions): Database.Database {
  const db = new Database(path, { fileMustExist: !options.create });
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 15000}`);
    // WAL lets readers (list, show) run while another process issues; synchronous=FULL
    // makes each committed transaction survive power loss, which a CA's record needs.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * A WAL database can be read without write access only if its -wal and -shm files exist
 * or can be created (https://sqlite.org/wal.html#readonly). On a read-only mount of a cleanly
 * closed home, or in a folder this user may read but not write, they do not, and better-sqlite3 is built without URI filenames, so `immutable=1`
 * is out of reach: we read the file into memory instead, marked as a rollback-journal
 * database (header bytes 18-19), which holds everything committed, since a clean close
 * checkpoints the WAL into the main file. A non-empty -wal that we cannot open would make
 * that copy stale, so that case is refused.
 */
function openForReading(path: string, options: OpenOptions): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 15000}`);
    db.pragma("user_version"); // the first read opens the WAL files: fails here if it cannot
    return db;
  } catch (e) {
    db.close();
    // CANTOPEN on a read-only file system; READONLY_DIRECTORY (and kin) when this user may not write the folder.
    const code = (e as { code?: string }).code ?? "";
    if (code !== "SQLITE_CANTOPEN" && !code.startsWith("SQLITE_READONLY")) throw e;
  }
  if (sizeOf(`${path}-wal`) > 0) {
    throw new LedgerError("read-only", `${path}-wal holds changes not yet merged into ${path}, and the home cannot be written`, "copy the home to a writable place (all three ledger.db* files) and run pki there");
  }
  const image = readFileSync(path);
  if (image.length >= 20 && image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
  return new Database(image, { readonly: true });
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

class SqliteLedger implements Ledger {
  /** Prepared once, reused: preparing costs more than running these small statements. */
  private readonly statements = new Map<string, Database.Statement>();

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private readonly busyTimeoutMs: number;

  constructor(
    private readonly path: string,
    private readonly db: Database.Database,
    private readonly options: OpenOptions,
  ) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? 15000;
    try {
      // Used by the migration that adds name_key; deterministic, so SQLite may use it in indexes.
      this.db.function("pki_name_key", { deterministic: true }, (name: unknown) => nameKey(String(name)));
      this.migrate();
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new LedgerError("newer-schema", `ledger schema version ${version} is newer than this pki understands (${MIGRATIONS.length})`);
    }
    if (version === MIGRATIONS.length) return;
    if (this.options.readOnly) throw new LedgerError("read-only", `${this.path} has schema version ${version} and needs an upgrade to ${MIGRATIONS.length}, which needs write access`, "run any pki command on a writable copy of the home first");
    this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }

  transaction<T>(fn: () => T): T {
    // Nested: better-sqlite3 turns it into a savepoint of the transaction already open.
    if (this.db.inTransaction) return this.db.transaction(fn)();
    this.beginImmediate();
    try {
      const result = this.db.transaction(fn)();
      this.db.exec("COMMIT");
      return result;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw toLedgerError(e, this.path);
    }
  }

  /**
   * Takes the write lock, waiting for other processes up to the busy timeout in slices, so
   * that after the first slice the user can be told why nothing happens.
   */
  private beginImmediate(): void {
    const attempts = Math.max(1, Math.ceil(this.busyTimeoutMs / LOCK_WAIT_SLICE_MS));
    try {
      for (let attempt = 1; ; attempt++) {
        const last = attempt >= attempts;
        this.db.pragma(`busy_timeout = ${last ? this.busyTimeoutMs - (attempts - 1) * LOCK_WAIT_SLICE_MS : LOCK_WAIT_SLICE_MS}`);
        try {
          this.db.exec("BEGIN IMMEDIATE");
          return;
        } catch (e) {
          if (last || !isBusy(e)) throw toLedgerError(e, this.path);
          if (attempt === 1) this.options.onLockWait?.();
        }
      }
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  async transactionAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.beginImmediate();
    try {
      const result = await fn();
      this.db.exec("COMMIT");
      return result;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw toLedgerError(e, this.path);
    }
  }

  private all(sql: string, ...params: unknown[]): CertificateRecord[] {
    try {
      return (this.stmt(sql).all(...params) as Row[]).map(fromRow);
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

  activeRoot(): CertificateRecord | undefined {
    return this.all("SELECT * FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1")[0];
  }

  insertCertificate(c: NewCertificate): void {
    this.run(
      `INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, key_encrypted, csr, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      c.serial, c.name, nameKey(c.name), c.kind, c.subject, c.notBefore, c.notAfter, c.der, c.keyEncrypted, c.csr, c.createdAt,
    );
  }

  bySerial(serial: string): CertificateRecord | undefined {
    return this.all("SELECT * FROM certificates WHERE serial = ?", serial)[0];
  }

  activeByName(name: string, kind: CertificateKind): CertificateRecord | undefined {
    return this.all("SELECT * FROM certificates WHERE kind = ? AND name = ? AND state = 'active'", kind, name)[0];
  }

  latestByName(name: string): CertificateRecord | undefined {
    return this.all(
      "SELECT * FROM certificates WHERE name = ? ORDER BY state = 'active' DESC, created_at DESC, rowid DESC LIMIT 1",
      name,
    )[0];
  }

  activeSharingName(name: string): CertificateSummary[] {
    return this.summaryRows(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE name_key = ? AND state = 'active' ORDER BY created_at, rowid`, nameKey(name));
  }

  unrevokedByName(name: string): CertificateSummary[] {
    return this.summaryRows(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE name = ? AND state <> 'revoked' ORDER BY created_at, rowid`, name);
  }

  activeNameClashes(): CertificateSummary[] {
    return this.summaryRows(
      `SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE state = 'active' AND name_key IN
         (SELECT name_key FROM certificates WHERE state = 'active' GROUP BY name_key HAVING count(*) > 1)
       ORDER BY name_key, created_at, rowid`,
    );
  }

  nameKeys(minLength: number, maxLength: number): string[] {
    try {
      return this.stmt("SELECT DISTINCT name_key FROM certificates WHERE length(name_key) BETWEEN ? AND ?").pluck().all(minLength, maxLength) as string[];
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  nameWithKey(key: string): string | undefined {
    try {
      return this.stmt("SELECT name FROM certificates WHERE name_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1").pluck().get(key) as string | undefined;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  query(q: CertificateQuery): CertificateRecord[] {
    const [where, params] = this.filter(q);
    return this.all(`SELECT * FROM certificates ${where} ORDER BY created_at, rowid`, ...params);
  }

  summaries(q: CertificateQuery): CertificateSummary[] {
    const [where, params] = this.filter(q);
    return this.summaryRows(`SELECT ${SUMMARY_COLUMNS} FROM certificates ${where} ORDER BY created_at, rowid`, ...params);
  }

  private summaryRows(sql: string, ...params: unknown[]): CertificateSummary[] {
    try {
      return (this.stmt(sql).all(...params) as (Omit<Row, "der" | "key_encrypted" | "csr"> & { has_key: number })[]).map((r) => ({
        serial: r.serial, name: r.name, kind: r.kind, subject: r.subject, notBefore: r.not_before, notAfter: r.not_after, state: r.state,
        revokedAt: r.revoked_at, revocationReason: r.revocation_reason, supersededBy: r.superseded_by, createdAt: r.created_at, hasKey: r.has_key === 1,
      }));
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  private filter(q: CertificateQuery): [string, unknown[]] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.kind) (where.push("kind = ?"), params.push(q.kind));
    if (q.state) (where.push("state = ?"), params.push(q.state));
    if (q.name) (where.push("name = ?"), params.push(q.name));
    if (q.notAfterFrom) (where.push("not_after >= ?"), params.push(q.notAfterFrom));
    if (q.notAfterBefore) (where.push("not_after < ?"), params.push(q.notAfterBefore));
    return [where.length ? "WHERE " + where.join(" AND ") : "", params];
  }

  serialExists(serial: string): boolean {
    try {
      return this.stmt("SELECT 1 FROM certificates WHERE serial = ?").get(serial) !== undefined;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  stateCounts(nowIso: string): StateCounts {
    try {
      const rows = this.stmt("SELECT state, not_after < ? AS expired, COUNT(*) AS n FROM certificates WHERE kind != 'root' GROUP BY 1, 2").all(nowIso) as
        { state: CertificateState; expired: number; n: number }[];
      const counts: StateCounts = { active: 0, activeExpired: 0, revoked: 0, superseded: 0 };
      for (const r of rows) {
        if (r.state === "active") counts[r.expired ? "activeExpired" : "active"] += r.n;
        else if (r.state === "revoked" || r.state === "superseded") counts[r.state] += r.n;
      }
      return counts;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  markRevoked(serial: string, at: string, reason: number): void {
    this.run("UPDATE certificates SET state = 'revoked', revoked_at = ?, revocation_reason = ? WHERE serial = ?", at, reason, serial);
  }

  markSuperseded(serial: string, by: string): void {
    this.run(
      "UPDATE certificates SET superseded_by = ?, state = CASE state WHEN 'active' THEN 'superseded' ELSE state END WHERE serial = ?",
      by, serial,
    );
  }

  revokedEntries(): RevokedEntry[] {
    try {
      return this.stmt("SELECT serial, revoked_at AS revokedAt, revocation_reason AS reason FROM certificates WHERE state = 'revoked' ORDER BY revoked_at, serial")
        .all() as RevokedEntry[];
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  nextCrlNumber(): number {
    try {
      const row = this.stmt("SELECT MAX(number) AS n FROM crls").get() as { n: number | null };
      return (row.n ?? 0) + 1;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  insertCrl(crl: Omit<CrlRecord, "der"> & { der: Uint8Array }): void {
    this.run("INSERT INTO crls (number, this_update, next_update, der) VALUES (?, ?, ?, ?)", crl.number, crl.thisUpdate, crl.nextUpdate, crl.der);
  }

  latestCrl(): CrlRecord | undefined {
    try {
      const row = this.stmt("SELECT number, this_update AS thisUpdate, next_update AS nextUpdate, der FROM crls ORDER BY number DESC LIMIT 1").get() as
        | (Omit<CrlRecord, "der"> & { der: Buffer })
        | undefined;
      return row && { ...row, der: new Uint8Array(row.der) };
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  replaceKey(serial: string, expected: Uint8Array, replacement: Uint8Array): boolean {
    return this.run("UPDATE certificates SET key_encrypted = ? WHERE serial = ? AND key_encrypted = ?", replacement, serial, expected).changes === 1;
  }

  setting(key: string): string | undefined {
    try {
      return (this.stmt("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | undefined)?.value;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  setSetting(key: string, value: string | null): void {
    if (value === null) this.run("DELETE FROM settings WHERE key = ?", key);
    else this.run("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
  }

  integrityProblems(): string[] {
    try {
      const rows = this.db.pragma("integrity_check") as { integrity_check: string }[];
      return rows.map((r) => r.integrity_check).filter((m) => m !== "ok");
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  async backupTo(path: string, onProgress?: (done: number, total: number) => void): Promise<void> {
    try {
      // better-sqlite3 reports before each step, so the last report is one step short of the end.
      const { totalPages } = await this.db.backup(path, {
        progress: ({ totalPages, remainingPages }) => {
          onProgress?.(totalPages - remainingPages, totalPages);
          return BACKUP_PAGES_PER_STEP;
        },
      });
      onProgress?.(totalPages, totalPages);
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  appendEvent(e: NewEvent): EventRecord {
    try {
      const last = this.stmt("SELECT hash FROM events ORDER BY id DESC LIMIT 1").get() as { hash: string } | undefined;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const details = JSON.stringify(e.details);
      const hash = eventHash(prevHash, e.at, e.actor, e.action, e.serial, details);
      const info = this.stmt("INSERT INTO events (at, actor, action, serial, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(e.at, e.actor, e.action, e.serial, details, prevHash, hash);
      return { ...e, id: Number(info.lastInsertRowid), prevHash, hash };
    } catch (err) {
      throw toLedgerError(err, this.path);
    }
  }

  headEventId(): number {
    try {
      return (this.stmt("SELECT COALESCE(MAX(id), 0) AS id FROM events").get() as { id: number }).id;
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  events(): EventRecord[] {
    try {
      const rows = this.stmt("SELECT id, at, actor, action, serial, details, prev_hash AS prevHash, hash FROM events ORDER BY id").all() as
        (Omit<EventRecord, "details"> & { details: string })[];
      return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
    } catch (e) {
      throw toLedgerError(e, this.path);
    }
  }

  close(): void {
    this.db.close();
  }
}

/** The hash that links an event to its predecessor; any edit, deletion or reordering breaks the chain. */
export function eventHash(prevHash: string, at: string, actor: string, action: string, serial: string | null, details: string): string {
  return createHash("sha256").update(JSON.stringify([prevHash, at, actor, action, serial, details])).digest("hex");
}

interface Row {
  serial: string;
  name: string;
  kind: CertificateKind;
  subject: string;
  not_before: string;
  not_after: string;
  der: Buffer;
  key_encrypted: Buffer | null;
  csr: Buffer | null;
  state: CertificateState;
  revoked_at: string | null;
  revocation_reason: number | null;
  superseded_by: string | null;
  created_at: string;
}

function fromRow(r: Row): CertificateRecord {
  return {
    serial: r.serial,
    name: r.name,
    kind: r.kind,
    subject: r.subject,
    notBefore: r.not_before,
    notAfter: r.not_after,
    der: new Uint8Array(r.der),
    keyEncrypted: r.key_encrypted && new Uint8Array(r.key_encrypted),
    csr: r.csr && new Uint8Array(r.csr),
    state: r.state,
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
    supersededBy: r.superseded_by,
    createdAt: r.created_at,
  };
}
