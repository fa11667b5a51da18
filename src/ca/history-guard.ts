import { readFileSync } from "node:fs";
import { crlNumberOf } from "../crypto/crl-number.js";
import type { HistoryKey } from "../crypto/history-key.js";
import { crlPem, readDerOrPem } from "../crypto/pem.js";
import type { EventRecord, LedgerReader, LedgerWriter, NewEvent, RevokedEntry } from "../ledger/ledger.js";
import { type AnchorCheck, checkAnchor, verifyAudit } from "./audit.js";
import { ANCHOR_FILE, anchorPath, HistoryAuthenticator, type KnownRevocations, makeAnchor, rolesByName, rootsBySerial, readAnchor, revocationDigest, revocationDigestOfLines, type RevocationDigest, tampered, withRevocations } from "./history.js";
import { type FileBatch, type Home, SECRET_MODE } from "./home.js";

/** The writer a change works with: every event it appends carries the history key's MAC. */
export type AuthenticatedWriter = Omit<LedgerWriter, "appendEvent"> & { appendEvent(event: NewEvent): Promise<EventRecord> };

export interface GuardOptions {
  /**
   * An authenticated history without its anchor (a home copied without ledger.anchor, a
   * restore): verify the whole history and write a new anchor, instead of refusing.
   */
  reanchor?: boolean;
  /** init-root: the ledger was just created; any anchor file in the folder is a stale one, to be replaced. */
  newLedger?: boolean;
  /**
   * Changes this process makes one after another (revoke --from's chunks): the revoked list the
   * previous one anchored stands for the ledger's while the anchor still vouches for it, instead
   * of being read back and digested again; the change's revocations are merged into it for the
   * new anchor, and the result is left here for the next change.
   */
  revocations?: { known?: KnownRevocations };
}

export interface GuardedChange {
  writer: AuthenticatedWriter;
  /** Stages the new anchor (the newest event and the state after the change), installed after the commit; returns that event's id (0: none). */
  stageAnchor(files: FileBatch): Promise<number>;
}

/**
 * Inside a change's write transaction, before the change: the ledger must agree with its
 * authenticated history, or nothing is changed (LEDGER_TAMPERED). With an anchor the check
 * is cheap (see checkAnchor); without one, a legacy ledger is verified whole and sealed by a
 * "history-sealed" event (`seal` makes it), and an authenticated one is refused unless
 * `reanchor`. crl.pem on disk may not be newer than the ledger's newest CRL: CRL numbers only
 * move forward.
 */
