import { allPages, type EventRecord, eventHash, GENESIS_HASH, type LedgerReader, MALFORMED_DETAILS, type RevokedEntry } from "../ledger/ledger.js";
import { CrlReason } from "../crypto/crl-reason.js";
import { type Anchor, ANCHOR_FILE, anchorIsAuthentic, crlOrder, type HistoryAuthenticator, isRecordedSetting, type KnownRevocations, revocationDigest, revocationDigestOfLines, rolesByName, rootsBySerial, type RevocationDigest, settingChange } from "./history.js";
import { nameKey } from "./names.js";
import { fingerprint } from "./records.js";
import { when } from "./views.js";

export interface AuditReport {
  ok: boolean;
  events: number;
  /** Hash of the newest event. */
  head: string;
  problems: string[];
  /** True when every MAC and the anchor were checked with the CA's history key; false: only consistency was checked, not authenticity. */
  authenticated: boolean;
  /** Events from before the ledger stored MACs (up to the history-sealed event): checked for consistency only. */
  legacyEvents: number;
  /** `verified` (its MAC too), `consistent` (without the key), `missing`, or `none` (no authenticated event yet). */
  anchor: "verified" | "consistent" | "missing" | "none";
}

/** What the anchor vouches for, checked against the ledger as it is. */
export interface AnchorCheck {
  problems: string[];
  /** The digest of the revoked certificates now, when it could be computed whole (no revocation since the anchor), for reuse. */
  revokedNow: RevocationDigest | null;
  /** The revoked certificates as read for the check (null when it stopped before, or `known` or `revokedLines` served), for reuse within the same transaction. */
  revokedEntries: RevokedEntry[] | null;
  /** The same as revokedLines gives them, when the check read them that way (see checkAnchor's `asLines`). */
  revokedLines: string | null;
  /** True when `known` stood for the revoked certificates instead of reading them. */
  knownReused: boolean;
}

/**
 * Checks the ledger against its anchor: the anchored event still exists unchanged, every later
 * event links and carries a valid MAC, and the newest CRL number, the revoked certificates
 * and the settings are the anchor's plus what those events changed. Cost: the events since
 * the anchor (normally none) and one pass over the revoked certificates. `asLines`: when nothing
 * was revoked or released since the anchor, read them as revokedLines (one string, digested as
 * it is) instead of an object each.
 */
