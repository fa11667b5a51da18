import type { PoolClient, QueryResultRow } from "pg";
import {
  type CertificateKind, type CertificateQuery, type CertificateRecord, type CertificateState, type CertificateSummary, type CrlRecord, type RootRecord,
  type EventAuthenticator, type EventRecord, eventHash, GENESIS_HASH, type LedgerWriter, type NewCertificate, type NewEvent, type Page, PAGE_SIZE, type PageRequest,
  parseEventDetails, type RevokedEntry, type Role, type RoleRecord, type StateCounts,
} from "../ledger.js";
import { nameKey } from "../name-key.js";
import { type CertificateRow, certificateFilter, fromCertificateRow, fromSummaryRow, SUMMARY_COLUMNS, type SummaryRow } from "../rows.js";
import { toLedgerError } from "./errors.js";

/** The statements of ../sqlite/engine.ts's Handle in PostgreSQL's dialect, on the connection the engine lends to a callback. */
export class PgHandle implements LedgerWriter {
  constructor(
    private readonly db: PoolClient,
    private readonly url: string,
  ) {}

  private async all<R extends QueryResultRow>(sql: string, ...params: unknown[]): Promise<R[]> {
    try {
      return (await this.db.query<R>(sql, params)).rows;
    } catch (e) {
      throw toLedgerError(e, this.url);
    }
  }

  private async get<R extends QueryResultRow>(sql: string, ...params: unknown[]): Promise<R | undefined> {
    return (await this.all<R>(sql, ...params))[0];
  }

  private async run(sql: string, ...params: unknown[]): Promise<number> {
    try {
      return (await this.db.query(sql, params)).rowCount ?? 0;
    } catch (e) {
      throw toLedgerError(e, this.url);
    }
  }

  private async one(sql: string, ...params: unknown[]): Promise<CertificateRecord | undefined> {
    const row = await this.get<CertificateRow>(sql, ...params);
    return row && fromCertificateRow(row);
  }

