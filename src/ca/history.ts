// The pieces of the authenticated history shared by the guard every change passes
// (history-guard.ts) and the full verification (audit.ts): event MACs, the digest of the revoked
// certificates, the anchor file, and what settings events change.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HistoryKey } from "../crypto/history-key.js";
import type { EventAuthenticator, EventRecord, RevokedEntry, RoleRecord, RootRecord } from "../ledger/ledger.js";
import { PkiError } from "./errors.js";
import type { Home } from "./home.js";
import { nameKey } from "./names.js";
import { fingerprint } from "./records.js";

/** The event that seals a ledger's unauthenticated (legacy) events: the first change made with the CA key after the upgrade appends it. */
export const HISTORY_SEALED = "history-sealed";

/** The anchor: the newest authenticated event and the state it vouches for, kept outside the ledger so that deleting the newest events shows. */
export const ANCHOR_FILE = "ledger.anchor";

export function anchorPath(home: Home): string {
  return join(home.dir, ANCHOR_FILE);
}

/** The history key in the ledger's terms: MACs over event hashes, each input labelled so no MAC is valid for another purpose. */
export class HistoryAuthenticator implements EventAuthenticator {
  constructor(readonly key: HistoryKey) {}

  eventMac(hash: string): string {
    return this.key.mac(`pki event ${hash}`);
  }

  verifyEvent(e: Pick<EventRecord, "hash" | "mac">): boolean {
    return e.mac !== null && this.key.verify(`pki event ${e.hash}`, e.mac);
  }
}

/** How many certificates are revoked, and a MAC over them (serial, time, reason) in the ledger's CRL order. */
export interface RevocationDigest {
  count: number;
  digest: string;
}

/** What the revoked list's digest starts with: both ways of computing it (entries, lines) must agree byte for byte. */
const REVOKED_DIGEST_HEADER = "pki revoked v1\n";

/**
 * The digest of `entries` (as revokedEntries lists them) without those in `leaveOut`: what
 * the anchor's digest covered when the revocations made since are taken away. Keyed, so that
 * nobody without the CA key can find another list with the same digest.
 */
export function revocationDigest(key: HistoryKey, entries: readonly RevokedEntry[], leaveOut?: ReadonlySet<string>): RevocationDigest {
  let count = 0;
  // The same bytes as one line per entry, handed to the MAC a thousand lines at a time (fewer calls into native code).
  function* lines(): Generator<string> {
    yield REVOKED_DIGEST_HEADER;
    let chunk = "";
    for (const e of entries) {
      if (leaveOut?.has(e.serial)) continue;
      chunk += `${e.serial} ${e.revokedAt} ${e.reason}\n`;
      if (++count % 1000 === 0) {
        yield chunk;
        chunk = "";
      }
    }
    yield chunk;
  }
  const digest = key.macAll(lines());
  return { count, digest };
}

/** revocationDigest of the list as revokedLines gives it (the same bytes, so the same digest). */
export function revocationDigestOfLines(key: HistoryKey, lines: string): RevocationDigest {
  const count = lineCount(lines);
  // In slices, as revocationDigest hands it over: a token's C_SignUpdate is not given 6 MB at once.
  function* parts(): Generator<string> {
    yield REVOKED_DIGEST_HEADER;
    for (let i = 0; i < lines.length; i += 1 << 16) yield lines.slice(i, i + (1 << 16));
  }
  return { count, digest: key.macAll(parts()) };
}

/** How many certificates a revokedLines list holds. */
export function lineCount(lines: string): number {
  let count = 0;
  for (let at = lines.indexOf("\n"); at !== -1; at = lines.indexOf("\n", at + 1)) count++;
  return count;
}

/** The revoked certificates in CRL order (revokedEntries' ORDER BY revoked_at, serial; both engines compare bytes). */
export function crlOrder(a: RevokedEntry, b: RevokedEntry): number {
  return a.revokedAt < b.revokedAt ? -1 : a.revokedAt > b.revokedAt ? 1 : a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0;
}

/** `entries` (in CRL order) with `added` in their places; a serial in both keeps its entry from `added`. */
export function withRevocations(entries: readonly RevokedEntry[], added: readonly RevokedEntry[]): RevokedEntry[] {
  const fresh = [...new Map(added.map((e) => [e.serial, e])).values()].sort(crlOrder);
  const replaced = new Set(fresh.map((e) => e.serial));
  const out: RevokedEntry[] = [];
  let i = 0;
  for (const e of entries) {
    if (replaced.has(e.serial)) continue;
    while (i < fresh.length && crlOrder(fresh[i]!, e) < 0) out.push(fresh[i++]!);
    out.push(e);
  }
  for (; i < fresh.length; i++) out.push(fresh[i]!);
  return out;
}