export async function checkAnchor(r: LedgerReader, auth: HistoryAuthenticator | null, anchor: Anchor, known?: KnownRevocations, asLines = false): Promise<AnchorCheck> {
  const problems: string[] = [];
  if (auth && !anchorIsAuthentic(auth, anchor)) return stopped(`${ANCHOR_FILE} was not written by this CA (its MAC does not verify)`);
  const anchored = await r.event(anchor.event);
  if (!anchored) {
    const head = await r.headEventId();
    return stopped(`event ${anchor.event}, the newest when pki last wrote ${ANCHOR_FILE}, is missing (the log ends at event ${head}): events were deleted`);
  }
  if (anchored.hash !== anchor.hash) return stopped(`event ${anchor.event} is not the one ${ANCHOR_FILE} recorded: the history was rewritten`);
  if (auth && !auth.verifyEvent(anchored)) return stopped(`event ${anchor.event} carries no valid MAC`);
  let prev = anchored.hash;
  let crl = anchor.crl;
  const revokedSince = new Set<string>();
  // Holds released since the anchor, as the anchor's list still has them (pki unrevoke).
  const released = new Map<string, RevokedEntry>();
  const settings = { ...anchor.settings };
  const roles = { ...anchor.roles };
  const roots = anchor.roots ? { ...anchor.roots } : null;
  for (let after = String(anchor.event); ; ) {
    const page = await r.events({ after });
    for (const e of page.items) {
      if (e.prevHash !== prev || e.hash !== hashOf(e)) return stopped(`event ${e.id} does not follow the anchored history`);
      if (auth && !auth.verifyEvent(e)) return stopped(`event ${e.id} (${e.action} at ${when(e.at)}) carries no valid MAC`);
      prev = e.hash;
      if (e.action === "revoked" && e.serial) revokedSince.add(e.serial);
      // A hold placed after the anchor and released again was never in the anchor's list.
      if (e.action === "unrevoked" && e.serial && !revokedSince.delete(e.serial)) {
        released.set(e.serial, { serial: e.serial, revokedAt: String(e.details.heldSince), reason: CrlReason.certificateHold });
      }
      if (e.action === "crl-generated") crl = Math.max(crl, Number(e.details.number));
      const change = settingChange(e);
      if (change) {
        if (change[1] === null) delete settings[change[0]];
        else settings[change[0]] = change[1];
      }
      if (e.action === "role-set") {
        const key = nameKey(String(e.details.name));
        if (e.details.role === "none") delete roles[key];
        else roles[key] = String(e.details.role);
      }
      if (roots) applyRootEvent(roots, e);
    }
    if (page.next === null) break;
    after = page.next;
  }

  const newestCrl = (await r.nextCrlNumber()) - 1;
  if (newestCrl !== crl) problems.push(`the ledger's newest CRL is #${newestCrl}, the history's is #${crl}: ${newestCrl < crl ? "CRLs were deleted" : "a CRL was added outside pki"}`);

  const unchanged = revokedSince.size === 0 && released.size === 0;
  // The list this process computed the anchor's digest over (revoke --from, between its chunks): the
  // anchor's MAC vouches for it as for a list read back, and the ledger's count is still compared.
  const reuse = auth !== null && unchanged && known !== undefined && known.digest.digest === anchor.revoked.digest && known.digest.count === anchor.revoked.count;
  const lines = asLines && auth !== null && unchanged && !reuse ? await r.revokedLines() : null;
  const read = reuse || lines !== null ? null : await r.revokedEntries();
  // Only `lines` leave this empty, and with them (unchanged) the entries are not looked at.
  const entries = read ?? (reuse ? known!.entries : []);
  if (revokedSince.size > 0) {
    const now = new Set(entries.map((e) => e.serial));
    for (const s of revokedSince) if (!now.has(s)) problems.push(`certificate ${s} was revoked (see pki audit) but the ledger no longer lists it as revoked`);
  }
  let revokedNow: RevocationDigest | null = null;
  if (auth) {
    const before = reuse
      ? { count: await r.count({ state: "revoked" }), digest: known.digest.digest }
      : lines !== null
        ? revocationDigestOfLines(auth.key, lines)
        : revocationDigest(auth.key, unchanged ? entries : asAnchored(entries, revokedSince, released));
    if (before.count !== anchor.revoked.count) {
      const missing = anchor.revoked.count - before.count;
      problems.push(missing > 0 ? `${missing} revoked certificate(s) are no longer revoked in the ledger: un-revoked outside pki` : `${-missing} certificate(s) are revoked in the ledger without a revocation event`);
    } else if (before.digest !== anchor.revoked.digest) {
      problems.push("the revoked certificates (serials, dates or reasons) differ from the history's");
    }
    if (unchanged) revokedNow = before;
  }

  const actual = Object.fromEntries(await r.settings());
  for (const key of new Set([...Object.keys(settings), ...Object.keys(actual)])) {
    if (isRecordedSetting(key) && settings[key] !== actual[key]) problems.push(settingProblem(key, actual[key], settings[key]));
  }
  // The API trusts a role on every request: one added behind pki's back would make its holder an admin.
  const actualRoles = rolesByName(await r.roles());
  for (const key of new Set([...Object.keys(roles), ...Object.keys(actualRoles)])) {
    if (roles[key] !== actualRoles[key]) problems.push(`the role of "${key}" is ${actualRoles[key] ?? "none"} in the ledger but ${roles[key] ?? "none"} in the history: changed outside pki`);
  }
  // Every trusted root goes into ca.pem, the API's client CAs and the OCSP issuers: one added behind pki's back would be trusted.
  const recordedRoots = roots ?? (await rootsFromHistory(r, auth, anchor));
  if (typeof recordedRoots === "string") return { problems: [...problems, recordedRoots], revokedNow, revokedEntries: read, revokedLines: lines, knownReused: reuse };
  const actualRoots = rootsBySerial(await r.roots());
  for (const serial of new Set([...Object.keys(recordedRoots), ...Object.keys(actualRoots)])) {
    const [recorded, actual] = [recordedRoots[serial], actualRoots[serial]];
    // A legacy ca-created event recorded no fingerprint: its root is vouched for by serial (audit --verify compares the certificate).
    const expected = recorded?.startsWith(UNKNOWN_FINGERPRINT) && actual ? actual.split(" ")[0]! + recorded.slice(UNKNOWN_FINGERPRINT.length) : recorded;
    if (expected !== actual) problems.push(`root ${serial} is ${rootState(actual)} in the ledger but ${rootState(expected)} in the history: changed outside pki`);
  }
  return { problems, revokedNow, revokedEntries: read, revokedLines: lines, knownReused: reuse };
}