  async activeRoot(): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1");
  }

  async bySerial(serial: string): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE serial = $1", serial);
  }

  async activeByName(name: string, kind: CertificateKind): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE kind = $1 AND name = $2 AND state = 'active'", kind, name);
  }

  async latestByName(name: string): Promise<CertificateRecord | undefined> {
    return this.one("SELECT * FROM certificates WHERE name = $1 ORDER BY state = 'active' DESC, created_at DESC, seq DESC LIMIT 1", name);
  }

  async activeSharingName(name: string): Promise<CertificateSummary[]> {
    return (await this.all<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE name_key = $1 AND state = 'active' ORDER BY created_at, seq`, nameKey(name))).map(fromSummaryRow);
  }

  async unrevokedByName(name: string): Promise<CertificateSummary[]> {
    return (await this.all<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE name = $1 AND state <> 'revoked' ORDER BY created_at, seq`, name)).map(fromSummaryRow);
  }

  async activeNameClashes(): Promise<CertificateSummary[]> {
    const rows = await this.all<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE state = 'active' AND name_key IN
         (SELECT name_key FROM certificates WHERE state = 'active' GROUP BY name_key HAVING count(*) > 1)
       ORDER BY name_key, created_at, seq`,
    );
    return rows.map(fromSummaryRow);
  }

  async nameKeys(minLength: number, maxLength: number): Promise<string[]> {
    return (await this.all<{ name_key: string }>("SELECT DISTINCT name_key FROM certificates WHERE length(name_key) BETWEEN $1 AND $2", minLength, maxLength)).map((r) => r.name_key);
  }

  async nameWithKey(key: string): Promise<string | undefined> {
    return (await this.get<{ name: string }>("SELECT name FROM certificates WHERE name_key = $1 ORDER BY created_at DESC, seq DESC LIMIT 1", key))?.name;
  }

  async certificates(q: CertificateQuery, page: PageRequest = {}): Promise<Page<CertificateRecord>> {
    return this.paged("SELECT seq AS cursor, * FROM certificates", q, { limit: PAGE_SIZE, ...page }, (r: CertificateRow & { cursor: number }) => fromCertificateRow(r));
  }

  async summaries(q: CertificateQuery, page: PageRequest = {}): Promise<Page<CertificateSummary>> {
    return this.paged(`SELECT seq AS cursor, ${SUMMARY_COLUMNS} FROM certificates`, q, page, fromSummaryRow);
  }

  /** Keyset pages in the order recorded (seq); without a limit, the whole listing in one query. */
  private async paged<R extends QueryResultRow & { cursor: number }, T>(select: string, q: CertificateQuery, page: PageRequest, map: (r: R) => T): Promise<Page<T>> {
    const limit = page.limit === undefined ? null : Math.min(page.limit, PAGE_SIZE);
    const [where, params] = certificateFilter(q, (n) => `$${n}`);
    if (page.after) (params.push(Number(page.after)), where.push(`seq > $${params.length}`));
    const sql = `${select} ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY seq${limit === null ? "" : ` LIMIT ${limit + 1}`}`;
    const rows = await this.all<R>(sql, ...params);
    const more = limit !== null && rows.length > limit;
    if (more) rows.pop();
    return { items: rows.map(map), next: more ? String(rows[rows.length - 1]!.cursor) : null };
  }

  async count(q: CertificateQuery): Promise<number> {
    const [where, params] = certificateFilter(q, (n) => `$${n}`);
    return (await this.get<{ n: number }>(`SELECT COUNT(*) AS n FROM certificates ${where.length ? "WHERE " + where.join(" AND ") : ""}`, ...params))!.n;
  }

  async serialExists(serial: string): Promise<boolean> {
    return (await this.get("SELECT 1 FROM certificates WHERE serial = $1", serial)) !== undefined;
  }

  async stateCounts(nowIso: string): Promise<StateCounts> {
    const rows = await this.all<{ state: CertificateState; expired: boolean; n: number }>(
      "SELECT state, not_after < $1 AS expired, COUNT(*) AS n FROM certificates WHERE kind <> 'root' GROUP BY 1, 2",
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
      return this.all<RevokedEntry>(`SELECT serial, revoked_at AS "revokedAt", revocation_reason AS reason FROM certificates WHERE state = 'revoked' AND issuer = $1 ORDER BY revoked_at, serial`, issuer);
    }
    return this.all<RevokedEntry>(`SELECT serial, revoked_at AS "revokedAt", revocation_reason AS reason FROM certificates WHERE state = 'revoked' ORDER BY revoked_at, serial`);
  }

  async revokedLines(): Promise<string> {
    // A NULL would drop the whole line from the concatenation; the digest writes it "null", as JavaScript prints it.
    const sql = `SELECT string_agg(serial || ' ' || COALESCE(revoked_at, 'null') || ' ' || COALESCE(revocation_reason::text, 'null') || E'\\n', '' ORDER BY revoked_at, serial) AS lines FROM certificates WHERE state = 'revoked'`;
    return (await this.get<{ lines: string | null }>(sql))!.lines ?? "";
  }

  async latestCrl(issuer?: string): Promise<CrlRecord | undefined> {
    const columns = `number, this_update AS "thisUpdate", next_update AS "nextUpdate", der, issuer`;
    const row =
      issuer === undefined
        ? await this.get<Omit<CrlRecord, "der"> & { der: Buffer }>(`SELECT ${columns} FROM crls ORDER BY number DESC LIMIT 1`)
        : await this.get<Omit<CrlRecord, "der"> & { der: Buffer }>(`SELECT ${columns} FROM crls WHERE issuer = $1 ORDER BY number DESC LIMIT 1`, issuer);
    return row && { ...row, der: new Uint8Array(row.der) };
  }

  async roots(): Promise<RootRecord[]> {
    const rows = await this.all<CertificateRow & { retired_at: string | null }>("SELECT * FROM certificates WHERE kind = 'root' ORDER BY created_at, seq");
    return rows.map((r, i) => ({ record: fromCertificateRow(r), generation: i + 1, retiredAt: r.retired_at }));
  }

  async nextCrlNumber(): Promise<number> {
    return ((await this.get<{ n: number | null }>("SELECT MAX(number) AS n FROM crls"))!.n ?? 0) + 1;
  }

  async events(page: PageRequest = {}): Promise<Page<EventRecord>> {
    const limit = Math.min(page.limit ?? PAGE_SIZE, PAGE_SIZE);
    const rows = await this.all<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT ${limit + 1}`, Number(page.after ?? 0));
    const more = rows.length > limit;
    if (more) rows.pop();
    return { items: rows.map(fromEventRow), next: more ? String(rows[rows.length - 1]!.id) : null };
  }

  async event(id: number): Promise<EventRecord | undefined> {
    const row = await this.get<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`, id);
    return row && fromEventRow(row);
  }

  async headEventId(): Promise<number> {
    return (await this.get<{ id: number }>("SELECT COALESCE(MAX(id), 0) AS id FROM events"))!.id;
  }

  async setting(key: string): Promise<string | undefined> {
    return (await this.get<{ value: string }>("SELECT value FROM settings WHERE key = $1", key))?.value;
  }

  async settings(): Promise<[string, string][]> {
    return (await this.all<{ key: string; value: string }>(`SELECT key, value FROM settings ORDER BY key COLLATE "C"`)).map((r) => [r.key, r.value]);
  }

  async role(name: string): Promise<Role | undefined> {
    return (await this.get<{ role: Role }>("SELECT role FROM roles WHERE name_key = $1", nameKey(name)))?.role;
  }

  async roles(): Promise<RoleRecord[]> {
    return this.all<RoleRecord>("SELECT name, role FROM roles ORDER BY name_key");
  }

  async insertCertificate(c: NewCertificate): Promise<void> {
    await this.run(
      `INSERT INTO certificates (serial, name, name_key, kind, subject, not_before, not_after, der, key_encrypted, csr, created_at, issuer)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
         COALESCE($12, CASE WHEN $4 = 'root' THEN $1 END, (SELECT serial FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1)))`,
      c.serial, c.name, nameKey(c.name), c.kind, c.subject, c.notBefore, c.notAfter, c.der, c.keyEncrypted, c.csr, c.createdAt, c.issuer ?? null,
    );
  }

  async markRevoked(serial: string, at: string, reason: number): Promise<void> {
    await this.run("UPDATE certificates SET state = 'revoked', revoked_at = $1, revocation_reason = $2 WHERE serial = $3", at, reason, serial);
  }

  async markUnrevoked(serial: string): Promise<void> {
    await this.run("UPDATE certificates SET state = CASE WHEN superseded_by IS NULL THEN 'active' ELSE 'superseded' END, revoked_at = NULL, revocation_reason = NULL WHERE serial = $1 AND state = 'revoked'", serial);
  }

  async markSuperseded(serial: string, by: string): Promise<void> {
    await this.run("UPDATE certificates SET superseded_by = $1, state = CASE state WHEN 'active' THEN 'superseded' ELSE state END WHERE serial = $2", by, serial);
  }

  async insertCrl(crl: Omit<CrlRecord, "der"> & { der: Uint8Array }): Promise<void> {
    await this.run(
      "INSERT INTO crls (number, this_update, next_update, der, issuer) VALUES ($1, $2, $3, $4, COALESCE($5, (SELECT serial FROM certificates WHERE kind = 'root' AND state = 'active' ORDER BY created_at DESC LIMIT 1)))",
      crl.number, crl.thisUpdate, crl.nextUpdate, crl.der, crl.issuer ?? null,
    );
  }

  async retireRoot(serial: string, at: string): Promise<void> {
    await this.run("UPDATE certificates SET retired_at = $1 WHERE serial = $2 AND kind = 'root'", at, serial);
  }

  async replaceKey(serial: string, expected: Uint8Array, replacement: Uint8Array): Promise<boolean> {
    return (await this.run("UPDATE certificates SET key_encrypted = $1 WHERE serial = $2 AND key_encrypted = $3", replacement, serial, expected)) === 1;
  }

  /** The engine holds the write lock, so MAX(id) + 1 is free and the chain cannot fork. */
  async appendEvent(e: NewEvent, key: EventAuthenticator): Promise<EventRecord> {
    const last = await this.get<{ id: number; hash: string }>("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1");
    const prevHash = last?.hash ?? GENESIS_HASH;
    const id = (last?.id ?? 0) + 1;
    const details = JSON.stringify(e.details);
    const hash = eventHash(prevHash, e.at, e.actor, e.action, e.serial, details);
    const mac = key.eventMac(hash);
    await this.run(
      "INSERT INTO events (id, at, actor, action, serial, details, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      id, e.at, e.actor, e.action, e.serial, details, prevHash, hash, mac,
    );
    return { ...e, id, prevHash, hash, mac };
  }

  async setSetting(key: string, value: string | null): Promise<void> {
    if (value === null) await this.run("DELETE FROM settings WHERE key = $1", key);
    else await this.run("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  async setRole(name: string, role: Role | null): Promise<void> {
    if (role === null) await this.run("DELETE FROM roles WHERE name_key = $1", nameKey(name));
    else await this.run("INSERT INTO roles (name_key, name, role) VALUES ($1, $2, $3) ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, role = excluded.role", nameKey(name), name, role);
  }
}

type EventRow = Omit<EventRecord, "details"> & { details: string };

const EVENT_COLUMNS = `id, at, actor, action, serial, details, prev_hash AS "prevHash", hash, mac`;

function fromEventRow(r: EventRow): EventRecord {
  return { ...r, details: parseEventDetails(r.details) };
}

