// pki rotate-root: a new root beside the current one, then (--finish) the old one retired. The
// overlap in between is what makes it outage-free: servers trust both roots (ca.pem, crl.pem),
// new certificates come from the new root, old ones keep working until renewed or expired.
import { join } from "node:path";
import { createRootCertificate, type NameAttribute } from "../crypto/certificates.js";
import { exportPkcs8, generateKeyPair, type KeyType } from "../crypto/keys.js";
import { x509 } from "../crypto/provider.js";
import { randomSerial } from "../crypto/serial.js";
import { keySigner } from "../crypto/signer.js";
import type { CertificateSummary, LedgerReader, RootRecord } from "../ledger/ledger.js";
import { collect } from "../ledger/ledger.js";
import type { Context } from "./context.js";
import { type CaCore, checkDays, DAY_MS } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { PUBLIC_MODE } from "./home.js";
import { checkRootProfile, DEFAULT_ROOT_DAYS } from "./init.js";
import { BACKDATE_MS } from "./issuance.js";
import { loadProfile } from "./profiles.js";
import { recordOf } from "./records.js";
import { type CrlResult, issueCrl } from "./revocation.js";
import { rootKeyUri } from "./root-key.js";
import { caBundlePem, crlBundlePem, generationLabel, latestCrls, trustedRoots } from "./roots.js";
import { type CertificateView, viewOf } from "./views.js";

export interface RotateParams {
  /** Default: the current root's key type. */
  keyType?: KeyType;
  /** Default DEFAULT_ROOT_DAYS. */
  days?: number;
  /** Profile holding the root's extensions. Default: templates/profiles/root.ini. */
  profile?: string;
}

export interface RotateResult {
  view: CertificateView;
  generation: number;
  previous: { serial: string; name: string; generation: number; dependents: number };
  crl: CrlResult;
}

export interface RetireParams {
  /** Retire even though valid certificates still depend on the old root. */
  force?: boolean;
  /** Sees how many certificates would be cut off before anything changes; false cancels. */
  confirm?: (cutOff: number, root: RootRecord) => Promise<boolean>;
}

export interface RetireResult {
  retired: { serial: string; name: string; generation: number; cutOff: number }[];
  current: { serial: string; name: string; generation: number };
}

/** The state of the roots: which is current, which are still trusted beside it, and what depends on each. */
export interface RootsOverview {
  roots: { serial: string; name: string; generation: number; notAfter: string; status: "current" | "overlap" | "retired"; dependents: number }[];
}

/** Strips a generation suffix (" G2") from a root's CN: each new root is named after the first. */
function baseName(cn: string): string {
  return cn.replace(/ G\d+$/, "");
}

/** Certificates signed by `root` that still work (unexpired, unrevoked, leaves only). */
export async function dependents(r: LedgerReader, root: RootRecord, now: Date): Promise<CertificateSummary[]> {
  const nowIso = now.toISOString();
  const all = await collect((page) => r.summaries({ issuer: root.record.serial, notAfterFrom: nowIso }, page));
  return all.filter((c) => c.kind !== "root" && c.state !== "revoked");
}

export async function rootsOverview(core: CaCore, now: Date): Promise<RootsOverview> {
  return core.ledger.read(async (r) => {
    const roots = await r.roots();
    const out: RootsOverview["roots"] = [];
    for (const root of roots) {
      const status = root.retiredAt !== null ? "retired" : root.record.state === "active" ? "current" : "overlap";
      out.push({ serial: root.record.serial, name: root.record.name, generation: root.generation, notAfter: root.record.notAfter, status, dependents: (await dependents(r, root, now)).length });
    }
    return { roots: out };
  });
}

export async function rotateRoot(core: CaCore, ctx: Context, params: RotateParams): Promise<RotateResult> {
  const now = ctx.now;
  if (await core.ledger.read((r) => rootKeyUri(r))) {
    throw new PkiError("usage", "the root key is in a PKCS#11 token, and rotate-root makes new roots with keys sealed in the ledger only; nothing was changed", "keep this root, or move to a new CA home", "ROTATE_PKCS11_UNSUPPORTED");
  }
  const roots = await core.ledger.read((r) => r.roots());
  refuseOverlap(roots);
  const current = roots.find((r) => r.record.state === "active" && r.retiredAt === null);
  if (!current) throw new PkiError("storage", "the ledger has no current root", "restore the home from a backup", "STORAGE");
  const days = checkDays(params.days ?? DEFAULT_ROOT_DAYS, "--days");
  const currentCert = new x509.X509Certificate(new Uint8Array(current.record.der));
  const generation = roots.length + 1;
  const cn = `${baseName(currentCert.subjectName.getField("CN")[0] ?? current.record.name)} ${generationLabel(generation)}`;
  if (cn.length > 64) throw new PkiError("usage", `the new root's name "${shown(cn)}" would be longer than 64 characters`, undefined, "ROOT_NAME_TOO_LONG");
  const subject: NameAttribute[] = [];
  for (const type of ["C", "O"]) for (const value of currentCert.subjectName.getField(type)) subject.push({ type, value });
  subject.push({ type: "CN", value: cn });
  const profile = loadProfile(params.profile ?? join(core.options.templatesDir, "profiles", "root.ini"), { PKI_NAME: cn });
  checkRootProfile(profile);

  const oldSigner = await core.rootSigner();
  const keyType = params.keyType ?? oldSigner.keyType;
  const keys = await generateKeyPair(keyType);
  const cert = await createRootCertificate({
    serial: randomSerial(), notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS), subject, keyType, keys, extensions: profile.extensions,
  });
  const pkcs8 = await exportPkcs8(keys.privateKey);
  const sealed = await core.sealKey(pkcs8);
  const record = recordOf(cert, "root", cn, sealed, null, now);
  const signer = await keySigner(cert, pkcs8);
  pkcs8.fill(0);

  return core.change(ctx, async (tx, files) => {
    await core.assertPassphraseCurrent(tx);
    const again = await tx.roots();
    refuseOverlap(again);
    if (again.length !== roots.length || (await tx.activeRoot())?.serial !== current.record.serial) {
      throw new PkiError("conflict", "the roots changed meanwhile (another pki process); nothing was changed", "run the command again", "CHANGED_MEANWHILE");
    }
    if ((await tx.activeSharingName(cn)).length > 0) {
      throw new PkiError("conflict", `a certificate named "${shown(cn)}" is in use; the new root needs that name`, `revoke or rename it first (pki list --json shows it)`, "NAME_TAKEN");
    }
    const waiting = (await dependents(tx, current, now)).length;
    await tx.markSuperseded(current.record.serial, record.serial);
    await tx.insertCertificate(record);
    await tx.appendEvent(
      core.event(ctx, "root-rotated", record.serial, {
        name: cn, subject: record.subject, notAfter: record.notAfter, keyType, sha256: record.sha256, generation, replaces: current.record.serial, dependents: waiting,
      }),
    );
    const crl = await issueCrl(core, ctx, tx, signer, files);
    files.stage(core.home.caCertificate, caBundlePem(await tx.roots()), PUBLIC_MODE);
    return {
      view: viewOf(record, now),
      generation,
      previous: { serial: current.record.serial, name: current.record.name, generation: current.generation, dependents: waiting },
      crl,
    };
  });
}