const UNKNOWN_FINGERPRINT = "?";

/** Follows init-root, rotate-root and --finish in `roots` (serial → as rootsBySerial records it). */
function applyRootEvent(roots: Record<string, string>, e: EventRecord): void {
  if ((e.action === "ca-created" || e.action === "root-rotated") && e.serial) roots[e.serial] = typeof e.details.sha256 === "string" ? e.details.sha256 : UNKNOWN_FINGERPRINT;
  if (e.action === "root-retired" && e.serial && roots[e.serial] !== undefined) roots[e.serial] = `${roots[e.serial]!.split(" ")[0]!} retired ${e.at}`;
}

/**
 * The roots as the whole history up to the anchored event and since leaves them, for an anchor
 * written before anchors recorded roots; a string: the history that would vouch for them does not hold.
 */
async function rootsFromHistory(r: LedgerReader, auth: HistoryAuthenticator | null, anchor: Anchor): Promise<Record<string, string> | string> {
  const roots: Record<string, string> = {};
  let prev = GENESIS_HASH;
  for await (const e of allPages((page) => r.events(page))) {
    if (e.prevHash !== prev || e.hash !== hashOf(e)) return `event ${e.id} does not follow the event before it: the history was rewritten`;
    if (auth && e.mac !== null && !auth.verifyEvent(e)) return `event ${e.id} (${e.action} at ${when(e.at)}) carries no valid MAC`;
    if (e.id === anchor.event && e.hash !== anchor.hash) return `event ${anchor.event} is not the one ${ANCHOR_FILE} recorded: the history was rewritten`;
    prev = e.hash;
    applyRootEvent(roots, e);
  }
  return roots;
}

function rootState(v: string | undefined): string {
  if (v === undefined) return "absent";
  const [sha256, retired, at] = v.split(" ");
  return `${retired ? `retired (${at!})` : "trusted"} with SHA-256 ${sha256!.slice(0, 16)}…`;
}

/**
 * The revoked certificates as the anchor saw them: without those revoked since, with the holds
 * released since, in the ledger's order (revocation time, then serial).
 */
function asAnchored(entries: readonly RevokedEntry[], revokedSince: ReadonlySet<string>, released: ReadonlyMap<string, RevokedEntry>): RevokedEntry[] {
  return [...entries.filter((e) => !revokedSince.has(e.serial)), ...released.values()].sort(crlOrder);
}

/** A check that cannot go on past its first problem. */
function stopped(problem: string): AnchorCheck {
  return { problems: [problem], revokedNow: null, revokedEntries: null, revokedLines: null, knownReused: false };
}

function settingProblem(key: string, actual: string | undefined, recorded: string | undefined): string {
  const v = (s: string | undefined) => (s === undefined ? "unset" : JSON.stringify(s));
  return `setting ${key} is ${v(actual)} in the ledger but ${v(recorded)} in the history: changed outside pki`;
}

