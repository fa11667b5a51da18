import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { LedgerError } from "../ledger/errors.js";
import { allPages, type CertificateRecord, type LedgerReader } from "../ledger/ledger.js";
import { foreignSchema, openLedger } from "../ledger/open.js";
import { isSignedBy } from "../crypto/certificates.js";
import { parsePkcs11Uri } from "../crypto/pkcs11/uri.js";
import { x509 } from "../crypto/provider.js";
import { readEncryptedKey } from "../crypto/sealing.js";
import { verifyAudit } from "./audit.js";
import type { Context } from "./context.js";
import { checkHome, type Finding } from "./check.js";
import { type AuthorityOptions, CaCore } from "./core.js";
import { PkiError, shown } from "./errors.js";
import { HistoryAuthenticator } from "./history.js";
import { fileError, safeFileName, SECRET_MODE } from "./home.js";
import { CRL_HOOK, crlHook } from "./hooks.js";
import { validateName } from "./names.js";
import { SETTINGS, type SettingKey } from "./settings.js";
import { fingerprint } from "./records.js";
import { PASSPHRASE_CHECK, ROOT_KEY_URI } from "./root-key.js";

/**
 * Writes an online, consistent copy of the ledger to `file` with SQLite's backup API
 * (a plain file copy of a live WAL database can miss committed pages). The ledger is the
 * whole CA: outputs are derived from it on restore. Keys inside stay encrypted.
 */
export interface BackupResult {
  file: string;
  sha256: string;
  certificates: number;
  /** False when the event log could not record the copy (the home is read-only, or no CA passphrase was at hand without a prompt). */
  recorded: boolean;
}

export async function backup(core: CaCore, ctx: Context, file: string, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
  if (existsSync(file)) throw new PkiError("conflict", `${file} already exists`, "pki never overwrites a backup; choose a new file name");
  if (!existsSync(dirname(file))) throw new PkiError("not-found", `${dirname(file)}: no such directory`);
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${randomBytes(6).toString("hex")}`);
  let certificates: number;
  try {
    ({ certificates } = await core.ledger.backupTo(tmp, onProgress));
    chmodSync(tmp, SECRET_MODE);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof PkiError || e instanceof LedgerError) throw e;
    throw fileError(file, e);
  }
  const sha256 = fingerprint(readFileSync(file));
  // Recording needs the history key; backups from cron without the passphrase are made all the same.
  let recorded = core.options.unlockEarly === true;
  if (recorded) {
    try {
      await core.change(ctx, (tx) => tx.appendEvent(core.event(ctx, "backed-up", null, { file, sha256 })).then(() => undefined));
    } catch (e) {
      const cannotWrite = e instanceof LedgerError && (e.code === "read-only" || e.code === "permission");
      // A ledger that fails its history check is copied all the same: the copy is evidence.
      const disowned = e instanceof PkiError && (e.code === "LEDGER_TAMPERED" || e.code === "ANCHOR_MISSING");
      if (!cannotWrite && !disowned) throw e;
      recorded = false;
    }
  }
  return { file, sha256, certificates, recorded };
}

export interface RestoreResult {
  findings: Finding[];
  certificates: number;
  /** The CRL hook the backup carried (null: none), and whether it was kept (--accept-hooks). */
  hook: { command: string | null; kept: boolean };
}

/**
 * Restores a backup into an empty home. Everything in the backup is verified before anything
 * is written (see untrustworthy); a CRL hook it carries, a shell command run as whoever runs
 * pki, is kept only with `acceptHooks`, else dropped with an event saying so. Then the ledger is
 * copied in with the backup API and every output file rewritten from it.
 */
export async function restore(options: AuthorityOptions, ctx: Context, file: string, acceptHooks: boolean, onProgress?: (done: number, total: number) => void): Promise<RestoreResult> {
  const { home } = options;
  if (home.exists()) throw new PkiError("conflict", `a CA already exists in ${home.dir}`, "restore into a new, empty --home");
  if (!existsSync(file)) throw new PkiError("not-found", `${file}: no such file`);
  // Before anything opens it for writing (migrations run statements a foreign trigger would fire on).
  const foreign = foreignSchema(file);
  if (foreign.length > 0) throw tampered(file, foreign);
  const source = await openLedger(file);
  let hookCommand: string | null;
  try {
    const problems = await source.integrityProblems();
    if (problems.length) throw new PkiError("invalid", `${file} fails SQLite's integrity check: ${problems[0]}`);
    const root = await source.read((r) => r.activeRoot());
    if (!root) throw new PkiError("invalid", `${file} holds no root CA`);
    const untrusted = await source.read((r) => untrustworthy(r, root));
    if (untrusted.length > 0) throw tampered(file, untrusted);
    // The history key comes from the backup's own root key (or the token its settings, now known
    // sound, name): a wrong passphrase or PIN stops here, before anything is written. Every MAC is
    // checked (a backup carries no anchor: restore writes a new one).
    const auth = new HistoryAuthenticator(await new CaCore(options, source, root).historyKey());
    const audit = await source.read((r) => verifyAudit(r, auth, "not-judged"));
    if (audit.problems.length > 0) throw tampered(file, audit.problems.map((p) => `event log: ${p}`));
    hookCommand = await source.read((r) => crlHook(r));
    home.create();
    const tmp = join(home.dir, `.ledger.db.tmp-${randomBytes(6).toString("hex")}`);
    try {
      await source.backupTo(tmp, onProgress);
      chmodSync(tmp, SECRET_MODE);
      renameSync(tmp, home.ledger);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  } finally {
    await source.close();
  }
  const ledger = await openLedger(home.ledger);
  try {
    const core = new CaCore(options, ledger, (await ledger.read((r) => r.activeRoot()))!);
    const dropHook = hookCommand !== null && !acceptHooks;
    // The backup holds no anchor: its whole history, verified above with the CA key, is anchored anew.
    const certificates = await core.change(ctx, async (tx) => {
      await tx.appendEvent(core.event(ctx, "restored", null, { from: file }));
      if (dropHook) {
        await tx.setSetting(CRL_HOOK, null);
        await tx.appendEvent(core.event(ctx, "hook-set", null, { hook: "crl", command: null, why: "restore without --accept-hooks" }));
      }
      return tx.count({});
    }, { reanchor: true });
    const findings = await checkHome(core, ctx, true);
    return { findings, certificates, hook: { command: hookCommand, kept: hookCommand !== null && !dropHook } };
  } finally {
    await ledger.close();
  }
}

