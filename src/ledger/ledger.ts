import { createHash } from "node:crypto";

/**
 * The ledger contract: what the authority needs from persistence, and nothing more. Every
 * engine (SQLite in ./sqlite, PostgreSQL next) implements it and passes the same contract
 * suite (test/ledger-contract.ts).
 *
 * - `read(fn)` runs `fn` on one consistent snapshot.
 * - `write(fn)` runs `fn` in one transaction that holds the ledger's single write lock, in
 *   this process and across processes: concurrent writers queue, so serials drawn, CRL
 *   numbers (MAX + 1) and the event chain (each event hashes its predecessor) stay unique,
 *   gap-free and linear. All of it is stored, or none (a throw rolls back).
 * - Callbacks must not call `read` or `write` again (use the handle they get): that is a
 *   LedgerError "nested" instead of a deadlock.
 */
export interface Ledger {
  read<T>(fn: (r: LedgerReader) => Promise<T>): Promise<T>;
  write<T>(fn: (tx: LedgerWriter) => Promise<T>): Promise<T>;
  /** The engine's own consistency check: an empty list means the store is sound. */
  integrityProblems(): Promise<string[]>;
  /**
   * An online, consistent copy into a new file at `path` (safe while other processes write);
   * returns how many certificates the copy holds (others may have issued since).
   */
  backupTo(path: string, onProgress?: (done: number, total: number) => void): Promise<{ certificates: number }>;
  close(): Promise<void>;
}

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
  /** Serial of the root that signed it (a root names itself); see pki rotate-root. */
  issuer: string | null;
}

/** A certificate without its blobs: what listings need, at a fraction of the I/O. */
export type CertificateSummary = Omit<CertificateRecord, "der" | "keyEncrypted" | "csr"> & { hasKey: boolean };

export type NewCertificate = Omit<CertificateRecord, "state" | "revokedAt" | "revocationReason" | "supersededBy" | "der" | "keyEncrypted" | "csr" | "issuer"> & {
  /** Default: the active root (a root: itself). */
  issuer?: string | null;
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
  /** Only certificates whose key the ledger holds. */
  withKey?: boolean;
  /** Only certificates signed by the root with this serial. */
  issuer?: string;
}

/** One page of a listing; pass `next` as `after` to get the following one (null: no more). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface PageRequest {
  /** An opaque cursor from the previous page. */
  after?: string | null;
  /** At most PAGE_SIZE. Default: PAGE_SIZE for certificates and events, everything for summaries. */
  limit?: number;
}

export const PAGE_SIZE = 500;

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
  /** Serial of the root that signed it. CRL numbers are one sequence shared by every root. */
  issuer: string | null;
}

/** A root CA of this ledger: the first is generation 1; each pki rotate-root adds the next. */
export interface RootRecord {
  record: CertificateRecord;
  generation: number;
  /** When pki rotate-root --finish retired it (null: it is trusted still). */
  retiredAt: string | null;
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
  /** The history key's MAC over `hash` (see EventAuthenticator); null on events written before the ledger stored MACs. */
  mac: string | null;
}

/**
 * What authenticates an event: a MAC over its chain hash (which covers every earlier event),
 * made with a key the ledger never sees. The engine only stores and returns it; verifying is
 * the authority's job (src/ca/history.ts).
 */
export interface EventAuthenticator {
  eventMac(hash: string): string;
}

/** Key of the stored text in the details of an event whose details are not a JSON object: a row edited outside pki. */
export const MALFORMED_DETAILS = Symbol("malformed event details");

/** An event's stored details, for engines to use: a JSON object, else `{ [MALFORMED_DETAILS]: text }` for the audit to report. */
export function parseEventDetails(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { [MALFORMED_DETAILS]: text };
}

/** A role the mTLS API grants a certificate name; a name without one may only renew itself. */
export type Role = "admin";

export interface RoleRecord {
  name: string;
  role: Role;
}

export type NewEvent = Pick<EventRecord, "at" | "actor" | "action" | "serial" | "details">;

/**
 * Queries. Listings come in the order recorded; certificate pages carry blobs, summaries do not
 * and come whole unless a limit is asked for (one indexed query: a filtered listing paged by
 * its recording order rescans the filter's matches for every page).
 */