export async function guardHistory(tx: LedgerWriter, key: HistoryKey, home: Home, seal: (details: Record<string, unknown>) => NewEvent, options: GuardOptions = {}): Promise<GuardedChange> {
  const auth = new HistoryAuthenticator(key);
  const anchor = options.newLedger ? null : readAnchor(home);
  if (anchor === "malformed") throw tampered(`${ANCHOR_FILE} is not an anchor pki wrote`);
  let revokedNow: RevocationDigest | null = null;
  let revoked: RevokedEntry[] | null = null;
  let lines: string | null = null;
  /** The revoked list as verified before the change (null: not known whole). */
  let verified: readonly RevokedEntry[] | null = null;
  let sealing: Record<string, unknown> | null = null;
  const carry = options.revocations;
  const known = carry?.known;
  if (carry) carry.known = undefined;
  let check: AnchorCheck | null = null;
  if (anchor) {
    // revoke --from carries the entries from change to change; every other change reads one string.
    check = await checkAnchor(tx, auth, anchor, known, !carry);
    if (check.problems.length > 0) throw tampered(summary(check.problems));
    ({ revokedNow, revokedEntries: revoked, revokedLines: lines } = check);
    verified = check.knownReused ? known!.entries : revoked;
  } else {
    const headId = await tx.headEventId();
    const head = headId === 0 ? undefined : await tx.event(headId);
    if (head?.mac && !options.reanchor) {
      throw tampered(`${ANCHOR_FILE} is missing, so deleted events would not show`, "ANCHOR_MISSING");
    }
    if (head) {
      const report = await verifyAudit(tx, auth, "not-judged");
      if (!report.ok) throw tampered(summary(report.problems));
      if (report.legacyEvents === report.events) sealing = { legacyEvents: report.events, legacyHead: report.head };
    }
    // With an anchor its CRL number vouches for the ledger's; without one, crl.pem is the evidence left.
    if (!options.newLedger) await refuseCrlRollback(tx, home);
  }

  // The revoked certificates read by the check serve the CRL and the new anchor too, until a revocation.
  let revocationsChanged = false;
  const added: RevokedEntry[] = [];
  let released = false;
  const writer = new Proxy(tx, {
    get(target, prop) {
      if (prop === "appendEvent") return (e: NewEvent) => target.appendEvent(e, auth);
      if (prop === "revokedEntries") return async (issuer?: string) => (issuer !== undefined ? target.revokedEntries(issuer) : (revoked ??= await target.revokedEntries()));
      if (prop === "revokedLines") return async () => (lines ??= await target.revokedLines());
      if (prop === "markRevoked" || prop === "markUnrevoked") {
        const change = target[prop].bind(target) as (...args: unknown[]) => Promise<void>;
        return (...args: unknown[]) => {
          revocationsChanged = true;
          revoked = null;
          lines = null;
          if (prop === "markRevoked") added.push({ serial: args[0] as string, revokedAt: args[1] as string, reason: args[2] as number });
          // A carried list may stand for one the ledger no longer holds; only the merge of revocations into it is anchored.
          else if (check?.knownReused) throw new Error("un-revoking in a change whose revoked list was carried over is not supported");
          else released = true;
          return change(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as unknown as AuthenticatedWriter;
  if (sealing) await writer.appendEvent(seal(sealing));

  return {
    writer,
    async stageAnchor(files: FileBatch): Promise<number> {
      const id = await tx.headEventId();
      const head = await tx.event(id);
      if (!head) return 0;
      let entries = verified;
      let digest: RevocationDigest;
      if (!revocationsChanged && revokedNow) digest = revokedNow;
      // As the CRL just read them, when it did (revokedLines are the same bytes the digest covers).
      else if (!carry) digest = revocationDigestOfLines(key, await writer.revokedLines());
      else {
        if (verified && !released) {
          entries = withRevocations(verified, added);
          // Each revocation must have changed one certificate that was not revoked (or re-dated one that was): else the merge is not the ledger.
          if ((await tx.count({ state: "revoked" })) !== entries.length) throw tampered("the revoked certificates differ from the history's");
        } else entries = await writer.revokedEntries();
        digest = revocationDigest(key, entries);
      }
      if (carry && entries) carry.known = { entries, digest };
      const next = makeAnchor(auth, { event: id, hash: head.hash, crl: (await tx.nextCrlNumber()) - 1, revoked: digest, settings: Object.fromEntries(await tx.settings()), roles: rolesByName(await tx.roles()), roots: rootsBySerial(await tx.roots()) });
      // Installed only while no later change has committed (that one writes its own).
      files.stage(anchorPath(home), JSON.stringify(next) + "\n", SECRET_MODE, async (r) => (await r.headEventId()) === id);
      return id;
    },
  };
}

/**
 * For a process that trusts the ledger's roots and roles for its life (pki serve, the API):
 * the anchor must vouch for them at start, as it does before every change (LEDGER_TAMPERED).
 */
export async function assertAnchored(r: LedgerReader, key: HistoryKey, home: Home): Promise<void> {
  const anchor = readAnchor(home);
  if (anchor === "malformed") throw tampered(`${ANCHOR_FILE} is not an anchor pki wrote`);
  if (anchor === null) {
    const headId = await r.headEventId();
    if ((await r.event(headId))?.mac) throw tampered(`${ANCHOR_FILE} is missing, so deleted events would not show`, "ANCHOR_MISSING");
    return;
  }
  const check = await checkAnchor(r, new HistoryAuthenticator(key), anchor);
  if (check.problems.length > 0) throw tampered(summary(check.problems));
}

/** crl.pem on disk newer than the ledger's newest CRL: CRLs were deleted from the ledger, and installing an older one would un-revoke. */
async function refuseCrlRollback(tx: LedgerWriter, home: Home): Promise<void> {
  const onDisk = crlNumberOnDisk(home);
  const newest = (await tx.nextCrlNumber()) - 1;
  if (onDisk !== null && onDisk > newest) throw tampered(`${home.crl} is CRL #${onDisk} but the ledger's newest is #${newest}: CRLs were deleted from the ledger`);
}

/** The number of the CRL in crl.pem (null: none or unreadable); `known` saves parsing when the file is that CRL. */
export function crlNumberOnDisk(home: Home, known?: { number: number; der: Uint8Array }): number | null {
  let pem: string;
  try {
    pem = readFileSync(home.crl, "utf8");
  } catch {
    return null;
  }
  if (known && pem === crlPem(known.der)) return known.number;
  try {
    return crlNumberOf(readDerOrPem(Buffer.from(pem), ["X509 CRL"], "CRL"));
  } catch {
    return null;
  }
}

function summary(problems: string[]): string {
  return problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more)` : problems[0]!;
}