/**
 * What makes a backup's content untrustworthy, beyond its schema: a certificate the root did not
 * sign, a name issuance would refuse (`../../elsewhere/x` becomes a path), a setting pki does
 * not know or a value it would not store. (The event log and its MACs are verified after this,
 * with the history key these settings lead to.)
 */
async function untrustworthy(r: LedgerReader, root: CertificateRecord): Promise<string[]> {
  const problems: string[] = [];
  // After pki rotate-root each certificate must be signed by the root its row names (the roots' own creation is in the MAC'd history).
  const roots = await r.roots();
  const issuers = new Map(roots.map((x) => [x.record.serial, new x509.X509Certificate(x.record.der)]));
  const first = roots[0]?.record.serial ?? root.serial;
  for await (const c of allPages((page) => r.certificates({}, page))) {
    const issuer = issuers.get(c.issuer ?? first);
    if (!issuer || !(await isSignedBy(c.der, issuer))) problems.push(`certificate ${c.serial} ("${shown(c.name)}") is not signed by the root`);
    if (!validName(c)) problems.push(`certificate ${c.serial} has the name "${shown(c.name)}", which pki never gives`);
  }
  for (const [key, value] of await r.settings()) {
    const problem = settingProblem(key, value);
    if (problem) problems.push(problem);
  }
  return problems;
}

function validName(c: CertificateRecord): boolean {
  try {
    safeFileName(c.name);
    return c.kind === "root" || validateName(c.name) === c.name;
  } catch {
    return false;
  }
}

function settingProblem(key: string, value: string): string | null {
  if (key === CRL_HOOK) return null; // shown to the user, and kept only with --accept-hooks
  if (key === ROOT_KEY_URI || key === PASSPHRASE_CHECK) return rootKeySettingProblem(key, value);
  const setting = key.startsWith("config.") ? key.slice("config.".length) : null;
  if (setting === null || !(setting in SETTINGS)) return `setting "${shown(key)}" is not one pki knows`;
  try {
    if (SETTINGS[setting as SettingKey].normalize(value) === value) return null;
  } catch {
    /* refused: reported below */
  }
  return `setting "${setting}" holds "${shown(value)}", a value pki would not store`;
}

/** A root in a PKCS#11 token: its URI must parse (and carry no PIN), its passphrase check must be an encrypted PKCS#8. */
function rootKeySettingProblem(key: string, value: string): string | null {
  try {
    if (key === ROOT_KEY_URI) parsePkcs11Uri(value);
    else readEncryptedKey(new Uint8Array(Buffer.from(value, "base64")));
    return null;
  } catch {
    return `setting "${key}" holds "${shown(value)}", a value pki would not store`;
  }
}

function tampered(file: string, problems: string[]): PkiError {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 4).join("; ")}${problems.length > 4 ? "; …" : ""})` : "";
  return new PkiError("invalid", `${file} was altered outside pki, nothing was restored: ${problems[0]}${more}`, "restore an older backup, and keep backups where only the CA holder can write", "BACKUP_TAMPERED");
}
