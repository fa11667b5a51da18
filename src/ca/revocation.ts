import { createCrl, type CrlEntry, CrlReason } from "../crypto/crl.js";
import { crlPemBytes } from "../crypto/pem.js";
import { normalizeSerial } from "../crypto/serial.js";
import type { CertificateRecord, CertificateSummary, LedgerReader } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { Signer } from "../crypto/signer.js";
import { checkDays, type CaCore, DAY_MS } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { lineCount } from "./history.js";
import type { AuthenticatedWriter } from "./history-guard.js";
import { type FileAccess, type FileBatch, PUBLIC_MODE } from "./home.js";
import { crlHook } from "./hooks.js";
import { fingerprint } from "./records.js";
import { generationLabel, trustedRoots } from "./roots.js";
import { durationSetting } from "./settings.js";
import { notFound } from "./suggest.js";
import { type CertificateStatus, viewOf, type CertificateView, when } from "./views.js";

export interface CrlResult {
  path: string;
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  revoked: number;
  /** The command to run now that the CRL changed (`pki hook set crl`), or null. */
  hook: string | null;
  /** The copy written for a server that cannot read the home (`--out`, `--crl-out`), or null. */
  copy: CrlCopy | null;
}

export type CrlFormat = "pem" | "der";

/** A second file the CRL is written to, in the format its reader wants (crl.pem in the home stays PEM). */
export interface CrlCopy {
  path: string;
  format: CrlFormat;
  /** --owner/--group/--mode; without them a file it replaces keeps its own. */
  access?: FileAccess;
}

export interface RevokeResult {
  /** The name's current certificate (or the one serial): what `revoke` reported before it revoked them all. */
  view: CertificateView;
  /** Every certificate revoked, with its status just before. */
  revoked: { view: CertificateView; previousStatus: CertificateStatus }[];
  crl: CrlResult;
}

export interface RevokeOptions {
  /** `target` must be a serial, and only that certificate is revoked. */
  serialOnly?: boolean;
  /** Sees what will be revoked before the passphrase is asked for; false cancels with nothing changed. */
  confirm?: (planned: CertificateView[]) => Promise<boolean>;
  /** Also write the new CRL here. */
  crlCopy?: CrlCopy;
}

/**
 * Inside a write transaction: signs a CRL over every recorded revocation with the next
 * CRL number, stores it with its event, and stages crl.pem (and `copy`). Holding the lock
 * while signing is what keeps concurrent revocations from producing a CRL that misses one.
 * During a root overlap (pki rotate-root) each trusted root signs its own CRL over the
 * certificates it issued, older roots first, so the current root's has the highest number;
 * crl.pem holds them all, the current root's first.
 */
export async function issueCrl(core: CaCore, ctx: Context, tx: AuthenticatedWriter, signer: Signer, files: FileBatch, days?: number, copy?: CrlCopy): Promise<CrlResult> {
  const now = ctx.now;
  const lifetimeMs = days !== undefined ? checkDays(days, "--days") * DAY_MS : (await durationSetting(tx, "crl-lifetime")) * 1000;
  const roots = await tx.roots();
  const trusted = trustedRoots(roots).reverse();
  if (copy?.format === "der" && trusted.length > 1) {
    throw new PkiError("usage", `a DER file holds one CRL, and during the root overlap there are ${trusted.length} (one per root); nothing was changed`, "write PEM (--format pem, both CRLs in one file, as nginx's ssl_crl reads them), or fetch each root's from pki serve: /crl.der and /crl-G2.der", "CRL_DER_OVERLAP");
  }
  const signerSerial = signer.certificate.serialNumber.toLowerCase();
  const signed: { der: Uint8Array; number: number; nextUpdate: Date; revoked: number }[] = [];
  let number = await tx.nextCrlNumber();
  for (const root of trusted.length > 0 ? trusted : [null]) {
    const issuer = root?.record ?? core.root;
    const rootSigner = issuer.serial === signerSerial ? signer : await core.signerFor(issuer);
    const nextUpdate = new Date(Math.min(now.getTime() + lifetimeMs, Date.parse(issuer.notAfter)));
    // One root: every revocation is its own, read as one string (the list the anchor check just verified, see revokedLines).
    const entries = trusted.length > 1 ? ((await tx.revokedEntries(issuer.serial)) as CrlEntry[]) : await tx.revokedLines();
    const der = await createCrl({ signer: rootSigner, number, thisUpdate: now, nextUpdate, entries });
    const count = typeof entries === "string" ? lineCount(entries) : entries.length;
    await tx.insertCrl({ number, thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), der, issuer: issuer.serial });
    const generation = root && roots.length > 1 ? { root: generationLabel(root.generation) } : {};
    await tx.appendEvent(core.event(ctx, "crl-generated", null, { number, nextUpdate: nextUpdate.toISOString(), revoked: count, sha256: fingerprint(der), ...generation }));
    signed.push({ der, number, nextUpdate, revoked: count });
    number++;
  }
  const current = signed.at(-1)!;
  const result = {
    path: core.home.crl, number: current.number, thisUpdate: now.toISOString(), nextUpdate: current.nextUpdate.toISOString(),
    revoked: signed.reduce((n, c) => n + c.revoked, 0), hook: await crlHook(tx, core.home), copy: copy ?? null,
  };
  const pem = Buffer.concat(signed.map((c) => crlPemBytes(c.der)).reverse());
  const stillLatest = async (r: LedgerReader) => (await r.nextCrlNumber()) === current.number + 1;
  files.stage(core.home.crl, pem, PUBLIC_MODE, stillLatest);
  if (copy) files.stage(copy.path, copy.format === "der" ? current.der : pem, PUBLIC_MODE, undefined, { keepExisting: true, ...copy.access });
  return result;
}

