import { allPages, type EventRecord, eventHash, GENESIS_HASH, type LedgerReader, MALFORMED_DETAILS } from "../ledger/ledger.js";
import { nameKey } from "./names.js";
import { fingerprint } from "./records.js";
import { when } from "./views.js";

export interface AuditReport {
  ok: boolean;
  events: number;
  /** Hash of the newest event: record it elsewhere to detect a truncated log later. */
  head: string;
  problems: string[];
}

/**
 * Verifies the event log: every hash recomputes, every event links to the one before,
 * and the log agrees with the certificate and CRL tables (so deleting the events of a
 * state change is caught even at the end of the log, where a bare chain cannot tell).
 */
export async function verifyAudit(r: LedgerReader): Promise<AuditReport> {
  const problems: string[] = [];
  let prev = GENESIS_HASH;
  let lastId = 0;
  let count = 0;
  const created = new Map<string, EventRecord>();
  const revoked = new Set<string>();
  const crls = new Set<number>();
  /** Folded name → [name, role] as the newest role-set event left it. */
  const roles = new Map<string, [string, string]>();
  for await (const e of allPages((page) => r.events(page))) {
    count++;
    if (e.id <= lastId) problems.push(`event ${e.id} is out of order`);
    if (e.prevHash !== prev) problems.push(`event ${e.id} does not follow event ${lastId || "(start)"}: an event was removed or reordered before it`);
    const expected = eventHash(e.prevHash, e.at, e.actor, e.action, e.serial, JSON.stringify(e.details));
    if (e.hash !== expected) problems.push(`event ${e.id} (${e.action} at ${when(e.at)}) was edited: its hash does not match its content`);
    prev = e.hash;
    lastId = e.id;
    if (MALFORMED_DETAILS in e.details) {
      problems.push(`event ${e.id} (${e.action} at ${when(e.at)}) was edited: its details are not a JSON object`);
      continue;
    }
    if ((e.action === "ca-created" || e.action === "issued" || e.action === "renewed") && e.serial) created.set(e.serial, e);
    if (e.action === "revoked" && e.serial) revoked.add(e.serial);
    if (e.action === "unrevoked" && e.serial) revoked.delete(e.serial);
    if (e.action === "crl-generated") crls.add(Number(e.details.number));
    if (e.action === "role-set") roles.set(nameKey(String(e.details.name)), [String(e.details.name), String(e.details.role)]);
  }
  for await (const c of allPages((page) => r.certificates({}, page))) {
    const ev = created.get(c.serial);
    if (!ev) problems.push(`certificate ${c.serial} ("${c.name}") has no event that created it`);
    else if (ev.details.sha256 !== undefined && ev.details.sha256 !== fingerprint(c.der)) problems.push(`certificate ${c.serial} ("${c.name}") differs from the one its event recorded`);
    if (c.state === "revoked" && !revoked.has(c.serial)) problems.push(`certificate ${c.serial} ("${c.name}") is revoked with no revocation event`);
  }
  // A role row no event granted would let a certificate use the API as an admin unaudited.
  for (const held of await r.roles()) {
    if (roles.get(nameKey(held.name))?.[1] !== held.role) problems.push(`"${held.name}" has the role ${held.role} with no role-set event granting it`);
  }
  for (const [name, role] of roles.values()) {
    if (role !== "none" && (await r.role(name)) === undefined) problems.push(`a role-set event gave "${name}" the role ${role}, which the ledger no longer holds`);
  }
  const latest = await r.latestCrl();
  if (latest && !crls.has(latest.number)) problems.push(`CRL number ${latest.number} has no event`);
  return { ok: problems.length === 0, events: count, head: prev, problems };
}