/** Ends the overlap: the older roots leave ca.pem and crl.pem (they stay in the ledger, with their keys, for the history). */
export async function retireRoots(core: CaCore, ctx: Context, params: RetireParams): Promise<RetireResult> {
  const now = ctx.now;
  const plan = await core.ledger.read((r) => planRetirement(r, now));
  for (const { root, cutOff } of plan.older) {
    if (cutOff.length === 0) continue;
    if (!params.force) {
      const names = [...new Set(cutOff.map((c) => c.name))];
      const shownNames = names.slice(0, 5).map((n) => `"${shown(n)}"`).join(", ") + (names.length > 5 ? `, and ${names.length - 5} more` : "");
      throw new PkiError(
        "conflict",
        `${cutOff.length} valid certificate(s) still depend on the ${generationLabel(root.generation)} root "${shown(root.record.name)}" (${shownNames}): retiring it now would cut them off; nothing was changed`,
        `renew them first (pki renew NAME signs with the new root; pki list shows each certificate's root), let them expire, or pass --force`,
        "ROOT_STILL_USED",
      );
    }
    if (params.confirm && !(await params.confirm(cutOff.length, root))) throw new PkiError("usage", "not confirmed; nothing was changed", undefined, "NOT_CONFIRMED");
  }
  return core.change(ctx, async (tx, files) => {
    const again = await planRetirement(tx, now);
    if (again.older.length !== plan.older.length || again.older.some((o, i) => o.root.record.serial !== plan.older[i]!.root.record.serial || (o.cutOff.length > 0 && !params.force))) {
      throw new PkiError("conflict", "the roots or their certificates changed meanwhile (another pki process); nothing was changed", "run the command again", "CHANGED_MEANWHILE");
    }
    const retired: RetireResult["retired"] = [];
    for (const { root, cutOff } of again.older) {
      await tx.retireRoot(root.record.serial, now.toISOString());
      await tx.appendEvent(core.event(ctx, "root-retired", root.record.serial, { name: root.record.name, generation: root.generation, cutOff: cutOff.length, forced: cutOff.length > 0 }));
      retired.push({ serial: root.record.serial, name: root.record.name, generation: root.generation, cutOff: cutOff.length });
    }
    const roots = await tx.roots();
    files.stage(core.home.caCertificate, caBundlePem(roots), PUBLIC_MODE);
    const crls = await latestCrls(tx, roots);
    const newest = crls[0]?.number;
    if (crls.length > 0) files.stage(core.home.crl, crlBundlePem(crls), PUBLIC_MODE, async (r) => (await r.nextCrlNumber()) === newest! + 1);
    const current = again.current;
    return { retired, current: { serial: current.record.serial, name: current.record.name, generation: current.generation } };
  });
}

async function planRetirement(r: LedgerReader, now: Date): Promise<{ current: RootRecord; older: { root: RootRecord; cutOff: CertificateSummary[] }[] }> {
  const trusted = trustedRoots(await r.roots());
  const current = trusted[0];
  if (!current || current.record.state !== "active") throw new PkiError("storage", "the ledger has no current root", "restore the home from a backup", "STORAGE");
  if (trusted.length < 2) throw new PkiError("conflict", `no root rotation is under way: ${generationLabel(current.generation)} "${shown(current.record.name)}" is the only trusted root`, "start one with: pki rotate-root", "NO_ROTATION");
  const older = [];
  for (const root of trusted.slice(1)) older.push({ root, cutOff: await dependents(r, root, now) });
  return { current, older };
}

function refuseOverlap(roots: readonly RootRecord[]): void {
  const trusted = trustedRoots(roots);
  if (trusted.length > 1) {
    const old = trusted.slice(1).map((r) => generationLabel(r.generation)).join(", ");
    throw new PkiError("conflict", `a root rotation is already under way (${old} still trusted beside ${generationLabel(trusted[0]!.generation)}); nothing was changed`, "finish it first: pki rotate-root --finish", "ROTATION_IN_PROGRESS");
  }
}

