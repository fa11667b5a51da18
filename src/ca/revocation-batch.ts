import { CrlReason } from "../crypto/crl-reason.js";
import { normalizeSerial } from "../crypto/serial.js";
import type { Signer } from "../crypto/signer.js";
import type { LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { crashPoint } from "./crash-point.js";
import { PkiError, shown } from "./errors.js";
import { issueCrl, type CrlCopy, type CrlResult } from "./revocation.js";

/** One line of a `revoke --from` list: its number in the file (from 1) and its text (a name or a serial). */
export interface BatchLine {
  line: number;
  target: string;
}

export interface RevokeBatchParams {
  lines: readonly BatchLine[];
  reason: CrlReason;
  /** Revocations per transaction. Default 1,000. */
  chunkSize?: number;
  /** Sees the plan before the passphrase is asked for; false cancels with nothing changed. */
  confirm?: (plan: RevokeBatchPlan) => Promise<boolean>;
  onProgress?: (done: number, total: number) => void;
  crlCopy?: CrlCopy;
}

export interface BatchCertificate {
  serial: string;
  name: string;
  line: number;
}

export interface RevokeBatchPlan {
  /** Certificates to revoke, each once, in the order of the file. */
  revoke: BatchCertificate[];
  /** Lines whose certificates are all revoked already (a list run again after an interruption). */
  alreadyRevoked: number;
  /** Names whose unrevoked certificates have all expired: nothing to revoke (`--serial` revokes one anyway). */
  expired: number;
  /** Lines naming a certificate an earlier line names too. */
  duplicates: number;
}

export interface RevokeBatchResult extends RevokeBatchPlan {
  /** Those revoked meanwhile by another pki process are counted in alreadyRevoked, not here. */
  revoked: BatchCertificate[];
  crl: CrlResult;
}

/** Longer than any name (64 characters) or serial (20 bytes in hex with colons). */
const MAX_LINE = 256;
/** Problems named in the one-line refusal; the count says how many more. */
const NAMED_PROBLEMS = 5;

/** The lines of a `revoke --from` file: one name or serial each; `#` starts a comment; blank lines are skipped. */
export function batchLines(text: string): BatchLine[] {
  const lines: BatchLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const target = raw.replace(/#.*/, "").trim();
    if (target) lines.push({ line: i + 1, target });
  });
  return lines;
}

/**
 * Revokes every certificate a list names (as `pki revoke` does for each line) with one reason.
 * The whole list is resolved before anything changes: a line that names no certificate, or the
 * root, refuses the whole list with its line number. Lines already revoked, names with only
 * expired certificates and duplicates are counted, not refused, so a list can be run again after
 * an interruption. Then one transaction per chunk, each revocation its own event; the last chunk
 * signs the one new CRL. A kill between chunks leaves revocations the CRL does not list yet:
 * `pki check` reports it and `pki check --repair` (or `pki crl`) signs the CRL. A chunk that
 * fails after others committed still gets those into a CRL (BatchInterrupted carries it).
 */
export async function revokeBatch(core: CaCore, ctx: Context, p: RevokeBatchParams): Promise<RevokeBatchResult> {
  if (p.reason === CrlReason.removeFromCRL) throw new PkiError("usage", "removeFromCRL is only meaningful in delta CRLs");
  if (p.lines.length === 0) throw new PkiError("usage", "the list holds no names or serials", "one name or serial per line; # starts a comment");
  const plan = await core.ledger.read((r) => planBatch(r, p.lines, ctx.now));
  if (p.confirm && !(await p.confirm(plan))) throw new PkiError("usage", "not confirmed; nothing was revoked", undefined, "NOT_CONFIRMED");
  const signer = await core.rootSigner();
  const chunkSize = p.chunkSize ?? 1000;
  const at = ctx.now.toISOString();
  const revoked: BatchCertificate[] = [];
  let meanwhile = 0;
  let crl: CrlResult | undefined;
  // Between chunks the revoked list this run anchored is carried over, not read back; the last
  // chunk, which signs the CRL, reads and checks the ledger's whole (see GuardOptions.revocations).
  const carry = {};
  try {
    // At least one change, so a list whose certificates are all revoked still signs a CRL (finishing an interrupted run).
    for (let start = 0; start === 0 || start < plan.revoke.length; start += chunkSize) {
      const chunk = plan.revoke.slice(start, start + chunkSize);
      const last = start + chunkSize >= plan.revoke.length;
      const committed = await core.change(ctx, async (tx, files) => {
        const done: BatchCertificate[] = [];
        let skipped = 0;
        for (const c of chunk) {
          // Another pki process may have revoked it since the plan was made: it stays as that one left it.
          if ((await tx.bySerial(c.serial))?.state === "revoked") {
            skipped++;
            continue;
          }
          await tx.markRevoked(c.serial, at, p.reason);
          await tx.appendEvent(core.event(ctx, "revoked", c.serial, { name: c.name, reason: CrlReason[p.reason] }));
          done.push(c);
        }
        return { done, skipped, crl: last ? await issueCrl(core, ctx, tx, signer, files, undefined, p.crlCopy) : undefined };
      }, last ? {} : { revocations: carry });
      // Counted only once committed: a throw rolls the chunk back.
      revoked.push(...committed.done);
      meanwhile += committed.skipped;
      crl = committed.crl;
      p.onProgress?.(Math.min(start + chunkSize, plan.revoke.length), plan.revoke.length);
      if (!last) crashPoint("mid-batch");
    }
  } catch (e) {
    if (revoked.length === 0 || crl) throw e;
    throw await publishCommitted(core, ctx, signer, p.crlCopy, revoked.length, e);
  }
  return { ...plan, alreadyRevoked: plan.alreadyRevoked + meanwhile, revoked, crl: crl! };
}

