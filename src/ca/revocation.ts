import { createCrl, CrlReason, crlPem } from "../crypto/crl.js";
import type { LedgerReader, LedgerWriter } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import type { Signer } from "../crypto/signer.js";
import { checkDays, type CaCore, DAY_MS } from "./core.js";
import { PkiError } from "./errors.js";
import { type FileBatch, PUBLIC_MODE } from "./home.js";
import { crlHook } from "./hooks.js";
import { durationSetting } from "./settings.js";
import { viewOf, type CertificateView, when } from "./views.js";

export { DEFAULT_CRL_DAYS } from "./settings.js";

export interface CrlResult {
  path: string;
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  revoked: number;
  /** The command to run now that the CRL changed (`pki hook set crl`), or null. */
  hook: string | null;
}

export interface RevokeResult {
  view: CertificateView;
  crl: CrlResult;
}

/**
 * Inside a write transaction: signs a CRL over every recorded revocation with the next
 * CRL number, stores it with its event, and stages crl.pem (and `out`). Holding the lock
 * while signing is what keeps concurrent revocations from producing a CRL that misses one.
 */
export async function issueCrl(core: CaCore, ctx: Context, tx: LedgerWriter, signer: Signer, files: FileBatch, days?: number, out?: string): Promise<CrlResult> {
  const now = ctx.now;
  const lifetimeMs = days !== undefined ? checkDays(days, "--days") * DAY_MS : (await durationSetting(tx, "crl-lifetime")) * 1000;
  const nextUpdate = new Date(Math.min(now.getTime() + lifetimeMs, Date.parse(core.root.notAfter)));
  const number = await tx.nextCrlNumber();
  const entries = (await tx.revokedEntries()).map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason as CrlReason }));
  const der = await createCrl({ signer, number, thisUpdate: now, nextUpdate, entries });
  const result = { path: core.home.crl, number, thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), revoked: entries.length, hook: await crlHook(tx) };
  await tx.insertCrl({ number, thisUpdate: result.thisUpdate, nextUpdate: result.nextUpdate, der });
  await tx.appendEvent(core.event(ctx, "crl-generated", null, { number, nextUpdate: result.nextUpdate, revoked: entries.length }));
  const pem = crlPem(der);
  const stillLatest = async (r: LedgerReader) => (await r.nextCrlNumber()) === number + 1;
  files.stage(core.home.crl, pem, PUBLIC_MODE, stillLatest);
  if (out) files.stage(out, pem, PUBLIC_MODE);
  return result;
}

/** Revokes by name (its current certificate) or serial, records why, and regenerates the CRL. */
export async function revoke(core: CaCore, ctx: Context, target: string, reason: CrlReason): Promise<RevokeResult> {
  const now = ctx.now;
  const rec = await core.ledger.read((r) => core.find(r, target));
  if (rec.kind === "root") throw new PkiError("invalid", "the root CA cannot revoke itself", "to retire it, create a new CA in a new home", "ROOT_REFUSED");
  if (rec.state === "revoked") throw new PkiError("conflict", `serial ${rec.serial} ("${rec.name}") is already revoked (${when(rec.revokedAt!)})`);
  if (reason === CrlReason.removeFromCRL) throw new PkiError("usage", "removeFromCRL is only meaningful in delta CRLs");
  const signer = await core.rootSigner();
  const { crl, view } = await core.change(ctx, async (tx, files) => {
    if ((await tx.bySerial(rec.serial))!.state === "revoked") {
      throw new PkiError("conflict", `serial ${rec.serial} was revoked by another pki process meanwhile`);
    }
    await tx.markRevoked(rec.serial, now.toISOString(), reason);
    await tx.appendEvent(core.event(ctx, "revoked", rec.serial, { name: rec.name, reason: CrlReason[reason] }));
    const crl = await issueCrl(core, ctx, tx, signer, files);
    return { crl, view: viewOf((await tx.bySerial(rec.serial))!, now) };
  });
  return { view, crl };
}

/** Signs a fresh CRL from the ledger's revocations and writes crl.pem (and `out`). */
export async function generateCrl(core: CaCore, ctx: Context, params: { days?: number; out?: string }): Promise<CrlResult> {
  if (params.days !== undefined) checkDays(params.days, "--days");
  const signer = await core.rootSigner();
  return core.change(ctx, (tx, files) => issueCrl(core, ctx, tx, signer, files, params.days, params.out));
}
