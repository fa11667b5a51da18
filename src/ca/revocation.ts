import { createCrl, CrlReason, crlPem } from "../crypto/crl.js";
import { checkDays, type CaCore, DAY_MS, type UnlockedRoot } from "./core.js";
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
export async function issueCrl(core: CaCore, root: UnlockedRoot, files: FileBatch, now: Date, days?: number, out?: string): Promise<CrlResult> {
  const lifetimeMs = days !== undefined ? checkDays(days, "--days") * DAY_MS : durationSetting(core, "crl-lifetime") * 1000;
  const nextUpdate = new Date(Math.min(now.getTime() + lifetimeMs, Date.parse(core.root.notAfter)));
  const number = core.ledger.nextCrlNumber();
  const entries = core.ledger.revokedEntries().map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason as CrlReason }));
  const der = await createCrl({ issuer: root.cert, issuerKey: root.key, issuerKeyType: root.keyType, number, thisUpdate: now, nextUpdate, entries });
  const result = { path: core.home.crl, number, thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), revoked: entries.length, hook: crlHook(core) };
  core.ledger.insertCrl({ number, thisUpdate: result.thisUpdate, nextUpdate: result.nextUpdate, der });
  core.ledger.appendEvent(core.event(now, "crl-generated", null, { number, nextUpdate: result.nextUpdate, revoked: entries.length }));
  const pem = crlPem(der);
  const stillLatest = () => core.ledger.nextCrlNumber() === number + 1;
  files.stage(core.home.crl, pem, PUBLIC_MODE, stillLatest);
  if (out) files.stage(out, pem, PUBLIC_MODE);
  return result;
}

/** Revokes by name (its current certificate) or serial, records why, and regenerates the CRL. */
export async function revoke(core: CaCore, target: string, reason: CrlReason): Promise<RevokeResult> {
  const now = core.now();
  const rec = core.find(target);
  if (rec.kind === "root") throw new PkiError("invalid", "the root CA cannot revoke itself", "to retire it, create a new CA in a new home", "ROOT_REFUSED");
  if (rec.state === "revoked") throw new PkiError("conflict", `serial ${rec.serial} ("${rec.name}") is already revoked (${when(rec.revokedAt!)})`);
  if (reason === CrlReason.removeFromCRL) throw new PkiError("usage", "removeFromCRL is only meaningful in delta CRLs");
  const root = await core.unlockRoot();
  const crl = await core.change(async (files) => {
    if (core.ledger.bySerial(rec.serial)!.state === "revoked") {
      throw new PkiError("conflict", `serial ${rec.serial} was revoked by another pki process meanwhile`);
    }
    core.ledger.markRevoked(rec.serial, now.toISOString(), reason);
    core.ledger.appendEvent(core.event(now, "revoked", rec.serial, { name: rec.name, reason: CrlReason[reason] }));
    return issueCrl(core, root, files, now);
  });
  return { view: viewOf(core.ledger.bySerial(rec.serial)!, now), crl };
}

/** Signs a fresh CRL from the ledger's revocations and writes crl.pem (and `out`). */
export async function generateCrl(core: CaCore, params: { days?: number; out?: string }): Promise<CrlResult> {
  const now = core.now();
  if (params.days !== undefined) checkDays(params.days, "--days");
  const root = await core.unlockRoot();
  return core.change((files) => issueCrl(core, root, files, now, params.days, params.out));
}