function hashOf(e: EventRecord): string {
  return eventHash(e.prevHash, e.at, e.actor, e.action, e.serial, JSON.stringify(e.details));
}

const STATES = new Set<string>(["active", "revoked", "superseded"]);

/** What the history says of one certificate. */
interface Recorded {
  event: EventRecord;
  authenticated: boolean;
}

/**
 * Verifies the whole history: every hash recomputes, every event links to the one before, every
 * event after the legacy ones carries a valid MAC (with `auth`), the anchor agrees, and the
 * tables agree with what the events say: each certificate's creation (bytes, and for
 * authenticated events name and kind) and state (active, superseded, revoked), the newest CRL,
 * and the settings and hooks. `anchor` "not-judged": the caller is about to write a new one. Without `auth` the same consistency is checked, not authenticity:
 * anyone who can write the ledger can recompute hashes.
 */
export async function verifyAudit(r: LedgerReader, auth: HistoryAuthenticator | null, anchor: Anchor | null | "malformed" | "not-judged"): Promise<AuditReport> {
  const problems: string[] = [];
  let prev = GENESIS_HASH;
  let lastId = 0;
  let count = 0;
  let legacy = 0;
  let sealed = false;
  const created = new Map<string, Recorded>();
  const revoked = new Map<string, number>();
  const superseded = new Set<string>();
  const retired = new Set<string>();
  const crls = new Map<number, EventRecord>();
  let newestRecorded = 0;
  const settings: Record<string, string> = {};
  /** Folded name → [name, role] as the newest role-set event left it. */
  const roles = new Map<string, [string, string]>();
  for await (const e of allPages((page) => r.events(page))) {
    count++;
    const what = `event ${e.id} (${e.action} at ${when(e.at)})`;
    if (e.id <= lastId) problems.push(`event ${e.id} is out of order`);
    if (e.prevHash !== prev) problems.push(`event ${e.id} does not follow event ${lastId || "(start)"}: an event was removed or reordered before it`);
    if (e.hash !== hashOf(e)) problems.push(`${what} was edited: its hash does not match its content`);
    if (e.mac === null) {
      if (sealed) problems.push(`${what} has no MAC although earlier events have one: it was added or stripped outside pki`);
      else legacy++;
    } else {
      sealed = true;
      if (auth && !auth.verifyEvent(e)) problems.push(`${what} carries a MAC this CA did not make: it was forged or edited and its hashes recomputed`);
    }
    prev = e.hash;
    lastId = e.id;
    if (MALFORMED_DETAILS in e.details) {
      problems.push(`event ${e.id} (${e.action} at ${when(e.at)}) was edited: its details are not a JSON object`);
      continue;
    }
    const authenticated = e.mac !== null;
    if ((e.action === "ca-created" || e.action === "root-rotated" || e.action === "issued" || e.action === "renewed") && e.serial) {
      created.set(e.serial, { event: e, authenticated });
      for (const old of [e.details.replaces, ...(Array.isArray(e.details.alsoReplaces) ? e.details.alsoReplaces : [])]) if (typeof old === "string") superseded.add(old);
    }
    if (e.action === "superseded" && e.serial) superseded.add(e.serial);
    if (e.action === "root-retired" && e.serial) retired.add(e.serial);
    if (e.action === "revoked" && e.serial) revoked.set(e.serial, e.id);
    if (e.action === "unrevoked" && e.serial) revoked.delete(e.serial);
    if (e.action === "crl-generated") {
      const n = Number(e.details.number);
      crls.set(n, e);
      newestRecorded = Math.max(newestRecorded, n);
    }
    const change = settingChange(e);
    if (change) {
      if (change[1] === null) delete settings[change[0]];
      else settings[change[0]] = change[1];
    }
    if (e.action === "role-set") roles.set(nameKey(String(e.details.name)), [String(e.details.name), String(e.details.role)]);
  }

  for await (const c of allPages((page) => r.certificates({}, page))) {
    const label = `certificate ${c.serial} ("${c.name}")`;
    const rec = created.get(c.serial);
    if (!rec) problems.push(`${label} has no event that created it`);
    else if (rec.event.details.sha256 !== undefined && rec.event.details.sha256 !== fingerprint(c.der)) problems.push(`${label} differs from the one its event recorded`);
    if (!STATES.has(c.state)) problems.push(`${label} has the state "${String(c.state)}", which pki never writes`);
    if (c.state === "revoked" && !revoked.has(c.serial)) problems.push(`${label} is revoked with no revocation event`);
    if (c.state !== "revoked" && revoked.has(c.serial)) problems.push(`${label} was revoked by event ${revoked.get(c.serial)} but the ledger says it is ${c.state}: un-revoked outside pki`);
    if (!rec?.authenticated) continue;
    const details = rec.event.details;
    const kind = rec.event.action === "ca-created" || rec.event.action === "root-rotated" ? "root" : details.kind;
    if (details.name !== undefined && details.name !== c.name) problems.push(`${label} was recorded as "${String(details.name)}": renamed outside pki`);
    if (kind !== undefined && kind !== c.kind) problems.push(`${label} is a ${c.kind} certificate but was recorded as a ${String(kind)} one`);
    const expected = superseded.has(c.serial) ? "superseded" : "active";
    if ((c.state === "active" || c.state === "superseded") && !revoked.has(c.serial) && c.state !== expected) problems.push(`${label} is ${c.state} in the ledger but ${expected} in the history`);
  }
  // A root retired (or brought back) behind pki's back would change what ca.pem trusts.
  for (const root of await r.roots()) {
    if ((root.retiredAt !== null) !== retired.has(root.record.serial)) {
      problems.push(`root ${root.record.serial} ("${root.record.name}") is ${root.retiredAt !== null ? "retired" : "trusted"} in the ledger but ${retired.has(root.record.serial) ? "retired" : "trusted"} in the history`);
    }
  }
  // A role row no event granted would let a certificate use the API as an admin unaudited.
  for (const held of await r.roles()) {
    if (roles.get(nameKey(held.name))?.[1] !== held.role) problems.push(`"${held.name}" has the role ${held.role} with no role-set event granting it`);
  }
  for (const [name, role] of roles.values()) {
    if (role !== "none" && (await r.role(name)) === undefined) problems.push(`a role-set event gave "${name}" the role ${role}, which the ledger no longer holds`);
  }

  const newest = (await r.nextCrlNumber()) - 1;
  if (newestRecorded > newest) problems.push(`CRL #${newestRecorded} (event ${crls.get(newestRecorded)!.id}) is missing from the ledger, whose newest is #${newest}: CRLs were deleted`);
  const latest = await r.latestCrl();
  if (latest) {
    const ev = crls.get(latest.number);
    if (!ev) problems.push(`CRL number ${latest.number} has no event`);
    else if (ev.details.sha256 !== undefined && ev.details.sha256 !== fingerprint(latest.der)) problems.push(`CRL #${latest.number} differs from the one its event recorded`);
  }

  const actual = Object.fromEntries(await r.settings());
  for (const key of new Set([...Object.keys(settings), ...Object.keys(actual)])) {
    if (isRecordedSetting(key) && settings[key] !== actual[key]) problems.push(settingProblem(key, actual[key], settings[key]));
  }

  let anchorState: AuditReport["anchor"] = sealed ? "missing" : "none";
  if (anchor === "malformed") problems.push(`${ANCHOR_FILE} is not an anchor pki wrote`);
  else if (anchor && anchor !== "not-judged") {
    const check = await checkAnchor(r, auth, anchor);
    problems.push(...check.problems);
    anchorState = auth ? "verified" : "consistent";
  } else if (sealed && anchor === null) {
    problems.push(`${ANCHOR_FILE} is missing, so deleting the newest events would not show; if this home was copied without it, pki check --repair verifies the history and writes a new one`);
  }
  return { ok: problems.length === 0, events: count, head: prev, problems, authenticated: auth !== null, legacyEvents: legacy, anchor: anchorState };
}