export interface LedgerReader {
  activeRoot(): Promise<CertificateRecord | undefined>;
  bySerial(serial: string): Promise<CertificateRecord | undefined>;
  activeByName(name: string, kind: CertificateKind): Promise<CertificateRecord | undefined>;
  /** The active certificate of that name, else the newest one. */
  latestByName(name: string): Promise<CertificateRecord | undefined>;
  /** Active certificates of any kind whose name equals `name` after case folding (see nameKey). */
  activeSharingName(name: string): Promise<CertificateSummary[]>;
  /** Certificates named exactly `name` that are not revoked (active or superseded, expired or not), oldest first. */
  unrevokedByName(name: string): Promise<CertificateSummary[]>;
  /** Active certificates that share their folded name with another active one, grouped by name, oldest first. */
  activeNameClashes(): Promise<CertificateSummary[]>;
  /** Distinct folded names (nameKey) from `minLength` to `maxLength` characters, read from their index alone. */
  nameKeys(minLength: number, maxLength: number): Promise<string[]>;
  /** A certificate name whose folded form is `key`, the newest. */
  nameWithKey(key: string): Promise<string | undefined>;
  certificates(q: CertificateQuery, page?: PageRequest): Promise<Page<CertificateRecord>>;
  summaries(q: CertificateQuery, page?: PageRequest): Promise<Page<CertificateSummary>>;
  count(q: CertificateQuery): Promise<number>;
  serialExists(serial: string): Promise<boolean>;
  /** Leaf certificates per state, the active ones split by whether not_after is before `nowIso`. */
  stateCounts(nowIso: string): Promise<StateCounts>;
  /** Revoked certificates in CRL order; with `issuer`, only those that root signed. */
  revokedEntries(issuer?: string): Promise<RevokedEntry[]>;
  /**
   * Every revoked certificate as revokedEntries lists them, one line each ("serial revokedAt
   * reason\n"), in one string: what the anchor's digest covers and a large CRL is encoded from,
   * without an object per certificate (for 100,000 most of a `pki crl`'s reading and GC).
   */
  revokedLines(): Promise<string>;
  /** The newest CRL, or the newest one `issuer` (a root's serial) signed. */
  latestCrl(issuer?: string): Promise<CrlRecord | undefined>;
  /** Every root, oldest (generation 1) first. */
  roots(): Promise<RootRecord[]>;
  /** The next CRL number: one more than the highest stored (1 for none). */
  nextCrlNumber(): Promise<number>;
  events(page?: PageRequest): Promise<Page<EventRecord>>;
  /** One event by id. */
  event(id: number): Promise<EventRecord | undefined>;
  /**
   * The id of the newest event (0 when none). Every change appends an event, so a reader that
   * sees the same id sees the same state: long-running readers (the OCSP responder) cache on it.
   */
  headEventId(): Promise<number>;
  setting(key: string): Promise<string | undefined>;
  /** Every stored setting as [key, value], in key order (restore checks each one). */
  settings(): Promise<[string, string][]>;
  /** The role of `name`, compared after case folding (see nameKey). */
  role(name: string): Promise<Role | undefined>;
  /** Every name that has a role, by name. */
  roles(): Promise<RoleRecord[]>;
}

/** Changes; only inside `write`. */
export interface LedgerWriter extends LedgerReader {
  /** A duplicate serial, or a second active certificate for a name (after case folding, whatever its kind), is a LedgerError "conflict". */
  insertCertificate(cert: NewCertificate): Promise<void>;
  markRevoked(serial: string, at: string, reason: number): Promise<void>;
  /** Ends a revocation (a released certificateHold): the certificate is active again, or superseded if it has a successor. */
  markUnrevoked(serial: string): Promise<void>;
  /** Links `serial` to its successor; an active certificate becomes superseded, a revoked one stays revoked. */
  markSuperseded(serial: string, by: string): Promise<void>;
  /** CRL numbers are unique: storing one twice is a LedgerError "conflict". */
  insertCrl(crl: Omit<CrlRecord, "der" | "issuer"> & { der: Uint8Array; issuer?: string | null }): Promise<void>;
  /** Marks a root retired (pki rotate-root --finish): it stays in the ledger, out of ca.pem and crl.pem. */
  retireRoot(serial: string, at: string): Promise<void>;
  /** Replaces a stored key only if it is still `expected` (another process may have changed it). */
  replaceKey(serial: string, expected: Uint8Array, replacement: Uint8Array): Promise<boolean>;
  /** Appends to the hash chain (the new event's prevHash is the newest event's hash) with `key`'s MAC over the new hash. */
  appendEvent(event: NewEvent, key: EventAuthenticator): Promise<EventRecord>;
  /** Sets (or with `null`, removes) an operator setting. */
  setSetting(key: string, value: string | null): Promise<void>;
  /** Gives `name` a role, or with `null` takes its role away. */
  setRole(name: string, role: Role | null): Promise<void>;
}

/** Every item of a paged listing, fetched one page at a time (memory stays flat). */
export async function* allPages<T>(fetch: (page: PageRequest) => Promise<Page<T>>): AsyncGenerator<T> {
  let after: string | null = null;
  do {
    const page: Page<T> = await fetch({ after });
    yield* page.items;
    after = page.next;
  } while (after !== null);
}

/** Collects a paged listing into an array: for listings that are printed whole anyway. */
export async function collect<T>(fetch: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of allPages(fetch)) out.push(item);
  return out;
}

export const GENESIS_HASH = "0".repeat(64);

/** The hash that links an event to its predecessor; any edit, deletion or reordering breaks the chain. */
export function eventHash(prevHash: string, at: string, actor: string, action: string, serial: string | null, details: string): string {
  return createHash("sha256").update(JSON.stringify([prevHash, at, actor, action, serial, details])).digest("hex");
}
