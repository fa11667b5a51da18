import { CrlReason } from "../crypto/crl-reason.js";
import { normalizeSerial } from "../crypto/serial.js";
import type { CertificateSummary, LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { type CrlCopy, type CrlResult, issueCrl } from "./revocation.js";
import { shellQuote } from "./shell-quote.js";
import { notFound } from "./suggest.js";
import { type CertificateView, viewOf, when } from "./views.js";

export interface UnrevokeResult {
  /** Every certificate released, oldest first, as it is now, with when its hold began. */
  released: { view: CertificateView; heldSince: string }[];
  crl: CrlResult;
}

/**
 * Releases certificateHold revocations (RFC 5280 5.3.1: the only reason that may be undone;
 * the others are final). By serial, that certificate; by name, every held certificate of the
 * name, the inverse of `revoke NAME --reason certificateHold`. One transaction records an
 * `unrevoked` event per certificate and signs a CRL without their entries.
 */
export async function unrevoke(core: CaCore, ctx: Context, target: string, options: { crlCopy?: CrlCopy } = {}): Promise<UnrevokeResult> {
  const planned = await core.ledger.read((r) => planRelease(r, target));
  const signer = await core.rootSigner();
  return core.change(ctx, async (tx, files) => {
    const again = await planRelease(tx, target);
    if (again.length !== planned.length || planned.some((p) => !again.some((a) => a.serial === p.serial))) {
      throw new PkiError("conflict", `the certificates of "${shown(target)}" changed meanwhile (another pki process); nothing was released`, "run the command again", "CHANGED_MEANWHILE");
    }
    for (const c of again) {
      await tx.markUnrevoked(c.serial);
      await tx.appendEvent(core.event(ctx, "unrevoked", c.serial, { name: c.name, reason: "certificateHold", heldSince: c.revokedAt }));
    }
    const crl = await issueCrl(core, ctx, tx, signer, files, undefined, options.crlCopy);
    const released = [];
    for (const c of again) released.push({ view: viewOf((await tx.bySerial(c.serial))!, ctx.now), heldSince: c.revokedAt! });
    return { released, crl };
  });
}

/** The held certificates `target` names, oldest first; throws when there is none or releasing one is refused. */
async function planRelease(r: LedgerReader, target: string): Promise<CertificateSummary[]> {
  const serial = normalizeSerial(target);
  const bySerial = serial ? await r.bySerial(serial) : undefined;
  let held: CertificateSummary[];
  if (bySerial) {
    if (bySerial.state !== "revoked") throw notRevoked(bySerial);
    if (bySerial.revocationReason !== CrlReason.certificateHold) throw notOnHold(bySerial);
    held = [{ ...bySerial, hasKey: bySerial.keyEncrypted !== null }];
  } else {
    const name = target.normalize("NFC");
    const revoked = (await r.summaries({ name, state: "revoked" })).items;
    held = revoked.filter((c) => c.revocationReason === CrlReason.certificateHold);
    if (held.length === 0) {
      if (revoked.length > 0) throw notOnHold(revoked.at(-1)!);
      const any = await r.latestByName(name);
      if (any) throw notRevoked(any);
      throw await notFound(r, target);
    }
  }
  await refuseSecondHolder(r, held);
  return held;
}

/** A released certificate without a successor is current again: the name must not have another current one meanwhile. */
async function refuseSecondHolder(r: LedgerReader, held: CertificateSummary[]): Promise<void> {
  const reviving = held.filter((c) => c.supersededBy === null);
  const holders = reviving.length ? await r.activeSharingName(reviving[0]!.name) : [];
  const other = holders[0] ?? (reviving.length > 1 ? reviving.at(-1) : undefined);
  if (!other) return;
  const c = reviving[0]!;
  throw new PkiError(
    "conflict",
    `releasing serial ${c.serial} would give "${shown(c.name)}" two current certificates: serial ${other.serial} (${other.kind}, until ${when(other.notAfter)}) holds the name`,
    `a name identifies one certificate; release another serial or revoke ${other.serial} first`,
    "NAME_TAKEN",
  );
}

function notRevoked(c: Pick<CertificateSummary, "name" | "serial" | "state">): PkiError {
  return new PkiError("conflict", `"${shown(c.name)}" (serial ${c.serial}) is not revoked (${c.state}); there is nothing to release`, "pki list --status revoked shows the revoked ones", "NOT_REVOKED");
}

function notOnHold(c: Pick<CertificateSummary, "name" | "serial" | "revocationReason">): PkiError {
  const reason = c.revocationReason === null ? "unknown" : (CrlReason[c.revocationReason] ?? String(c.revocationReason));
  return new PkiError(
    "invalid",
    `"${shown(c.name)}" (serial ${c.serial}) was revoked for ${reason}: only a certificateHold can be released (RFC 5280 5.3.1), other revocations are final`,
    `issue a new one under the name: pki issue-client ${shellQuote(c.name)} (or issue-server for a server)`,
    "NOT_ON_HOLD",
  );
}