/**
 * Revokes one certificate by serial, or by name every certificate of that name that still
 * works (unexpired and unrevoked, superseded ones included: renewing without --revoke-old
 * leaves the old one valid), in one transaction with one new CRL.
 */
export async function revoke(core: CaCore, ctx: Context, target: string, reason: CrlReason, options: RevokeOptions = {}): Promise<RevokeResult> {
  const now = ctx.now;
  if (reason === CrlReason.removeFromCRL) throw new PkiError("usage", "removeFromCRL is only meaningful in delta CRLs");
  const planned = await core.ledger.read((r) => planRevocation(r, target, now, options.serialOnly ?? false));
  const before = planned.map((r) => viewOf(r, now));
  if (options.confirm && !(await options.confirm(before))) throw new PkiError("usage", "not confirmed; nothing was revoked", undefined, "NOT_CONFIRMED");
  const signer = await core.rootSigner();
  const { crl, after } = await core.change(ctx, async (tx, files) => {
    const again = (await planRevocation(tx, target, now, options.serialOnly ?? false)).map((r) => r.serial);
    if (again.length !== planned.length || planned.some((r) => !again.includes(r.serial))) {
      throw new PkiError("conflict", `the certificates of "${shown(target)}" changed meanwhile (another pki process); nothing was revoked`, "run the command again", "CHANGED_MEANWHILE");
    }
    for (const r of planned) {
      await tx.markRevoked(r.serial, now.toISOString(), reason);
      await tx.appendEvent(core.event(ctx, "revoked", r.serial, { name: r.name, reason: CrlReason[reason] }));
    }
    const crl = await issueCrl(core, ctx, tx, signer, files, undefined, options.crlCopy);
    const after = [];
    for (const r of planned) after.push((await tx.bySerial(r.serial))!);
    return { crl, after };
  });
  const revoked = after.map((r, i) => ({ view: viewOf(r, now), previousStatus: before[i]!.status }));
  const primary = revoked.find((r) => r.previousStatus === "valid") ?? revoked.at(-1)!;
  return { view: primary.view, revoked, crl };
}

/** What `target` revokes, oldest first; throws when that is nothing. Reads no blobs for a name. */
async function planRevocation(r: LedgerReader, target: string, now: Date, serialOnly: boolean): Promise<(CertificateSummary | CertificateRecord)[]> {
  const serial = normalizeSerial(target);
  const bySerial = serial ? await r.bySerial(serial) : undefined;
  if (bySerial) {
    refuseRoot(bySerial);
    if (bySerial.state === "revoked") {
      throw new PkiError("conflict", `serial ${bySerial.serial} ("${bySerial.name}") is already revoked (${when(bySerial.revokedAt!)})`, undefined, "ALREADY_REVOKED");
    }
    return [bySerial];
  }
  if (serialOnly) {
    if (!serial) throw new PkiError("usage", `--serial "${shown(target)}" is not a serial (hex digits, colons allowed)`, "pki list shows serials");
    throw new PkiError("not-found", `no certificate with serial ${serial}`, "pki list shows serials");
  }
  const name = target.normalize("NFC");
  const unrevoked = await r.unrevokedByName(name);
  for (const c of unrevoked) refuseRoot(c);
  const nowIso = now.toISOString();
  const live = unrevoked.filter((c) => c.notAfter >= nowIso);
  if (live.length > 0) return live;
  const newest = unrevoked.at(-1);
  if (newest) {
    throw new PkiError("conflict", `every unrevoked certificate of "${name}" has expired (the newest, serial ${newest.serial}, on ${when(newest.notAfter)})`, `to revoke one anyway: pki revoke --serial ${newest.serial}`, "NOTHING_TO_REVOKE");
  }
  const any = await r.latestByName(name);
  if (any) throw new PkiError("conflict", `every certificate of "${name}" is already revoked (${when(any.revokedAt!)}); the newest is serial ${any.serial}`, undefined, "ALREADY_REVOKED");
  throw await notFound(r, target);
}

function refuseRoot(rec: Pick<CertificateRecord, "kind">): void {
  if (rec.kind === "root") throw new PkiError("invalid", "the root CA cannot revoke itself", "to retire it, create a new CA in a new home", "ROOT_REFUSED");
}

/** Signs a fresh CRL from the ledger's revocations and writes crl.pem (and `copy`). */
export async function generateCrl(core: CaCore, ctx: Context, params: { days?: number; copy?: CrlCopy }): Promise<CrlResult> {
  if (params.days !== undefined) checkDays(params.days, "--days");
  const signer = await core.rootSigner();
  return core.change(ctx, (tx, files) => issueCrl(core, ctx, tx, signer, files, params.days, params.copy));
}