/** A revoked list and its digest as this process computed them for the anchor it wrote: what a following change may start from. */
export interface KnownRevocations {
  entries: readonly RevokedEntry[];
  digest: RevocationDigest;
}

export interface Anchor {
  /** The newest event when it was written, and its hash. */
  event: number;
  hash: string;
  /** The newest CRL number (0: none). */
  crl: number;
  revoked: RevocationDigest;
  /** Every setting (hooks included): what `pki config` and `pki hook` left. */
  settings: Record<string, string>;
  /** API roles by folded name (see rolesByName): what `pki role set` left. */
  roles: Record<string, string>;
  /**
   * Every root by serial (see rootsBySerial): what init-root, rotate-root and --finish left.
   * Absent from anchors written before rotation existed; the history vouches for those instead.
   */
  roots?: Record<string, string>;
  mac: string;
}

/** The ledger's roots as the anchor records them: serial → "SHA-256 of the DER", then " retired AT" once retired. */
export function rootsBySerial(roots: readonly RootRecord[]): Record<string, string> {
  return Object.fromEntries(roots.map((r) => [r.record.serial, r.retiredAt === null ? fingerprint(r.record.der) : `${fingerprint(r.record.der)} retired ${r.retiredAt}`]));
}

/** The ledger's roles as the anchor records them: folded name → role. */
export function rolesByName(roles: readonly RoleRecord[]): Record<string, string> {
  return Object.fromEntries(roles.map((r) => [nameKey(r.name), r.role]));
}

function anchorMacInput(a: Omit<Anchor, "mac">): string {
  const sorted = (m: Record<string, string>) => Object.entries(m).sort(([x], [y]) => (x < y ? -1 : 1));
  return JSON.stringify(["pki anchor v1", a.event, a.hash, a.crl, a.revoked.count, a.revoked.digest, sorted(a.settings), sorted(a.roles), ...(a.roots ? [sorted(a.roots)] : [])]);
}

export function makeAnchor(auth: HistoryAuthenticator, content: Omit<Anchor, "mac">): Anchor {
  return { ...content, mac: auth.key.mac(anchorMacInput(content)) };
}

export function anchorIsAuthentic(auth: HistoryAuthenticator, a: Anchor): boolean {
  return auth.key.verify(anchorMacInput(a), a.mac);
}

/** The home's anchor; null when there is none; "malformed" when the file is not one. */
export function readAnchor(home: Home): Anchor | null | "malformed" {
  let text: string;
  try {
    text = readFileSync(anchorPath(home), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    const a = JSON.parse(text) as Anchor;
    const wellFormed =
      Number.isSafeInteger(a.event) && typeof a.hash === "string" && Number.isSafeInteger(a.crl) && Number.isSafeInteger(a.revoked?.count) &&
      typeof a.revoked.digest === "string" && typeof a.mac === "string" && stringMap(a.settings) && stringMap(a.roles) &&
      (a.roots === undefined || stringMap(a.roots));
    return wellFormed ? a : "malformed";
  } catch {
    return "malformed";
  }
}

function stringMap(m: unknown): m is Record<string, string> {
  return typeof m === "object" && m !== null && Object.values(m).every((v) => typeof v === "string");
}

/** The setting an event changed, as [key, new value or null for removed]; null for other events. */
export function settingChange(e: Pick<EventRecord, "action" | "details">): [string, string | null] | null {
  const value = (v: unknown) => (typeof v === "string" ? v : null);
  if (e.action === "config-set" && typeof e.details.key === "string") return [`config.${e.details.key}`, value(e.details.value)];
  if (e.action === "hook-set" && typeof e.details.hook === "string") return [`hooks.${e.details.hook}`, value(e.details.command)];
  return null;
}

/** Settings the history speaks for: operator settings and hooks. */
export function isRecordedSetting(key: string): boolean {
  return key.startsWith("config.") || key.startsWith("hooks.");
}

/** A change refused because the ledger disagrees with its authenticated history. */
export function tampered(what: string, code = "LEDGER_TAMPERED"): PkiError {
  return new PkiError(
    "storage",
    `the ledger does not match its authenticated history: ${what}; nothing was changed`,
    "the ledger was edited outside pki: pki audit --verify lists what differs; restore a backup you trust",
    code,
  );
}