/** Thrown when a chunk failed after others committed; `crl` is the CRL signed for those (the caller runs the hook). */
export class BatchInterrupted extends PkiError {
  constructor(cause: unknown, readonly revoked: number, readonly crl: CrlResult | null) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const pe = cause instanceof PkiError ? cause : undefined;
    super(
      pe?.kind ?? "storage",
      `${why}; ${revoked} certificate(s) of the list were revoked before it${crl ? ` and are in CRL #${crl.number}` : ", but the CRL does not list them yet"}`,
      `${crl ? "" : "run pki crl (or pki check --repair) as soon as you can; "}fix the cause, then run the same list again: what is revoked already is skipped${pe?.hint ? ` (${pe.hint})` : ""}`,
      pe?.code,
    );
  }
}

/** A later chunk failed: sign a CRL for the chunks committed, so servers stop accepting those certificates now. */
async function publishCommitted(core: CaCore, ctx: Context, signer: Signer, copy: CrlCopy | undefined, revoked: number, cause: unknown): Promise<BatchInterrupted> {
  try {
    return new BatchInterrupted(cause, revoked, await core.change(ctx, (tx, files) => issueCrl(core, ctx, tx, signer, files, undefined, copy)));
  } catch {
    return new BatchInterrupted(cause, revoked, null);
  }
}

/** What each line revokes; throws, naming the lines, when a line names nothing revocable. */
async function planBatch(r: LedgerReader, lines: readonly BatchLine[], now: Date): Promise<RevokeBatchPlan> {
  const nowIso = now.toISOString();
  const plan: RevokeBatchPlan = { revoke: [], alreadyRevoked: 0, expired: 0, duplicates: 0 };
  const planned = new Set<string>();
  const unknown: BatchLine[] = [];
  let root: BatchLine | undefined;
  for (const l of lines) {
    if (l.target.length > MAX_LINE) {
      unknown.push(l);
      continue;
    }
    const serial = normalizeSerial(l.target);
    const bySerial = serial ? await r.bySerial(serial) : undefined;
    let certificates: { serial: string; name: string }[];
    if (bySerial) {
      if (bySerial.kind === "root") {
        root ??= l;
        continue;
      }
      if (bySerial.state === "revoked") {
        plan.alreadyRevoked++;
        continue;
      }
      certificates = [bySerial];
    } else {
      const name = l.target.normalize("NFC");
      const unrevoked = await r.unrevokedByName(name);
      if (unrevoked.some((c) => c.kind === "root")) {
        root ??= l;
        continue;
      }
      certificates = unrevoked.filter((c) => c.notAfter >= nowIso);
      if (certificates.length === 0) {
        if (unrevoked.length > 0) plan.expired++;
        else if (await r.latestByName(name)) plan.alreadyRevoked++;
        else unknown.push(l);
        continue;
      }
    }
    const fresh = certificates.filter((c) => !planned.has(c.serial));
    if (fresh.length === 0) plan.duplicates++;
    for (const c of fresh) {
      planned.add(c.serial);
      plan.revoke.push({ serial: c.serial, name: c.name, line: l.line });
    }
  }
  if (root) throw new PkiError("invalid", `line ${root.line}: "${shown(root.target)}" is the root CA, which cannot revoke itself; nothing was revoked`, "remove that line", "ROOT_REFUSED");
  if (unknown.length > 0) {
    const named = unknown.slice(0, NAMED_PROBLEMS).map((l) => `line ${l.line} "${shown(l.target, 40)}"`);
    const more = unknown.length > NAMED_PROBLEMS ? ` and ${unknown.length - NAMED_PROBLEMS} more` : "";
    throw new PkiError(
      "not-found",
      `${unknown.length === 1 ? "no certificate with this name or serial" : `${unknown.length} lines name no certificate`}: ${named.join(", ")}${more}; nothing was revoked`,
      "fix or remove those lines (pki list shows names and serials), then run the command again",
      "NOT_FOUND",
    );
  }
  return plan;
}
